"""Helpers for the simulated-phone tests: the box's own SIP channel on 127.0.0.1 port 0
with a small channel host, a listener that records a box leg, and deadline waits."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from appliance.clock import LoopClock
from appliance.events import Event, EventBus
from drivers.base import Cause, Leg, LegListener
from drivers.sip.channel import SipChannel

DEADLINE = 8.0
ACCOUNTS = {"101": "pw-101-secret", "102": "pw-102-secret", "103": "pw-103-secret"}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop, each with a hard deadline."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**args), 45))
    return True


async def wait_until(predicate: Callable[[], Any], timeout: float = DEADLINE,
                     what: str = "") -> Any:
    """Check ``predicate`` on the loop until it holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class LegRecorder(LegListener):
    """Everything a box leg reports, with futures to await the milestones."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.ringing = loop.create_future()
        self.answered = loop.create_future()
        self.hangup = loop.create_future()
        self.frames: list[bytes] = []
        self.digits = ""

    def leg_ringing(self, leg: Leg) -> None:
        if not self.ringing.done():
            self.ringing.set_result(True)

    def leg_answered(self, leg: Leg) -> None:
        if not self.answered.done():
            self.answered.set_result(True)

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        if not self.hangup.done():
            self.hangup.set_result((cause, remote))

    def leg_dtmf(self, leg: Leg, digit: str) -> None:
        self.digits += digit

    def leg_frame(self, leg: Leg, frame: bytes) -> None:
        self.frames.append(frame)


class Host:
    """What the core offers the channel: a clock, a bus, and ``incoming`` for what the
    phones dial (recorded; answered when ``answer`` is set)."""

    def __init__(self, answer: bool = True) -> None:
        self.clock = LoopClock()
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.legs: list[Leg] = []
        self.recorders: dict[str, LegRecorder] = {}
        self.answer = answer
        self._waiters: list[asyncio.Future] = []

    def incoming(self, leg: Leg) -> None:
        recorder = LegRecorder()
        leg.listener = recorder
        self.recorders[leg.id] = recorder
        self.legs.append(leg)
        leg.ringing()  # type: ignore[attr-defined]
        if self.answer:
            asyncio.get_running_loop().create_task(leg.answer())
        for future in self._waiters:
            if not future.done():
                future.set_result(leg)

    async def next_leg(self, timeout: float = DEADLINE) -> Leg:
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.remove(future)

    def channel_changed(self, channel: Any) -> None:
        """These tests wait on legs and registrations, not on the channel's status."""


@contextlib.asynccontextmanager
async def box(answer: bool = True, **settings: Any) -> AsyncIterator[tuple[SipChannel, Host]]:
    """The box's phones channel, listening on 127.0.0.1 on an ephemeral port."""
    host = Host(answer)
    base = {"listen": "127.0.0.1:0", "tcp": False, "rtp_ports": "30000-39999",
            "qualify_seconds": 0, "credentials": ACCOUNTS.get}
    channel = SipChannel("phones", {**base, **settings}, host)
    await channel.start()
    assert channel.state == "running", channel.status()
    try:
        yield channel, host
    finally:
        await channel.stop()


def free_udp_port() -> int:
    """A UDP port free on 127.0.0.1 right now, for peers (sipp) that cannot take port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_sipp(sipp: str, args: list[str], cwd: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sipp, *args, "-nostdin", "-trace_err", "-error_file", f"{cwd}/errors.log",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd)


async def finish_sipp(proc: asyncio.subprocess.Process, timeout: float = 20.0) -> tuple[int, str]:
    """Wait for sipp to end (killing it after ``timeout``); its exit code and output."""
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        return -1, out.decode(errors="replace")
    return proc.returncode or 0, out.decode(errors="replace")


def sipp_count(output: str, name: str) -> int:
    """A counter of sipp's final screen, e.g. 'Successful call'."""
    match = re.search(rf"{name}\s+\|\s+\d+\s+\|\s+(\d+)", output)
    return int(match.group(1)) if match else -1
