"""In-band DTMF for modems that do not report keys: the box's Q.24 detector
(appliance.media.dtmf), with the one-key-per-frame face the call manager uses."""

from __future__ import annotations

from appliance.media.dtmf import DtmfDetector as Q24Detector


class DtmfDetector:
    """Feed 20 ms frames; each key press is reported once, when it is recognised."""

    def __init__(self) -> None:
        self._detector = Q24Detector()
        self._pending: list[str] = []

    def feed(self, frame: bytes) -> str | None:
        self._pending.extend(self._detector.feed(frame))
        return self._pending.pop(0) if self._pending else None
