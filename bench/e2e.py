"""End-to-end figures, printed as JSON (issue: "measure and report"):

* ``clip_to_invite_ms``: from the network delivering a call to the simulated modem
  (RING, then +CLIP with the caller's number, on its pty) to the INVITE arriving at the
  operator's SIP phone — through the GSM driver, the switchboard, the ACD and the SIP
  stack of a separate ``callbox run`` process.
* ``audio_delay_ms``: a DTMF tone burst the GSM caller presses, from the moment the
  modem puts it on its audio port to the moment it is heard in the phone's RTP —
  serial audio in, bridge, G.711 and RTP out, the phone's jitter buffer.
* ``demo``: CPU (% of one core) and memory (RSS) of the daemon running ``make demo``'s
  site with 10 operators and four busy lines, sampled from /proc.

    python bench/e2e.py [--calls 10] [--demo-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.media.goertzel import tone_fraction  # noqa: E402
from drivers.sim.process import SimModemProcess  # noqa: E402
from drivers.sim.sip_phone import AnswerPolicy, SimPhone, Voice  # noqa: E402
from tests.e2e.peers import Daemon, callbox, wait_for  # noqa: E402

DTMF_5 = (770.0, 1336.0)


def onset(pcm: bytes, freqs: tuple[float, ...]) -> int | None:
    """Index (in samples) of the first 10 ms block where the tone pair dominates."""
    block = 160  # 20 ms
    for i in range(0, len(pcm) // 2 - block, block // 2):
        chunk = pcm[2 * i: 2 * (i + block)]
        if tone_fraction(chunk, freqs) > 0.6:
            return i
    return None


async def call_figures(tmp: Path, calls: int) -> dict:
    data = tmp / "box"
    data.mkdir()
    from appliance.store import open_store

    open_store(data).close()
    modem = await SimModemProcess.start("e1550", tmp / "modem", sim_busy=0.5)
    daemon = Daemon(data)
    phone = None
    try:
        callbox(data, "queue", "add", "support", "--wrapup-seconds", "0", "--sticky-days", "0")
        callbox(data, "phone", "add", "101", "--password", "bench-secret-101")
        callbox(data, "operator", "add", "Anna", "--ext", "101", "--queue", "support")
        callbox(data, "setting", "set", "login_on_registration", "true")
        s = modem.line_settings()
        callbox(data, "line", "add", "gsm", "--name", "gsm1", "--at", s["at"], "--audio",
                s["audio"], "--destination", "queue:support")
        await daemon.start()
        await wait_for(lambda: daemon.line_state("gsm1") == "up", 30, "line up")
        invites: list[float] = []
        phone = SimPhone("101", "bench-secret-101", registrar=("127.0.0.1", daemon.sip_port),
                         local_host="127.0.0.1", voice=Voice.silence(),
                         policy=AnswerPolicy(answer_after=(0.0, 0.0), talk_seconds=None),
                         on_event=lambda e: e.kind == "incoming" and
                         invites.append(time.monotonic()))
        await phone.start()
        await wait_for(lambda: daemon.query(
            "SELECT 1 FROM call_events WHERE event = 'LOGIN'"), 20, "operator logged in")
        clip, audio = [], []
        for n in range(calls):
            await wait_for(lambda: daemon.line_state("gsm1") == "up"
                           and not phone.active_calls, 20, "idle")
            before = len(invites)
            sent = time.monotonic()
            await modem.command(f"call +7916000{n:04d}")
            await wait_for(lambda before=before: len(invites) > before, 20,
                           "INVITE at the phone")
            clip.append((invites[-1] - sent) * 1000)
            call = phone.calls[-1]
            await wait_for(lambda call=call: call.frames_heard > 50, 20, "audio at the phone")
            pressed = time.monotonic()
            await modem.command("dtmf 5")
            await asyncio.sleep(0.8)  # the burst is 100 ms; 0.8 s bounds the path's delay
            now = time.monotonic()
            pcm = call.heard_audio(2.0)
            start = onset(pcm, DTMF_5)
            if start is not None:
                arrived = now - (len(pcm) // 2 - start) / 8000
                audio.append((arrived - pressed) * 1000)
            await modem.command("hangup")
        return {
            "clip_to_invite_ms": summary(clip),
            "audio_delay_ms": summary(audio),
            "audio_delay_method": "in-band DTMF onset: modem audio port -> phone RTP "
                                  "(includes the phone's jitter buffer)",
        }
    finally:
        if phone is not None:
            await phone.stop()
        await daemon.stop()
        await modem.stop()


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)
    return {"n": len(values), "p50": round(statistics.median(values), 1),
            "max": round(values[-1], 1), "min": round(values[0], 1)}


async def idle_figures(tmp: Path) -> dict:
    """A freshly installed box: the daemon with nothing configured, after start-up."""
    data = tmp / "idle"
    data.mkdir()
    daemon = Daemon(data)
    await daemon.start()
    try:
        await asyncio.sleep(3)  # let start-up garbage settle before reading RSS
        return {"idle_rss_mb": rss_mb(daemon.process.pid)}
    finally:
        await daemon.stop()


async def demo_figures(tmp: Path, seconds: float) -> dict:
    """The demo site (10 operators; loopback, two GSM and one analog line) under load."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appliance.demo", "--data", str(tmp / "demo"), "--operators",
        "10", "--rate", "60", "--web", "127.0.0.1:0", "--sip", "127.0.0.1:0",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        line = b""
        while b"demo is running" not in line:  # its banner says the site is set up
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
        tick = os.sysconf("SC_CLK_TCK")
        samples = []
        cpu0, t0 = cpu_ticks(proc.pid), time.monotonic()
        end = t0 + seconds
        while time.monotonic() < end:
            await asyncio.sleep(5)
            samples.append(rss_mb(proc.pid))
        cpu = (cpu_ticks(proc.pid) - cpu0) / tick / (time.monotonic() - t0) * 100
        import sqlite3

        db = sqlite3.connect(tmp / "demo" / "callbox.db")
        lines = db.execute("SELECT line, COUNT(*) FROM calls GROUP BY line").fetchall()
        db.close()
        return {"seconds": seconds, "operators": 10, "cpu_percent_of_a_core": round(cpu, 1),
                "rss_mb_max": max(samples), "rss_mb_last": samples[-1],
                "calls_per_line": dict(lines)}
    finally:
        proc.terminate()
        await proc.wait()


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--demo-seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {"bench": "e2e", **await idle_figures(Path(tmp)),
                  **await call_figures(Path(tmp), args.calls),
                  "demo": await demo_figures(Path(tmp), args.demo_seconds)}
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
