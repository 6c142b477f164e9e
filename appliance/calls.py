"""The call model: a ``Call`` is one caller's journey through the box; its ``Leg``\\s are
the pieces on channels (drivers.base); a ``Bridge`` joins two legs' audio.

A Call owns the call detail record as it forms (``record()``), in UTC wall-clock
seconds from the injected clock, and the durations derived from them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from drivers.base import Cause, Leg

from .media.bridge import Bridge

CallState = str  # "new", "flow", "queued", "ringing", "connected", "ended"


def new_call_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Call:
    id: str
    direction: str  # inbound, outbound, internal, callback
    line: str
    caller_number: str
    caller_name: str
    dialled: str
    started_at: float
    linked_id: str = ""
    caller_leg: Leg | None = None
    operator_leg: Leg | None = None
    state: CallState = "new"
    queue: str = ""
    operator: str = ""
    queued_at: float | None = None
    answered_at: float | None = None  # when an operator (or the far end) answered
    ended_at: float | None = None
    hold_since: float | None = None
    hold_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    disposition: str = ""
    note: str = ""
    hangup_cause: Cause | None = None
    hangup_by: str = ""
    recording: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # collected digits, menu choices
    rings: dict[str, Leg] = field(default_factory=dict)  # operator -> ringing leg
    in_acd: bool = False  # joined a queue: the ACD must hear how it ends
    bridge: Bridge | None = None

    def __post_init__(self) -> None:
        if not self.linked_id:
            self.linked_id = self.id

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    def hold(self, on: bool, now: float) -> None:
        if on and self.hold_since is None:
            self.hold_since = now
        elif not on and self.hold_since is not None:
            self.hold_seconds += now - self.hold_since
            self.hold_since = None

    def finish(self, now: float, cause: Cause, by: str) -> None:
        self.hold(False, now)
        self.ended_at = now
        self.hangup_cause = cause
        self.hangup_by = by
        self.state = "ended"

    @property
    def wait_seconds(self) -> float:
        if self.queued_at is None:
            return 0.0
        end = self.answered_at or self.ended_at or self.queued_at
        return max(0.0, end - self.queued_at)

    @property
    def talk_seconds(self) -> float:
        if self.answered_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, self.ended_at - self.answered_at - self.hold_seconds)

    def record(self) -> dict[str, Any]:
        """The row for the ``calls`` table."""
        return {
            "id": self.id,
            "linked_id": self.linked_id,
            "direction": self.direction,
            "line": self.line,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "dialled": self.dialled,
            "queue": self.queue,
            "operator": self.operator,
            "started_at": self.started_at,
            "queued_at": self.queued_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "wait_seconds": round(self.wait_seconds, 3),
            "talk_seconds": round(self.talk_seconds, 3),
            "hold_seconds": round(self.hold_seconds, 3),
            "wrapup_seconds": round(self.wrapup_seconds, 3),
            "disposition": self.disposition,
            "hangup_cause": int(self.hangup_cause) if self.hangup_cause is not None else None,
            "hangup_by": self.hangup_by,
            "recording": self.recording,
            "note": self.note,
            "data": json.dumps(self.data, ensure_ascii=False),
        }
