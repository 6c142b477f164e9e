"""The simulator as its own process (python -m drivers.sim.gsm), as the demo runs it,
with the real driver on its pty."""

from __future__ import annotations

import asyncio
import json
import sys

from drivers.base import CallerId
from drivers.gsm.channel import GsmChannel

from .conftest import FakeHost, Recorder, wait_for


async def test_driver_against_the_simulator_process(tmp_path):
    socket_path = str(tmp_path / "sim.sock")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "drivers.sim.gsm", "--model", "sim7600", "--sim-busy", "0.2",
        "--control", socket_path,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    channel = None
    try:
        ports = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
        assert ports["event"] == "enumerated" and ports["at"].startswith("/dev/")

        async def control(line: str) -> str:
            proc.stdin.write(line.encode() + b"\n")
            await proc.stdin.drain()
            return (await asyncio.wait_for(proc.stdout.readline(), 5)).decode().strip()

        host = FakeHost()
        channel = GsmChannel("gsm1", {"at": ports["at"], "audio": ports["audio"]}, host)
        await channel.start()
        await wait_for(lambda: channel.state == "up", 10, "line up")
        assert channel.status()["imei"] == ports["imei"]

        assert await control("call +79161234567") == "ok"
        await wait_for(lambda: host.legs, what="incoming")
        assert host.legs[0].caller.number == "+79161234567"
        assert await control("hangup 16") == "ok"
        await wait_for(lambda: host.listeners[0].hangup(), what="hang-up")

        assert await control("outcome busy") == "ok"
        rec = Recorder()
        channel.originate("+74951234567", CallerId(), rec)
        await wait_for(lambda: rec.hangup(), what="busy")
        status = json.loads((await control("status"))[3:])
        assert status["dialled"] == ["+74951234567"]
        assert (await control("outcome maybe")).startswith("error")

        # the unix socket takes the same commands
        reader, writer = await asyncio.open_unix_connection(socket_path)
        writer.write(b"signal 10\n")
        assert (await reader.readline()).strip() == b"ok"
        writer.close()
    finally:
        if channel is not None:
            await channel.stop()
        if proc.returncode is None:
            proc.stdin.write(b"quit\n")
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0
