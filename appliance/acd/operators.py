"""The operator's state machine.

Two things are kept apart on purpose, because they change for different reasons:

* presence, which the operator chooses: logged out, logged in, paused (with a reason);
* activity, which calls drive: idle, ringing, on a call, in wrap-up.

The status a supervisor sees (:class:`OperatorStatus`) is derived from both: a call in
progress shows as on_call even if the operator logged out during it, and a pause asked
for during a call takes effect when the call and its wrap-up are over (it is then
``pending_pause``).  Only an operator who is logged in, not paused and idle is
*available*, i.e. may be rung.

Each transition checks that it is legal and raises :class:`IllegalTransition` if not: the
engine must never, say, ring an operator who is on a call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .api import OperatorStatus, OperatorView


class Activity(enum.Enum):
    IDLE = "idle"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAPUP = "wrapup"


class IllegalTransition(Exception):
    """The engine asked for a move the state machine forbids (a bug, not bad input)."""


@dataclass(eq=False)
class Operator:
    name: str
    queues: dict[str, int] = field(default_factory=dict)  # queue -> penalty
    logged_in: bool = False
    paused: bool = False
    reason: str = ""  # pause reason while paused
    pending_pause: str | None = None  # pause asked for while busy: reason to apply later
    activity: Activity = Activity.IDLE
    call_id: str = ""
    since: float = 0.0  # when the visible status began
    logged_in_at: float = 0.0
    paused_at: float = 0.0
    idle_since: float = 0.0  # longest-idle: end of the last call, or login
    activity_at: float = 0.0  # when the current ring / call / wrap-up began
    calls_taken: int = 0
    missed_in_row: int = 0
    calls_in: dict[str, int] = field(default_factory=dict)  # per queue, for fewest-calls
    talk_in: dict[str, float] = field(default_factory=dict)  # per queue, least-talk-time
    wrapup_timer: Any = None
    held: list = field(default_factory=list)  # sorted keys of callers held for me (sticky)
    retired: bool = False  # removed while a call was still up: gone once it is over

    # -- derived --------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.logged_in and not self.paused and self.activity is Activity.IDLE

    @property
    def status(self) -> OperatorStatus:
        if self.activity is not Activity.IDLE:
            return OperatorStatus(self.activity.value)
        if not self.logged_in:
            return OperatorStatus.LOGGED_OUT
        return OperatorStatus.PAUSED if self.paused else OperatorStatus.AVAILABLE

    def view(self) -> OperatorView:
        reason = self.reason if self.paused else (self.pending_pause or "")
        return OperatorView(
            name=self.name, status=self.status, since=self.since, reason=reason,
            call_id=self.call_id, queues=dict(self.queues), calls_taken=self.calls_taken,
            missed_in_row=self.missed_in_row,
        )

    def _moved(self, before: OperatorStatus, now: float) -> None:
        if self.status is not before:
            self.since = now

    def _require(self, ok: bool, what: str) -> None:
        if not ok:
            raise IllegalTransition(f"operator {self.name}: cannot {what} while "
                                    f"{self.status.value}")

    # -- presence -------------------------------------------------------------------------
    def login(self, now: float) -> None:
        self._require(not self.logged_in, "log in")
        before = self.status
        self.logged_in, self.paused, self.reason = True, False, ""
        self.logged_in_at = now
        if self.activity is Activity.IDLE:
            self.idle_since = now
        self._moved(before, now)

    def logout(self, now: float) -> None:
        self._require(self.logged_in and self.activity is not Activity.RINGING, "log out")
        before = self.status
        self.logged_in, self.paused, self.reason, self.pending_pause = False, False, "", None
        self._moved(before, now)

    def pause(self, reason: str, now: float) -> None:
        self._require(self.logged_in and self.activity is not Activity.RINGING, "pause")
        before = self.status
        self.paused, self.reason, self.pending_pause = True, reason, None
        self.paused_at = now
        self._moved(before, now)

    def unpause(self, now: float) -> None:
        self._require(self.paused, "unpause")
        before = self.status
        self.paused, self.reason = False, ""
        self.missed_in_row = 0
        self._moved(before, now)

    # -- activity -------------------------------------------------------------------------
    def start_ring(self, call_id: str, now: float) -> None:
        self._require(self.available, "ring")
        self._set_activity(Activity.RINGING, call_id, now)

    def end_ring(self, now: float, missed: bool) -> None:
        self._require(self.activity is Activity.RINGING, "end a ring")
        if missed:
            self.missed_in_row += 1
        self._set_activity(Activity.IDLE, "", now)

    def connect(self, queue: str, now: float) -> None:
        self._require(self.activity is Activity.RINGING, "connect")
        self.missed_in_row = 0
        self.calls_taken += 1
        self.calls_in[queue] = self.calls_in.get(queue, 0) + 1
        self._set_activity(Activity.ON_CALL, self.call_id, now)

    def hang_up(self, queue: str, talk: float, wrapup: bool, now: float) -> None:
        self._require(self.activity is Activity.ON_CALL, "hang up")
        self.talk_in[queue] = self.talk_in.get(queue, 0.0) + talk
        self.idle_since = now
        if wrapup and self.logged_in:
            self._set_activity(Activity.WRAPUP, self.call_id, now)
        else:
            self._set_activity(Activity.IDLE, "", now)

    def end_wrapup(self, now: float) -> None:
        self._require(self.activity is Activity.WRAPUP, "end wrap-up")
        self.wrapup_timer = None
        self._set_activity(Activity.IDLE, "", now)

    def _set_activity(self, activity: Activity, call_id: str, now: float) -> None:
        before = self.status
        self.activity, self.call_id, self.activity_at = activity, call_id, now
        self._moved(before, now)
