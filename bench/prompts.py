"""Uploading a recording: how long the conversion to 8 kHz mono takes, and how long the
event loop is held up meanwhile (a 5 ms ticker on the loop measures its worst lag).
Prints JSON.  Run: ``python bench/prompts.py``.

Files: 45 s of a 44.1 kHz stereo 16-bit WAV (7.6 MB), the same as 32-bit float (15 MB),
and as a 128 kbit/s MP3 (made by sox when it has MP3 support).  Each is converted by
sox (a child process) and, for WAVs, by the Python fallback (on a thread).
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.ivr.audioin import decode_upload, mp3_supported  # noqa: E402

SECONDS = 45  # the float WAV stays under the 20 MB upload limit
RATE = 44100


def wav(samples: bytes, rate: int, channels: int, bits: int, tag: int) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
            + struct.pack("<I", len(samples)) + samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tone() -> tuple[bytes, bytes]:
    """Stereo 440 Hz: (int16 samples, float32 samples)."""
    one = [0.4 * math.sin(2 * math.pi * 440 * i / RATE) for i in range(RATE)]
    ints = array("h", (int(v * 32767) for v in one for _ in range(2))).tobytes() * SECONDS
    floats = array("f", (v for v in one for _ in range(2))).tobytes() * SECONDS
    return ints, floats


async def measure(data: bytes, sox: str | None) -> dict[str, float]:
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while running:
            before = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - before - 0.005)

    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.02)
    start = time.perf_counter()
    pcm = await decode_upload(data, sox)
    took = time.perf_counter() - start
    running = False
    await tick
    return {"seconds": round(took, 3), "loop_max_lag_ms": round(worst * 1000, 1),
            "output_seconds": round(len(pcm) / 16000, 2), "input_mb": round(len(data) / 2**20, 1)}


async def main() -> dict[str, object]:
    sox = shutil.which("sox")
    ints, floats = tone()
    files = {"wav_44k_stereo_16bit": wav(ints, RATE, 2, 16, 1),
             "wav_44k_stereo_float": wav(floats, RATE, 2, 32, 3)}
    if sox and await mp3_supported(sox):
        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "in.wav", Path(tmp) / "out.mp3"
            src.write_bytes(files["wav_44k_stereo_16bit"])
            subprocess.run([sox, str(src), "-C", "128", str(out)], check=True)
            files["mp3_44k_stereo_128k"] = out.read_bytes()
    results: dict[str, object] = {"audio_seconds": SECONDS}
    for name, data in files.items():
        if sox:
            results[f"{name}_sox"] = await measure(data, sox)
        if not name.startswith("mp3"):
            results[f"{name}_python"] = await measure(data, None)
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
