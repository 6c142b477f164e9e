"""The AT engine: one command in flight, listener set before writing, a timeout on every
command, URCs routed to handlers by name whenever they arrive.

Health: a command that times out, or a streak of noise lines, marks the modem unhealthy
and tells whoever listens (the supervisor), which resets it.  The engine itself never
raises into the event loop: a handler that fails is logged and the line goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.clock import Clock

from .protocol import (
    CME_ERROR,
    CMS_ERROR,
    AtProtocol,
    Command,
    FinalResult,
    InfoLine,
    Noise,
    Prompt,
    Urc,
)
from .transport import ByteLink

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
NOISE_STREAK_LIMIT = 16  # lines of garbage in a row before we call the port sick

UrcHandler = Callable[[Urc], None]


class AtError(Exception):
    """The modem answered ERROR / +CME ERROR / +CMS ERROR (or a dial result)."""

    def __init__(self, command: str, final: FinalResult) -> None:
        self.command = command
        self.final = final
        detail = final.result
        if final.code is not None:
            detail += f": {final.code}"
        elif final.text:
            detail += f": {final.text}"
        super().__init__(f"{command} -> {detail}")

    @property
    def cme(self) -> int | None:
        return self.final.code if self.final.result == CME_ERROR else None

    @property
    def cms(self) -> int | None:
        return self.final.code if self.final.result == CMS_ERROR else None


class AtTimeout(Exception):
    """No final result in time: the modem is slow, hung or gone."""


class PortLost(Exception):
    """The port closed under us (unplugged, reset, re-enumerated)."""


@dataclass
class Response:
    command: str
    final: FinalResult
    lines: list[str] = field(default_factory=list)

    def value(self, prefix: str) -> str | None:
        """The text after ``PREFIX:`` of the first line with that prefix."""
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix) :].lstrip(":").strip()
        return None

    def values(self, prefix: str) -> list[str]:
        return [ln[len(prefix) :].lstrip(":").strip() for ln in self.lines if ln.startswith(prefix)]


@dataclass
class _Exchange:
    command: Command
    future: asyncio.Future
    pdu: str | None
    lines: list[str] = field(default_factory=list)


class AtEngine:
    def __init__(self, link: ByteLink, clock: Clock, name: str = "modem") -> None:
        self.link = link
        self.clock = clock
        self.name = name
        self.protocol = AtProtocol()
        self.healthy = True
        self.lost = False
        self.noise_lines = 0
        self.commands = 0
        self._noise_streak = 0
        self._lock = asyncio.Lock()
        self._exchange: _Exchange | None = None
        self._handlers: dict[str, list[UrcHandler]] = {}
        self._any_urc: list[UrcHandler] = []
        self._health_listeners: list[Callable[[str], None]] = []
        self._diverted: Callable[[bytes], bytes | None] | None = None
        link.set_receiver(self.data_received, self.connection_lost)

    # -- wiring ----------------------------------------------------------------------------
    def on_urc(self, name: str, handler: UrcHandler) -> Callable[[], None]:
        """Call ``handler`` for every URC named ``name`` ("" = every URC)."""
        bucket = self._any_urc if name == "" else self._handlers.setdefault(name, [])
        bucket.append(handler)
        return lambda: handler in bucket and bucket.remove(handler)

    def on_unhealthy(self, listener: Callable[[str], None]) -> None:
        self._health_listeners.append(listener)

    # -- commands ------------------------------------------------------------------------
    async def command(
        self,
        text: str,
        *,
        expect: tuple[str, ...] | str = (),
        bare: bool = False,
        dial: bool = False,
        pdu: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> Response:
        """Send one command and wait for its final result.

        Raises :class:`AtError` on an error final (unless ``check`` is false),
        :class:`AtTimeout`, or :class:`PortLost`.
        """
        if isinstance(expect, str):
            expect = (expect,)
        cmd = Command(text, expect, bare=bare, prompt=pdu is not None, dial=dial)
        async with self._lock:
            if self.lost:
                raise PortLost(f"{self.name}: port lost")
            loop = asyncio.get_running_loop()
            exchange = _Exchange(cmd, loop.create_future(), pdu)
            self._exchange = exchange  # listener first, then the bytes
            timer = self.clock.call_later(timeout, self._expire, exchange)
            try:
                self.commands += 1
                self.link.write(self.protocol.send_command(cmd))
                final = await exchange.future
            finally:
                timer.cancel()
                self._exchange = None
        response = Response(text, final, exchange.lines)
        if check and not final.ok:
            raise AtError(text, final)
        return response

    def _expire(self, exchange: _Exchange) -> None:
        if exchange.future.done():
            return
        self.protocol.command_done()
        if exchange.pdu is not None and self.protocol.command is None:
            self.link.write(self.protocol.cancel_pdu())
        text = exchange.command.text
        exchange.future.set_exception(AtTimeout(f"{self.name}: no answer to {text}"))
        self._mark_unhealthy(f"no answer to {exchange.command.text}")

    # -- raw streams (V.253 voice: AT+VRX/VTX after CONNECT) ------------------------------
    def divert(self, receiver: Callable[[bytes], bytes | None]) -> None:
        """Hand every received byte to ``receiver`` instead of the line parser, for a
        binary stream such as V.253 DLE-shielded audio.  The receiver returns the bytes
        it did not consume when its stream has ended (e.g. after DLE ETX), or None to go
        on; the returned bytes go back to the parser and diversion stops."""
        self._diverted = receiver

    def write_raw(self, data: bytes) -> None:
        self.link.write(data)

    # -- bytes up ------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._diverted is not None:
            rest = self._diverted(data)
            if rest is None:
                return
            self._diverted = None
            data = rest
        for event in self.protocol.receive_data(data):
            self._dispatch(event)

    def _dispatch(self, event: object) -> None:
        if isinstance(event, Noise):
            self.noise_lines += 1
            self._noise_streak += 1
            log.warning("%s: skipped %s: %r", self.name, event.reason, event.data[:80])
            if self._noise_streak >= NOISE_STREAK_LIMIT:
                self._noise_streak = 0
                self._mark_unhealthy("garbage on the port")
            return
        self._noise_streak = 0
        exchange = self._exchange
        if isinstance(event, Urc):
            self._route(event)
        elif isinstance(event, InfoLine) and exchange is not None:
            exchange.lines.append(event.line)
        elif isinstance(event, Prompt) and exchange is not None and exchange.pdu is not None:
            self.link.write(self.protocol.send_pdu(exchange.pdu))
        elif isinstance(event, FinalResult) and exchange is not None \
                and not exchange.future.done():
            exchange.future.set_result(event)
        # an Echo (the modem repeating our command while ATE1 is still on) is dropped:
        # it is neither an answer nor a URC

    def _route(self, urc: Urc) -> None:
        handlers = self._handlers.get(urc.name, []) + self._any_urc
        if not handlers:
            log.debug("%s: unhandled URC %s", self.name, urc.line)
        for handler in list(handlers):
            try:
                handler(urc)
            except Exception:  # one bad handler must not stop the line
                log.exception("%s: URC handler failed on %s", self.name, urc.line)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        exchange = self._exchange
        if exchange is not None and not exchange.future.done():
            exchange.future.set_exception(PortLost(f"{self.name}: port lost"))
        self._mark_unhealthy("port lost")

    def _mark_unhealthy(self, reason: str) -> None:
        was = self.healthy
        self.healthy = False
        if was:
            log.warning("%s: unhealthy: %s", self.name, reason)
        for listener in list(self._health_listeners):
            try:
                listener(reason)
            except Exception:
                log.exception("%s: health listener failed", self.name)

    def mark_healthy(self) -> None:
        self.healthy = True
        self._noise_streak = 0

    def close(self) -> None:
        self.link.close()
