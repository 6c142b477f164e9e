"""The seams of the ACD: what it asks of the world, and what it reports.

The ACD itself (``appliance.acd.engine.Acd``) is pure decision logic on an injected
clock.  It never touches a leg: it asks :class:`AcdActions` to ring an operator, stop
a ring, send a caller to overflow, or dial a callback, and the switchboard
(``appliance.switchboard``) reports back what happened (answered, no answer, hung up).
That is what lets an hour of queue traffic run on the virtual clock in milliseconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol


class OperatorStatus(enum.Enum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAPUP = "wrapup"
    PAUSED = "paused"


class QueueEvent(enum.StrEnum):
    """Queue-log event names (Asterisk queue_log vocabulary, which reports tools know)."""

    ENTERQUEUE = "ENTERQUEUE"
    RINGNOANSWER = "RINGNOANSWER"
    CONNECT = "CONNECT"
    COMPLETECALLER = "COMPLETECALLER"
    COMPLETEAGENT = "COMPLETEAGENT"
    ABANDON = "ABANDON"
    EXITWITHTIMEOUT = "EXITWITHTIMEOUT"
    EXITEMPTY = "EXITEMPTY"
    EXITFULL = "EXITFULL"  # refused at the door: the queue was at max_length
    TRANSFER = "TRANSFER"
    CALLBACK = "CALLBACK"  # the caller asked to be called back and hung up, keeping the place
    CALLBACKCONNECT = "CALLBACKCONNECT"
    PAUSE = "PAUSE"
    UNPAUSE = "UNPAUSE"
    LOGIN = "LOGIN"
    LOGOUT = "LOGOUT"
    WRAPUPEND = "WRAPUPEND"


@dataclass
class JoinResult:
    joined: bool
    position: int = 0  # 1 = next to be served
    reason: str = ""  # when refused: "full", "empty", "no-such-queue"


@dataclass
class WaitingCaller:
    call_id: str
    queue: str
    caller_number: str
    position: int
    waited: float
    priority: int = 0
    callback: bool = False  # a kept place whose caller has hung up
    ringing: list[str] = field(default_factory=list)


@dataclass
class OperatorView:
    name: str
    status: OperatorStatus
    since: float  # clock.monotonic() when the status began
    reason: str = ""  # pause reason
    call_id: str = ""
    queues: dict[str, int] = field(default_factory=dict)  # queue -> penalty
    calls_taken: int = 0
    missed_in_row: int = 0


class AcdActions(Protocol):
    """What the ACD asks the switchboard to do.  Each call must return promptly; the
    outcome comes back later through the ACD's methods."""

    def ring(self, call_id: str, operator: str, *, callback: bool = False) -> None:
        """Ring ``operator``'s phone for ``call_id``.  Report ``ring_answered`` or
        ``ring_failed``.  The ACD enforces the ring timeout itself (``stop_ringing``)."""

    def stop_ringing(self, call_id: str, operator: str) -> None:
        """Cancel a ring that is no longer wanted.  No report follows."""

    def overflow(self, call_id: str, destination: str, reason: str) -> None:
        """The caller left the queue (timeout, empty, full): take them to ``destination``
        (``queue:NAME``, ``voicemail``, ``callback``, ``hangup``)."""

    def dial_callback(self, call_id: str, operator: str, number: str) -> None:
        """``operator`` accepted the kept place of a caller who hung up: dial ``number``
        and bridge.  Report ``call_ended`` when it is over."""


class QueueLog(Protocol):
    def __call__(
        self,
        event: QueueEvent,
        *,
        call_id: str = "",
        queue: str = "",
        operator: str = "",
        reason: str = "",
        **data: Any,
    ) -> None: ...


class CallerHistory(Protocol):
    def last_operator(self, number: str, within_days: int) -> str | None:
        """Who last talked to ``number`` within the window (for sticky routing)."""
