"""The modem's USB audio port, simulated: 8 kHz 16-bit PCM at real-time pace.

While a call's audio is on, it sends one 20 ms frame every 20 ms (the far end's voice: a
tone, with DTMF mixed in when the far end presses a key and the model carries DTMF
in-band) and records whatever the host writes (what the far end would hear), so a test
checks audio both ways.  Pace comes from the injected clock, so it runs in real time
on a pty and in virtual time on a memory link.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

from appliance.clock import Clock, Timer
from drivers.base import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE

# ITU-T Q.23: DTMF row and column frequencies
DTMF_ROWS = (697, 770, 852, 941)
DTMF_COLS = (1209, 1336, 1477, 1633)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")

MAX_RECORDING = SAMPLE_RATE * 2 * 120  # two minutes is plenty for a test


def dtmf_pair(digit: str) -> tuple[int, int]:
    for r, row in enumerate(DTMF_KEYS):
        c = row.find(digit.upper())
        if c >= 0:
            return DTMF_ROWS[r], DTMF_COLS[c]
    raise ValueError(f"{digit!r} is not a DTMF key")


def tone_frames(freqs: tuple[float, ...], frames: int, amplitude: float = 8000.0,
                start_sample: int = 0) -> bytes:
    """``frames`` 20 ms frames of the sum of sines at ``freqs``."""
    n = frames * FRAME_SAMPLES
    per = amplitude / max(1, len(freqs))
    samples = [
        int(sum(per * math.sin(2 * math.pi * f * (start_sample + i) / SAMPLE_RATE) for f in freqs))
        for i in range(n)
    ]
    return struct.pack(f"<{n}h", *samples)


class AudioPortSim:
    """One audio port.  ``out`` is set by the link that carries the bytes to the host."""

    def __init__(self, clock: Clock, tone_hz: float = 1000.0) -> None:
        self.clock = clock
        self.tone_hz = tone_hz
        self.out: Callable[[bytes], None] = lambda data: None
        self.active = False
        self.recorded = bytearray()
        self.frames_sent = 0
        self._timer: Timer | None = None
        self._t0 = 0.0
        self._sample = 0
        self._dtmf: list[bytes] = []  # frames of a key press queued to mix in
        self._tone_cache: dict[int, bytes] = {}

    # -- the call's audio path -----------------------------------------------------------
    def start(self) -> None:
        if self.active:
            return
        self.active = True
        self._t0 = self.clock.monotonic()
        self.frames_sent = 0
        self.recorded = bytearray()  # what this call's far end hears, not the last call's
        self._schedule()

    def stop(self) -> None:
        self.active = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def received(self, data: bytes) -> None:
        """Bytes the host wrote to the audio port: heard by the far end only in a call."""
        if self.active and len(self.recorded) < MAX_RECORDING:
            self.recorded += data

    def set_tone(self, freq: float) -> None:
        """The far end says something else: a test tells what it sent from what the box
        recorded (a voicemail message) by its frequency."""
        if not 50.0 <= freq <= 3800.0:
            raise ValueError("a voice tone is 50..3800 Hz")
        self.tone_hz = freq
        self._tone_cache.clear()

    def press(self, digit: str, ms: int = 100) -> None:
        """The far end presses a key: its tone pair goes down the audio path."""
        frames = max(1, ms // FRAME_MS)
        tone = tone_frames(dtmf_pair(digit), frames)
        gap = bytes(FRAME_BYTES)
        self._dtmf += [tone[i : i + FRAME_BYTES] for i in range(0, len(tone), FRAME_BYTES)]
        self._dtmf += [gap, gap, gap]

    # -- pacing ---------------------------------------------------------------------------
    def _schedule(self) -> None:
        due = self._t0 + (self.frames_sent + 1) * FRAME_MS / 1000
        self._timer = self.clock.call_later(due - self.clock.monotonic(), self._tick)

    def _tick(self) -> None:
        if not self.active:
            return
        # catch up after a stall rather than bursting a backlog into the port
        behind = int((self.clock.monotonic() - self._t0) * 1000 // FRAME_MS) - self.frames_sent
        if behind > 5:
            self.frames_sent += behind - 1
        self.out(self._next_frame())
        self.frames_sent += 1
        self._schedule()

    def _next_frame(self) -> bytes:
        if self._dtmf:
            return self._dtmf.pop(0)
        phase = self._sample % SAMPLE_RATE
        frame = self._tone_cache.get(phase)
        if frame is None:
            frame = tone_frames((self.tone_hz,), 1, start_sample=phase)
            self._tone_cache[phase] = frame
        self._sample += FRAME_SAMPLES
        return frame
