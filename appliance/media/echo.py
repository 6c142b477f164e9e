"""Line echo canceller for 2-wire (FXO) legs: a partitioned-block frequency-domain
NLMS filter with Geigel double-talk detection and an optional non-linear processor.

Why here and why numpy: an analog line's hybrid returns part of what we send (ITU-T
G.168's echo path: a bulk delay, a short dispersive response, 6-20 dB of loss).
Cancelling it needs an adaptive FIR as long as the echo tail (32-128 ms, 256-1024 taps
at 8 kHz) updated all the time: millions of multiply-adds a second a call, which pure
Python cannot do on a Pi.  numpy does one 20 ms frame in about a dozen vectorised
calls.  (SpeexDSP bindings on the package index ship as source only and need the
libspeexdsp headers to build on the box, and Speex's canceller is tuned for acoustic
echo; numpy has ARM wheels and a Debian package.)

The algorithm (overlap-save, one partition per 20 ms frame, FFT size 320): the tail is
cut into K partitions of 160 taps; each frame's echo estimate is the sum of K spectra
products; the update is normalised per frequency bin by the far end's smoothed power.
That per-bin normalisation whitens speech, so the filter converges on real voices
nearly as fast as on white noise, where time-domain NLMS crawls.  The gradient is
constrained (made causal and 160 taps long) so the filter stays a true linear FIR.

Double talk, two defences:

* Geigel's test: while only the far end talks, the near signal stays below the far
  signal by the hybrid loss, so a near sample above ``geigel`` times the largest far
  sample of the tail window means the near end speaks (G.168 assumes >= 6 dB echo
  return loss, hence 0.5); adaptation stops for a hangover.
* Two filters (the "two-path" structure): a *background* filter adapts all the time,
  the *foreground* filter makes the output and only takes the background's weights
  when the background has cancelled clearly better for a few frames in a row.  Soft
  near-end speech that Geigel misses can pull the background off, never the output;
  a background that falls far behind is reset from the foreground.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

try:
    import numpy as np
except ImportError as exc:  # only analog lines need it; say what to install
    raise ImportError(
        "the line echo canceller needs numpy (pip install numpy, or apt install python3-numpy)"
    ) from exc

from drivers.base import FRAME_SAMPLES, SAMPLE_RATE

_L = FRAME_SAMPLES  # partition length = one frame
_M = 2 * _L  # FFT size (overlap-save)


@dataclass(slots=True)
class EchoStats:
    frames: int = 0
    doubletalk_frames: int = 0
    adapted_frames: int = 0
    copies: int = 0  # background -> foreground
    restores: int = 0  # foreground -> background
    nlp_frames: int = 0


class EchoCanceller:
    """``process(near, far)`` per 20 ms: ``far`` is the frame just sent to the line,
    ``near`` the frame just received from it; returns ``near`` without the echo."""

    def __init__(
        self,
        tail_ms: int = 64,
        step: float = 0.5,
        smoothing: float = 0.9,
        geigel: float = 0.5,
        hangover_ms: int = 40,
        nlp: bool = False,
        nlp_threshold_db: float = -15.0,
        bulk_delay_ms: int = 0,
    ) -> None:
        if not 32 <= tail_ms <= 128:
            raise ValueError("tail_ms must be between 32 and 128")
        if bulk_delay_ms < 0 or bulk_delay_ms % 20:
            raise ValueError("bulk_delay_ms must be a non-negative multiple of 20")
        # A modem's own buffering delays the echo before the hybrid even starts; that
        # part is a plain delay line, so the filter's taps go to the echo itself.
        self._delay_line: deque[bytes] = deque([bytes(2 * _L)] * (bulk_delay_ms // 20))
        self.tail_ms = tail_ms
        self.partitions = -(-tail_ms * SAMPLE_RATE // 1000 // _L)  # ceil
        self.step = step
        self.smoothing = smoothing
        self.geigel = geigel
        self.hangover_frames = max(1, -(-hangover_ms // 20))
        self.nlp = nlp
        self.nlp_ratio = 10 ** (nlp_threshold_db / 10)
        self.stats = EchoStats()
        bins = _M // 2 + 1
        self._weights = np.zeros((self.partitions, bins), dtype=np.complex128)  # background
        self._foreground = np.zeros_like(self._weights)
        self._energy_bg = 0.0  # smoothed error energies of the two filters
        self._energy_fg = 0.0
        self._better = 0  # frames in a row the background has beaten the foreground
        self._spectra = np.zeros((self.partitions, bins), dtype=np.complex128)
        self._power = np.zeros(bins)
        self._far = np.zeros(self.partitions * _L + _L)  # time-domain tail, for Geigel
        self._hold = 0
        # Regularisation: a quiet far end must not turn bin noise into large steps.
        self._delta = _M * 30.0**2

    def reset(self) -> None:
        self._delay_line = deque([bytes(2 * _L)] * len(self._delay_line))
        self._weights[:] = 0
        self._foreground[:] = 0
        self._energy_bg = self._energy_fg = 0.0
        self._better = 0
        self._spectra[:] = 0
        self._power[:] = 0
        self._far[:] = 0
        self._hold = 0

    @property
    def impulse_response(self) -> np.ndarray:
        """The echo path the filter has learnt, as FIR taps (for tests and tuning)."""
        parts = np.fft.irfft(self._foreground, n=_M, axis=1)[:, :_L]
        return parts.reshape(-1)

    def process(self, near: bytes, far: bytes) -> bytes:
        if self._delay_line:
            self._delay_line.append(far)
            far = self._delay_line.popleft()
        d = np.frombuffer(near, dtype="<i2").astype(np.float64)
        x = np.frombuffer(far, dtype="<i2").astype(np.float64)
        if d.size != _L or x.size != _L:
            raise ValueError("near and far must be one 20 ms frame each")
        self._far[:-_L] = self._far[_L:]
        self._far[-_L:] = x
        self._spectra[1:] = self._spectra[:-1]
        self._spectra[0] = np.fft.rfft(self._far[-_M:])
        both = np.fft.irfft(
            np.stack(((self._weights * self._spectra).sum(axis=0),
                      (self._foreground * self._spectra).sum(axis=0))), n=_M, axis=1
        )[:, _L:]
        e_bg, e = d - both[0], d - both[1]
        self.stats.frames += 1
        far_peak = float(np.max(np.abs(self._far)))
        if float(np.max(np.abs(d))) > self.geigel * far_peak:
            self._hold = self.hangover_frames
            self.stats.doubletalk_frames += 1
        # Per-bin far power over the whole tail (all partitions update at once, so all
        # of it sets a stable step), smoothed but never below the present value, so a
        # word after a pause cannot meet a stale small normaliser.
        power = (self._spectra.real**2 + self._spectra.imag**2).sum(axis=0)
        self._power *= self.smoothing
        self._power += (1 - self.smoothing) * power
        np.maximum(self._power, power, out=self._power)
        if far_peak > 0:
            self._compare(float(e_bg @ e_bg), float(e @ e))
        if self._hold > 0:
            self._hold -= 1
        elif far_peak > 0:
            self._adapt(e_bg)
        if self.nlp and self._hold == 0 and far_peak > 0:
            e = self._suppress(e, d)
        return np.clip(np.rint(e), -32768, 32767).astype("<i2").tobytes()

    def _adapt(self, e: np.ndarray) -> None:
        err = np.fft.rfft(np.concatenate((np.zeros(_L), e)))
        gradient = np.conj(self._spectra) * (err / (self._power + self._delta))
        # Constrain: keep the first half of each partition's response (linear, causal).
        taps = np.fft.irfft(gradient, n=_M, axis=1)
        taps[:, _L:] = 0.0
        self._weights += self.step * np.fft.rfft(taps, axis=1)
        self.stats.adapted_frames += 1

    def _compare(self, bg: float, fg: float) -> None:
        self._energy_bg = 0.7 * self._energy_bg + 0.3 * bg
        self._energy_fg = 0.7 * self._energy_fg + 0.3 * fg
        if self._energy_bg < 0.5 * self._energy_fg:
            self._better += 1
            if self._better >= 3:
                self._foreground[:] = self._weights
                self._energy_fg = self._energy_bg
                self._better = 0
                self.stats.copies += 1
            return
        self._better = 0
        if self._energy_bg > 8.0 * self._energy_fg and self._hold == 0:
            self._weights[:] = self._foreground
            self._energy_bg = self._energy_fg
            self.stats.restores += 1

    def _suppress(self, e: np.ndarray, d: np.ndarray) -> np.ndarray:
        """While only the far end talks, a residual well under the line signal is what
        the linear filter cannot reach (line non-linearity): take it down by 30 dB."""
        if float(e @ e) < self.nlp_ratio * float(d @ d):
            self.stats.nlp_frames += 1
            return e * 0.03
        return e
