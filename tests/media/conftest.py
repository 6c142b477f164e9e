"""Shared helpers for the media tests: synthetic signals and a speech corpus."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from appliance.media._audioop import audioop
from appliance.media.wav import read_audio
from drivers.base import FRAME_BYTES
from tests.conftest import require_tool

EN_TEXT = (
    "the quick brown fox jumps over the lazy dog while operators answer calls in the "
    "queue please hold the line your call is important to us we will connect you to the "
    "next available agent thank you for waiting one two three four five six seven eight "
    "nine zero hello good morning how can I help you today my account number is sorry "
    "could you repeat that billing support delivery address order status"
)
RU_TEXT = (
    "здравствуйте вы позвонили в службу поддержки пожалуйста оставайтесь на линии ваш "
    "звонок очень важен для нас оператор ответит вам через несколько минут один два три "
    "четыре пять шесть семь восемь девять ноль спасибо до свидания номер заказа доставка "
    "адрес счёт повторите пожалуйста"
)
# (voice, pitch 0-99, words per minute): men, women, fast and slow talkers.
VOICES = [
    ("en", 50, 175), ("en+f3", 70, 160), ("en-us", 30, 200), ("en+m3", 20, 140),
    ("ru", 50, 170), ("ru+f2", 80, 150), ("ru", 25, 210), ("ru+f4", 60, 130),
]


def noise(samples: int, dbfs_rms: float, seed: int = 1) -> bytes:
    """Uniform white noise at an RMS level (dBFS, full-scale sine = 0)."""
    raw = random.Random(seed).randbytes(2 * samples)
    rms = audioop.rms(raw, 2) or 1
    target = 32768 / 2**0.5 * 10 ** (dbfs_rms / 20)
    return audioop.mul(raw, 2, target / rms)


def frames_of(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]


@pytest.fixture(scope="session")
def speech_corpus(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """At least ten minutes of synthetic Russian and English speech, 8 kHz s16le,
    made once per session with espeak-ng."""
    espeak = require_tool("espeak-ng")
    folder: Path = tmp_path_factory.mktemp("speech")
    rng = random.Random(42)
    parts = []
    for i, (voice, pitch, speed) in enumerate(VOICES):
        words = (RU_TEXT if voice.startswith("ru") else EN_TEXT).split()
        text = " ".join(rng.choice(words) for _ in range(300))
        out = folder / f"speech{i}.wav"
        subprocess.run(
            [espeak, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(out), text],
            check=True, capture_output=True, timeout=60,
        )
        parts.append(read_audio(out))
    pcm = b"".join(parts)
    assert len(pcm) / 16000 >= 600, f"corpus only {len(pcm) / 16000:.0f} s"
    return pcm


def run_async(fn):
    """Run an ``async def`` test on a fresh event loop (no asyncio pytest plugin here)."""
    import asyncio
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper
