"""Call-progress tone detection: dial, ringback, busy and congestion by cadence.

An analog line says "the other side hung up" with busy or congestion tone, and a GSM
network plays ringback or busy in-band before answer.  V.253 modems report some of it
(DLE b, DLE d) but not reliably for every country's cadence, so the FXO and GSM drivers
can run this on received audio.  Tones are told apart by cadence from the country's
plan in :mod:`.tones` (E.180): each 20 ms frame is "tone" when the plan's frequencies
carry most of its power, and runs of tone and silence are matched against the
plan's on/off times.  A name is reported once, after ``cycles`` matching periods
(for dial tone: continuous tone longer than any burst of the same frequencies).
"""

from __future__ import annotations

from drivers.base import FRAME_MS

from .goertzel import level_dbfs, tone_fraction
from .tones import ToneSpec, tone_plan


class CallProgressDetector:
    def __init__(
        self,
        country: str = "eu",
        cycles: int = 2,
        tolerance: float = 0.2,
        min_level_dbfs: float = -45.0,
        min_fraction: float = 0.7,
        names: tuple[str, ...] = ("dial", "ringback", "busy", "congestion"),
    ) -> None:
        plan = tone_plan(country)
        self.specs: dict[str, ToneSpec] = {n: plan[n] for n in names if n in plan}
        self.cycles = cycles
        self.tolerance = tolerance
        self.min_level_dbfs = min_level_dbfs
        self.min_fraction = min_fraction
        self._freq_sets = sorted({s.freqs for s in self.specs.values()})
        # Continuous tone counts as dial tone once it outlasts every burst of the same
        # frequencies (Europe's ringback is a 1 s burst of the dial tone's 425 Hz).
        self._continuous_ms = {
            freqs: max([1000] + [s.cadence[0] + 500 for s in self.specs.values()
                                 if s.freqs == freqs and s.cadence])
            for freqs in self._freq_sets
        }
        self.reset()

    def reset(self) -> None:
        self._current: tuple[float, ...] | None = None  # freqs sounding now, or None
        self._run_ms = 0
        self._last_on: tuple[tuple[float, ...], int] | None = None
        self._matches: dict[str, int] = {}
        self.reported: str | None = None

    def _sounding(self, frame: bytes) -> tuple[float, ...] | None:
        if level_dbfs(frame) < self.min_level_dbfs:
            return None
        best, best_fraction = None, self.min_fraction
        for freqs in self._freq_sets:
            fraction = tone_fraction(frame, freqs)
            if fraction >= best_fraction:
                best, best_fraction = freqs, fraction
        return best

    def _close(self, ms: int, target: int) -> bool:
        return abs(ms - target) <= max(2 * FRAME_MS, self.tolerance * target)

    def feed(self, frame: bytes) -> str | None:
        """The tone's name the first time it is recognised, else None."""
        state = self._sounding(frame)
        if state == self._current:
            self._run_ms += FRAME_MS
            if state is not None:
                return self._check_continuous(state)
            return None
        if self._current is not None:  # a burst just ended
            self._last_on = (self._current, self._run_ms)
        elif self._last_on is not None:  # a pause just ended: one whole period
            self._check_period(self._last_on[0], self._last_on[1], self._run_ms)
            found = self._found()
            self._current, self._run_ms = state, FRAME_MS
            return found
        self._current, self._run_ms = state, FRAME_MS
        return None

    def _check_continuous(self, freqs: tuple[float, ...]) -> str | None:
        if self._run_ms < self._continuous_ms[freqs]:
            return None
        for name, spec in self.specs.items():
            if not spec.cadence and spec.freqs == freqs:
                self._matches[name] = self.cycles
        return self._found()

    def _check_period(self, freqs: tuple[float, ...], on_ms: int, off_ms: int) -> None:
        for name, spec in self.specs.items():
            cadence = spec.cadence
            hit = (
                len(cadence) == 2
                and spec.freqs == freqs
                and self._close(on_ms, cadence[0])
                and self._close(off_ms, cadence[1])
            )
            self._matches[name] = self._matches.get(name, 0) + 1 if hit else 0

    def _found(self) -> str | None:
        for name, count in self._matches.items():
            if count >= self.cycles and self.reported != name:
                self.reported = name
                return name
        return None
