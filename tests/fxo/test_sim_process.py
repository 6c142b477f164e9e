"""``python -m drivers.sim.v253`` as a separate process: it prints its pty, takes control
commands on stdin, and the driver (in this process) serves the line through that pty."""

from __future__ import annotations

import asyncio
import sys

from drivers.fxo.channel import FxoChannel

from .conftest import FakeHost, wait_for


def test_simulator_process_rings_the_driver_with_caller_id() -> None:
    async def scenario() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "drivers.sim.v253", "--ring-on", "0.3", "--ring-off", "0.5",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        try:
            first = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().split()
            assert first[0] == "port" and first[1].startswith("/dev/")
            host = FakeHost()
            channel = FxoChannel("fxo-proc", {"port": first[1], "ring_timeout_seconds": 1.5,
                                              "caller_id_wait_seconds": 1.0}, host)
            await channel.start()
            await wait_for(lambda: channel.state == "ready", 8, "the line to be ready")
            proc.stdin.write(b"ring 5557001 ANNA K\n")
            assert (await proc.stdout.readline()).strip() == b"ok"
            await wait_for(lambda: host.legs, 5, "the call")
            leg = host.legs[0]
            assert (leg.caller.number, leg.caller.name) == ("5557001", "ANNA K")
            await leg.answer()
            proc.stdin.write(b"dtmf 7\nhangup loop_break\n")
            rec = host.recorders[0]
            await wait_for(lambda: rec.hangup() is not None, 5, "the far end to hang up")
            assert rec.digits == ["7"] and leg.hangup_reason == "loop_break"
            proc.stdin.write(b"bogus\n")
            await proc.stdin.drain()
            lines = [await proc.stdout.readline() for _ in range(3)]
            assert lines[-1].startswith(b"unknown command")
            await channel.stop()
        finally:
            if proc.returncode is None:
                proc.stdin.write(b"quit\n")
                await proc.stdin.drain()
                await asyncio.wait_for(proc.wait(), 5)

    asyncio.run(scenario())


def test_demo_line_callers_ring_talk_and_leave() -> None:
    from drivers.sim.v253_demo import V253DemoLine

    async def scenario() -> None:
        host = FakeHost()
        demo = V253DemoLine(host.clock, ring_on=0.3, ring_off=0.5)
        channel = FxoChannel("demo-analog", {"port": demo.path, "model": "usr5637",
                                             "ring_timeout_seconds": 1.5,
                                             "caller_id_wait_seconds": 1.0,
                                             "silence_hangup_seconds": 1.0}, host)
        await channel.start()
        try:
            await wait_for(lambda: channel.state == "ready", 8, "the demo line")
            caller = demo.place_call("+74951230001")
            await wait_for(lambda: host.legs, 5, "the demo call")
            leg, rec = host.legs[0], host.recorders[0]
            await leg.answer()
            caller.press("3")
            await wait_for(lambda: rec.digits == ["3"], 3, "the caller's key")
            caller.hangup()
            await wait_for(lambda: rec.hangup() is not None, 8, "the caller to leave")
            assert leg.hangup_reason in ("loop_break", "busy", "silence")
        finally:
            await channel.stop()
            demo.close()

    asyncio.run(scenario())
