"""Far-end hang-up from the audio, for modems that do not say so themselves.

An analog line gives no reliable "caller gone" signal: some exchanges drop loop
current for a moment (the modem reports <DLE>l), some play busy or reorder tone, some
only go quiet.  This monitor measures the last two on the received (echo-cancelled)
audio: a busy/reorder cadence of the country's tone plan (E.180; ETSI ES 201 970) held
for a few cycles, or silence for ``silence_seconds``.  It is a plain class fed 20 ms
frames, so a test drives it with synthetic audio and no clock.
"""

from __future__ import annotations

from appliance.media._audioop import audioop
from appliance.media.goertzel import tone_fraction
from appliance.media.tones import tone_plan
from drivers.base import FRAME_MS

SILENCE_RMS = 60  # about -55 dBFS: below a quiet talker, above a clean line's hiss
TONE_MIN_RMS = 150  # a busy tone at the far end of a lossy line is still above this
TONE_FRACTION = 0.6
BUSY_CYCLES = 3  # on/off pairs in a row before we believe it (speech rarely does this)
ON_OFF_MS = (150, 700)  # busy 500/500, Russian 400/400, reorder 250/250 all fit
CADENCE_TOLERANCE_MS = 120  # on and off of one cycle are about equal in every plan


class FarEndMonitor:
    def __init__(self, silence_seconds: float, country: str = "eu") -> None:
        self.silence_ms_limit = int(silence_seconds * 1000)
        plan = tone_plan(country)
        self.busy_freqs = plan["busy"].freqs
        self.silent_ms = 0
        self._tone_on: bool | None = None
        self._run_ms = 0
        self._last_on_ms = 0
        self._cycles = 0

    def reset(self) -> None:
        self.silent_ms = 0
        self._tone_on = None
        self._run_ms = 0
        self._cycles = 0

    def feed(self, frame: bytes) -> str | None:
        """One 20 ms frame in; ``"silence"`` or ``"busy"`` when the far end is gone."""
        rms = audioop.rms(frame, 2)
        if rms < SILENCE_RMS:
            self.silent_ms += FRAME_MS
            if self.silence_ms_limit and self.silent_ms >= self.silence_ms_limit:
                return "silence"
        else:
            self.silent_ms = 0
        tone = rms >= TONE_MIN_RMS and tone_fraction(frame, self.busy_freqs) >= TONE_FRACTION
        return "busy" if self._cadence(tone, rms < SILENCE_RMS) else None

    def _cadence(self, tone: bool, quiet: bool) -> bool:
        if not tone and not quiet:  # speech or noise: not a cadence
            self._tone_on = None
            self._cycles = 0
            self._run_ms = 0
            return False
        if tone == self._tone_on:
            self._run_ms += FRAME_MS
            if self._run_ms > ON_OFF_MS[1]:
                self._cycles = 0
            return False
        # an edge: judge the run that just ended
        lo, hi = ON_OFF_MS
        ok = lo <= self._run_ms <= hi
        if self._tone_on is True:
            self._last_on_ms = self._run_ms if ok else 0
        elif self._tone_on is False:
            if ok and self._last_on_ms and abs(self._run_ms - self._last_on_ms) <= (
                CADENCE_TOLERANCE_MS
            ):
                self._cycles += 1
            else:
                self._cycles = 0
        self._tone_on = tone
        self._run_ms = FRAME_MS
        return self._cycles >= BUSY_CYCLES
