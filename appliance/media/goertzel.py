"""Single-frequency analysis and signal levels, for drivers and tests.

A Goertzel filter evaluates one DFT bin.  Here the bin is computed as two dot products
(with a cosine and a sine reference), done in C by ``audioop.findfactor``: it returns
``dot(x, r) / dot(r, r)``, and ``dot(r, r)`` is known, so a bin costs two C calls
instead of a Python loop over samples.  The result equals Goertzel's (the DFT at any
frequency, not only integer bins) and keeps the phase, which :mod:`.dtmf` uses to
measure frequency.

Levels are in dBFS the AES17 way: a sine whose peaks touch full scale reads 0 dBFS.
G.711's largest sine is +3.17 dBm0 (mu-law; +3.14 for A-law), so dBm0 = dBFS + 3.17.
"""

from __future__ import annotations

import array
import cmath
import math
from dataclasses import dataclass
from functools import lru_cache

from drivers.base import SAMPLE_RATE

from ._audioop import audioop

FULL_SCALE = 32768.0
DBM0_OFFSET = 3.17  # dBm0 = dBFS + DBM0_OFFSET (G.711 maximum sine, mu-law)
_FLOOR_DB = -120.0


@dataclass(frozen=True, slots=True)
class Reference:
    """Cosine and sine of one frequency over ``n`` samples, as 16-bit PCM."""

    cos: bytes
    sin: bytes
    cos_energy: float
    sin_energy: float


@lru_cache(maxsize=512)
def reference(freq: float, n: int, rate: int = SAMPLE_RATE) -> Reference:
    step = 2.0 * math.pi * freq / rate
    cos_ = array.array("h", (round(32767 * math.cos(step * i)) for i in range(n)))
    sin_ = array.array("h", (round(32767 * math.sin(step * i)) for i in range(n)))
    return Reference(
        cos_.tobytes(),
        sin_.tobytes(),
        float(sum(v * v for v in cos_)),
        float(sum(v * v for v in sin_)),
    )


def _dot(pcm: bytes, ref: bytes, energy: float) -> float:
    if energy <= 0.0:
        return 0.0
    return audioop.findfactor(pcm, ref) * energy / 32767.0


def dft_bin(pcm: bytes, freq: float, rate: int = SAMPLE_RATE) -> complex:
    """``sum(x[n] * exp(-j*2*pi*freq*n/rate))`` over the whole of ``pcm`` (s16le)."""
    n = len(pcm) // 2
    if n == 0:
        return 0j
    ref = reference(freq, n, rate)
    pcm = pcm[: 2 * n]
    return complex(_dot(pcm, ref.cos, ref.cos_energy), -_dot(pcm, ref.sin, ref.sin_energy))


def tone_amplitude(pcm: bytes, freq: float, rate: int = SAMPLE_RATE) -> float:
    """Estimated peak amplitude (in samples) of a sine at ``freq`` in ``pcm``."""
    n = len(pcm) // 2
    return 2.0 * abs(dft_bin(pcm, freq, rate)) / n if n else 0.0


def to_db(power_ratio: float) -> float:
    return 10.0 * math.log10(power_ratio) if power_ratio > 0 else _FLOOR_DB


def level_dbfs(pcm: bytes) -> float:
    """RMS level of s16le PCM in dBFS (a full-scale sine is 0 dBFS)."""
    if len(pcm) < 2:
        return _FLOOR_DB
    rms = audioop.rms(pcm[: len(pcm) & ~1], 2)
    return to_db(2.0 * (rms / FULL_SCALE) ** 2)


def tone_level_dbfs(pcm: bytes, freq: float, rate: int = SAMPLE_RATE) -> float:
    """Level in dBFS of the sine component at ``freq``."""
    return to_db((tone_amplitude(pcm, freq, rate) / FULL_SCALE) ** 2)


def amplitude_for_dbm0(dbm0: float) -> float:
    """Peak sample amplitude of a sine at ``dbm0``."""
    return FULL_SCALE * 10 ** ((dbm0 - DBM0_OFFSET) / 20)


def tone_fraction(pcm: bytes, freqs: tuple[float, ...], rate: int = SAMPLE_RATE) -> float:
    """Share (0..1) of the signal's power carried by sines at ``freqs``."""
    n = len(pcm) // 2
    if n == 0:
        return 0.0
    total = audioop.rms(pcm[: 2 * n], 2) ** 2
    if total <= 0:
        return 0.0
    tones = sum(tone_amplitude(pcm, f, rate) ** 2 / 2.0 for f in freqs)
    return min(1.0, tones / total)


def tone_present(
    pcm: bytes, freq: float, min_dbfs: float = -45.0, min_fraction: float = 0.5
) -> bool:
    """Whether ``pcm`` carries a sine at ``freq`` at least ``min_dbfs`` loud that makes up
    at least ``min_fraction`` of the power (so noise or speech does not count)."""
    return (
        tone_level_dbfs(pcm, freq) >= min_dbfs and tone_fraction(pcm, (freq,)) >= min_fraction
    )


def phase(value: complex) -> float:
    return cmath.phase(value)


class ToneDetector:
    """Streaming presence of one steady tone: ``feed(frame)`` returns True while the
    tone has been present for at least ``min_ms`` (a 1 kHz test tone, a busy tone's
    425 Hz, a fax CNG 1100 Hz)."""

    def __init__(
        self,
        freq: float,
        min_ms: int = 60,
        min_dbfs: float = -45.0,
        min_fraction: float = 0.5,
    ) -> None:
        self.freq = freq
        self.min_ms = min_ms
        self.min_dbfs = min_dbfs
        self.min_fraction = min_fraction
        self.present_ms = 0

    def feed(self, frame: bytes) -> bool:
        ms = len(frame) // 2 * 1000 // SAMPLE_RATE
        if tone_present(frame, self.freq, self.min_dbfs, self.min_fraction):
            self.present_ms += ms
        else:
            self.present_ms = 0
        return self.present_ms >= self.min_ms
