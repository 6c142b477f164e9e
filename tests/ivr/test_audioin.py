"""Uploaded recordings: what a file is from its bytes, every common WAV layout and MP3
converted to 8 kHz mono with the tone and length kept, bad files refused with a code."""

from __future__ import annotations

import asyncio

import pytest

from appliance.ivr import audioin
from appliance.ivr.audioin import PromptError, decode_upload, mpeg_frame_length, sniff
from appliance.ivr.prompts import wav_bytes
from tests.conftest import require_tool

from .audio import make_float_wav, make_mp3, make_wav, pitch, require_mp3, samples_8k


# Frame lengths worked out from ISO/IEC 11172-3 / 13818-3 by hand (bitrate, sample rate,
# padding), for headers written bit by bit.
@pytest.mark.parametrize(("header", "length"), [
    ("fffb9000", 417),  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
    ("fffb9200", 418),  # the same with the padding byte
    ("fffbe400", 960),  # MPEG-1 layer III, 320 kbit/s, 48 kHz
    ("fff38000", 208),  # MPEG-2 layer III, 64 kbit/s, 22.05 kHz
    ("ffffc400", 384),  # MPEG-1 layer I, 384 kbit/s, 48 kHz
])
def test_mpeg_frame_length_follows_the_standard(header: str, length: int) -> None:
    assert mpeg_frame_length(bytes.fromhex(header)) == length


@pytest.mark.parametrize("header", [
    "fffbf000",  # bitrate index 15: forbidden
    "fffb0000",  # bitrate index 0: free format
    "fffb9c00",  # sample rate index 3: reserved
    "ffe99000",  # layer bits 00: reserved
    "ffeb9000",  # version bits 01: reserved
    "7ffb9000",  # no sync
])
def test_impossible_mpeg_headers_are_not_frames(header: str) -> None:
    assert mpeg_frame_length(bytes.fromhex(header)) is None


def test_sniff_by_content_not_name(tmp_path) -> None:
    assert sniff(make_wav(8000, 1, 2, 0.01)) == "wav"
    assert sniff(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100)) == "mp3"
    two_frames = (bytes.fromhex("fffb9000") + bytes(413)) * 2
    assert sniff(two_frames) == "mp3"
    # one sync word followed by anything else is chance, not an MP3
    assert sniff(bytes.fromhex("fffb9000") + bytes(413) + b"junk" * 10) is None
    assert sniff(b"") is None
    assert sniff(b"hello, this is a text file named welcome.mp3") is None
    assert sniff(b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert sniff(b"fLaC\x00\x00\x00\x22") is None


def test_sniff_knows_an_mp3_made_by_sox(tmp_path) -> None:
    assert sniff(make_mp3(tmp_path, seconds=0.3)) == "mp3"


LAYOUTS = [
    pytest.param(lambda: make_wav(8000, 1, 1, 0.5), id="8k-mono-8bit"),
    pytest.param(lambda: make_wav(16000, 1, 2, 0.5), id="16k-mono-16bit"),
    pytest.param(lambda: make_wav(22050, 2, 2, 0.5), id="22k-stereo-16bit"),
    pytest.param(lambda: make_wav(44100, 2, 3, 0.5), id="44k-stereo-24bit"),
    pytest.param(lambda: make_wav(48000, 1, 4, 0.5), id="48k-mono-32bit"),
    pytest.param(lambda: make_float_wav(44100, 2, 0.5), id="44k-stereo-float"),
    pytest.param(lambda: make_float_wav(48000, 1, 0.5, extensible=True),
                 id="48k-mono-float-extensible"),
]


@pytest.mark.parametrize("use_sox", [False, True], ids=["python", "sox"])
@pytest.mark.parametrize("make", LAYOUTS)
def test_every_common_wav_keeps_length_pitch_and_level(make, use_sox: bool) -> None:
    sox = require_tool("sox") if use_sox else None
    out = samples_8k(wav_bytes(asyncio.run(decode_upload(make(), sox))))
    assert abs(len(out) - 4000) <= 40
    assert 950 <= pitch(out) <= 1050
    assert 10000 <= max(out) <= 20000  # half of full scale, give or take the filters
    assert abs(sum(out) / len(out)) < 300  # 8-bit unsigned input came out centred


def test_mp3_is_decoded_by_sox(tmp_path) -> None:
    sox = require_mp3()
    out = samples_8k(wav_bytes(asyncio.run(decode_upload(make_mp3(tmp_path), sox))))
    assert 8000 <= len(out) <= 8000 + 1200  # the encoder's delay and padding: < 0.15 s
    assert 950 <= pitch(out[800:7200]) <= 1050
    assert max(out) > 8000


def test_mp3_without_mp3_support_is_refused_clearly(tmp_path) -> None:
    mp3 = make_mp3(tmp_path, seconds=0.3)
    with pytest.raises(PromptError) as no_sox:
        asyncio.run(decode_upload(mp3, None))
    assert no_sox.value.code == "no_mp3" and "MP3" in str(no_sox.value)
    # a sox built without libsox-fmt-mp3 lists no mp3 among its formats
    real = require_tool("sox")
    plain = tmp_path / "sox-without-mp3"
    plain.write_text('#!/bin/sh\nif [ "$1" = -h ]; then echo "AUDIO FILE FORMATS: wav raw"; '
                     f'exit 0; fi\nexec "{real}" "$@"\n')
    plain.chmod(0o755)
    with pytest.raises(PromptError) as no_mp3:
        asyncio.run(decode_upload(mp3, str(plain)))
    assert no_mp3.value.code == "no_mp3"
    assert asyncio.run(decode_upload(make_wav(8000, 1, 2, 0.1), str(plain)))  # WAV still fine


@pytest.mark.parametrize("use_sox", [False, True], ids=["python", "sox"])
@pytest.mark.parametrize(("data", "code"), [
    (b"", "unknown_format"),
    (b"\x00" * 1000, "unknown_format"),
    (b"<html><script>alert(1)</script></html>", "unknown_format"),
    (b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk", "bad_wav"),
    (make_wav(8000, 1, 2, 0.1)[:30], "bad_wav"),
    (make_wav(8000, 1, 2, 0.0), "empty"),
    (make_wav(1000, 1, 1, 601, freq=100), "too_long"),
])
def test_bad_files_are_refused_with_a_reason(data: bytes, code: str, use_sox: bool) -> None:
    sox = require_tool("sox") if use_sox else None
    with pytest.raises(PromptError) as refused:
        asyncio.run(decode_upload(data, sox))
    assert refused.value.code == code


def test_too_big_is_refused_before_anything_else() -> None:
    with pytest.raises(PromptError) as refused:
        asyncio.run(decode_upload(b"RIFF" + bytes(audioin.MAX_UPLOAD_BYTES), None))
    assert refused.value.code == "too_big"


def test_mp3_longer_than_the_limit_is_refused(tmp_path, monkeypatch) -> None:
    sox = require_mp3()
    monkeypatch.setattr(audioin, "MAX_SECONDS", 1)  # the check, without minutes of audio
    with pytest.raises(PromptError) as refused:
        asyncio.run(decode_upload(make_mp3(tmp_path, seconds=3.0), sox))
    assert refused.value.code == "too_long"


def test_garbage_after_an_mp3_header_is_a_decoding_error(tmp_path) -> None:
    sox = require_mp3()
    fake = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"not audio at all. " * 100
    with pytest.raises(PromptError) as refused:
        asyncio.run(decode_upload(fake, sox))
    assert refused.value.code == "bad_audio"
    assert "sox" not in refused.value.values["reason"]  # no paths or tool jargon
