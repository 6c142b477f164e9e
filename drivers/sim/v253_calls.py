"""The outside world of a simulated voice modem: a caller ringing (with caller id
between the first and second ring), pressing keys and hanging up in the ways real
exchanges show it; and the far ends our voice-mode ATD reaches (answer, busy, no
answer).  A mixin of :class:`drivers.sim.v253.V253ModemSim`."""

from __future__ import annotations

from typing import Any


class CallsMixin:
    # provided by V253ModemSim
    clock: Any
    far: Any
    model: Any
    cid: bool
    voice: bool
    off_hook: bool
    in_call: bool
    dialling: bool
    ring_on: float
    ring_off: float
    ringback_cycles: int
    dial_outcomes: dict[str, str]
    _ringing: dict | None
    _ring_timer: Any
    _busy_report_at: float | None

    def _send(self, *lines: str) -> None: ...
    def event(self, code: str) -> None: ...
    def _go_off_hook(self) -> None: ...
    out: Any

    # -- control: what the outside world does --------------------------------------------
    def ring(self, number: str = "", name: str = "", date: str = "0321", time: str = "1405",
             rings: int = 10) -> None:
        """An incoming call: RING cadence, caller id after the first ring."""
        self._ringing = {"number": number, "name": name, "date": date, "time": time,
                         "left": rings, "count": 0}
        self._ring()

    def _ring(self) -> None:
        ringing = self._ringing
        if ringing is None or self.off_hook:
            return
        if ringing["left"] <= 0:
            self._stop_ringing()  # the caller gave up
            return
        ringing["left"] -= 1
        ringing["count"] += 1
        self._send("RING")
        if ringing["count"] == 1 and self.cid:
            self.clock.call_later(self.ring_on + self.ring_off / 4, self._caller_id)
        self._ring_timer = self.clock.call_later(self.ring_on + self.ring_off, self._ring)

    def _caller_id(self) -> None:
        ringing = self._ringing
        if ringing is None or self.off_hook:
            return
        lines = [f"DATE = {ringing['date']}", f"TIME = {ringing['time']}",
                 f"NMBR = {ringing['number']}"]
        if ringing["name"]:
            lines.append(f"NAME = {ringing['name']}")
        self._send(*lines)

    def _stop_ringing(self) -> None:
        self._ringing = None
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None

    def abandon(self) -> None:
        """The caller hangs up before we answer: the rings just stop."""
        self._stop_ringing()

    def far_dtmf(self, digits: str) -> None:
        """Keys pressed at the far end: tones on the line, and <DLE> digits from a modem
        that detects them."""
        self.far.press(digits)
        if self.model.reports_dtmf:
            for digit in digits:
                self.event(digit)

    def far_hangup(self, how: str) -> None:
        """``loop_break``, ``busy`` or ``silence``: how the exchange tells (or doesn't)."""
        self.in_call = False
        if how == "loop_break":
            self.far.hang_up_silently()
            if self.model.reports_loop_break:
                self.event("l")
        elif how == "busy":
            self.far.play("busy")
            if self.model.reports_busy:
                self._busy_report_at = self.clock.monotonic() + 1.0  # after two cadences
        else:
            self.far.hang_up_silently()

    def garbage(self, data: bytes) -> None:
        self.out(data)

    # -- voice dialling ------------------------------------------------------------------
    def _dial(self, arg: str) -> list[str] | None:
        if not self.voice:
            return ["NO CARRIER"]
        number = "".join(c for c in arg if c in "0123456789*#")
        outcome = self.dial_outcomes.get(number, "answer")
        if not self.off_hook:
            self._go_off_hook()
        self.far.play("ringback" if outcome != "busy" else "busy")
        self.dialling = True
        self.clock.call_later(0.3, self._progress, outcome, self.ringback_cycles)
        return None

    def abort_dial(self) -> None:
        """V.250 6.3.1: any character from the DTE while dialling aborts the call."""
        self.dialling = False
        self._send("NO CARRIER")

    def _progress(self, outcome: str, cycles: int) -> None:
        if not self.off_hook or not self.dialling:
            return
        if outcome == "busy":
            self.dialling = False
            self.event("b")
            self._send("BUSY")
            return
        if cycles > 0:
            self.event("r")
            self.clock.call_later(0.4, self._progress, outcome, cycles - 1)
            return
        self.dialling = False
        if outcome == "no_answer":
            self._send("NO ANSWER")
            return
        self.in_call = True
        self.far.connect()
        self._send("VCON")

