"""The same simulator object on an in-memory link, with a virtual clock: a whole call
in milliseconds of real time, deterministic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from appliance.clock import VirtualClock
from drivers.base import Cause
from drivers.fxo.channel import FxoChannel
from drivers.sim.pstn import FarEnd
from drivers.sim.v253 import V253ModemSim
from drivers.sim.v253_cli import V253Host

from .conftest import Recorder, tone_db


class VirtualHost:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.bus = None
        self.legs: list = []
        self.recorders: list[Recorder] = []

    def incoming(self, leg) -> None:
        leg.listener = Recorder()
        self.legs.append(leg)
        self.recorders.append(leg.listener)

    def channel_changed(self, channel) -> None:
        """The memory test counts legs, not status changes."""


async def run_until(clock: VirtualClock, predicate: Callable[[], bool], limit: float) -> None:
    """Move virtual time in 20 ms steps, letting the loop deliver bytes between them."""
    end = clock.monotonic() + limit
    while not predicate():
        assert clock.monotonic() < end, "condition not met in virtual time"
        for _ in range(5):
            await asyncio.sleep(0)
        clock.advance(0.02)


def test_a_call_on_a_memory_link_in_virtual_time() -> None:
    async def scenario() -> None:
        clock = VirtualClock()
        host = VirtualHost(clock)
        sim = V253ModemSim(clock, far=FarEnd(tone_hz=1000))
        carrier = V253Host(sim, "memory")
        link = carrier.plug()
        channel = FxoChannel("fxo-mem", {"port": "memory", "silence_hangup_seconds": 2}, host)
        channel.link_factory = lambda: link
        await channel.start()
        await run_until(clock, lambda: channel.state == "ready", 5)
        sim.ring("5551234", "ANNA K")
        await run_until(clock, lambda: host.legs, 10)
        leg, rec = host.legs[0], host.recorders[0]
        assert leg.caller.name == "ANNA K"
        answer = asyncio.ensure_future(leg.answer())
        await run_until(clock, answer.done, 5)
        await run_until(clock, lambda: len(rec.frames) >= 32000, 5)
        assert tone_db(bytes(rec.frames[-8000:]), 1000) > -25
        # the modem ends the stream on its own (an inactivity timer): the call goes on
        sim._end_stream()
        heard = len(rec.frames)
        await run_until(clock, lambda: len(rec.frames) >= heard + 16000, 5)
        assert sim.commands.count("AT+VTR") == 2 and rec.hangup() is None
        sim.far_hangup("loop_break")
        await run_until(clock, lambda: rec.hangup() is not None, 5)
        assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, True)
        assert leg.hangup_reason == "loop_break"
        stop = asyncio.ensure_future(channel.stop())
        await run_until(clock, stop.done, 5)

    asyncio.run(scenario())
