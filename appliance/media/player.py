"""Prompt and music-on-hold player: a frame source paced onto a leg at 20 ms by a
:class:`~.pacing.Pacer` on the injected clock (drift-free, see there).

Typical use: ``Player(clock, leg.send_frame).play(cache.source("moh.wav", loop=True))``.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from appliance.clock import Clock

from .pacing import Pacer
from .source import FrameSource, PcmSource
from .wav import read_audio


class Player:
    """Plays one source at a time into ``send(frame)``.  ``play()`` replaces what is
    playing; ``on_done`` is called when a non-looping source runs out."""

    def __init__(
        self, clock: Clock, send: Callable[[bytes], None], max_catch_up: int = 5
    ) -> None:
        self.clock = clock
        self.send = send
        self.frames_sent = 0
        self._pacer = Pacer(clock, self._send_one, max_catch_up)
        self._source: FrameSource | None = None
        self._on_done: Callable[[], None] | None = None

    @property
    def playing(self) -> bool:
        return self._source is not None

    @property
    def restarts(self) -> int:
        return self._pacer.restarts

    def play(self, source: FrameSource, on_done: Callable[[], None] | None = None) -> None:
        self._source = source
        self._on_done = on_done
        self._pacer.start()

    def stop(self) -> None:
        """Stop without calling ``on_done`` (the caller knows it stopped it)."""
        self._pacer.stop()
        self._source = None
        self._on_done = None

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
        self.frames_sent += 1
        self.send(frame)
        return True


class Playlist:
    """Music on hold from several files, one after another, round and round (a hold
    class with more than one track).  Files are decoded through ``cache``."""

    def __init__(self, paths: list[str | Path], cache: PromptCache, loop: bool = True) -> None:
        if not paths:
            raise ValueError("a playlist needs at least one file")
        self.paths = [Path(p) for p in paths]
        self.cache = cache
        self.loop = loop
        self._index = 0
        self._current = cache.source(self.paths[0])

    def read_frame(self) -> bytes | None:
        for _ in range(len(self.paths) + 1):
            frame = self._current.read_frame()
            if frame is not None:
                return frame
            self._index += 1
            if self._index >= len(self.paths):
                if not self.loop:
                    return None
                self._index = 0
            self._current = self.cache.source(self.paths[self._index])
        return None  # every file is empty


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
