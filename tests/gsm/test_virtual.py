"""The whole driver on in-memory links and a virtual clock: the same simulator objects,
hours of modem time in milliseconds."""

from __future__ import annotations

import asyncio

from appliance.clock import VirtualClock
from drivers.gsm import pdu
from drivers.gsm.channel import GsmChannel
from drivers.gsm.sms import STALE_PARTS
from drivers.sim.host import SimHost
from drivers.sim.models import QuectelEC25

from .conftest import FakeHost


async def settle(rounds: int = 200) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def memory_line(store=None):
    clock = VirtualClock()
    host = FakeHost(clock=clock, store=store)
    sim = QuectelEC25(clock, sim_busy_seconds=0)
    simhost = SimHost(sim, carrier="memory")
    ports = simhost.start()
    channel = GsmChannel("gsm1", {"at": "/dev/mem-at", "audio": "/dev/mem-audio"}, host)
    channel.open_link = lambda path, audio: ports.audio_link if audio else ports.at_link
    await channel.start()
    for _ in range(50):
        await settle(20)
        if channel.state == "up":
            break
    assert channel.state == "up"
    return clock, sim, simhost, channel


async def test_parts_whose_siblings_never_come_are_stored_after_a_day(store):
    clock, sim, simhost, channel = await memory_line(store)
    try:
        parts = pdu.encode_deliver("+79161234567", "ж" * 150, clock.time(), 9)  # 3 parts
        assert len(parts) == 3
        for index in (0, 2):  # the middle part is lost in the network
            sim.storage[index] = (0, parts[index])
            sim.urc(f'+CMTI: "SM",{index}')
        await settle()
        assert store.query("SELECT text FROM sms") == []
        assert set(sim.storage) == {0, 2}  # kept on the SIM while we wait
        clock.advance(STALE_PARTS + 1)
        for _ in range(20):
            await settle()
            store.writer.flush(5)
            if store.query("SELECT text FROM sms"):
                break
        text = store.query("SELECT text FROM sms")[0]["text"]
        assert text.startswith("ж" * 67) and text.endswith("[…]")
        await settle()
        assert sim.storage == {}
    finally:
        await channel.stop()
        simhost.close()


async def test_signal_refresh_runs_on_the_clock():
    clock, sim, simhost, channel = await memory_line()
    try:
        assert channel.status()["signal_dbm"] == -71
        sim.signal = 5
        clock.advance(channel.poll_seconds + 0.1)
        await settle()
        assert channel.status()["signal_dbm"] == -103
    finally:
        await channel.stop()
        simhost.close()
