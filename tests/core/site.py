"""A small site on the loopback driver and the virtual clock, for switchboard tests."""

from __future__ import annotations

import asyncio

from appliance.acd.config import QueueConfig
from appliance.admin import Admin
from appliance.clock import VirtualClock
from appliance.events import EventBus
from appliance.store import open_store
from appliance.switchboard import Switchboard
from drivers.loopback import LoopbackLine, LoopbackPhones


class Site:
    def __init__(self, tmp_path) -> None:
        self.store = open_store(tmp_path)
        self.bus = EventBus()
        self.clock = VirtualClock()
        self.board = Switchboard(self.store, self.bus, self.clock, seed=7)
        self.admin = Admin(self.store, self.bus, clock_time=self.clock.time)
        self.events: list = []
        self.bus.subscribe(self.events.append)

    async def settle(self) -> None:
        """Let deferred steps and leg tasks run; virtual time does not move."""
        for _ in range(10):
            self.clock.advance(0)
            await asyncio.sleep(0)

    async def advance(self, seconds: float, step: float = 0.5) -> None:
        t = 0.0
        while t < seconds:
            self.clock.advance(min(step, seconds - t))
            t += step
            await self.settle()

    async def build(self, strategy="longest-idle", operators=("Anna", "Boris"), **queue):
        await self.admin.save_queue(QueueConfig(name="support", strategy=strategy, **queue),
                                    create=True)
        for n, name in enumerate(operators):
            await self.admin.add_phone(str(101 + n))
            await self.admin.save_operator(name, str(101 + n), str(11 + n), {"support": 0})
        await self.admin.save_line("gsm1", "loopback", {"answer_after": 2}, "queue:support")
        self.phones = LoopbackPhones("phones", {"extensions": ["101", "102", "103"]}, self.board)
        await self.board.add_channel(self.phones)
        await self.board.sync_lines()
        self.line: LoopbackLine = self.board.channels["gsm1"]
        self.board.load_config()
        for name in operators:
            self.board.acd.login(name)
        await self.settle()

    def flush(self):
        self.board.recorder.flush()

    def call_row(self, call_id):
        self.flush()
        return self.store.query("SELECT * FROM calls WHERE id = ?", (call_id,))[0]

    def queue_events(self, call_id):
        self.flush()
        return [r["event"] for r in self.store.query(
            "SELECT event FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))]

    async def until(self, condition, timeout: float = 15.0, step: float = 0.02) -> None:
        """Wait for real work off the loop (espeak, file writes) while virtual time moves
        in ``step`` seconds; fail at a real-time deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {condition}")
            self.clock.advance(step)
            await asyncio.sleep(0.005)
            await self.settle()
