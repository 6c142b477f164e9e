"""Call recording to WAV, written off the event loop.

Layout: **stereo, left = caller, right = operator** by default.  A supervisor or QA
reviewer can listen to either party alone or both together, talk-over and silence can
be measured per party, and a mono mix can always be made later; a mix cannot be
separated again.  ``layout="mix"`` writes mono (half the size) for boxes short of space.
Sample format: 16-bit PCM (browsers play it) or ``codec="pcmu"`` (G.711 mu-law WAV,
half the size, played by most desktop players).

The event loop only appends frames to a buffer; every half second a chunk goes to one
:class:`RecordingWriter` thread that owns all file I/O (an SD card's write or fsync can
stall for tens of milliseconds).  The header's sizes are patched every few seconds so a
power cut leaves a playable file.
"""

from __future__ import annotations

import logging
import os
import queue
import struct
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, BinaryIO, Literal

from drivers.base import FRAME_BYTES, SAMPLE_RATE, SILENCE

from ._audioop import audioop

log = logging.getLogger(__name__)

Layout = Literal["stereo", "mix"]
Codec = Literal["pcm16", "pcmu"]
_FLUSH_FRAMES = 25  # hand a chunk to the writer every 0.5 s of audio
_PATCH_BYTES = 5 * SAMPLE_RATE * 4  # re-write the header sizes about every 5 s


class RecordingWriter:
    """One thread doing every recording's file I/O, in submission order."""

    def __init__(self, name: str = "recording-writer") -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple, Future] | None]
        self._queue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        self._queue.put((fn, args, future))
        return future

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            fn, args, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except Exception as exc:  # report to whoever awaits; keep serving
                future.set_exception(exc)

    def stop(self) -> None:
        """Finish queued work, then end the thread."""
        self._queue.put(None)
        self.thread.join()


def _header(channels: int, codec: Codec, data_bytes: int) -> bytes:
    if codec == "pcmu":
        tag, bits = 7, 8  # WAVE_FORMAT_MULAW
        fmt = struct.pack("<HHIIHHH", tag, channels, SAMPLE_RATE, SAMPLE_RATE * channels,
                          channels, bits, 0)
        fact = b"fact" + struct.pack("<II", 4, data_bytes // channels)
    else:
        fmt = struct.pack("<HHIIHH", 1, channels, SAMPLE_RATE, SAMPLE_RATE * channels * 2,
                          channels * 2, 16)
        fact = b""
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + fact
    body += b"data" + struct.pack("<I", data_bytes)
    return b"RIFF" + struct.pack("<I", len(body) + data_bytes) + body


class _WavFile:
    """Runs on the writer thread only."""

    def __init__(self, path: Path, channels: int, codec: Codec) -> None:
        self.path, self.channels, self.codec = path, channels, codec
        self.data_bytes = 0
        self._since_patch = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed in finish())
        self.file.write(_header(channels, codec, 0))

    def append(self, pcm: bytes) -> None:
        data = audioop.lin2ulaw(pcm, 2) if self.codec == "pcmu" else pcm
        self.file.write(data)
        self.data_bytes += len(data)
        self._since_patch += len(data)
        if self._since_patch >= _PATCH_BYTES:
            self._since_patch = 0
            self._patch()

    def _patch(self) -> None:
        end = self.file.tell()
        self.file.seek(0)
        self.file.write(_header(self.channels, self.codec, self.data_bytes))
        self.file.seek(end)
        self.file.flush()

    def finish(self) -> Path:
        self._patch()
        os.fsync(self.file.fileno())
        self.file.close()
        return self.path


class Recorder:
    """Records one call.  Feed ``caller(frame)`` and ``operator(frame)`` from the loop
    (a bridge's taps do it); ``close()`` returns a Future of the finished path."""

    def __init__(
        self,
        path: str | Path,
        writer: RecordingWriter,
        layout: Layout = "stereo",
        codec: Codec = "pcm16",
        max_skew_frames: int = 10,
    ) -> None:
        self.path = Path(path)
        self.layout = layout
        self.writer = writer
        self.max_skew = max_skew_frames
        self.frames = 0
        self.padded = 0
        self.error: BaseException | None = None
        self._caller: deque[bytes] = deque()
        self._operator: deque[bytes] = deque()
        self._chunk: list[bytes] = []
        self._closed = False
        channels = 2 if layout == "stereo" else 1
        self._file_future = writer.submit(_WavFile, self.path, channels, codec)
        self._file_future.add_done_callback(self._note_error)
        self._last: Future = self._file_future

    def _note_error(self, future: Future) -> None:
        exc = future.exception()
        if exc is not None and self.error is None:
            self.error = exc
            log.error("recording %s failed: %s", self.path, exc)

    # -- frames from the loop -------------------------------------------------------------
    def caller(self, frame: bytes) -> None:
        self._push(self._caller, self._operator, frame)

    def operator(self, frame: bytes) -> None:
        self._push(self._operator, self._caller, frame)

    def _push(self, mine: deque[bytes], other: deque[bytes], frame: bytes) -> None:
        if self._closed or self.error is not None:
            return
        if len(frame) != FRAME_BYTES:
            frame = (frame + SILENCE)[:FRAME_BYTES]
        if other:
            mine.append(frame)
            self._pair()
            return
        mine.append(frame)
        if len(mine) > self.max_skew:  # the other side sends nothing (muted, on hold)
            self._emit(mine.popleft(), None)

    def _pair(self) -> None:
        while self._caller and self._operator:
            self._emit(self._caller.popleft(), self._operator.popleft())

    def _emit(self, caller: bytes | None, operator: bytes | None) -> None:
        if caller is None or operator is None:
            self.padded += 1
        left = caller or SILENCE
        right = operator or SILENCE
        if self.layout == "stereo":
            pcm = audioop.add(audioop.tostereo(left, 2, 1, 0), audioop.tostereo(right, 2, 0, 1), 2)
        else:
            pcm = audioop.add(left, right, 2)
        self._chunk.append(pcm)
        self.frames += 1
        if len(self._chunk) >= _FLUSH_FRAMES:
            self._flush()

    def _flush(self) -> None:
        if not self._chunk:
            return
        data = b"".join(self._chunk)
        self._chunk = []
        self._last = self.writer.submit(self._append, data)
        self._last.add_done_callback(self._note_error)

    def _append(self, data: bytes) -> None:
        self._file_future.result().append(data)  # on the writer thread, already opened

    @property
    def seconds(self) -> float:
        return self.frames * 0.02

    def close(self) -> Future:
        """Write what is left, patch the header, fsync.  Resolves to the path."""
        if not self._closed:
            self._closed = True
            while self._caller or self._operator:
                self._emit(
                    self._caller.popleft() if self._caller else None,
                    self._operator.popleft() if self._operator else None,
                )
            self._flush()
            self._last = self.writer.submit(lambda: self._file_future.result().finish())
        return self._last
