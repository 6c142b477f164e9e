"""Connecting legs' audio: a two-party bridge and a three-party mixer.

:class:`Bridge` is event-driven: a frame from one leg goes straight to the other leg's
``send_frame`` (each driver paces its own line), with taps for the recorder and an
in-band DTMF detector.  It is the switchboard's one bridge (``Call.bridge``): the core's
leg listeners hand each frame of a bridged leg to :meth:`Bridge.forward`.

:class:`Mixer` is clocked: supervisor listen/whisper/barge needs sums of frames that
arrive from three legs at their own pace, so every 20 ms it takes one frame from each
participant and sends each one the mix of those it hears.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from appliance.clock import Clock
from drivers.base import SILENCE, Cause, Leg, LegListener

from ._audioop import audioop
from .dtmf import DtmfDetector
from .pacing import Pacer
from .recorder import Recorder

Tap = Callable[[Leg, bytes], None]


class AudioListener(LegListener):
    """Signalling to the core's listener, audio to ``on_frame``."""

    def __init__(self, inner: LegListener, on_frame: Callable[[Leg, bytes], None]) -> None:
        self.inner = inner
        self.on_frame = on_frame

    def leg_frame(self, leg: Leg, frame: bytes) -> None:
        self.on_frame(leg, frame)

    def leg_ringing(self, leg: Leg) -> None:
        self.inner.leg_ringing(leg)

    def leg_early_media(self, leg: Leg) -> None:
        self.inner.leg_early_media(leg)

    def leg_answered(self, leg: Leg) -> None:
        self.inner.leg_answered(leg)

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        self.inner.leg_hangup(leg, cause, remote)

    def leg_dtmf(self, leg: Leg, digit: str) -> None:
        self.inner.leg_dtmf(leg, digit)

    def leg_hold(self, leg: Leg, on_hold: bool) -> None:
        self.inner.leg_hold(leg, on_hold)

    def leg_transfer(self, leg: Leg, target: str, replaces: str | None) -> None:
        self.inner.leg_transfer(leg, target, replaces)


class Bridge:
    """Two legs talking: ``caller`` (the line side, or the transferred party) and
    ``operator`` (the phone that answered).  Taps (recorder, DTMF detector, a supervisor
    listening) see every frame with the leg it came from."""

    def __init__(
        self,
        caller: Leg,
        operator: Leg,
        recorder: Recorder | None = None,
        taps: Iterable[Tap] = (),
    ) -> None:
        self.caller = caller
        self.operator = operator
        self.recorder = recorder
        self.taps: list[Tap] = list(taps)
        self.frames = {caller.id: 0, operator.id: 0}
        self._detectors: dict[str, tuple[DtmfDetector, Callable[[Leg, str], None]]] = {}
        self.active = True

    def has(self, leg: Leg) -> bool:
        return leg is self.caller or leg is self.operator

    def other(self, leg: Leg) -> Leg:
        return self.operator if leg is self.caller else self.caller

    def detect_dtmf(self, leg: Leg, on_digit: Callable[[Leg, str], None]) -> None:
        """Listen for in-band DTMF from ``leg`` (lines with no out-of-band digits)."""
        self._detectors[leg.id] = (DtmfDetector(), on_digit)

    def forward(self, leg: Leg, frame: bytes) -> None:
        """A frame from one of the legs: to the recorder and taps, then to the other leg."""
        if not self.active:
            return
        if leg is self.caller:
            other = self.operator
            if self.recorder is not None:
                self.recorder.caller(frame)
        elif leg is self.operator:
            other = self.caller
            if self.recorder is not None:
                self.recorder.operator(frame)
        else:
            return
        self.frames[leg.id] += 1
        for tap in self.taps:
            tap(leg, frame)
        detector = self._detectors.get(leg.id)
        if detector is not None:
            for digit in detector[0].feed(frame):
                detector[1](leg, digit)
        if not other.ended:
            other.send_frame(frame)

    def unbridge(self) -> None:
        """Stop passing audio (a transfer or hold takes the legs elsewhere)."""
        self.active = False


@dataclass
class _Participant:
    send: Callable[[bytes], None]
    hears: set[str] = field(default_factory=set)
    queue: deque[bytes] = field(default_factory=deque)
    dropped: int = 0


Mode = Literal["listen", "whisper", "barge"]


class Mixer:
    """Clocked mixing for up to a handful of participants, by name."""

    def __init__(self, clock: Clock, max_queue: int = 4) -> None:
        self.max_queue = max_queue
        self.participants: dict[str, _Participant] = {}
        self._pacer = Pacer(clock, self._tick)

    def add(self, name: str, send: Callable[[bytes], None], hears: Iterable[str] = ()) -> None:
        self.participants[name] = _Participant(send, set(hears))
        if not self._pacer.running:
            self._pacer.start()

    def listener_for(self, name: str, inner: LegListener) -> LegListener:
        """A listener for participant ``name``'s leg: its audio feeds the mixer."""
        return AudioListener(inner, lambda _leg, frame: self.feed(name, frame))

    def remove(self, name: str) -> None:
        self.participants.pop(name, None)
        for p in self.participants.values():
            p.hears.discard(name)
        if not self.participants:
            self._pacer.stop()

    def set_hears(self, name: str, hears: Iterable[str]) -> None:
        self.participants[name].hears = set(hears)

    def feed(self, name: str, frame: bytes) -> None:
        """A frame from participant ``name``'s leg.  A leg whose clock runs fast
        against ours loses its oldest frames rather than building up delay."""
        p = self.participants.get(name)
        if p is None:
            return
        p.queue.append(frame)
        if len(p.queue) > self.max_queue:
            p.queue.popleft()
            p.dropped += 1

    def _tick(self) -> bool:
        current = {n: (p.queue.popleft() if p.queue else None)
                   for n, p in self.participants.items()}
        for p in list(self.participants.values()):
            mix: bytes | None = None
            for source in p.hears:
                frame = current.get(source)
                if frame is None:
                    continue
                mix = frame if mix is None else audioop.add(mix, frame, 2)
            p.send(mix if mix is not None else SILENCE)
        return bool(self.participants)

    def stop(self) -> None:
        self._pacer.stop()

    # -- supervisor features ---------------------------------------------------------
    def supervise(self, caller: str, operator: str, supervisor: str, mode: Mode) -> None:
        """listen: the supervisor hears both, nobody hears the supervisor.
        whisper: the operator also hears the supervisor, the caller does not.
        barge: everyone hears everyone."""
        if mode not in ("listen", "whisper", "barge"):
            raise ValueError(f"unknown supervision mode {mode!r}")
        self.set_hears(supervisor, {caller, operator})
        self.set_hears(operator, {caller} if mode == "listen" else {caller, supervisor})
        self.set_hears(caller, {operator, supervisor} if mode == "barge" else {operator})
