"""The call's audio over the modem's USB audio port: 8 kHz 16-bit PCM, cut into 20 ms
frames (320 bytes) up, written as it comes down.  Only carried while a call's audio is
on; outside a call whatever the port says is dropped."""

from __future__ import annotations

from collections.abc import Callable

from drivers.at.transport import ByteLink
from drivers.base import FRAME_BYTES

# Down-link backlog cap: 10 frames (200 ms).  The port's own buffer holds what we write;
# beyond this the oldest audio goes, so latency never grows (base.Leg.send_frame).
AUDIO_BACKLOG = FRAME_BYTES * 10


class AudioPump:
    def __init__(self, link: ByteLink, on_frame: Callable[[bytes], None]) -> None:
        self.link = link
        self.on_frame = on_frame
        self.active = False
        self.frames_in = 0
        self.frames_out = 0
        self._buffer = bytearray()
        self._skip = 0
        self._parity = 0  # bytes seen since the port opened, mod 2: samples stay aligned
        self.lost = False
        link.set_receiver(self._data, self._lost)

    def start(self) -> None:
        self._buffer.clear()
        self.active = True
        self._skip = self._parity  # a read that ended mid-sample must not shift the PCM

    def stop(self) -> None:
        self.active = False
        self._buffer.clear()

    def write(self, frame: bytes) -> None:
        if self.active and not self.lost:
            self.frames_out += 1
            self.link.write(frame)

    def _data(self, data: bytes) -> None:
        self._parity = (self._parity + len(data)) % 2
        if not self.active:
            return
        if self._skip:
            data, self._skip = data[self._skip :], 0
        self._buffer += data
        while len(self._buffer) >= FRAME_BYTES:
            frame = bytes(self._buffer[:FRAME_BYTES])
            del self._buffer[:FRAME_BYTES]
            self.frames_in += 1
            self.on_frame(frame)

    def _lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.active = False

    def close(self) -> None:
        self.active = False
        self.link.close()
