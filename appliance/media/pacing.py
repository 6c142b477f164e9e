"""A 20 ms tick from an injected clock, without drift.

Tick ``n`` is due at ``start + n * 20 ms``; each timer is set from ``clock.monotonic()``
against that schedule, so a timer that fires late does not push the later ones back.
After a short stall the missed ticks run at once (a far-end jitter buffer absorbs a few
frames in a burst); after a long one (more than ``max_catch_up``) the schedule restarts,
because seconds of audio in a burst would only add that much delay at the far end.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.clock import Clock, Timer
from drivers.base import FRAME_MS

FRAME_SECONDS = FRAME_MS / 1000


class Pacer:
    """Calls ``on_tick()`` once per 20 ms while running; ``on_tick`` returns False to
    stop the pacer (a prompt ran out)."""

    def __init__(
        self, clock: Clock, on_tick: Callable[[], bool], max_catch_up: int = 5
    ) -> None:
        self.clock = clock
        self.on_tick = on_tick
        self.max_catch_up = max_catch_up
        self.ticks = 0
        self.restarts = 0
        self._timer: Timer | None = None
        self._start = 0.0
        self._due = 0

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(self) -> None:
        """(Re)start the schedule now; the first tick runs at once."""
        self.stop()
        self._start = self.clock.monotonic()
        self._due = 0
        self._run()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _run(self) -> None:
        self._timer = None
        now = self.clock.monotonic()
        behind = int((now - self._start) / FRAME_SECONDS + 1e-9) - self._due + 1
        if behind > self.max_catch_up:
            self.restarts += 1
            self._start, self._due, behind = now, 0, 1
        for _ in range(max(1, behind)):
            self._due += 1
            self.ticks += 1
            if not self.on_tick():
                return
        next_at = self._start + self._due * FRAME_SECONDS
        self._timer = self.clock.call_later(next_at - now, self._run)
