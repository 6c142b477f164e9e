"""Injected time (DESIGN.md principle 4).

The ACD, IVR, dialer and drivers' timers take a :class:`Clock`.  In the daemon it is
:class:`LoopClock` (asyncio's monotonic loop time); in tests it is :class:`VirtualClock`,
which only moves when the test says so, so an hour of queue traffic runs in
milliseconds and always in the same order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; use it for durations and deadlines."""

    def time(self) -> float:
        """UTC wall-clock seconds since the epoch; use it for records people read."""

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` after ``delay`` seconds; the result can be cancelled."""


class LoopClock:
    """The real clock: asyncio's loop time for timers, the system clock for timestamps."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def monotonic(self) -> float:
        return self.loop.time()

    def time(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.loop.call_later(max(0.0, delay), callback, *args)


class _VirtualTimer:
    __slots__ = ("when", "seq", "callback", "args", "cancelled")

    def __init__(self, when: float, seq: int, callback: Callable[..., Any], args: tuple) -> None:
        self.when = when
        self.seq = seq
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: _VirtualTimer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class VirtualClock:
    """A clock that moves only when told to.

    Timers due at the same instant run in the order they were scheduled, so a test run
    is deterministic.  ``start`` is the wall-clock epoch that ``time()`` reports at
    virtual second zero.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self._now = 0.0
        self._epoch = start
        self._timers: list[_VirtualTimer] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._epoch + self._now

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = _VirtualTimer(self._now + max(0.0, delay), next(self._seq), callback, args)
        heapq.heappush(self._timers, timer)
        return timer

    def pending(self) -> int:
        return sum(1 for t in self._timers if not t.cancelled)

    def next_due(self) -> float | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].when if self._timers else None

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due on the way."""
        deadline = self._now + seconds
        while True:
            due = self.next_due()
            if due is None or due > deadline:
                break
            timer = heapq.heappop(self._timers)
            self._now = max(self._now, timer.when)
            timer.callback(*timer.args)
        self._now = deadline

    def run_until_idle(self, limit: float = 86_400.0) -> None:
        """Fire timers until none is left, but never past ``limit`` virtual seconds."""
        stop = self._now + limit
        while (due := self.next_due()) is not None and due <= stop:
            self.advance(due - self._now)
