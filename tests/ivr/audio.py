"""Audio files for upload tests, made here: WAVs with the ``wave`` module (or by hand for
the float and WAVE_FORMAT_EXTENSIBLE layouts it cannot write), MP3s by sox (its MP3
writer is LAME, from Debian's libsox-fmt-mp3), and the checks that a converted file
still carries the same tone."""

from __future__ import annotations

import io
import math
import struct
import subprocess
import wave
from pathlib import Path

from tests.conftest import missing, require_tool


def tone(rate: int, seconds: float, freq: float, level: float = 0.5) -> list[float]:
    return [level * math.sin(2 * math.pi * freq * i / rate) for i in range(int(rate * seconds))]


def make_wav(rate: int, channels: int, width: int, seconds: float,
             freq: float = 1000.0) -> bytes:
    """Integer PCM, 8 to 32 bits (8-bit stored unsigned, as WAV does)."""
    peak = (1 << (8 * width - 1)) - 1
    frames = bytearray()
    for value in tone(rate, seconds, freq):
        sample = int(value * peak)
        raw = bytes([sample + 128]) if width == 1 else sample.to_bytes(width, "little",
                                                                       signed=True)
        frames += raw * channels
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


def make_float_wav(rate: int, channels: int, seconds: float, freq: float = 1000.0,
                   extensible: bool = False) -> bytes:
    """32-bit float samples (what many editors export), plain or EXTENSIBLE header."""
    samples = b"".join(struct.pack("<f", v) * channels for v in tone(rate, seconds, freq))
    align = 4 * channels
    if extensible:
        # cbSize 22: valid bits, channel mask, SubFormat GUID (KSDATAFORMAT_SUBTYPE_IEEE_FLOAT)
        guid = struct.pack("<IHH", 3, 0x0000, 0x0010) + bytes.fromhex("800000aa00389b71")
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * align, align, 32, 22,
                          32, 0) + guid
    else:
        fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * align, align, 32)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(samples)) + samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def require_mp3() -> str:
    """sox able to write and read MP3 (Debian: libsox-fmt-mp3); its path."""
    sox = require_tool("sox")
    formats = subprocess.run([sox, "-h"], capture_output=True, text=True, check=False).stdout
    line = next((x for x in formats.splitlines() if x.startswith("AUDIO FILE FORMATS:")), "")
    if "mp3" not in line.split():
        missing("sox cannot read or write MP3 (apt-get install libsox-fmt-mp3)")
    return sox


def make_mp3(tmp: Path, rate: int = 44100, channels: int = 2, seconds: float = 1.0,
             freq: float = 1000.0) -> bytes:
    sox = require_mp3()
    out = tmp / f"tone-{rate}-{channels}.mp3"
    subprocess.run([sox, "-n", "-r", str(rate), "-c", str(channels), str(out), "synth",
                    str(seconds), "sine", str(freq), "vol", "0.5"], check=True)
    return out.read_bytes()


def samples_8k(wav: bytes) -> list[int]:
    """The samples of a converted file, which must be 8 kHz mono 16-bit."""
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        raw = w.readframes(w.getnframes())
    return list(struct.unpack(f"<{len(raw) // 2}h", raw))


def pitch(values: list[int], rate: int = 8000) -> float:
    """The frequency of a pure tone, from its zero crossings."""
    flips = sum(1 for a, b in zip(values, values[1:], strict=False) if (a < 0) != (b < 0))
    return flips / 2 / (len(values) / rate)
