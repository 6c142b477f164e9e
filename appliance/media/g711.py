"""G.711 companding (ITU-T G.711): PCMU (mu-law) and PCMA (A-law) <-> 16-bit linear.

RTP payload types 0 (PCMU) and 8 (PCMA), RFC 3551 section 4.5.14.  A 20 ms frame of
8 kHz audio is 160 G.711 bytes and 320 bytes of linear PCM.  The work is done by
``audioop`` in C; these helpers only fix the sample width and name the codecs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from drivers.base import FRAME_BYTES, FRAME_SAMPLES, SILENCE

from ._audioop import audioop

PCMU = "PCMU"
PCMA = "PCMA"
# RFC 3551 table 4: static payload types.
PAYLOAD_TYPES = {PCMU: 0, PCMA: 8}
ENCODED_FRAME_BYTES = FRAME_SAMPLES  # one byte a sample


def ulaw_to_linear(payload: bytes) -> bytes:
    return audioop.ulaw2lin(payload, 2)


def linear_to_ulaw(pcm: bytes) -> bytes:
    return audioop.lin2ulaw(pcm, 2)


def alaw_to_linear(payload: bytes) -> bytes:
    return audioop.alaw2lin(payload, 2)


def linear_to_alaw(pcm: bytes) -> bytes:
    return audioop.lin2alaw(pcm, 2)


_DECODERS: dict[str, Callable[[bytes], bytes]] = {PCMU: ulaw_to_linear, PCMA: alaw_to_linear}
_ENCODERS: dict[str, Callable[[bytes], bytes]] = {PCMU: linear_to_ulaw, PCMA: linear_to_alaw}


def decoder(codec: str) -> Callable[[bytes], bytes]:
    """The G.711 -> linear function for ``"PCMU"`` or ``"PCMA"`` (case-insensitive)."""
    try:
        return _DECODERS[codec.upper()]
    except KeyError:
        raise ValueError(f"not a G.711 codec: {codec!r}") from None


def encoder(codec: str) -> Callable[[bytes], bytes]:
    """The linear -> G.711 function for ``"PCMU"`` or ``"PCMA"`` (case-insensitive)."""
    try:
        return _ENCODERS[codec.upper()]
    except KeyError:
        raise ValueError(f"not a G.711 codec: {codec!r}") from None


def silence(codec: str) -> bytes:
    """One 20 ms frame of encoded silence (0xFF for mu-law, 0xD5 for A-law)."""
    return encoder(codec)(SILENCE)


# -- frame helpers -------------------------------------------------------------------


def fit_frame(pcm: bytes) -> bytes:
    """Pad with silence or cut so the result is exactly one frame (320 bytes)."""
    if len(pcm) == FRAME_BYTES:
        return pcm
    if len(pcm) > FRAME_BYTES:
        return pcm[:FRAME_BYTES]
    return pcm + SILENCE[: FRAME_BYTES - len(pcm)]


def split_frames(pcm: bytes, pad: bool = True) -> Iterator[bytes]:
    """Cut linear PCM into frames; the last partial frame is padded with silence
    (``pad=True``) or dropped."""
    whole = len(pcm) - len(pcm) % FRAME_BYTES
    for start in range(0, whole, FRAME_BYTES):
        yield pcm[start : start + FRAME_BYTES]
    if pad and whole < len(pcm):
        yield fit_frame(pcm[whole:])


class FrameAssembler:
    """Turns linear PCM arriving in arbitrary chunks (a modem's serial reads) into
    whole frames.  An odd trailing byte waits for its partner."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, pcm: bytes) -> list[bytes]:
        self._pending += pcm
        whole = len(self._pending) - len(self._pending) % FRAME_BYTES
        if not whole:
            return []
        chunk = bytes(self._pending[:whole])
        del self._pending[:whole]
        return [chunk[i : i + FRAME_BYTES] for i in range(0, whole, FRAME_BYTES)]

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> bytes | None:
        """The leftover as one padded frame, or None when nothing is left."""
        if not self._pending:
            return None
        frame = fit_frame(bytes(self._pending[: len(self._pending) & ~1]))
        self._pending.clear()
        return frame
