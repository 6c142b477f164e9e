"""RTP edge benchmark: CPU per packet of the SIP driver's media path.

A child process opens N RTP sessions (as N answered calls would) and sends every 20 ms
frame it plays out straight back (receive, decode, jitter buffer, 20 ms playout tick,
encode, send).  This process plays N phones: 50 packets a second to each, counting the
echoes.  Prints JSON: CPU per received-and-sent packet in the child, loss, lateness.
This is the driver's share of DESIGN's "relayed G.711 calls" budget (27 us a packet);
the core's bridge comes on top.  ``--calls N --seconds S`` (defaults 100 and 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAYLOAD = b"\xff" * 158  # 20 ms of mu-law silence, after two bytes naming the tick


def tick_bytes(tick: int) -> bytes:
    """The tick number in two mu-law codes that survive decode and re-encode unchanged
    (0x80-0xBF: no mu-law zero among them), so an echo tells which packet it was."""
    return bytes((0x80 + ((tick >> 6) & 0x3F), 0x80 + (tick & 0x3F)))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def echo_sessions(count: int) -> None:
    """The child: ``count`` sessions, each echoing what it plays out."""
    sys.path.insert(0, str(ROOT))
    from appliance.clock import LoopClock
    from drivers.sip.rtp import PlayoutTicker, RtpSession

    clock = LoopClock()
    ticker = PlayoutTicker(clock)
    sessions = []
    for _ in range(count):
        holder: list[RtpSession] = []
        session = RtpSession(clock, ticker, lambda frame, h=holder: h[0].send_frame(frame),
                             lambda digit: None)
        holder.append(session)
        await session.open("127.0.0.1", (20000, 29999))
        sessions.append(session)
    print(" ".join(str(s.local_port) for s in sessions), flush=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    for session in sessions:
        session.close()


def run(calls: int, seconds: float) -> dict:
    child = subprocess.Popen([sys.executable, __file__, "--child", str(calls)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None
    ports = [int(p) for p in child.stdout.readline().split()]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    sent = received = 0
    lateness: list[float] = []
    matched = [0]  # echoes of a packet sent (the lateness list is capped)
    sent_at: dict[int, float] = {}
    cpu_before = cpu_seconds(child.pid)
    start = time.perf_counter()
    tick = 0
    while time.perf_counter() - start < seconds:
        due = start + tick * 0.020
        while time.perf_counter() < due:  # drain echoes while waiting for the next tick
            received += _drain(sock, sent_at, lateness, matched)
            time.sleep(0.001)
        header = struct.pack("!BBHII", 0x80, 0, tick & 0xFFFF, tick * 160, 0x1234)
        sent_at[tick & 0xFFF] = time.perf_counter()
        packet = header + tick_bytes(tick) + PAYLOAD
        for port in ports:
            sock.sendto(packet, ("127.0.0.1", port))
            sent += 1
        tick += 1
    settle = time.perf_counter() + 0.5
    while time.perf_counter() < settle:
        received += _drain(sock, sent_at, lateness, matched)
        time.sleep(0.005)
    cpu = cpu_seconds(child.pid) - cpu_before
    child.send_signal(signal.SIGTERM)
    child.wait(5)
    lateness.sort()
    return {
        "calls": calls, "seconds": seconds, "packets_in": sent, "packets_echoed": received,
        # Loss counts the packets whose own echo came back; the jitter buffer's fading
        # repeat after the last packet (60 ms a call) comes back too, as extra frames.
        "loss_pct": round(100 * (1 - matched[0] / sent), 2) if sent else None,
        "extra_frames": received - matched[0],
        "cpu_us_per_packet_in_and_out": round(cpu * 1e6 / max(received, 1), 1),
        "core_share_pct": round(100 * cpu / seconds, 1),
        # in -> jitter buffer (its playout delay) -> 20 ms tick -> out, per packet
        "echo_delay_ms_p50": round(lateness[len(lateness) // 2] * 1000, 1) if lateness else None,
        "echo_delay_ms_p99": round(lateness[int(len(lateness) * 0.99)] * 1000, 1)
        if lateness else None,
        "echoes_matched": matched[0],
    }


def _drain(sock: socket.socket, sent_at: dict[int, float], lateness: list[float],
           matched: list[int]) -> int:
    count = 0
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return count
        count += 1
        if len(data) >= 14:
            tick = ((data[12] - 0x80) << 6 | (data[13] - 0x80)) & 0xFFF
            if tick in sent_at:
                matched[0] += 1
                if len(lateness) < 200_000:
                    lateness.append(time.perf_counter() - sent_at[tick])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.child:
        asyncio.run(echo_sessions(args.child))
        return
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]},
                      "rtp_echo": run(args.calls, args.seconds)}, indent=2))


if __name__ == "__main__":
    main()
