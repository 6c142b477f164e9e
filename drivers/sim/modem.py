"""A GSM modem simulator's core: the AT command line as the DCE sees it (V.250), the
SIM, the facts a modem reports (27.007), and the fault switches tests flip.

The object does no I/O.  Bytes from the host come in through :meth:`at_in`; bytes for
the host go out through ``at_out``, set by whatever carries them (a pty or an
in-memory link, see ``host.py``).  Timers come from the injected clock.

Faithful to the manuals where it matters to a driver: echo is on after power-up,
verbose result codes, the SIM answers +CME ERROR: 14 (busy) for its first seconds,
URCs arrive whenever they happen, also between a response's lines.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from appliance.clock import Clock

from .audio import AudioPortSim
from .simcalls import CallsMixin
from .simsms import SmsMixin

log = logging.getLogger(__name__)

Reply = tuple[list[str], str] | None  # (information lines, final result); None = defer

# 27.007 9.2.1 +CME ERROR codes the simulator uses
CME_SIM_NOT_INSERTED = 10
CME_SIM_PIN = 11
CME_SIM_PUK = 12
CME_SIM_BUSY = 14
CME_WRONG_PASSWORD = 16
CME_OPERATION_NOT_ALLOWED = 3
CME_UNKNOWN = 100

COMMAND_LOG = 2000  # a simulator running for days in the demo keeps only this many

_EXTENDED = re.compile(r"^([+^&$][A-Z0-9]+)(=\?|\?|=(.*))?$", re.IGNORECASE)


class GsmModemSim(CallsMixin, SmsMixin):
    manufacturer: ClassVar[str] = "Generic"
    model: ClassVar[str] = "GSM modem"
    revision: ClassVar[str] = "1.0"
    has_voice: ClassVar[bool] = True

    def __init__(
        self,
        clock: Clock,
        *,
        imei: str = "861234567890123",
        imsi: str = "250021234567890",
        iccid: str = "89701021234567890123",
        pin: str | None = None,
        sim_inserted: bool = True,
        sim_busy_seconds: float = 2.0,
        operator: str = "MegaFon",
        signal: int = 21,
        registration: int = 1,
    ) -> None:
        self.clock = clock
        self.imei, self.imsi, self.iccid = imei, imsi, iccid
        self.pin = pin
        self.sim_inserted = sim_inserted
        self.sim_busy_seconds = sim_busy_seconds
        self.operator = operator
        self.signal = signal
        self.registration = registration  # 27.007 +CREG <stat>: 1 home, 5 roaming, 3 denied
        self.audio = AudioPortSim(clock)
        self.at_out: Callable[[bytes], None] = lambda data: None
        self.reset_requested: Callable[[], None] = lambda: None  # the host re-enumerates
        # fault switches
        self.hung = False  # answers nothing but the reset line, like a wedged firmware
        self.resets_ignored = 0  # ... and ignores that too this many times
        self.silent_for = 0.0  # drops input until this monotonic time
        self.slow_every = 0  # every Nth command answers after slow_seconds
        self.slow_seconds = 1.0
        self.urc_mid_response = 0  # next N responses with lines carry a URC between them
        self.commands: deque[str] = deque(maxlen=COMMAND_LOG)  # the last commands, for tests
        self.boots = 0
        self._handlers: dict[str, Callable[[str, str], Reply]] = {}
        self._register_handlers()
        self._boot()

    # -- power-up state -----------------------------------------------------------------
    def _boot(self) -> None:
        self.boots += 1
        self.echo = True
        self.cmee = 0
        self.sim_state = "READY" if self.pin is None else "SIM PIN"
        self.pin_attempts = 3
        self.sim_ready_at = self.clock.monotonic() + self.sim_busy_seconds
        self.creg_n = 0
        self._rx = bytearray()
        self._count = 0
        self.hung = False
        self._boot_calls()
        self._boot_sms()

    def sim_busy(self) -> bool:
        return self.clock.monotonic() < self.sim_ready_at

    def sim_error(self) -> Reply:
        """The +CME ERROR a SIM-needing command gets now, or None when the SIM is ready."""
        if not self.sim_inserted:
            return self.cme(CME_SIM_NOT_INSERTED)
        if self.sim_busy():
            return self.cme(CME_SIM_BUSY)
        if self.sim_state == "SIM PIN":
            return self.cme(CME_SIM_PIN)
        if self.sim_state == "SIM PUK":
            return self.cme(CME_SIM_PUK)
        return None

    # -- bytes in ---------------------------------------------------------------------------
    def at_in(self, data: bytes) -> None:
        if self.hung:
            self._rx += data
            if b"+CFUN=1,1" in self._rx.upper():
                self._rx.clear()
                if self.resets_ignored > 0:
                    self.resets_ignored -= 1
                else:
                    self._power_cycle()
            del self._rx[:-16]
            return
        if self.clock.monotonic() < self.silent_for:
            return
        if self.echo:
            self.at_out(data)  # V.250 E1: the DCE echoes characters as they come
        self._rx += data
        while True:
            if self.awaiting_pdu():
                if not self._take_pdu():
                    return
                continue
            cut = self._rx.find(b"\r")
            if cut < 0:
                if len(self._rx) > 1024:
                    self._rx.clear()
                return
            line = bytes(self._rx[:cut]).strip(b"\n ").decode("latin-1")
            del self._rx[: cut + 1]
            if line[:2].upper() == "AT":
                self._command_line(line)

    def _command_line(self, line: str) -> None:
        self.commands.append(line)
        self._count += 1
        reply = self._dispatch(line[2:].strip())
        if reply is None:
            return
        if self.slow_every and self._count % self.slow_every == 0:
            self.clock.call_later(self.slow_seconds, self.respond, *reply)
        else:
            self.respond(*reply)

    def _dispatch(self, body: str) -> Reply:
        upper = body.upper()
        if upper == "":
            return self.ok()
        if upper.startswith("D") and upper.endswith(";"):
            return self.dial(body[1:-1])
        basic = {"A": self.answer, "H": self.hangup, "H0": self.hangup, "Z": self.reset_config,
                 "E0": lambda: self.set_echo(False), "E1": lambda: self.set_echo(True),
                 "I": lambda: self.ok(self.manufacturer, self.model, self.revision)}
        if upper in basic:
            return basic[upper]()
        match = _EXTENDED.match(body)
        if not match:
            return self.error()
        name, op, args = match.group(1).upper(), match.group(2) or "", match.group(3) or ""
        handler = self._handlers.get(name)
        if handler is None:
            return self.error()
        kind = {"": "exec", "?": "read", "=?": "test"}.get(op, "set")
        return handler(kind, args)

    # -- bytes out ------------------------------------------------------------------------
    def respond(self, lines: list[str], final: str) -> None:
        out = []
        for i, line in enumerate(lines):
            out.append(f"\r\n{line}\r\n")
            if i == 0 and self.urc_mid_response > 0:
                self.urc_mid_response -= 1
                out.append(f"\r\n{self.interleaved_urc()}\r\n")
        out.append(f"\r\n{final}\r\n")
        self.at_out("".join(out).encode())

    def urc(self, *lines: str) -> None:
        if not self.hung:
            self.at_out("".join(f"\r\n{line}\r\n" for line in lines).encode())

    def interleaved_urc(self) -> str:
        """A URC the network sends while a response is being written."""
        return f'+CREG: {self.reg_stat()},"1A2B","00C3D4"' if self.creg_n else "+CSSU: 0"

    @staticmethod
    def ok(*lines: str) -> Reply:
        return list(lines), "OK"

    def error(self) -> Reply:
        return [], "ERROR"

    def cme(self, code: int) -> Reply:
        if self.cmee == 0:
            return [], "ERROR"
        return [], f"+CME ERROR: {code}"

    # -- faults and the network side ---------------------------------------------------------
    def hang(self) -> None:
        """Stop answering (a wedged firmware); only AT+CFUN=1,1 gets through."""
        self.hung = True
        self.audio.stop()

    def go_silent(self, seconds: float) -> None:
        self.silent_for = self.clock.monotonic() + seconds

    def _power_cycle(self) -> None:
        self.audio.stop()
        self._boot()
        self.reset_requested()

    # -- handlers ---------------------------------------------------------------------------
    def handle(self, name: str, fn: Callable[[str, str], Reply]) -> None:
        self._handlers[name.upper()] = fn

    def _register_handlers(self) -> None:
        facts = {
            "+CGMI": lambda: self.manufacturer,
            "+CGMM": lambda: self.model,
            "+CGMR": lambda: self.revision,
            "+CGSN": lambda: self.imei,
        }
        for name, fact in facts.items():
            self.handle(name, lambda kind, args, fact=fact: self.ok(fact()))
        self.handle("+CIMI", lambda kind, args: self.sim_error() or self.ok(self.imsi))
        self.handle("+CMEE", self._cmee)
        self.handle("+CPIN", self._cpin)
        self.handle("+CSQ", lambda kind, args: self.ok(f"+CSQ: {self.signal},99"))
        self.handle("+CREG", self._creg)
        self.handle("+COPS", self._cops)
        self.handle("+CFUN", self._cfun)
        self._register_call_handlers()
        self._register_sms_handlers()

    def iccid_handler(self, prefix: str) -> Callable[[str, str], Reply]:
        """Vendors read the ICCID with their own command and prefix."""
        return lambda kind, args: self.sim_error() or self.ok(f"{prefix}: {self.iccid}")

    def set_echo(self, on: bool) -> Reply:
        self.echo = on
        return self.ok()

    def reset_config(self) -> Reply:
        """ATZ: back to the stored profile (echo on, numeric errors off)."""
        self.echo = True
        self.cmee = 0
        return self.ok()

    def _cmee(self, kind: str, args: str) -> Reply:
        if kind == "set" and args in ("0", "1", "2"):
            self.cmee = int(args)
            return self.ok()
        return self.ok(f"+CMEE: {self.cmee}") if kind == "read" else self.error()

    def _cpin(self, kind: str, args: str) -> Reply:
        if not self.sim_inserted:
            return self.cme(CME_SIM_NOT_INSERTED)
        if self.sim_busy():
            return self.cme(CME_SIM_BUSY)
        if kind == "read":
            return self.ok(f"+CPIN: {self.sim_state}")
        if kind != "set":
            return self.error()
        given = [a.strip().strip('"') for a in args.split(",")]
        if self.sim_state == "READY":
            return self.cme(CME_OPERATION_NOT_ALLOWED)
        if self.sim_state == "SIM PIN" and given[0] == self.pin:
            self.sim_state = "READY"
            return self.ok()
        if self.sim_state == "SIM PUK":
            return self.cme(CME_WRONG_PASSWORD)
        self.pin_attempts -= 1
        if self.pin_attempts <= 0:
            self.sim_state = "SIM PUK"
        return self.cme(CME_WRONG_PASSWORD)

    def reg_stat(self) -> int:
        if not self.sim_inserted or self.sim_state != "READY" or self.sim_busy():
            return 0
        return self.registration

    def _creg(self, kind: str, args: str) -> Reply:
        if kind == "set":
            self.creg_n = int(args or 0)
            return self.ok()
        if kind == "read":
            extra = ',"1A2B","00C3D4"' if self.creg_n == 2 and self.reg_stat() in (1, 5) else ""
            return self.ok(f"+CREG: {self.creg_n},{self.reg_stat()}{extra}")
        return self.error()

    def set_registration(self, stat: int) -> None:
        """The network side: registration changes (roaming, denied, lost)."""
        self.registration = stat
        if self.creg_n:
            self.urc(f"+CREG: {self.reg_stat()}")

    def _cops(self, kind: str, args: str) -> Reply:
        if kind == "set":
            return self.ok()
        if kind == "read":
            if self.reg_stat() in (1, 5):
                return self.ok(f'+COPS: 0,0,"{self.operator}",2')
            return self.ok("+COPS: 0")
        return self.error()

    def _cfun(self, kind: str, args: str) -> Reply:
        if kind == "read":
            return self.ok("+CFUN: 1")
        if kind == "set" and args.replace(" ", "") == "1,1":
            self.respond([], "OK")
            self.clock.call_later(0.05, self._power_cycle)
            return None
        return self.ok() if kind == "set" else self.error()
