"""In-band DTMF: a streaming detector to ITU-T Q.24 and a generator (Q.23).

How the detector decides, per 20 ms analysis window (two 10 ms blocks, one new block a
step), and why:

* DFT bins at the 8 Q.23 frequencies for each 10 ms block (two C dot products each, see
  :mod:`.goertzel`).  A window's bin is the two blocks' bins joined with a phase turn.
* **Frequency**: the phase a tone gains from one block to the next gives its real
  frequency to a few hertz; Q.24 wants +-1.5 % accepted and +-3.5 % rejected, finer than
  a 20 ms bin (50 Hz) can tell by magnitude alone.  The limit sits at 2.5 %.
* **Level and twist**: amplitudes corrected for the measured frequency offset, each tone
  above ``min_level_dbm0``; high group up to ``normal_twist_db`` above the low group,
  low group up to ``reverse_twist_db`` above the high group.
* **Talk-off**: the two tones must carry most of the window's power, beat the other
  frequencies of their group clearly, have no strong second harmonics (speech has them,
  a DTMF generator does not) and keep their level from one block to the next.
* **Duration**: the same digit in two windows in a row, with steady level: a key press
  of 40 ms or more always has three whole blocks, one under 23 ms never passes.
* **Once per press**: a digit is reported when first confirmed; the key counts as
  released after four windows without it (a 40 ms pause always gives four, a 10 ms
  drop-out at most three, so it is bridged).
"""

from __future__ import annotations

import cmath
import math
from typing import NamedTuple

from drivers.base import SAMPLE_RATE

from ._audioop import audioop
from .goertzel import amplitude_for_dbm0, dft_bin, reference
from .source import PcmSource
from .tones import DTMF_COLS, DTMF_KEYS, DTMF_ROWS, dtmf_pcm

BLOCK = 80  # samples: 10 ms
WINDOW = 2 * BLOCK
_FREQS = DTMF_ROWS + DTMF_COLS
_ROT = [cmath.exp(-2j * math.pi * f * BLOCK / SAMPLE_RATE) for f in _FREQS]
_REFS = [reference(f, BLOCK) for f in _FREQS]
_ZERO_DBM0 = amplitude_for_dbm0(0.0)
_OMEGA = [2 * math.pi * f / SAMPLE_RATE for f in _FREQS]
_RELEASE_WINDOWS = 4
_CONFIRM_WINDOWS = 2


def _kernel(delta: float, n: int) -> complex:
    """``sum(exp(j*delta*k) for k in range(n))``: how a sine ``delta`` rad/sample away from a
    bin shows in an ``n``-sample DFT."""
    half = delta / 2.0
    if abs(math.sin(half)) < 1e-12:
        return complex(n)
    return cmath.exp(1j * half * (n - 1)) * (math.sin(half * n) / math.sin(half))


# How much of tone j's block bin shows in bin i (rectangular 10 ms block).
_LEAK = {
    (i, j): _kernel(_OMEGA[j] - _OMEGA[i], BLOCK) / BLOCK for i in range(8) for j in range(8)
}


def _unmix(bins: list[complex], row: int, col: int) -> list[complex]:
    """Take each tone's leakage out of the other's bin (solve the 2x2 mix): with a
    high group 8 dB louder, its leakage would otherwise shift the low tone's level by
    +-3 dB and its measured frequency by several hertz from block to block."""
    a, b = _LEAK[row, col], _LEAK[col, row]
    det = 1 - a * b
    out = list(bins)
    out[row] = (bins[row] - a * bins[col]) / det
    out[col] = (bins[col] - b * bins[row]) / det
    return out


def _block_bins(block: bytes) -> list[complex]:
    out = []
    for ref in _REFS:
        re = audioop.findfactor(block, ref.cos) * ref.cos_energy / 32767.0
        im = audioop.findfactor(block, ref.sin) * ref.sin_energy / 32767.0
        out.append(complex(re, -im))
    return out


class _Tone(NamedTuple):
    index: int  # into _FREQS
    delta: float  # measured offset from the nominal frequency, rad/sample
    window_bin: complex  # the 20 ms window's DFT bin
    amplitude: float  # over the window, corrected for the offset
    first: float  # amplitude in the window's first 10 ms block
    second: float  # ... and in its second


def _db(ratio: float) -> float:
    return 20.0 * math.log10(ratio) if ratio > 0 else -200.0


class DtmfDetector:
    """Streaming detector: ``feed(pcm)`` with 8 kHz s16le audio (any length, usually
    one 320-byte frame) returns the digits whose key press was confirmed in it."""

    def __init__(
        self,
        min_level_dbm0: float = -32.0,
        normal_twist_db: float = 8.0,
        reverse_twist_db: float = 4.0,
        freq_tolerance: float = 0.025,
        min_tone_fraction: float = 0.75,
        min_group_margin_db: float = 8.0,
        max_harmonic_db: float = -15.0,
        max_block_step_db: float = 2.5,
    ) -> None:
        self.min_amplitude = amplitude_for_dbm0(min_level_dbm0)
        self.normal_twist_db = normal_twist_db
        self.reverse_twist_db = reverse_twist_db
        self.freq_tolerance = freq_tolerance
        self.min_tone_fraction = min_tone_fraction
        self.min_group_margin_db = min_group_margin_db
        self.max_harmonic_db = max_harmonic_db
        self.max_block_step_db = max_block_step_db
        self._prev_bins: list[complex] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget buffered audio and any held key (after a leg is re-bridged)."""
        self._pending = b""
        self._prev_block = b""
        self._prev_bins = None
        self._prev_energy = 0.0
        self._candidate: str | None = None  # key seen in the last window
        self._candidate_count = 0  # windows in a row it was seen
        self._held: str | None = None  # key reported and not yet released
        self._misses = 0  # windows in a row without the held key

    def feed(self, pcm: bytes) -> list[str]:
        data = self._pending + pcm
        digits: list[str] = []
        pos = 0
        while len(data) - pos >= 2 * BLOCK:
            block = data[pos : pos + 2 * BLOCK]
            pos += 2 * BLOCK
            digit = self._block(block)
            if digit:
                digits.append(digit)
        self._pending = data[pos:]
        return digits

    # -- per block ----------------------------------------------------------------------
    def _block(self, block: bytes) -> str | None:
        bins = _block_bins(block)
        energy = float(audioop.rms(block, 2)) ** 2 * BLOCK
        prev, prev_block, prev_energy = self._prev_bins, self._prev_block, self._prev_energy
        self._prev_bins, self._prev_block, self._prev_energy = bins, block, energy
        if prev is None:
            return None
        key = self._classify(prev, bins, prev_energy + energy, prev_block + block)
        return self._track(key)

    def _track(self, key: str | None) -> str | None:
        """Debounce: confirm a key over two windows, report it once, release it after a
        pause of four windows."""
        if key is not None and key == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate = key
            self._candidate_count = 1 if key else 0
        if key is not None and key == self._held:
            self._misses = 0
            return None
        if self._held is not None:
            self._misses += 1
            if self._misses >= _RELEASE_WINDOWS:
                self._held = None
        if key is not None and self._candidate_count >= _CONFIRM_WINDOWS and key != self._held:
            self._held = key
            self._misses = 0
            return key
        return None

    # -- per window ---------------------------------------------------------------------
    def _tone(self, i: int, first: list[complex], second: list[complex]) -> _Tone | None:
        """The tone at ``_FREQS[i]`` as measured, or None when it is off-frequency."""
        step = second[i] * first[i].conjugate() * _ROT[i]
        if step == 0:
            return None
        delta = cmath.phase(step) / BLOCK  # rad/sample
        offset_hz = delta * SAMPLE_RATE / (2 * math.pi)
        if abs(offset_hz) > self.freq_tolerance * _FREQS[i]:
            return None
        window_bin = first[i] + _ROT[i] * second[i]
        gain_w = abs(_kernel(delta, WINDOW))
        gain_b = abs(_kernel(delta, BLOCK))
        return _Tone(
            i, delta, window_bin, 2 * abs(window_bin) / gain_w,
            2 * abs(first[i]) / gain_b, 2 * abs(second[i]) / gain_b,
        )

    def _classify(
        self, first: list[complex], second: list[complex], energy: float, window: bytes
    ) -> str | None:
        power = [abs(first[i] + _ROT[i] * second[i]) ** 2 for i in range(8)]
        row = max(range(4), key=power.__getitem__)
        col = 4 + max(range(4), key=lambda c: power[4 + c])
        for best in (row, col):
            group = range(0, 4) if best < 4 else range(4, 8)
            runner_up = max(power[i] for i in group if i != best)
            margin = 10 * math.log10(power[best] / runner_up) if runner_up > 0 else 99.0
            if margin < self.min_group_margin_db:
                return None
        first, second = _unmix(first, row, col), _unmix(second, row, col)
        low = self._tone(row, first, second)
        high = self._tone(col, first, second)
        if low is None or high is None:
            return None
        key = DTMF_KEYS[row][col - 4]
        # Hysteresis: a key already held needs less to stay held, so a tone near a
        # limit does not flicker into two presses.
        slack = 3.0 if key == self._held else 0.0
        if min(low.amplitude, high.amplitude) < self.min_amplitude / (1 + slack):
            return None
        twist = _db(high.amplitude / low.amplitude)
        if twist > self.normal_twist_db + slack or -twist > self.reverse_twist_db + slack:
            return None
        for tone in (low, high):
            if abs(_db(tone.first / tone.second)) > self.max_block_step_db + slack:
                return None
        tone_energy = WINDOW * (low.amplitude**2 + high.amplitude**2) / 2
        if energy <= 0 or tone_energy / energy < self.min_tone_fraction - slack / 10:
            return None
        if not self._harmonics_quiet(window, low, high):
            return None
        return key

    def _harmonics_quiet(self, window: bytes, *tones: _Tone) -> bool:
        """Second harmonics of both tones, less what the two tones themselves leak into
        those bins, must stay ``max_harmonic_db`` below the weaker tone."""
        weakest = min(t.amplitude for t in tones)
        for tone in tones:
            omega_h = 2 * _OMEGA[tone.index]
            measured = dft_bin(window, 2 * _FREQS[tone.index])
            for other in tones:
                omega = _OMEGA[other.index] + other.delta  # where it really is
                # other.window_bin = (A/2) e^{j phi} * kernel(delta): rescale to omega_h.
                leak = _kernel(omega - omega_h, WINDOW) / _kernel(other.delta, WINDOW)
                measured -= other.window_bin * leak
            if _db(2 * abs(measured) / WINDOW / weakest) > self.max_harmonic_db:
                return False
        return True


class DtmfGenerator:
    """DTMF digits as a frame source (for IVR tests, in-band dialling on analog lines)."""

    def __init__(self, digits: str, on_ms: int = 100, off_ms: int = 100, **levels: float):
        self._source = PcmSource(dtmf_pcm(digits, on_ms, off_ms, **levels))

    def read_frame(self) -> bytes | None:
        return self._source.read_frame()
