"""SIP benchmark: digest REGISTERs/s and call setups/s, sipp on loopback against our stack
in a child process, and the same REGISTER load against Kamailio in the same run.

Prints one JSON object.  ``python bench/sip.py`` (about 30-60 s); ``--quick`` for a
smaller load.  Never an assertion: numbers to compare, side by side.

How the comparison is kept fair on a shared machine: both servers run side by side
and the REGISTER load alternates between them in rounds (callbox, Kamailio, callbox,
...), so a burst of other work hits both; the figure is CPU time of the server's own
processes (never sipp's), read from the scheduler's nanosecond counters, per completed
REGISTER pair (401 + 200); the summary gives min / median / max over the rounds and
the ratio of the medians.  Throughput is reported too but moves with the machine's
load far more than CPU per REGISTER does.  The box runs on the plain asyncio loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "sip" / "scenarios"
USER, PASSWORD = "101", "bench-secret-101"
CLK_TCK = os.sysconf("SC_CLK_TCK")

KAMAILIO_CFG = """#!KAMAILIO
debug=0
log_stderror=yes
fork=yes
children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="{modules}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("auth", "nonce_expire", 300)
modparam("auth", "secret", "bench")
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if ($rm != "REGISTER") {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!pv_www_authenticate("callbox", "{password}", "0")) {{
        www_challenge("callbox", "1");
        exit;
    }}
    if (!save("location")) {{ sl_reply_error(); }}
    exit;
}}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU of a process and its direct children (Kamailio's workers), all threads.

    The scheduler's sum_exec_runtime (``/proc/PID/task/TID/schedstat``, nanoseconds)
    where the kernel has it; utime + stime in clock ticks (10 ms) otherwise."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += _process_cpu(stat.parent, fields)
    return total


def _process_cpu(proc: Path, fields: list[str]) -> float:
    try:
        return sum(int(task.read_text().split()[0])
                   for task in proc.glob("task/*/schedstat")) / 1e9
    except (OSError, ValueError, IndexError):
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def sipp(target_port: int, scenario: str, calls: int, limit: int, workdir: str,
         *extra: str) -> dict:
    args = [shutil.which("sipp") or "sipp", f"127.0.0.1:{target_port}", "-sf",
            str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(free_port()),
            "-mp", str(free_port()), "-m", str(calls), "-l", str(limit), "-r", "100000",
            "-s", USER, "-au", USER, "-ap", PASSWORD, "-nostdin", "-timeout", "50s", *extra]
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, cwd=workdir, timeout=60).stdout
    elapsed = time.perf_counter() - start

    def count(name: str) -> int:
        match = re.search(rf"{name}\s+\|\s+\d+\s+\|\s+(\d+)", out)
        return int(match.group(1)) if match else 0

    retrans = sum(int(n) for n in re.findall(r"-{3,}>?\s+\d+\s+(\d+)", out))
    return {"ok": count("Successful call"), "failed": count("Failed call"),
            "seconds": round(elapsed, 3), "retransmissions": retrans}


def measure(pid: int, port: int, scenario: str, calls: int, limit: int, workdir: str,
            *extra: str) -> dict:
    cpu_before = cpu_seconds(pid)
    result = sipp(port, scenario, calls, limit, workdir, *extra)
    cpu = cpu_seconds(pid) - cpu_before
    result["per_second"] = round(result["ok"] / result["seconds"], 1) if result["seconds"] else 0
    result["cpu_ms_each"] = round(cpu * 1000 / result["ok"], 4) if result["ok"] else None
    return result


def start_box(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"box did not start: {line!r}")
    return proc


def start_kamailio(port: int, workdir: str) -> subprocess.Popen | None:
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not os.path.exists(binary):
        return None
    modules = next((str(p) for p in Path("/usr/lib").glob("*/kamailio/modules")), "")
    cfg = Path(workdir) / "kamailio.cfg"
    cfg.write_text(KAMAILIO_CFG.format(port=port, modules=modules, password=PASSWORD))
    proc = subprocess.Popen([binary, "-DD", "-E", "-f", str(cfg), "-w", workdir, "-m", "64",
                             "-M", "8", "-P", f"{workdir}/kamailio.pid"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # ready when its UDP port is taken
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return proc
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    stop(proc)
    return None


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", type=int)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return
    registers = 3000 if args.quick else 8000
    rounds = 2 if args.quick else 4
    calls = 300 if args.quick else 1500
    report: dict = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]},
                    "loop": "asyncio"}
    with tempfile.TemporaryDirectory() as workdir:
        box_port, kam_port = free_port(), free_port()
        box = start_box(box_port)
        kamailio = start_kamailio(kam_port, workdir)
        try:
            report["idle_rss_mb"] = rss_mb(box.pid)
            ours, theirs = [], []
            for _ in range(rounds):  # alternate, so that other load hits both alike
                ours.append(measure(box.pid, box_port, "register.xml", registers, 100,
                                    workdir))
                if kamailio is not None:
                    theirs.append(measure(kamailio.pid, kam_port, "register.xml", registers,
                                          100, workdir))
            report["callbox_register"] = summary(ours)
            report["kamailio_register"] = summary(theirs) if theirs else None
            report["callbox_calls"] = measure(box.pid, box_port, "uac_call.xml", calls, 50,
                                              workdir, "-key", "caller", USER)
            report["rss_after_mb"] = rss_mb(box.pid)
        finally:
            stop(box)
            if kamailio is not None:
                stop(kamailio)
    mine, peer = report["callbox_register"], report["kamailio_register"]
    if peer and peer["per_second"] and mine["cpu_ms_each"] and peer["cpu_ms_each"]:
        report["register_ratio_vs_kamailio"] = round(mine["per_second"] / peer["per_second"], 3)
        # Throughput moves with what else the machine runs; CPU per REGISTER moves less.
        # DESIGN's target: at least 0.5 (callbox at most twice Kamailio's CPU per REGISTER).
        report["register_cpu_ratio_vs_kamailio"] = round(
            peer["cpu_ms_each"] / mine["cpu_ms_each"], 3)
        report["register_cpu_ratio_per_round"] = [
            round(t["cpu_ms_each"] / o["cpu_ms_each"], 3)
            for o, t in zip(ours, theirs, strict=True) if o["cpu_ms_each"] and t["cpu_ms_each"]]
    print(json.dumps(report, indent=2))


def summary(runs: list[dict]) -> dict:
    """Totals over the rounds; CPU per REGISTER as the median round, with min and max."""
    cpu = sorted(r["cpu_ms_each"] for r in runs if r["cpu_ms_each"] is not None)
    ok, seconds = sum(r["ok"] for r in runs), sum(r["seconds"] for r in runs)
    return {
        "rounds": len(runs), "ok": ok, "failed": sum(r["failed"] for r in runs),
        "retransmissions": sum(r["retransmissions"] for r in runs),
        "per_second": round(ok / seconds, 1) if seconds else 0,
        "per_second_rounds": [r["per_second"] for r in runs],
        "cpu_ms_each": round(statistics.median(cpu), 4) if cpu else None,
        "cpu_ms_each_min": cpu[0] if cpu else None, "cpu_ms_each_max": cpu[-1] if cpu else None,
        "cpu_ms_each_rounds": [r["cpu_ms_each"] for r in runs],
    }


async def serve(port: int) -> None:
    """The child process: our SIP channel, one phone's credentials, answering every call."""
    sys.path.insert(0, str(ROOT))
    from appliance.clock import LoopClock
    from appliance.events import EventBus
    from drivers.sip.channel import SipChannel

    class Host:
        clock = LoopClock()
        bus = EventBus()

        def incoming(self, leg) -> None:
            asyncio.get_running_loop().create_task(leg.answer())

        def channel_changed(self, channel) -> None: ...

    channel = SipChannel("bench", {"listen": f"127.0.0.1:{port}", "tcp": False,
                                   "credentials": {USER: PASSWORD}.get, "qualify_seconds": 0,
                                   "ban_failures": 10**9, "rtp_ports": "40000-59999"}, Host())
    await channel.start()
    print("READY", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    await channel.stop()


if __name__ == "__main__":
    main()
