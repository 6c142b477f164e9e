"""The loopback driver: lines and phones made of software, on the injected clock.

It proves the driver contract without hardware and feeds ``make demo`` before (and
beside) the simulated modems and SIP phones.  ``LoopbackLine`` is a public-network
line on which tests or the demo's traffic generator place calls; ``LoopbackPhones``
is a set of operators' phones that ring, answer (by hand or after a delay) and hang up.

Audio: a far end "speaks" a tone at 20 ms pace while the leg is answered, and counts
the frames it receives, so a bridge can be checked in both directions.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

from .base import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    CallerId,
    Cause,
    Channel,
    Leg,
    LegListener,
    LegState,
    Unreachable,
)


def tone_frames(freq: float, amplitude: int = 8000):
    """An endless generator of 20 ms frames of a sine tone (phase-continuous)."""
    n = 0
    step = 2 * math.pi * freq / SAMPLE_RATE
    while True:
        samples = [int(amplitude * math.sin(step * (n + i))) for i in range(FRAME_SAMPLES)]
        n += FRAME_SAMPLES
        yield struct.pack(f"<{FRAME_SAMPLES}h", *samples)


class LoopbackLeg(Leg):
    def __init__(self, channel: Channel, direction, caller: CallerId, dialled: str = "",
                 listener: LegListener | None = None, tone_hz: float = 0.0) -> None:
        super().__init__(channel, direction, caller, dialled, listener)
        self.frames_received = 0
        self.last_frame: bytes | None = None
        self.dtmf_sent: list[str] = []
        self._tone = tone_frames(tone_hz) if tone_hz else None
        self._pump = None

    # -- the core's commands ---------------------------------------------------------
    async def answer(self) -> None:
        if self.direction == "inbound" and self.state not in (LegState.ANSWERED, LegState.ENDED):
            self._connected()

    async def hangup(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        self._stop_pump()
        self._emit_hangup(cause, remote=False)

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf_sent.extend(digits)

    def send_frame(self, frame: bytes) -> None:
        if self.state is LegState.ANSWERED:
            self.frames_received += 1
            self.last_frame = frame

    # -- the far end (tests, the demo) -----------------------------------------------
    def far_end_ringing(self) -> None:
        self._emit_ringing()

    def far_end_answer(self) -> None:
        if self.state not in (LegState.ANSWERED, LegState.ENDED):
            self._connected()

    def far_end_hangup(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        self._stop_pump()
        self._emit_hangup(cause, remote=True)

    def far_end_dtmf(self, digit: str) -> None:
        self._emit_dtmf(digit)

    def _connected(self) -> None:
        self._emit_answered()
        if self._tone is not None:
            self._pump_frame()

    def _pump_frame(self) -> None:
        if self.state is not LegState.ANSWERED:
            return
        self._emit_frame(next(self._tone))
        self._pump = self.channel.host.clock.call_later(FRAME_MS / 1000, self._pump_frame)

    def _stop_pump(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None


class _LoopbackChannel(Channel):
    """What the loopback line and phones share: their legs, start and stop."""

    def __init__(self, name, settings, host) -> None:
        super().__init__(name, settings, host)
        self.legs: list[LoopbackLeg] = []
        self.started = False
        self._random = random.Random(self.settings.get("seed"))

    async def start(self) -> None:
        self.started = True
        self.host.channel_changed(self)

    async def stop(self) -> None:
        for leg in list(self.legs):
            if not leg.ended:
                await leg.hangup(Cause.NORMAL_UNSPECIFIED)
        self.started = False
        self.host.channel_changed(self)


class LoopbackLine(_LoopbackChannel):
    """A public line.  ``place_call`` is the network delivering a call to us."""

    kind = "loopback"
    role = "line"

    def place_call(self, number: str, name: str = "", dialled: str = "",
                   presentation: str = "allowed") -> LoopbackLeg:
        caller = CallerId(number, name, presentation)  # type: ignore[arg-type]
        leg = LoopbackLeg(self, "inbound", caller, dialled or self.settings.get("number", ""),
                          tone_hz=float(self.settings.get("tone_hz", 1000)))
        self.legs.append(leg)
        leg._emit_ringing()
        self.host.incoming(leg)
        return leg

    def originate(self, destination: str, caller: CallerId, listener: LegListener) -> Leg:
        if not self.started:
            raise Unreachable(f"line {self.name} is down", Cause.NETWORK_OUT_OF_ORDER)
        leg = LoopbackLeg(self, "outbound", caller, destination, listener,
                          tone_hz=float(self.settings.get("tone_hz", 1000)))
        self.legs.append(leg)
        delay = self.settings.get("answer_after")
        if delay is not None:
            clock = self.host.clock
            clock.call_later(0.5, leg.far_end_ringing)
            if destination in self.settings.get("busy_numbers", []):
                clock.call_later(1.0, leg.far_end_hangup, Cause.USER_BUSY)
            else:
                clock.call_later(float(delay), leg.far_end_answer)
        return leg

    def reaches(self, destination: str) -> bool:
        return self.started

    def status(self) -> dict[str, Any]:
        live = sum(1 for leg in self.legs if not leg.ended)
        return {"state": "up" if self.started else "down", "model": "loopback line",
                "calls": live}


class LoopbackPhones(_LoopbackChannel):
    """Operators' phones.  With ``answer_after`` in settings each phone answers by itself
    after that many seconds (optionally ``talk_seconds: [min, max]`` then hangs up, and
    ``no_answer_ratio`` of rings are never answered); without it, tests answer by hand."""

    kind = "loopback-phones"
    role = "phones"

    def __init__(self, name, settings, host) -> None:
        super().__init__(name, settings, host)
        self.extensions: set[str] = set(self.settings.get("extensions", []))

    def register(self, extension: str) -> None:
        self.extensions.add(extension)
        self.host.channel_changed(self)

    def unregister(self, extension: str) -> None:
        self.extensions.discard(extension)
        self.host.channel_changed(self)

    def reaches(self, destination: str) -> bool:
        return self.started and destination in self.extensions

    def ringing(self, extension: str) -> list[LoopbackLeg]:
        return [leg for leg in self.legs
                if leg.dialled == extension and leg.state is LegState.RINGING]

    def active(self, extension: str) -> list[LoopbackLeg]:
        return [leg for leg in self.legs if leg.dialled == extension and not leg.ended]

    def originate(self, destination: str, caller: CallerId, listener: LegListener) -> Leg:
        if not self.reaches(destination):
            raise Unreachable(f"phone {destination} is not registered", Cause.SUBSCRIBER_ABSENT)
        leg = LoopbackLeg(self, "outbound", caller, destination, listener,
                          tone_hz=float(self.settings.get("tone_hz", 440)))
        self.legs.append(leg)
        leg.far_end_ringing()
        self._auto_answer(leg)
        return leg

    def dial_from(self, extension: str, dialled: str) -> LoopbackLeg:
        """The phone at ``extension`` dials ``dialled`` (a feature code, an extension,
        an outside number)."""
        leg = LoopbackLeg(self, "inbound", CallerId(extension, extension), dialled,
                          tone_hz=float(self.settings.get("tone_hz", 440)))
        self.legs.append(leg)
        self.host.incoming(leg)
        return leg

    def _auto_answer(self, leg: LoopbackLeg) -> None:
        delay = self.settings.get("answer_after")
        if delay is None:
            return
        if self._random.random() < float(self.settings.get("no_answer_ratio", 0)):
            return
        clock = self.host.clock
        if isinstance(delay, list):
            delay = self._random.uniform(*delay)
        clock.call_later(float(delay), leg.far_end_answer)
        talk = self.settings.get("talk_seconds")
        if talk:
            clock.call_later(float(delay) + self._random.uniform(*talk), leg.far_end_hangup)

    def status(self) -> dict[str, Any]:
        return {"state": "up" if self.started else "down", "model": "loopback phones",
                "registered": sorted(self.extensions)}
