"""The line echo canceller for analog legs, from ``appliance.media.echo`` (the media
area's NLMS canceller with double-talk detection).

Only analog legs pay for it: the FXO call asks for one per call, SIP and GSM legs never
do.  Until the media package ships its canceller this returns None, the call runs
without one, and ``status()`` says so (``echo_canceller: false``).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

log = logging.getLogger(__name__)


def echo_available() -> bool:
    try:
        importlib.import_module("appliance.media.echo")
    except ImportError:
        return False
    return True


def make_echo_canceller(**options: Any) -> Any | None:
    try:
        echo = importlib.import_module("appliance.media.echo")
    except ImportError:
        return None
    factory = getattr(echo, "EchoCanceller", None)
    if factory is None:
        log.warning("appliance.media.echo has no EchoCanceller; line echo stays")
        return None
    canceller = factory(**options)
    tail_ms = int(options.get("tail_ms", 64))
    return GatedCanceller(canceller, tail_frames=-(-tail_ms // 20) + 1)


SILENT_PEAK = 16  # the core sends digital silence as zeros; a little dither still counts


class GatedCanceller:
    """Keeps the canceller off the hot path while there is nothing to cancel.

    When every frame we sent during the echo tail was silent, the line cannot return
    any echo, so the near end passes untouched and the filter is not run.  When our
    audio resumes, the filter's history is first refilled with the silence it missed,
    which is exactly the state it would have reached: no re-convergence."""

    def __init__(self, inner: Any, tail_frames: int) -> None:
        self.inner = inner
        self.tail_frames = tail_frames
        self.quiet = 0
        self.bypassing = False
        self.bypassed_frames = 0

    def process(self, near: bytes, far: bytes) -> bytes:
        from appliance.media._audioop import audioop

        if audioop.max(far, 2) <= SILENT_PEAK:
            self.quiet += 1
            if self.quiet > self.tail_frames:
                self.bypassing = True
                self.bypassed_frames += 1
                return near
        else:
            self.quiet = 0
            if self.bypassing:
                self.bypassing = False
                silence = bytes(len(far))
                for _ in range(self.tail_frames):
                    self.inner.process(silence, silence)
        return self.inner.process(near, far)
