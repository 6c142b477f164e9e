"""Far-end hang-up from the audio, for modems that do not say so themselves.

An analog line gives no reliable "caller gone" signal: some exchanges drop loop
current for a moment (the modem reports <DLE>l), some play busy or congestion tone,
some return dial tone, some only go quiet.  This monitor listens to the received
(echo-cancelled) audio for the last three: the tones by cadence with the media
package's call-progress detector (E.180 plans), silence by level for
``silence_seconds``.  A plain class fed 20 ms frames: tests drive it without a clock.
"""

from __future__ import annotations

from appliance.media._audioop import audioop
from appliance.media.progress import CallProgressDetector
from drivers.base import FRAME_MS

SILENCE_RMS = 60  # about -55 dBFS: below a quiet talker, above a clean line's hiss
GONE_TONES = {"busy": "busy", "congestion": "busy", "dial": "dial_tone"}


class FarEndMonitor:
    def __init__(self, silence_seconds: float, country: str = "eu") -> None:
        self.silence_ms_limit = int(silence_seconds * 1000)
        # ringback stays among the names: it keeps its 1 s bursts from passing for dial tone
        self.progress = CallProgressDetector(country)
        self.silent_ms = 0

    def reset(self) -> None:
        self.silent_ms = 0
        self.progress.reset()

    def feed(self, frame: bytes) -> str | None:
        """One 20 ms frame in; ``"silence"``, ``"busy"`` or ``"dial_tone"`` when the far
        end is gone."""
        if audioop.rms(frame, 2) < SILENCE_RMS:
            self.silent_ms += FRAME_MS
            if self.silence_ms_limit and self.silent_ms >= self.silence_ms_limit:
                return "silence"
        else:
            self.silent_ms = 0
        tone = self.progress.feed(frame)
        return GONE_TONES.get(tone) if tone else None
