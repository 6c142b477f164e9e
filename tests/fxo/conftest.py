"""Helpers for the FXO tests: a fake ChannelHost, a recording listener, a simulated
voice modem on a real pty opened by the real driver with pyserial, and waiting on
conditions with deadlines (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from appliance.clock import LoopClock
from appliance.media.goertzel import tone_level_dbfs
from drivers.base import Cause, Channel, Leg, LegListener
from drivers.fxo.channel import FxoChannel
from drivers.sim.pstn import FarEnd
from drivers.sim.v253 import USR5637, SimModel, V253ModemSim
from drivers.sim.v253_cli import V253Host


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class Recorder(LegListener):
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.frames = bytearray()
        self.digits: list[str] = []

    def leg_ringing(self, leg: Leg) -> None:
        self.events.append(("ringing",))

    def leg_answered(self, leg: Leg) -> None:
        self.events.append(("answered",))

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        self.events.append(("hangup", cause, remote))

    def leg_dtmf(self, leg: Leg, digit: str) -> None:
        self.digits.append(digit)

    def leg_frame(self, leg: Leg, frame: bytes) -> None:
        assert len(frame) == 320
        self.frames += frame

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]

    def hangup(self) -> tuple | None:
        return next((e for e in self.events if e[0] == "hangup"), None)

    def recent(self, seconds: float) -> bytes:
        return bytes(self.frames[-int(seconds * 16000):])


@dataclass
class FakeHost:
    clock: LoopClock = field(default_factory=LoopClock)
    bus: object = None
    legs: list[Leg] = field(default_factory=list)
    recorders: list[Recorder] = field(default_factory=list)
    changes: int = 0

    def incoming(self, leg: Leg) -> None:
        recorder = Recorder()
        leg.listener = recorder
        self.legs.append(leg)
        self.recorders.append(recorder)

    def channel_changed(self, channel: Channel) -> None:
        self.changes += 1


@dataclass
class Line:
    host: FakeHost
    sim: V253ModemSim
    carrier: V253Host
    channel: FxoChannel


class SimLocator:
    """What hotplug does with udev, over simulated modems: ports by identity."""

    finds_voice_modems = True

    def __init__(self) -> None:
        self.present: dict[str, str] = {}
        self._changed = asyncio.Event()

    def enumerated(self, identity: str, path: str) -> None:
        self.present[identity] = path
        self._changed.set()

    def removed(self, identity: str) -> None:
        self.present.pop(identity, None)

    async def wait_for(self, identity: str, timeout: float) -> dict[str, str] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (path := self.present.get(identity)) is None:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - loop.time())
            except TimeoutError:
                return None
        return {"at": path}


@contextlib.asynccontextmanager
async def fxo_line(model: SimModel = USR5637, far: FarEnd | None = None,
                   identity: str | None = None, locator: SimLocator | None = None,
                   **settings: object) -> AsyncIterator[Line]:
    """A simulated modem on a pty and the driver on it, set up and ready."""
    host = FakeHost()
    sim = V253ModemSim(host.clock, model, far or FarEnd(), ring_on=0.3, ring_off=0.5)
    carrier = V253Host(sim, "pty")
    path = carrier.plug()
    options = {"port": path, "ring_timeout_seconds": 1.5, "caller_id_wait_seconds": 1.0,
               "silence_hangup_seconds": 1.0}
    options.update(settings)
    channel = FxoChannel("fxo1", options, host)
    channel.identity = identity
    channel.locator = locator
    if locator is not None and identity is not None:
        locator.enumerated(identity, path)
    await channel.start()
    try:
        await wait_for(lambda: channel.state == "ready", 5, "the line to be ready")
        yield Line(host, sim, carrier, channel)
    finally:
        await channel.stop()
        carrier.close()


def tone_db(pcm: bytes, hz: float) -> float:
    return tone_level_dbfs(pcm, hz)
