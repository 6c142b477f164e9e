"""The far side of a simulated analog line: the exchange and the person at the other end.

It makes what the modem hears each 20 ms (the far end's voice as a tone, call-progress
tones, silence after a hang-up) and mixes in the line's echo of what we sent, which goes
on whether or not anybody is at the far end: the hybrid is on our side of the line: the
2-wire/4-wire hybrid reflects our audio back after ``echo_delay_ms`` and ``echo_loss_db``
of loss (ITU-T G.168 calls it the echo path; ERL is the loss).  It records what the far
end heard, so a test can look for our tone there.  No I/O, no clock: the modem sim
calls :meth:`exchange` once a frame.
"""

from __future__ import annotations

import array
import math
import random
from collections import deque

from appliance.media.tones import ToneSource, dtmf_pcm
from drivers.base import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE

MAX_HEARD = SAMPLE_RATE * 2 * 60  # a minute of what the far end heard, for tests


class FarEnd:
    def __init__(
        self,
        *,
        tone_hz: float | None = 1000.0,
        amplitude: float = 6000.0,
        echo_delay_ms: int = 0,
        echo_loss_db: float = 12.0,
        noise_rms: float = 3.0,
        room_noise_rms: float = 0.0,
        country: str = "eu",
        seed: int = 5,
    ) -> None:
        self.tone_hz = tone_hz
        self.voice_hz = tone_hz  # how this far end sounds when a call connects
        self.amplitude = amplitude
        self.echo_delay_ms = echo_delay_ms
        self.echo_loss_db = echo_loss_db
        self.noise_rms = noise_rms  # the line's own hiss, always there
        self.room_noise_rms = room_noise_rms  # a caller's handset in a room, while connected
        self.connected = True
        self.country = country
        self.talking = tone_hz is not None
        self.heard = bytearray()
        self._rng = random.Random(seed)
        self._sample = 0
        self._progress: ToneSource | None = None  # busy/ringback/dial played by the exchange
        self._keys = bytearray()  # in-band DTMF of keys the far end pressed, still to send
        self._echo_line: deque[int] = deque()
        self._reset_echo()

    def _reset_echo(self) -> None:
        delay = self.echo_delay_ms * SAMPLE_RATE // 1000
        self._echo_line = deque([0] * delay)

    # -- what happens on the line --------------------------------------------------------
    def say(self, tone_hz: float | None) -> None:
        """The far end talks (a steady tone stands for a voice) or falls silent."""
        self.tone_hz = tone_hz
        self.talking = tone_hz is not None
        self._progress = None

    def connect(self) -> None:
        """A call connects: the far party talks with its voice, no tone plays."""
        self.connected = True
        self.say(self.voice_hz)

    def play(self, name: str | None) -> None:
        """The exchange plays a call-progress tone (``busy``, ``congestion``...)."""
        self._progress = ToneSource.named(name, self.country) if name else None
        if name:
            self.talking = False

    def press(self, digits: str) -> None:
        """The far end presses keys: Q.23 tones on the line (100 ms on, 100 ms off)."""
        self._keys += dtmf_pcm(digits)

    def hang_up_silently(self) -> None:
        self.talking = False
        self.connected = False
        self._progress = None

    # -- one frame each way --------------------------------------------------------------
    def exchange(self, sent: bytes) -> bytes:
        """``sent``: 320 bytes we played to the line.  Returns 320 bytes the modem hears."""
        if len(self.heard) < MAX_HEARD:
            self.heard += sent
        ours = array.array("h", sent)
        out = array.array("h", bytes(FRAME_BYTES))
        if self._keys:
            chunk = bytes(self._keys[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
            del self._keys[:FRAME_BYTES]
            out = array.array("h", chunk)
        elif self._progress is not None:
            progress = self._progress.read_frame() or bytes(FRAME_BYTES)
            out = array.array("h", progress)
        elif self.talking and self.tone_hz:
            step = 2 * math.pi * self.tone_hz / SAMPLE_RATE
            s0 = self._sample
            for i in range(FRAME_SAMPLES):
                out[i] = int(self.amplitude * math.sin(step * (s0 + i)))
        self._sample += FRAME_SAMPLES
        gain = 10 ** (-self.echo_loss_db / 20) if self.echo_loss_db < 200 else 0.0
        line = self._echo_line
        gauss = self._rng.gauss
        noise = max(self.noise_rms, self.room_noise_rms if self.connected else 0.0)
        for i in range(FRAME_SAMPLES):
            line.append(ours[i])
            echo = line.popleft() * gain
            v = out[i] + echo + (gauss(0.0, noise) if noise else 0.0)
            out[i] = max(-32768, min(32767, int(v)))
        return out.tobytes()
