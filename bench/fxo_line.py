"""What one active analog call costs, and how well its line echo is cancelled.

Runs the FXO driver's per-frame work without I/O: the modem's bytes are DLE-unshielded,
decoded (G.711 mu-law, as a CX93010 offers), echo-cancelled against what we sent, fed
to the far-end monitor; our frame is encoded and shielded on the way out.  The line is
the simulator's (``drivers.sim.pstn.FarEnd``): a hybrid echo with delay and loss, behind
the modem's buffer of PRIME_FRAMES frames.  Prints JSON: CPU per frame and per call (% of a
core), with and without the canceller, ERLE after convergence and time to converge.

    .venv/bin/python bench/fxo_line.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import struct
import time
from collections import deque

from drivers.fxo.call import PRIME_FRAMES
from drivers.fxo.codec import VoiceCodec
from drivers.fxo.dle import DleDecoder, shield
from drivers.fxo.echo_path import make_echo_canceller
from drivers.fxo.hangup import FarEndMonitor
from drivers.sim.pstn import FarEnd


def babble(rng: random.Random, frame: int) -> bytes:
    env = 0.5 + 0.5 * math.sin(2 * math.pi * frame / 37) ** 2
    return struct.pack("<160h", *(int(max(-32767, min(32767, rng.gauss(0, 3000 * env))))
                                  for _ in range(160)))


def power(pcm: bytes) -> float:
    vals = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return sum(v * v for v in vals) / max(1, len(vals))


def run(seconds: float, echo_on: bool, talking: bool = True) -> dict:
    frames = int(seconds * 50)
    rng = random.Random(11)
    # prepared outside the timed part; a listening call sends digital silence
    ours = [babble(rng, i) if talking else bytes(320) for i in range(frames)]
    far = FarEnd(tone_hz=None, echo_delay_ms=8, echo_loss_db=6, noise_rms=2)
    modem_codec, codec = VoiceCodec("ulaw"), VoiceCodec("ulaw")
    decoder = DleDecoder()
    canceller = make_echo_canceller(tail_ms=64) if echo_on else None
    monitor = FarEndMonitor(10.0)
    buffered: deque[bytes] = deque([bytes(320)] * PRIME_FRAMES)  # the modem's buffer
    near_p: list[float] = []
    out_p: list[float] = []
    cpu = 0.0
    for i in range(frames):
        # the modem's side (not timed): play the oldest buffered frame, hear the line
        played = buffered.popleft()
        heard = far.exchange(played)
        wire_in = shield(modem_codec.encode(heard))
        t0 = time.process_time()
        # the driver's side (timed): what VoiceCall.wire_audio does for one frame
        pcm = b"".join(x for x in decoder.feed(wire_in) if isinstance(x, bytes))
        frame = codec.decode_frames(pcm)[0]
        sent = ours[i]
        wire_out = shield(codec.encode(sent))
        # the reference is what the modem played this tick (VoiceCall keeps that queue)
        out = canceller.process(frame, played) if canceller is not None else frame
        monitor.feed(out)
        cpu += time.process_time() - t0
        buffered.append(modem_codec.decode_frames(b"".join(
            x for x in DleDecoder().feed(wire_out) if isinstance(x, bytes)))[0])
        near_p.append(power(frame))
        out_p.append(power(out))
    result = {"frames": frames, "cpu_us_per_frame": round(cpu / frames * 1e6, 1),
              "cpu_percent_of_core_per_call": round(cpu / frames / 0.02 * 100, 3)}
    if canceller is not None and talking:
        window = 25
        erle = [10 * math.log10(sum(near_p[i - window:i]) / max(sum(out_p[i - window:i]), 1e-3))
                for i in range(window, frames + 1)]
        converged = next((i for i, e in enumerate(erle) if e >= 20), None)
        result.update({
            "erle_db_after_convergence": round(sum(erle[-250:]) / len(erle[-250:]), 1),
            "convergence_seconds_to_20db": None if converged is None
            else round((converged + window) * 0.02, 2),
        })
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    report = {
        "bench": "fxo_line",
        "codec": "ulaw",
        "echo_path": {"hybrid_delay_ms": 8, "loss_db": 6, "modem_buffer_frames": PRIME_FRAMES},
        "with_echo_canceller": run(args.seconds, True),
        "without_echo_canceller": run(args.seconds, False),
        "echo_canceller_while_we_are_silent": run(args.seconds, True, talking=False),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
