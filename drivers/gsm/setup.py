"""Bringing a GSM modem up: synchronise, identify, unlock the SIM, configure, read facts
(3GPP TS 27.007 5, 7.2, 8.3, 8.5; 27.005 3.2.3, 3.4.1)."""

from __future__ import annotations

import logging
from typing import Any

from drivers.at.engine import AtEngine, AtError, AtTimeout

from . import facts, words
from .profiles import Profile
from .tasks import sleep

log = logging.getLogger(__name__)

SIM_BUSY_WAIT = 30.0  # a SIM may answer +CME ERROR: 14 for this long after power-up
# 27.007 9.2.1 +CME ERROR codes about the SIM
CME_NOT_INSERTED, CME_PIN, CME_PUK, CME_FAILURE, CME_BUSY, CME_WRONG = 10, 11, 12, 13, 14, 16

# 27.007 7.6 +CLIP, 7.11 +CRC, 7.2 +CREG=2 (with cell); 27.005 3.2.2 +CPMS: read, write
# and receive in the SIM, so a +CMTI index is the one AT+CMGR reads; 3.2.3 +CMGF=0
# (PDU); 3.4.1 +CNMI=2,1,0,1,0: new messages stored with a +CMTI note, reports as +CDS.
CONFIGURE = (("AT+CLIP=1", ""), ("AT+CRC=1", ""), ("AT+CREG=2", ""),
             ('AT+CPMS="SM","SM","SM"', "+CPMS"), ("AT+CMGF=0", ""),
             ("AT+CNMI=2,1,0,1,0", ""))


SIM_ERRORS = {CME_NOT_INSERTED: words.SIM_NOT_INSERTED, CME_BUSY: words.SIM_BUSY,
              CME_PUK: words.SIM_PUK, CME_PIN: words.SIM_PIN}


class LineProblem(Exception):
    """The line cannot come up for a reason the installer must act on; the message is
    a translation key from words.py.  ``reset_helps``: the modem is present but deaf,
    so resetting it may bring it back (the supervisor reads this)."""

    def __init__(self, message: str, reset_helps: bool = False) -> None:
        super().__init__(message)
        self.reset_helps = reset_helps


async def synchronise(engine: AtEngine, timeout: float = 1.0) -> None:
    """Get the modem's attention: echo may be on, old bytes may linger."""
    for _ in range(3):
        try:
            await engine.command("AT", timeout=timeout)
            break
        except (AtTimeout, AtError):
            continue
    else:
        raise LineProblem(words.NOT_ANSWERING, reset_helps=True)
    engine.mark_healthy()
    await engine.command("ATE0")
    await engine.command("AT+CMEE=1")


async def _fact(engine: AtEngine, command: str, prefix: str) -> str:
    """A one-line fact; some firmwares prefix it with "+CGMI: ", most answer bare."""
    response = await engine.command(command, expect=prefix, bare=True)
    for line in response.lines:
        return line[len(prefix):].lstrip(":").strip() if line.startswith(prefix) else line
    return ""


async def identify(engine: AtEngine) -> dict[str, str]:
    return {
        "manufacturer": await _fact(engine, "AT+CGMI", "+CGMI"),
        "model": await _fact(engine, "AT+CGMM", "+CGMM"),
        "firmware": await _fact(engine, "AT+CGMR", "+CGMR"),
        "imei": await _fact(engine, "AT+CGSN", "+CGSN"),
    }


async def unlock_sim(engine: AtEngine, clock, pin: str | None, pin_rejected: bool) -> bool:
    """Wait out a busy SIM and enter the PIN.  Returns whether the PIN was rejected now
    (so it is never retried: three wrong tries block the card)."""
    deadline = clock.monotonic() + SIM_BUSY_WAIT
    entered = False
    while True:
        try:
            state = (await engine.command("AT+CPIN?", expect="+CPIN")).value("+CPIN") or ""
        except AtError as exc:
            if exc.cme == CME_BUSY and clock.monotonic() < deadline:
                await sleep(clock, 1.0)
                continue
            raise LineProblem(SIM_ERRORS.get(exc.cme or 0, words.SIM_FAILURE)) from exc
        if state == "READY":
            return False
        if state == "SIM PUK":
            raise LineProblem(words.SIM_PUK)
        if state != "SIM PIN":
            raise LineProblem(words.SIM_FAILURE)
        if not pin or entered:
            raise LineProblem(words.SIM_PIN)
        if pin_rejected:
            raise LineProblem(words.SIM_PIN_WRONG)
        try:
            await engine.command(f'AT+CPIN="{pin}"')
        except AtError as exc:
            if exc.cme == CME_WRONG or exc.cme == CME_PUK:
                log.warning("%s: SIM refused the PIN", engine.name)
                return True
            raise
        entered = True
        await sleep(clock, 0.5)


async def configure(engine: AtEngine, profile: Profile) -> None:
    for command, expect in CONFIGURE:
        await engine.command(command, expect=(expect,) if expect else ())
    for command in profile.init_commands:
        try:
            await engine.command(command)
        except AtError as exc:  # an optional vendor feature: note it, carry on
            log.info("%s: %s", engine.name, exc)


async def read_facts(engine: AtEngine, profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["imsi"] = await _fact(engine, "AT+CIMI", "+CIMI")
    command, prefix = profile.iccid_command
    try:
        out["iccid"] = await _fact(engine, command, prefix)
    except AtError:
        out["iccid"] = ""
    out.update(await read_network(engine))
    return out


async def read_network(engine: AtEngine, timeout: float = 5.0) -> dict[str, Any]:
    """Operator, signal and registration: the facts that change while the line is up."""
    await engine.command("AT+COPS=3,0", timeout=timeout)  # 27.007 7.3: long names
    cops = await engine.command("AT+COPS?", expect="+COPS", timeout=timeout)
    operator = facts.parse_cops(cops.value("+COPS"))
    csq = await engine.command("AT+CSQ", expect="+CSQ", timeout=timeout)
    signal = facts.parse_csq(csq.value("+CSQ"))
    creg = (await engine.command("AT+CREG?", expect="+CREG", timeout=timeout)).value("+CREG")
    creg = creg or ""
    out: dict[str, Any] = {"operator": operator}
    out.update(signal_facts(signal))
    out.update(facts.registration(facts.parse_creg(creg, urc=False)))
    return out


def signal_facts(signal: facts.Signal | None) -> dict[str, Any]:
    if signal is None:
        return {"signal_dbm": None, "signal_bars": 0}
    return {"signal_dbm": signal.dbm, "signal_bars": signal.bars}
