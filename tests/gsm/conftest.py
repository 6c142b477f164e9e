"""Helpers for the GSM tests: a fake ChannelHost, a recording leg listener, a simulated
modem on a real pty driven by the real driver, waiting on conditions with deadlines."""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from appliance.clock import LoopClock
from appliance.events import EventBus
from appliance.store import open_store
from drivers.base import Cause, Leg, LegListener
from drivers.gsm.channel import GsmChannel
from drivers.sim.host import Ports, SimHost
from drivers.sim.models import MODELS


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll a condition until it holds; fail with ``what`` at the deadline."""
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


@dataclass
class FakeHost:
    clock: LoopClock = field(default_factory=LoopClock)
    bus: EventBus = field(default_factory=EventBus)
    store: object = None
    legs: list[Leg] = field(default_factory=list)
    listeners: list[Recorder] = field(default_factory=list)
    changes: int = 0

    def incoming(self, leg: Leg) -> None:
        recorder = Recorder()
        leg.listener = recorder
        self.legs.append(leg)
        self.listeners.append(recorder)

    def channel_changed(self, channel) -> None:
        self.changes += 1


class PtyRegistry:
    """A Locator over simulated modems: what hotplug does with udev, by IMEI."""

    def __init__(self) -> None:
        self.present: dict[str, Ports] = {}
        self._changed = asyncio.Event()

    def enumerated(self, imei: str, ports: Ports) -> None:
        self.present[imei] = ports
        self._changed.set()

    async def wait_for(self, identity: str, timeout: float) -> dict[str, str] | None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            ports = self.present.get(identity)
            if ports and ports.at_path:
                return {"at": ports.at_path, "audio": ports.audio_path}
            self._changed.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return None


@dataclass
class Rig:
    sim: object
    simhost: SimHost
    channel: GsmChannel
    host: FakeHost
    registry: PtyRegistry
    states: list[str] = field(default_factory=list)  # every line.state the channel published
    problems: list[str] = field(default_factory=list)  # ... and the problem it gave

    async def up(self, timeout: float = 8.0) -> None:
        await wait_for(lambda: self.channel.state == "up", timeout, "line up")


async def make_rig(model: str, *, store=None, sim_busy: float = 0.0, settings=None,
                   poll_seconds: float | None = None, **sim_kwargs) -> Rig:
    host = FakeHost(store=store)
    sim = MODELS[model](host.clock, sim_busy_seconds=sim_busy, **sim_kwargs)
    sim.outcome_delay = 0.2
    registry = PtyRegistry()
    simhost = SimHost(sim, reboot_seconds=0.3,
                      on_enumerate=lambda ports: registry.enumerated(sim.imei, ports))
    ports = simhost.start()
    conf = {"at": ports.at_path, "audio": ports.audio_path}
    conf.update(settings or {})
    channel = GsmChannel("gsm1", conf, host)
    channel.locator = registry
    states: list[str] = []
    problems: list[str] = []

    def line_state(event) -> None:
        states.append(event.data["state"])
        problems.append(event.data["problem"])

    host.bus.subscribe(line_state, "line.state")
    channel.supervisor.retry_seconds = 0.3
    if poll_seconds is not None:
        channel.poll_seconds = poll_seconds
        channel.heartbeat_timeout = 1.0
    await channel.start()
    return Rig(sim, simhost, channel, host, registry, states, problems)


async def close_rig(rig: Rig) -> None:
    await rig.channel.stop()
    rig.simhost.close()


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path)
    yield s
    s.close()


def tone_power(pcm: bytes, freq: float) -> float:
    """Share of the signal's energy at ``freq`` (Goertzel over the whole buffer)."""
    n = len(pcm) // 2
    if n == 0:
        return 0.0
    samples = struct.unpack(f"<{n}h", pcm[: n * 2])
    coeff = 2 * math.cos(2 * math.pi * freq / 8000)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(x * x for x in samples) * n / 2
    return power / energy if energy else 0.0



TEST_DEADLINE = 60.0  # no single GSM test may hang the suite


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests on a fresh event loop (no pytest-asyncio needed)."""
    if not asyncio.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), TEST_DEADLINE))
    return True
