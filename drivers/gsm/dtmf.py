"""In-band DTMF detection for modems that do not report keys (Goertzel, ITU-T Q.24).

A small stand-alone detector; appliance/media/dtmf.py will be the shared one.
"""

from __future__ import annotations

import math
import struct

from drivers.base import FRAME_SAMPLES, SAMPLE_RATE

ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")

MIN_ENERGY = 1e9  # per-frame power of a tone well below speech level, in Goertzel units
TWIST_DB = 8.0  # Q.24: row/column level difference allowed
RELATIVE = 0.5  # the pair must hold this share of the frame's energy


def goertzel_power(samples: list[int] | tuple[int, ...], freq: float,
                   rate: int = SAMPLE_RATE) -> float:
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def frame_samples(frame: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(frame) // 2}h", frame)


class DtmfDetector:
    """Feed 20 ms frames; a key is reported once when it has held for two frames."""

    def __init__(self) -> None:
        self._last: str | None = None
        self._count = 0
        self._reported = False

    def feed(self, frame: bytes) -> str | None:
        key = self.classify(frame_samples(frame[: FRAME_SAMPLES * 2]))
        if key != self._last:
            self._last, self._count, self._reported = key, 1, False
            return None
        self._count += 1
        if key is not None and self._count >= 2 and not self._reported:
            self._reported = True
            return key
        return None

    @staticmethod
    def classify(samples: tuple[int, ...]) -> str | None:
        energy = sum(x * x for x in samples) * len(samples) / 2  # in Goertzel power units
        if energy < 2 * MIN_ENERGY:  # too quiet for a key: skip the filters (most frames)
            return None
        powers = _powers(samples)
        rows, cols = powers[:4], powers[4:]
        r, c = max(range(4), key=rows.__getitem__), max(range(4), key=cols.__getitem__)
        if rows[r] < MIN_ENERGY or cols[c] < MIN_ENERGY:
            return None
        twist = 10 * math.log10(max(rows[r], cols[c]) / min(rows[r], cols[c]))
        if twist > TWIST_DB:
            return None
        # the pair must stand out from the other candidates in its group
        if any(p > rows[r] / 4 for i, p in enumerate(rows) if i != r):
            return None
        if any(p > cols[c] / 4 for i, p in enumerate(cols) if i != c):
            return None
        if (rows[r] + cols[c]) < RELATIVE * energy:
            return None
        return KEYS[r][c]


_COEFFS = tuple(2 * math.cos(2 * math.pi * f / SAMPLE_RATE) for f in ROWS + COLS)


def _powers(samples: tuple[int, ...]) -> list[float]:
    """The eight Goertzel filters in one pass over the frame."""
    k0, k1, k2, k3, k4, k5, k6, k7 = _COEFFS
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = 0.0
    for x in samples:
        a0, b0 = x + k0 * a0 - b0, a0
        a1, b1 = x + k1 * a1 - b1, a1
        a2, b2 = x + k2 * a2 - b2, a2
        a3, b3 = x + k3 * a3 - b3, a3
        a4, b4 = x + k4 * a4 - b4, a4
        a5, b5 = x + k5 * a5 - b5, a5
        a6, b6 = x + k6 * a6 - b6, a6
        a7, b7 = x + k7 * a7 - b7, a7
    pairs = ((a0, b0, k0), (a1, b1, k1), (a2, b2, k2), (a3, b3, k3),
             (a4, b4, k4), (a5, b5, k5), (a6, b6, k6), (a7, b7, k7))
    return [s1 * s1 + s2 * s2 - k * s1 * s2 for s1, s2, k in pairs]
