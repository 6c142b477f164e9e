"""ACD decision latency: how long the engine takes to decide, with many operators and a
long line of waiting callers.  Prints JSON.

For each size, every operator is on a call and ``waiting`` callers wait.  Then, in a
steady loop, an operator's call ends (the decision: who is next, ring them), the
operator answers (connect, stop other rings) and a new caller arrives (join, find the
place in line), so the line stays the same length.  Each of those calls into the ACD
is timed on its own; the switchboard and queue log are no-ops, so this is the engine's
own cost.  Run: ``python bench/acd.py``.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.acd import Acd  # noqa: E402
from appliance.acd.config import QueueConfig  # noqa: E402
from appliance.clock import VirtualClock  # noqa: E402

SAMPLES = 2000
WARMUP = 200


class NoSwitchboard:
    def __init__(self) -> None:
        self.rung: list[tuple[str, str]] = []
        self.stopped = 0
        self.overflows = 0
        self.callbacks_dialled = 0

    def ring(self, call_id: str, operator: str, *, callback: bool = False) -> None:
        self.rung.append((call_id, operator))

    def stop_ringing(self, call_id: str, operator: str) -> None:
        self.stopped += 1

    def overflow(self, call_id: str, destination: str, reason: str) -> None:
        self.overflows += 1

    def dial_callback(self, call_id: str, operator: str, number: str) -> None:
        self.callbacks_dialled += 1


def no_log(event, **kwargs) -> None:
    """The queue log is left out: the bench times the ACD's decisions, not the store."""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run(operators: int, waiting: int, strategy: str) -> dict:
    clock = VirtualClock()
    sb = NoSwitchboard()
    acd = Acd(clock, sb, no_log, rng=random.Random(1))
    acd.configure_queue(QueueConfig(name="q", strategy=strategy, wrapup_seconds=0,
                                    max_wait=0, ring_timeout=30, join_empty=True))
    for i in range(operators):
        acd.configure_operator(f"op{i}", {"q": 0})
        acd.login(f"op{i}")
    serial = 0
    on_call: list[str] = []
    for _ in range(operators):  # everyone gets a call
        call_id = f"c{serial}"
        acd.enqueue(call_id, "q", f"+{serial}", priority=serial % 3)
        serial += 1
        acd.ring_answered(call_id, next(op for c, op in sb.rung if c == call_id))
        on_call.append(call_id)
        sb.rung.clear()
    for _ in range(waiting):
        acd.enqueue(f"c{serial}", "q", f"+{serial}", priority=serial % 3)
        serial += 1
        clock.advance(0.01)
    timings: dict[str, list[float]] = {"free_and_ring": [], "answer": [], "join": []}
    cpu: dict[str, list[float]] = {name: [] for name in timings}
    rng = random.Random(2)
    wall, own = time.perf_counter_ns, time.thread_time_ns

    def timed(name: str, fn, *args, **kwargs) -> None:
        w0, c0 = wall(), own()
        fn(*args, **kwargs)
        c1, w1 = own(), wall()
        timings[name].append((w1 - w0) / 1000)
        cpu[name].append((c1 - c0) / 1000)

    for i in range(SAMPLES + WARMUP):
        if i == WARMUP:
            for values in (*timings.values(), *cpu.values()):
                values.clear()
        ending = on_call.pop(rng.randrange(len(on_call)))
        clock.advance(0.5)
        timed("free_and_ring", acd.call_ended, ending, by="caller")  # who is next? ring
        call_id, op = sb.rung[-1]
        sb.rung.clear()
        timed("answer", acd.ring_answered, call_id, op)
        on_call.append(call_id)
        timed("join", acd.enqueue, f"c{serial}", "q", f"+{serial}", priority=serial % 3)
        serial += 1
    assert len(acd.waiting("q")) == waiting
    out = {"operators": operators, "waiting": waiting, "strategy": strategy}
    for name in timings:
        out[name] = {"p50_us": round(statistics.median(timings[name]), 1),
                     "p99_us": round(percentile(timings[name], 99), 1),
                     "cpu_p50_us": round(statistics.median(cpu[name]), 1),
                     "cpu_p99_us": round(percentile(cpu[name], 99), 1)}
    out["all_p99_us"] = round(percentile([v for vs in timings.values() for v in vs], 99), 1)
    out["all_cpu_p99_us"] = round(percentile([v for vs in cpu.values() for v in vs], 99), 1)
    return out


def run_all_free(operators: int, strategy: str) -> dict:
    """A caller arrives while every operator is free: the strategy looks at all of them."""
    clock = VirtualClock()
    sb = NoSwitchboard()
    acd = Acd(clock, sb, no_log, rng=random.Random(1))
    acd.configure_queue(QueueConfig(name="q", strategy=strategy, wrapup_seconds=0,
                                    max_wait=0, ring_timeout=30))
    for i in range(operators):
        acd.configure_operator(f"op{i}", {"q": i % 3})
        acd.login(f"op{i}")
    wall, own = time.perf_counter_ns, time.thread_time_ns
    times, cpu = [], []
    for i in range(SAMPLES // 4 + WARMUP):
        clock.advance(1)
        w0, c0 = wall(), own()
        acd.enqueue(f"c{i}", "q", "+1")
        c1, w1 = own(), wall()
        if i >= WARMUP:
            times.append((w1 - w0) / 1000)
            cpu.append((c1 - c0) / 1000)
        call_id, op = sb.rung[0]
        sb.rung.clear()
        acd.ring_answered(call_id, op)
        acd.call_ended(call_id)
    return {"operators": operators, "strategy": strategy,
            "arrive_p50_us": round(statistics.median(times), 1),
            "arrive_p99_us": round(percentile(times, 99), 1),
            "arrive_cpu_p99_us": round(percentile(cpu, 99), 1)}


def main() -> None:
    results = []
    started = time.perf_counter()
    for strategy in ("longest-idle", "ring-all"):
        for operators in (10, 100, 1000):
            for waiting in (10, 1000, 10000):
                results.append(run(operators, waiting, strategy))
    all_free = [run_all_free(n, strategy)
                for strategy in ("longest-idle", "round-robin", "weighted-random", "ring-all")
                for n in (10, 100, 1000)]
    print(json.dumps({
        "bench": "acd-decision-latency",
        "samples_per_case": SAMPLES,
        "unit": "microseconds per ACD call (wall; cpu_ = this thread's CPU time, which "
                "leaves out time the OS gave to other processes)",
        "worst_p99_us": max(r["all_p99_us"] for r in results),
        "worst_cpu_p99_us": max(r["all_cpu_p99_us"] for r in results),
        "cases": results,
        "arrival_with_every_operator_free": all_free,
        "seconds": round(time.perf_counter() - started, 1),
    }, indent=1))


if __name__ == "__main__":
    main()
