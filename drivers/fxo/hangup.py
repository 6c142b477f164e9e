"""Far-end hang-up from the audio, for modems that do not say so themselves.

An analog line gives no reliable "caller gone" signal: some exchanges drop loop
current for a moment (the modem reports <DLE>l), some play busy or congestion tone,
some return dial tone, some only go quiet.  This monitor listens to the received
(echo-cancelled) audio for the last three: the tones by cadence with the media
package's call-progress detector (E.180 plans), silence by level for
``silence_seconds``.  A plain class fed 20 ms frames: tests drive it without a clock.
"""

from __future__ import annotations

import statistics
from collections import deque

from appliance.media._audioop import audioop
from appliance.media.progress import CallProgressDetector
from drivers.base import FRAME_MS

SILENCE_RMS = 60  # about -55 dBFS: below a quiet talker, above a clean line's hiss
# 8-bit linear codecs: one step is 256 in 16 bits, so an idle line's hiss toggles by a
# step (truncation makes the smallest negative noise a whole step): ~1.5 steps is quiet
SILENCE_RMS_8BIT = 400
GONE_TONES = {"busy": "busy", "congestion": "busy", "dial": "dial_tone"}
# While we send audio (hold music, a prompt) the canceller leaves a residual of it: the
# line counts as silent only below our level minus this much (6 dB ERL + ~21 dB ERLE)
RESIDUAL_BELOW_OURS = 10 ** (-27 / 20)
LEVEL_FRAMES = 15  # the level is the median of 300 ms: brief residual spikes do not count


class FarEndMonitor:
    def __init__(self, silence_seconds: float, country: str = "eu",
                 silence_rms: int = SILENCE_RMS) -> None:
        self.silence_ms_limit = int(silence_seconds * 1000)
        self.silence_rms = silence_rms
        self._levels: deque[int] = deque(maxlen=LEVEL_FRAMES)
        # ringback stays among the names: it keeps its 1 s bursts from passing for dial tone
        self.progress = CallProgressDetector(country)
        self.silent_ms = 0

    def reset(self) -> None:
        self.silent_ms = 0
        self._levels.clear()
        self.progress.reset()

    def feed(self, frame: bytes, ours_rms: float = 0.0) -> str | None:
        """One 20 ms frame in (``ours_rms``: the level we sent during the echo tail);
        ``"silence"``, ``"busy"`` or ``"dial_tone"`` when the far end is gone."""
        self._levels.append(audioop.rms(frame, 2))
        level = statistics.median(self._levels)
        if level < max(self.silence_rms, ours_rms * RESIDUAL_BELOW_OURS):
            self.silent_ms += FRAME_MS
            if self.silence_ms_limit and self.silent_ms >= self.silence_ms_limit:
                return "silence"
        else:
            self.silent_ms = 0
        tone = self.progress.feed(frame)
        return GONE_TONES.get(tone) if tone else None
