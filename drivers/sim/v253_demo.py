"""An analog line for ``make demo``: a simulated USR5637 on a pty, and caller handles
the demo's traffic generator drives (ring with caller id, press keys, hang up in one of
the three ways real exchanges do)."""

from __future__ import annotations

import random

from appliance.clock import Clock

from .pstn import FarEnd
from .v253 import USR5637, V253ModemSim
from .v253_cli import V253Host

NAMES = ("IVANOV I", "PETROVA A", "SMITH J", "", "O")
HANGUPS = ("loop_break", "busy", "silence")


class V253Caller:
    def __init__(self, line: V253DemoLine, number: str, rng: random.Random) -> None:
        self.line = line
        self.rng = rng
        withheld = rng.random() < 0.1
        line.sim.ring("P" if withheld else number, "" if withheld else rng.choice(NAMES))

    def hangup(self) -> None:
        sim = self.line.sim
        if sim.in_call:
            sim.far_hangup(self.rng.choice(HANGUPS))
        else:
            sim.abandon()

    def press(self, digit: str) -> None:
        self.line.sim.far_dtmf(digit)


class V253DemoLine:
    def __init__(self, clock: Clock, seed: int = 1, ring_on: float = 2.0,
                 ring_off: float = 4.0) -> None:
        far = FarEnd(tone_hz=440, amplitude=2500, echo_delay_ms=6, echo_loss_db=10)
        self.sim = V253ModemSim(clock, USR5637, far, ring_on=ring_on, ring_off=ring_off)
        self.host = V253Host(self.sim, "pty")
        self.path = str(self.host.plug())
        self.rng = random.Random(seed)

    def place_call(self, number: str) -> V253Caller:
        return V253Caller(self, number, self.rng)

    def close(self) -> None:
        self.host.close()
