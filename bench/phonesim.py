"""Simulated-phone benchmark: what the demo's phones cost.

The box's SIP channel runs in a child process and echoes every call's audio; this
process runs a :class:`~drivers.sim.sip_phone.PhoneBank`.  Measured here, in the
phones' process only: how long N phones take to register (digest), the CPU a talking
phone costs (G.711 RTP out at 20 ms, RTP in through the jitter buffer), and whether
audio kept its pace (frames heard per second of talk).

Prints one JSON object.  ``python bench/phonesim.py [--phones 40] [--talk 8]``
(about 15 s).  Never an assertion: numbers to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def password(ext: str) -> str:
    return f"bench-{ext}-secret"


async def run_box() -> None:
    """Child: the box's phones channel, answering every call and echoing its audio."""
    from appliance.clock import LoopClock
    from appliance.events import EventBus
    from drivers.base import LegListener
    from drivers.sip.channel import SipChannel

    class Echo(LegListener):
        def leg_frame(self, leg, frame):
            leg.send_frame(frame)

    class Host:
        clock = LoopClock()
        bus = EventBus()

        def incoming(self, leg):
            leg.listener = Echo()
            asyncio.get_running_loop().create_task(leg.answer())

        def channel_changed(self, channel):
            """Registrations are not what this bench measures."""

    channel = SipChannel("phones", {
        "listen": "127.0.0.1:0", "tcp": False, "rtp_ports": "20000-29999",
        "qualify_seconds": 0, "credentials": lambda ext: password(ext),
    }, Host())
    await channel.start()
    print(channel.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    await channel.stop()


def child_cpu(pid: int) -> float:
    """CPU seconds of the box's process so far (/proc, Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_phones(phones: int, talk: float) -> dict:
    from drivers.sim.sip_phone import AnswerPolicy, CallState, PhoneBank

    box = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--box", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, cwd=ROOT)
    assert box.stdout is not None and box.stdin is not None
    port = int((await asyncio.wait_for(box.stdout.readline(), 15)).decode())
    accounts = {str(200 + n): password(str(200 + n)) for n in range(phones)}
    policy = AnswerPolicy(talk_seconds=(talk, talk), seed=1)
    bank = PhoneBank(accounts, ("127.0.0.1", port), policy=policy)
    try:
        start, cpu0 = time.perf_counter(), cpu()
        failures = await bank.start()
        register_s, register_cpu = time.perf_counter() - start, cpu() - cpu0
        calls = [await phone.dial("echo") for phone in bank]
        for call in calls:
            await call.wait(CallState.ANSWERED, timeout=10)
        start, cpu0, box0 = time.perf_counter(), cpu(), child_cpu(box.pid)
        for call in calls:
            await call.wait(CallState.ENDED, timeout=talk + 10)
        talk_s, talk_cpu = time.perf_counter() - start, cpu() - cpu0
        box_cpu = child_cpu(box.pid) - box0
        answered = [c for c in calls if c.answered_at is not None and c.ended_at is not None]
        heard_rates = sorted(c.frames_heard / (c.ended_at - c.answered_at) for c in answered)
        spoken_rates = sorted(c.frames_spoken / (c.ended_at - c.answered_at) for c in answered)
        jitter = {key: sum(getattr(c.media.rtp.jitter.stats, key) for c in answered)
                  for key in ("received", "late", "lost", "concealed", "underruns",
                              "dropped_for_latency")}
        packets = sum(c.media.packets_received for c in answered)
        await bank.stop()
    finally:
        box.stdin.close()
        await asyncio.wait_for(box.wait(), 10)
    return {
        "phones": phones,
        "registration_failures": len(failures),
        "register_all_seconds": round(register_s, 3),
        "register_cpu_ms_per_phone": round(1000 * register_cpu / phones, 3),
        "calls_answered": len(answered),
        "talk_seconds": round(talk_s, 2),
        "cpu_percent_of_a_core_per_talking_phone": round(100 * talk_cpu / talk_s / phones, 3),
        "cpu_us_per_rtp_packet_each_way": round(1e6 * talk_cpu / (talk_s * phones * 100), 1),
        "box_cpu_percent_of_a_core_relaying_all_calls": round(100 * box_cpu / talk_s, 1),
        "frames_heard_per_second_min": round(heard_rates[0], 1) if heard_rates else None,
        "frames_heard_per_second_median": round(heard_rates[len(heard_rates) // 2], 1)
        if heard_rates else None,
        "frames_spoken_per_second_min": round(spoken_rates[0], 1) if spoken_rates else None,
        "rtp_packets_received": packets,
        "jitter_buffer": jitter,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=40)
    parser.add_argument("--talk", type=float, default=8.0)
    parser.add_argument("--box", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.box:
        asyncio.run(run_box())
        return
    print(json.dumps(asyncio.run(run_phones(args.phones, args.talk)), indent=2))


if __name__ == "__main__":
    main()
