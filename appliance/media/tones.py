"""Call-progress tones and DTMF signals as frame sources.

Cadences follow ITU-T E.180 and its Supplement 2 (the national tones list): Europe
uses one 425 Hz tone for dial, ringing, busy and congestion, told apart by cadence
(CEPT recommendation, ETSI ES 201 970); Russia also uses 425 Hz with its own cadences.
The North American plan (dual frequencies) is here for trunks that expect it.  Every
plan is plain data, so an installer-set country picks one and a new country is a dict.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass
from functools import lru_cache

from drivers.base import FRAME_BYTES, SAMPLE_RATE

from .goertzel import amplitude_for_dbm0


@dataclass(frozen=True, slots=True)
class ToneSpec:
    """Frequencies summed at ``level_dbm0`` each; ``cadence`` is (on_ms, off_ms, ...)
    repeated; empty means continuous."""

    freqs: tuple[float, ...]
    cadence: tuple[int, ...] = ()
    level_dbm0: float = -10.0


# E.180 / ETSI ES 201 970 section 5 (CEPT harmonised tones).
EUROPE = {
    "dial": ToneSpec((425,)),
    "ringback": ToneSpec((425,), (1000, 4000)),
    "busy": ToneSpec((425,), (500, 500)),
    "congestion": ToneSpec((425,), (250, 250)),
    "call_waiting": ToneSpec((425,), (200, 200, 200, 4400)),
}
# E.180 Supplement 2, Russian Federation entry (the same values as gateway vendors'
# "Russia" tone tables).  Call waiting: a 440 Hz burst of 300 ms at -17 dBm0; how
# often it repeats is not in our sources, 10 s is our choice.
RUSSIA = {
    "dial": ToneSpec((425,)),
    "ringback": ToneSpec((425,), (800, 3200)),
    "busy": ToneSpec((425,), (400, 400)),
    "congestion": ToneSpec((425,), (200, 200)),
    "call_waiting": ToneSpec((440,), (300, 9700), -17.0),
}
# ANSI T1.401 / Telcordia GR-506 precise tone plan.
NORTH_AMERICA = {
    "dial": ToneSpec((350, 440), (), -13.0),
    "ringback": ToneSpec((440, 480), (2000, 4000), -19.0),
    "busy": ToneSpec((480, 620), (500, 500), -24.0),
    "congestion": ToneSpec((480, 620), (250, 250), -24.0),
    "call_waiting": ToneSpec((440,), (300, 9700), -13.0),
}
PLANS = {"eu": EUROPE, "ru": RUSSIA, "us": NORTH_AMERICA}

# ITU-T Q.23 figure 1: the keypad's row (low group) and column (high group) tones.
DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
DTMF_FREQS: dict[str, tuple[float, float]] = {
    key: (DTMF_ROWS[r], DTMF_COLS[c])
    for r, row in enumerate(DTMF_KEYS)
    for c, key in enumerate(row)
}


def tone_plan(country: str) -> dict[str, ToneSpec]:
    try:
        return PLANS[country.lower()]
    except KeyError:
        raise ValueError(f"no tone plan for {country!r}; known: {sorted(PLANS)}") from None


def synthesize(
    freqs: tuple[float, ...] | list[float],
    ms: float,
    level_dbm0: float | tuple[float, ...] = -10.0,
    start_sample: int = 0,
    rate: int = SAMPLE_RATE,
) -> bytes:
    """``ms`` of the sum of sines at ``freqs`` as s16le; a per-tone level may be given
    as a tuple (DTMF twist).  ``start_sample`` continues the phase of a previous call."""
    count = round(ms * rate / 1000)
    levels = level_dbm0 if isinstance(level_dbm0, tuple) else (level_dbm0,) * len(freqs)
    parts = [
        (amplitude_for_dbm0(level), 2.0 * math.pi * f / rate)
        for f, level in zip(freqs, levels, strict=True)
    ]
    out = array.array("h", bytes(2 * count))
    for i in range(count):
        n = start_sample + i
        value = sum(amp * math.sin(step * n) for amp, step in parts)
        out[i] = max(-32768, min(32767, round(value)))
    return out.tobytes()


@lru_cache(maxsize=64)
def _render_cycle(spec: ToneSpec, rate: int) -> bytes:
    """One whole cadence cycle, or one second of a continuous tone (whole periods for
    integer frequencies, so looping it stays phase-continuous)."""
    if not spec.cadence:
        return synthesize(spec.freqs, 1000, spec.level_dbm0, rate=rate)
    chunks = []
    for i, ms in enumerate(spec.cadence):
        if i % 2 == 0:
            chunks.append(synthesize(spec.freqs, ms, spec.level_dbm0, rate=rate))
        else:
            chunks.append(bytes(2 * round(ms * rate / 1000)))
    return b"".join(chunks)


class ToneSource:
    """An endless (or ``duration_ms``-long) frame source playing one tone spec."""

    def __init__(self, spec: ToneSpec, duration_ms: int | None = None) -> None:
        self.spec = spec
        self._cycle = _render_cycle(spec, SAMPLE_RATE)
        self._pos = 0
        self._left = None if duration_ms is None else max(0, round(duration_ms / 20))

    @classmethod
    def named(cls, name: str, country: str = "eu", duration_ms: int | None = None) -> ToneSource:
        return cls(tone_plan(country)[name], duration_ms)

    def read_frame(self) -> bytes | None:
        if self._left is not None:
            if self._left <= 0:
                return None
            self._left -= 1
        cycle = self._cycle
        end = self._pos + FRAME_BYTES
        if end <= len(cycle):
            frame = cycle[self._pos : end]
        else:
            frame = cycle[self._pos :] + cycle[: end - len(cycle)]
        self._pos = end % len(cycle)
        return frame


def dtmf_pcm(
    digits: str,
    on_ms: int = 100,
    off_ms: int = 100,
    low_dbm0: float = -9.0,
    high_dbm0: float = -7.0,
) -> bytes:
    """In-band DTMF for ``digits`` (Q.23 frequencies), each ``on_ms`` of tone then
    ``off_ms`` of silence.  Defaults follow ETSI ES 201 235-2: high group 2 dB louder."""
    out = []
    for digit in digits.upper():
        if digit not in DTMF_FREQS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        out.append(synthesize(DTMF_FREQS[digit], on_ms, (low_dbm0, high_dbm0)))
        out.append(bytes(2 * round(off_ms * SAMPLE_RATE / 1000)))
    return b"".join(out)
