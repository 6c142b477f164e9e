"""GSM driver figures (JSON): AT command round trips per second against the simulator,
and the CPU an active call's audio pump costs (frames per second per core).

    python bench/gsm.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.clock import LoopClock  # noqa: E402
from drivers.at.engine import AtEngine  # noqa: E402
from drivers.at.transport import SerialPort  # noqa: E402
from drivers.base import FRAME_BYTES  # noqa: E402
from drivers.gsm.audio import AudioPump  # noqa: E402
from drivers.gsm.dtmf import DtmfDetector  # noqa: E402
from drivers.sim.audio import tone_frames  # noqa: E402
from drivers.sim.host import SimHost  # noqa: E402
from drivers.sim.models import QuectelEC25  # noqa: E402

AT_SECONDS = 5.0
PUMP_FRAMES = 20_000


async def at_round_trips(carrier: str) -> dict:
    clock = LoopClock()
    sim = QuectelEC25(clock, sim_busy_seconds=0)
    host = SimHost(sim, carrier=carrier)
    ports = host.start()
    if carrier == "pty":
        link = SerialPort(ports.at_path)
        link.open()
    else:
        link = ports.at_link
    engine = AtEngine(link, clock, "bench")
    await engine.command("ATE0")
    count = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < AT_SECONDS:
        await engine.command("AT+CSQ", expect="+CSQ")
        count += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    engine.close()
    host.close()
    return {"carrier": carrier, "commands": count, "per_second": round(count / wall),
            "cpu_us_per_command_incl_simulator": round(cpu / count * 1e6, 1)}


async def audio_pump(detector: bool, silence: bool = False) -> dict:
    """Frames through a pty into AudioPump (the driver's read path, framing, the call's
    listener and, for modems without a DTMF URC, in-band detection) and back out."""
    master, slave = os.openpty()
    import tty

    tty.setraw(slave)
    path = os.ttyname(slave)
    port = SerialPort(path, max_buffer=FRAME_BYTES * 10)
    port.open()
    dtmf = DtmfDetector() if detector else None
    received = 0
    done = asyncio.get_running_loop().create_future()

    def on_frame(frame: bytes) -> None:
        nonlocal received
        received += 1
        if dtmf is not None:
            dtmf.feed(frame)
        pump.write(frame)  # echo back down: the write path costs too
        if received >= PUMP_FRAMES and not done.done():
            done.set_result(None)

    pump = AudioPump(port, on_frame)
    pump.start()
    # a loud steady tone runs every DTMF filter (worst case); silence is skipped early
    frames = bytes(FRAME_BYTES * 50) if silence else tone_frames((1000.0,), 50)
    os.set_blocking(master, False)
    loop = asyncio.get_running_loop()
    pending = bytearray()

    def feed() -> None:  # the "modem": keep the pty full, drain what the pump writes back
        with contextlib.suppress(BlockingIOError, OSError):  # drained
            while True:
                os.read(master, 65536)
        if len(pending) < 65536:
            pending.extend(frames)
        with contextlib.suppress(BlockingIOError):  # the pty is full: next turn
            sent = os.write(master, pending)
            del pending[:sent]
        if not done.done():
            loop.call_soon(feed)

    cpu0, t0 = time.process_time(), time.perf_counter()
    loop.call_soon(feed)
    await done
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    port.close()
    os.close(master)
    os.close(slave)
    per_core = received / cpu
    return {"inband_dtmf_detection": detector, "signal": "silence" if silence else "tone",
            "frames": received,
            "frames_per_cpu_second": round(per_core),
            "calls_per_core": round(per_core / 50),  # a call is 50 frames/s each way
            "cpu_percent_per_call": round(50 / per_core * 100, 3),
            "wall_seconds": round(wall, 2),
            "note": "includes the feeding side in the same process (an upper bound)"}


async def main() -> None:
    out = {
        "bench": "gsm",
        "python": sys.version.split()[0],
        "at_round_trips": [await at_round_trips("pty"), await at_round_trips("memory")],
        "audio_pump": [await audio_pump(False), await audio_pump(True),
                       await audio_pump(True, silence=True)],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
