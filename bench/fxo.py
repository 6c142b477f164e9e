"""Echo canceller figures for analog (FXO) legs, as JSON: CPU per active call, time to
converge and ERLE on a simulated hybrid (delay + dispersive response + loss + noise),
for each tail length, on white noise and on speech-like bursts.

Partial FXO bench: the V.253 modem side is measured by the fxo helper's own bench.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from appliance.media.echo import EchoCanceller  # noqa: E402
from tests.media.echo_sim import (  # noqa: E402
    FS,
    babble,
    convergence_seconds,
    echo_path,
    erle_db,
    run_line,
)


def cpu_per_call(tail_ms: int, seconds: float = 10.0) -> dict:
    far = babble(seconds, seed=1)
    near = (np.convolve(far, echo_path(10, 12))[: len(far)]).astype("<i2")
    far16 = far.astype("<i2")
    frames = [(near[i : i + 160].tobytes(), far16[i : i + 160].tobytes())
              for i in range(0, len(far16) - 159, 160)]
    ec = EchoCanceller(tail_ms=tail_ms)
    start = time.process_time()
    for d, x in frames:
        ec.process(d, x)
    cpu = time.process_time() - start
    return {
        "us_per_frame": round(1e6 * cpu / len(frames), 1),
        "core_percent_per_call": round(100 * cpu / (len(frames) * 0.02), 2),
    }


def quality(tail_ms: int, delay_ms: int, loss_db: float, signal: str) -> dict:
    far = babble(10, seed=tail_ms) if signal == "speech-like" else (
        np.random.default_rng(tail_ms).standard_normal(10 * FS) * 3000)
    ec = EchoCanceller(tail_ms=tail_ms)
    echo, d, out = run_line(ec, far, echo_path(delay_ms, loss_db, seed=tail_ms),
                            noise_dbfs=-65)
    seg = slice(6 * FS, 10 * FS)
    conv = convergence_seconds(echo, d, out)
    return {
        "signal": signal, "tail_ms": tail_ms, "echo_delay_ms": delay_ms,
        "echo_return_loss_db": loss_db,
        "convergence_s_to_20db": None if conv is None else round(conv, 2),
        "erle_db_after_6s": round(erle_db(d[seg], out[seg]), 1),
    }


def main() -> dict:
    t0 = time.monotonic()
    cpu = {str(t): cpu_per_call(t) for t in (32, 64, 128)}
    runs = [quality(t, dly, loss, sig)
            for t, dly, loss in ((32, 5, 6), (64, 20, 12), (128, 100, 12))
            for sig in ("white", "speech-like")]
    return {
        "bench": "fxo_echo_canceller",
        "cpu_by_tail_ms": cpu,
        "runs": runs,
        "numpy": np.__version__,
        "load_average": os.getloadavg()[0],
        "seconds": round(time.monotonic() - t0, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
