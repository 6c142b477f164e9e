"""Waiting callers (and kept callback places) and the order they are served in.

A caller's place is its *key*: ``(-priority, wait_start, seq, entry)``.  Higher
priority first, then whoever started waiting earlier (a transferred caller keeps the
original start), then arrival order.  ``seq`` is unique, so comparing keys never
reaches the entry itself.

A :class:`WaitingLine` keeps two sorted lists of keys per queue: every caller still
waiting (for positions) and those *ready* to be offered to an operator right now (not
ringing, not held for a sticky operator, not resting between ring attempts).  Insert,
remove and position are binary searches; the list move is a C memmove, so even 10,000
waiting callers cost microseconds per change, and a decision never walks the line.
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from typing import Any

Key = tuple  # (-priority, wait_start, seq, Entry)


class Stage(enum.Enum):
    WAITING = "waiting"  # in line: ready, held for a sticky operator, or resting
    RINGING = "ringing"  # one or more operators' phones ring for it
    CONNECTED = "connected"  # an operator took it; it has left the line


@dataclass(eq=False)
class Ring:
    operator: str
    started: float
    timer: Any = None


@dataclass(eq=False)
class Entry:
    call_id: str
    queue: str
    caller_number: str
    priority: int
    wait_start: float  # monotonic; kept across transfers (the caller's whole wait)
    entered: float  # monotonic; when it joined this queue (max_wait, tiers, reports)
    seq: int
    orig_position: int = 0
    callback: bool = False
    stage: Stage = Stage.WAITING
    ready: bool = False
    held_for: str = ""  # sticky operator the caller is held for, while held
    rings: dict[str, Ring] = field(default_factory=dict)
    progressive: list[str] = field(default_factory=list)  # still to add to the ring
    operator: str = ""
    connected_at: float = 0.0
    timers: dict[str, Any] = field(default_factory=dict)  # max_wait, retry, hold, step
    key: Key = ()

    def __post_init__(self) -> None:
        self.key = (-self.priority, self.wait_start, self.seq, self)

    def cancel(self, *names: str) -> None:
        for name in names or list(self.timers):
            timer = self.timers.pop(name, None)
            if timer is not None:
                timer.cancel()


def _remove(keys: list[Key], key: Key) -> None:
    i = bisect_left(keys, key)
    if i == len(keys) or keys[i][3] is not key[3]:
        raise KeyError(key[3].call_id)
    del keys[i]


class WaitingLine:
    """Callers in one queue who have not reached an operator yet."""

    def __init__(self) -> None:
        self.order: list[Key] = []  # every waiting caller
        self.ready: list[Key] = []  # those that may be offered now

    def __len__(self) -> int:
        return len(self.order)

    def add(self, entry: Entry) -> None:
        insort(self.order, entry.key)

    def remove(self, entry: Entry) -> None:
        if entry.ready:
            self.set_ready(entry, False)
        _remove(self.order, entry.key)

    def position(self, entry: Entry) -> int:
        """1 = next to be served."""
        return bisect_left(self.order, entry.key) + 1

    def set_ready(self, entry: Entry, ready: bool) -> None:
        if ready == entry.ready:
            return
        if ready:
            insort(self.ready, entry.key)
        else:
            _remove(self.ready, entry.key)
        entry.ready = ready

    def first_ready(self, skip: set[int]) -> Entry | None:
        """The first ready caller whose priority is not in ``skip``.

        ``skip`` holds priority classes known to be blocked (no operator inside their
        tier); jumping over a class is one bisect, not a walk through its callers.
        """
        i = 0
        ready = self.ready
        while i < len(ready):
            neg_priority = ready[i][0]
            if -neg_priority not in skip:
                return ready[i][3]
            i = bisect_right(ready, (neg_priority, math.inf))
        return None

    def entries(self) -> list[Entry]:
        return [key[3] for key in self.order]
