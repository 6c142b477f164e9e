"""USSD (27.007 7.15 +CUSD; strings per 23.038 5 and 6.1.2.3): balance queries and the like."""

from __future__ import annotations

import asyncio
import re

from drivers.at.engine import AtEngine
from drivers.at.protocol import Urc

from . import gsm7
from .profiles import Profile

USSD_TIMEOUT = 30.0
_CUSD = re.compile(r'^\s*(\d)\s*(?:,\s*"([^"]*)"\s*(?:,\s*(\d+))?)?')
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


class UssdError(Exception):
    """The network refused or ended the session without an answer (27.007 <m> 2, 4, 5)."""


def decode_cusd(args: str, packed: bool) -> tuple[int, str]:
    """(<m>, text) of a +CUSD URC: UCS2 hex (DCS 0x48 / 72), packed 7-bit hex as Huawei
    gives it, or plain text."""
    match = _CUSD.match(args)
    if not match:
        raise UssdError(f"unreadable +CUSD: {args}")
    mode = int(match.group(1))
    text = match.group(2) or ""
    dcs = int(match.group(3)) if match.group(3) else 15
    if not text:
        return mode, ""
    # 23.038 5: group 0100 with alphabet bits 10, or 0x48 (72) = UCS2; 0x11 = UCS2 w/ language
    if ((dcs & 0xF0) in (0x40, 0x50, 0x60, 0x70) and (dcs & 0x0C) == 0x08 or dcs == 0x11) and (
            _HEX.match(text)):
        raw = bytes.fromhex(text)
        if dcs == 0x11:
            raw = raw[2:]  # 23.038 6.1.2.2: two GSM 7-bit language characters first
        return mode, raw.decode("utf-16-be", "replace")
    if packed and _HEX.match(text):
        return mode, gsm7.unpack_ussd(bytes.fromhex(text))
    return mode, text


class Ussd:
    def __init__(self, engine: AtEngine, profile: Profile) -> None:
        self.engine = engine
        self.clock = engine.clock
        self.profile = profile
        self._waiter: asyncio.Future | None = None
        self._lock = asyncio.Lock()
        self._unsubscribe = engine.on_urc("+CUSD", self._cusd)

    def close(self) -> None:
        self._unsubscribe()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(UssdError("line went down"))

    async def request(self, code: str, timeout: float = USSD_TIMEOUT) -> str:
        """Send ``code`` (e.g. *100#) and return the network's answer as text."""
        if not re.fullmatch(r"[0-9*#+]{1,160}", code):
            raise ValueError(f"{code!r} is not a USSD code")
        async with self._lock:
            self._waiter = asyncio.get_running_loop().create_future()
            request = gsm7.pack_ussd(code).hex().upper() if self.profile.ussd_packed else code
            waiter = self._waiter
            timer = self.clock.call_later(timeout, lambda: waiter.done() or waiter.set_exception(
                UssdError("no USSD answer from the network")))
            try:
                await self.engine.command(f'AT+CUSD=1,"{request}",15', timeout=10)
                return await waiter
            finally:
                timer.cancel()
                self._waiter = None

    def _cusd(self, urc: Urc) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            mode, text = decode_cusd(urc.args, self.profile.ussd_packed)
        except UssdError as exc:
            waiter.set_exception(exc)
            return
        if mode in (0, 1):
            waiter.set_result(text)
        else:
            waiter.set_exception(UssdError(f"USSD ended by the network (+CUSD: {mode})"))
