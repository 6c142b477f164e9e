"""Voice calls in the GSM simulator: 27.007 RING/+CRING/+CLIP, ATA/ATH/ATD, +CLCC, +VTS,
and the scriptable network side (a call comes in, the far end hangs up or answers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.clock import Timer

RING_PERIOD = 3.0  # seconds between RINGs (the network's alerting cadence)

# 27.007 7.18 +CLCC <stat>
ACTIVE, HELD, DIALING, ALERTING, INCOMING, WAITING = 0, 1, 2, 3, 4, 5


@dataclass
class SimCall:
    index: int
    mobile_terminated: bool
    stat: int
    number: str  # "" when withheld
    started: float = 0.0


class CallsMixin:
    """Mixed into GsmModemSim; uses its clock, urc(), ok(), sim_error()."""

    # set in _boot_calls
    calls: list[SimCall]
    clip: bool
    crc: bool
    dtmf_sent: list[str]
    dialled: list[str]

    def _boot_calls(self: Any) -> None:
        self.calls = []
        self.clip = False
        self.crc = False
        self.dtmf_sent = []
        self.dialled = []
        # what the far end does with our next ATD: answer, busy, no_answer
        self.next_outcome = "answer"
        self.outcome_delay = 0.6
        self._ring_timer: Timer | None = None
        self._progress: list[Timer] = []

    def _register_call_handlers(self: Any) -> None:
        self.handle("+CLIP", self._flag("clip", "+CLIP: {},1"))
        self.handle("+CRC", self._flag("crc", "+CRC: {}"))
        self.handle("+CLCC", self._clcc)
        self.handle("+CHUP", lambda kind, args: self.hangup())
        self.handle("+VTS", self._vts)

    def _flag(self: Any, attr: str, read: str):
        def handler(kind: str, args: str):
            if kind == "set" and args in ("0", "1"):
                setattr(self, attr, args == "1")
                return self.ok()
            if kind == "read":
                return self.ok(read.format(int(getattr(self, attr))))
            return self.error()

        return handler

    # -- the network side -------------------------------------------------------------------
    def incoming_call(self: Any, number: str | None) -> None:
        """A call arrives from ``number`` (None = the caller withheld it)."""
        call = SimCall(self._free_index(), True, INCOMING, number or "")
        self.calls.append(call)
        self._ring(call)

    def _ring(self: Any, call: SimCall) -> None:
        if call not in self.calls or call.stat != INCOMING:
            return
        lines = ["+CRING: VOICE" if self.crc else "RING"]
        if self.clip:
            # 27.007 7.6: <CLI validity> 1 = withheld by the caller
            if call.number:
                toa = 145 if call.number.startswith("+") else 129
                lines.append(f'+CLIP: "{call.number}",{toa},,,,0')
            else:
                lines.append('+CLIP: "",128,,,,1')
        self.urc(*lines)
        self._ring_timer = self.clock.call_later(RING_PERIOD, self._ring, call)

    def remote_hangup(self: Any, cause: int = 16) -> None:
        """The far end hangs up (or the caller gives up before we answered)."""
        for call in list(self.calls):
            self._end(call, cause, remote=True)

    def press_dtmf(self: Any, digit: str) -> None:
        """The far end presses a key during the call."""
        if any(c.stat == ACTIVE for c in self.calls):
            self.far_dtmf(digit)

    def far_dtmf(self: Any, digit: str) -> None:
        """Models with a DTMF URC override this; by default the tone goes in-band."""
        self.audio.press(digit)

    # -- commands ---------------------------------------------------------------------------
    def answer(self: Any):
        call = next((c for c in self.calls if c.stat == INCOMING), None)
        if call is None:
            return [], "NO CARRIER"
        call.stat = ACTIVE
        call.started = self.clock.monotonic()
        if self._ring_timer is not None:
            self._ring_timer.cancel()
        self.respond([], "OK")
        self.call_connected(call)
        return None

    def hangup(self: Any):
        for call in list(self.calls):
            self._end(call, 16, remote=False)
        return self.ok()

    def dial(self: Any, number: str):
        err = self.sim_error()
        if err:
            return err
        if self.reg_stat() not in (1, 5):
            return [], "NO CARRIER"
        call = SimCall(self._free_index(), False, DIALING, number)
        self.calls.append(call)
        self.dialled.append(number)
        self.respond([], "OK")  # 27.007 6.27: a voice ATD...; answers OK, progress follows
        self.dial_started(call)
        self._progress = [
            self.clock.call_later(0.2, self._alerting, call),
            self.clock.call_later(0.2 + self.outcome_delay, self._outcome, call),
        ]
        return None

    def _alerting(self: Any, call: SimCall) -> None:
        if call in self.calls and call.stat == DIALING:
            call.stat = ALERTING
            self.far_alerting(call)

    def _outcome(self: Any, call: SimCall) -> None:
        if call not in self.calls:
            return
        if self.next_outcome == "answer":
            call.stat = ACTIVE
            call.started = self.clock.monotonic()
            self.call_connected(call)
        elif self.next_outcome == "busy":
            self._end(call, 17, remote=True, result="BUSY")
        else:
            self._end(call, 19, remote=True, result="NO ANSWER")

    def _end(self: Any, call: SimCall, cause: int, remote: bool, result: str = "NO CARRIER"):
        if call not in self.calls:
            return
        self.calls.remove(call)
        if self._ring_timer is not None and call.stat == INCOMING:
            self._ring_timer.cancel()
        for timer in self._progress:
            timer.cancel()
        if not any(c.stat == ACTIVE for c in self.calls):
            self.audio.stop()
        self.call_ended(call, cause, remote, result)

    def _clcc(self: Any, kind: str, args: str):
        if kind != "exec":
            return self.ok() if kind == "test" else self.error()
        lines = []
        for c in self.calls:
            toa = 145 if c.number.startswith("+") else 129
            mt = int(c.mobile_terminated)
            lines.append(f'+CLCC: {c.index},{mt},{c.stat},0,0,"{c.number}",{toa}')
        return self.ok(*lines)

    def _vts(self: Any, kind: str, args: str):
        digit = args.strip().strip('"')
        if kind != "set" or len(digit) != 1 or digit.upper() not in "0123456789*#ABCD":
            return self.cme(100) if kind == "set" else self.error()
        if not any(c.stat == ACTIVE for c in self.calls):
            return self.cme(3)
        self.dtmf_sent.append(digit)
        return self.ok()

    def _free_index(self: Any) -> int:
        used = {c.index for c in self.calls}
        return next(i for i in range(1, 8) if i not in used)

    # -- model hooks (vendor URCs and audio rules live in the model classes) ----------------
    def dial_started(self: Any, call: SimCall) -> None: ...

    def far_alerting(self: Any, call: SimCall) -> None: ...

    def call_connected(self: Any, call: SimCall) -> None: ...

    def call_ended(self: Any, call: SimCall, cause: int, remote: bool, result: str) -> None:
        if remote:
            self.urc(result)
