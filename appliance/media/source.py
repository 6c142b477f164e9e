"""Frame sources: anything that hands out 20 ms frames one at a time.

The player paces a source onto a leg; the IVR chains prompts, tones and silence.  A
source returns ``None`` when it has no more audio (a looping source never does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from drivers.base import FRAME_BYTES, SILENCE

from .g711 import fit_frame


@runtime_checkable
class FrameSource(Protocol):
    def read_frame(self) -> bytes | None:
        """The next 320-byte frame, or None at the end."""


class PcmSource:
    """Linear 8 kHz s16le PCM held in memory (a decoded prompt), optionally looping."""

    def __init__(self, pcm: bytes, loop: bool = False) -> None:
        whole = len(pcm) - len(pcm) % FRAME_BYTES
        self._pcm = pcm[:whole] + (fit_frame(pcm[whole:]) if whole < len(pcm) else b"")
        self._pos = 0
        self.loop = loop

    def read_frame(self) -> bytes | None:
        if self._pos >= len(self._pcm):
            if not self.loop or not self._pcm:
                return None
            self._pos = 0
        frame = self._pcm[self._pos : self._pos + FRAME_BYTES]
        self._pos += FRAME_BYTES
        return frame

    def rewind(self) -> None:
        self._pos = 0

    @property
    def duration(self) -> float:
        return len(self._pcm) / (2 * 8000)


class SilenceSource:
    """``frames`` frames of silence, or endless silence when ``frames`` is None."""

    def __init__(self, frames: int | None = None) -> None:
        self._left = frames

    @classmethod
    def for_ms(cls, ms: int) -> SilenceSource:
        return cls(max(0, round(ms / 20)))

    def read_frame(self) -> bytes | None:
        if self._left is None:
            return SILENCE
        if self._left <= 0:
            return None
        self._left -= 1
        return SILENCE


class Sequence:
    """Plays sources one after another (a prompt, then a pause, then the position)."""

    def __init__(self, sources: Iterable[FrameSource]) -> None:
        self._sources = list(sources)

    def append(self, source: FrameSource) -> None:
        self._sources.append(source)

    def read_frame(self) -> bytes | None:
        while self._sources:
            frame = self._sources[0].read_frame()
            if frame is not None:
                return frame
            self._sources.pop(0)
        return None
