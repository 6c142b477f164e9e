"""WAV conversion from the formats installers upload, to 8 kHz mono s16 frames."""

from __future__ import annotations

import array
import contextlib
import math
import shutil
import struct
import subprocess
import wave

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.media import goertzel
from appliance.media._audioop import audioop
from appliance.media.wav import (
    WAVE_FORMAT_ALAW,
    WAVE_FORMAT_EXTENSIBLE,
    WAVE_FORMAT_IEEE_FLOAT,
    WAVE_FORMAT_MULAW,
    WavError,
    decode_wav,
    read_audio,
    read_frames,
    write_wav,
)
from drivers.base import FRAME_BYTES
from tests.conftest import require_tool


def sine_floats(freq: float, rate: int, seconds: float, amp: float = 0.5) -> list[float]:
    return [amp * math.sin(2 * math.pi * freq * i / rate) for i in range(int(rate * seconds))]


def riff(tag: int, channels: int, rate: int, bits: int, data: bytes, extensible=False) -> bytes:
    align = channels * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHH", WAVE_FORMAT_EXTENSIBLE, channels, rate, rate * align,
                          align, bits)
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # an odd-sized chunk to skip
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def int_pcm(values: list[float], width: int, channels: int) -> bytes:
    out = bytearray()
    scale = (1 << (8 * width - 1)) - 1
    for v in values:
        sample = round(v * scale)
        for _ in range(channels):
            if width == 1:
                out += bytes([sample + 128])
            else:
                out += sample.to_bytes(width, "little", signed=True)
    return bytes(out)


def check_tone(pcm: bytes, seconds: float, freq: float = 1000.0, dbfs: float = -6.02) -> None:
    assert abs(len(pcm) / 16000 - seconds) <= 0.002
    middle = pcm[1600:-1600]
    assert abs(goertzel.tone_level_dbfs(middle, freq) - dbfs) < 0.6
    assert goertzel.tone_fraction(middle, (freq,)) > 0.97


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_integer_pcm_any_rate_and_channels(tmp_path, width, rate, channels):
    path = tmp_path / "in.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(int_pcm(sine_floats(1000, rate, 0.5), width, channels))
    check_tone(read_audio(path), 0.5)


@pytest.mark.parametrize(("code", "bits"), [("f", 32), ("d", 64)])
@pytest.mark.parametrize("extensible", [False, True])
def test_float_wav(tmp_path, code, bits, extensible):
    values = array.array(code, sine_floats(1000, 22050, 0.5))
    path = tmp_path / "f.wav"
    path.write_bytes(riff(WAVE_FORMAT_IEEE_FLOAT, 1, 22050, bits, values.tobytes(), extensible))
    check_tone(read_audio(path), 0.5)


def test_float_clips_instead_of_wrapping():
    values = array.array("f", [1.5, -2.0, 0.25] * 160)
    pcm = array.array("h", decode_wav(riff(WAVE_FORMAT_IEEE_FLOAT, 1, 8000, 32, values.tobytes())))
    assert list(pcm[:3]) == [32767, -32767, 8191]


@pytest.mark.parametrize(("tag", "encode"), [(WAVE_FORMAT_MULAW, audioop.lin2ulaw),
                                             (WAVE_FORMAT_ALAW, audioop.lin2alaw)])
def test_g711_wav(tag, encode):
    linear = int_pcm(sine_floats(1000, 8000, 0.5), 2, 2)
    data = riff(tag, 2, 8000, 8, encode(linear, 2))
    check_tone(decode_wav(data), 0.5)


def test_resampling_keeps_most_of_the_aliasing_out():
    # A 6 kHz tone at 44.1 kHz has no place at 8 kHz; plain ratecv would fold it to 2 kHz.
    values = [0.5 * math.sin(2 * math.pi * 6000 * i / 44100) for i in range(44100)]
    pcm = decode_wav(riff(1, 1, 44100, 16, int_pcm(values, 2, 1)))
    assert goertzel.tone_level_dbfs(pcm[1600:-1600], 2000) < -6.02 - 12


def test_frames_and_writer_round_trip(tmp_path):
    pcm = int_pcm(sine_floats(440, 8000, 0.33), 2, 1)
    path = tmp_path / "out.wav"
    write_wav(path, pcm)
    with wave.open(str(path)) as back:
        assert (back.getnchannels(), back.getsampwidth(), back.getframerate()) == (1, 2, 8000)
    frames = read_frames(path)
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert b"".join(frames)[: len(pcm)] == pcm
    assert len(frames) == math.ceil(len(pcm) / FRAME_BYTES)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello world, not audio at all", "RIFF"),
        (b"RIFF\x04\x00\x00\x00WAVE", "fmt"),
        (riff(0x55, 1, 8000, 16, b"\x00" * 100), "0x0055"),  # MP3-in-WAV
        (riff(1, 1, 8000, 16, b"")[:-8], "data"),
        (riff(1, 0, 8000, 16, b"\x00" * 10), "impossible"),
    ],
)
def test_bad_files_get_a_clear_error(data, message):
    with pytest.raises(WavError, match=message):
        decode_wav(data)


def test_truncated_data_chunk_reads_what_is_there():
    samples = int_pcm(sine_floats(1000, 8000, 0.5), 2, 1)  # 8000 bytes
    full = riff(1, 1, 8000, 16, samples)
    cut = full[: len(full) - 2001]  # the declared size is now a lie, and half a sample
    pcm = decode_wav(cut)
    assert pcm == samples[:5998]


def test_formats_sox_writes_are_read(tmp_path):
    sox = require_tool("sox")
    src = tmp_path / "src.wav"
    with wave.open(str(src), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(32000)
        out.writeframes(int_pcm(sine_floats(1000, 32000, 0.5), 2, 2))
    for name, args in [("a.wav", ["-e", "floating-point", "-b", "32"]),
                       ("u.wav", ["-e", "u-law"]),
                       ("x.flac", []), ("y.aiff", [])]:
        dst = tmp_path / name
        subprocess.run([sox, str(src), *args, str(dst)], check=True, timeout=30)
        check_tone(read_audio(dst), 0.5)


def test_non_wav_without_sox_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3\x03\x00" + bytes(100))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(WavError, match="sox is not installed"):
        read_audio(path)


def test_garbage_through_sox_is_a_clear_error(tmp_path):
    require_tool("sox")
    path = tmp_path / "song.mp3"
    path.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(WavError, match="sox could not convert"):
        read_audio(path)


@settings(max_examples=300, deadline=None)
@given(
    tag=st.sampled_from([1, 3, 6, 7, 0xFFFE, 0x55, 0]),
    channels=st.integers(0, 40),
    rate=st.sampled_from([0, 1, 8000, 11025, 44100, 10**9]),
    align=st.integers(0, 12),
    bits=st.sampled_from([0, 8, 12, 16, 24, 32, 64]),
    data=st.binary(max_size=600),
)
def test_hostile_headers_decode_or_raise_wav_error(tag, channels, rate, align, bits, data):
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * max(align, 1)) % 2**32, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    blob = b"RIFF" + struct.pack("<I", len(body)) + body
    try:
        pcm = decode_wav(blob)
    except WavError:
        return
    assert len(pcm) % 2 == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_after_riff_header(tail):
    with contextlib.suppress(WavError):  # a clear refusal is fine; any other error fails
        decode_wav(b"RIFF\x00\x00\x00\x00WAVE" + tail)
