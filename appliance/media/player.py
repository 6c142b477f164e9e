"""Prompt and music-on-hold player: a frame source paced onto a leg at 20 ms.

Pacing comes from the injected :class:`~appliance.clock.Clock`: each frame's due time is
``start + n * 20 ms``, and the next timer is set from ``clock.monotonic()`` against that
schedule, so timer lateness never accumulates into drift.  After a short stall of the
loop the missed frames go out at once (the far end's jitter buffer absorbs them);
after a long one (over ``max_catch_up`` frames) the schedule restarts, because a burst
of seconds of audio would only fill the far end's buffer with delay.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from appliance.clock import Clock, Timer
from drivers.base import FRAME_MS

from .source import FrameSource, PcmSource
from .wav import read_audio

log = logging.getLogger(__name__)
FRAME_SECONDS = FRAME_MS / 1000


class Player:
    """Plays one source at a time into ``send(frame)``.  ``play()`` replaces what is
    playing; ``on_done`` is called when a non-looping source runs out."""

    def __init__(
        self, clock: Clock, send: Callable[[bytes], None], max_catch_up: int = 5
    ) -> None:
        self.clock = clock
        self.send = send
        self.max_catch_up = max_catch_up
        self.frames_sent = 0
        self.restarts = 0
        self._source: FrameSource | None = None
        self._on_done: Callable[[], None] | None = None
        self._timer: Timer | None = None
        self._start = 0.0
        self._due = 0  # index of the next frame on the current schedule

    @property
    def playing(self) -> bool:
        return self._source is not None

    def play(self, source: FrameSource, on_done: Callable[[], None] | None = None) -> None:
        self._cancel_timer()
        self._source = source
        self._on_done = on_done
        self._start = self.clock.monotonic()
        self._due = 0
        self._tick()

    def stop(self) -> None:
        """Stop without calling ``on_done`` (the caller knows it stopped it)."""
        self._cancel_timer()
        self._source = None
        self._on_done = None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        now = self.clock.monotonic()
        behind = int((now - self._start) / FRAME_SECONDS + 1e-9) - self._due + 1
        if behind > self.max_catch_up:
            self.restarts += 1
            self._start, self._due, behind = now, 0, 1
        for _ in range(max(1, behind)):
            if not self._send_one():
                return
        next_at = self._start + self._due * FRAME_SECONDS
        self._timer = self.clock.call_later(next_at - now, self._tick)

    def _send_one(self) -> bool:
        source = self._source
        if source is None:
            return False
        frame = source.read_frame()
        if frame is None:
            done = self._on_done
            self._source = None
            self._on_done = None
            if done is not None:
                done()
            return False
        self._due += 1
        self.frames_sent += 1
        self.send(frame)
        return True


class PromptCache:
    """Decoded prompts by path, so fifty callers on hold share one copy of the music.
    Loading reads and converts files: ``load`` runs it in an executor."""

    def __init__(self, max_items: int = 64) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple[str, float], bytes] = OrderedDict()

    def get_pcm(self, path: str | Path) -> bytes:
        """Blocking: call at start-up or through :meth:`load`."""
        path = Path(path)
        key = (str(path), os.stat(path).st_mtime)
        pcm = self._items.get(key)
        if pcm is None:
            pcm = read_audio(path)
            self._items[key] = pcm
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return pcm

    def source(self, path: str | Path, loop: bool = False) -> PcmSource:
        return PcmSource(self.get_pcm(path), loop=loop)

    async def load(self, path: str | Path, loop: bool = False) -> PcmSource:
        pcm = await asyncio.get_running_loop().run_in_executor(None, self.get_pcm, path)
        return PcmSource(pcm, loop=loop)
