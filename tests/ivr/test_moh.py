"""The built-in music on hold: level, loop, no dead air, the notes it claims to play."""

from __future__ import annotations

import math
import struct
from itertools import islice

from appliance.ivr.moh import BEAT, PROGRESSION, ensure_moh_file, melody_pcm, moh_frames
from appliance.ivr.prompts import read_pcm
from drivers.base import FRAME_BYTES


def values(pcm: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm))


def power(samples: list[int], freq: float) -> float:
    """Goertzel: energy of ``samples`` at ``freq`` (written here, not taken from the code)."""
    coeff = 2 * math.cos(2 * math.pi * freq / 8000)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def test_level_length_and_no_dead_air() -> None:
    samples = values(melody_pcm())
    assert len(melody_pcm()) % FRAME_BYTES == 0
    assert len(samples) == 8000 * 16
    peak = max(abs(v) for v in samples)
    assert 0.2 * 32767 < peak <= 0.26 * 32767  # about -12 dBFS
    for start in range(0, len(samples), 800):  # every 100 ms has sound in it
        window = samples[start:start + 800]
        rms = math.sqrt(sum(v * v for v in window) / len(window))
        assert rms > 300, start


def test_the_loop_point_does_not_click() -> None:
    samples = values(melody_pcm())
    biggest_step = max(abs(b - a) for a, b in zip(samples, samples[1:], strict=False))
    assert abs(samples[0] - samples[-1]) <= biggest_step


def test_first_notes_are_the_c_major_arpeggio() -> None:
    samples = values(melody_pcm())
    note = int(BEAT * 8000)
    for step, midi in enumerate(PROGRESSION[0][1][:4]):
        # skip the attack and listen to the middle of each eighth note
        window = samples[step * note + 400: step * note + 1800]
        freq = 440 * 2 ** ((midi - 69) / 12)
        assert power(window, freq) > 4 * power(window, freq * 2 ** (1 / 12)), midi


def test_frames_loop_forever_and_file_is_written_once(tmp_path) -> None:
    frames = list(islice(moh_frames(), 801))
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert frames[800] == frames[0]  # 800 frames = 16 s, then it starts again
    path = ensure_moh_file(tmp_path)
    assert read_pcm(path) == melody_pcm()
    mtime = path.stat().st_mtime_ns
    assert ensure_moh_file(tmp_path) == path and path.stat().st_mtime_ns == mtime
