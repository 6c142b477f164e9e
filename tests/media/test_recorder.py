"""The recorder writes valid WAV files, and never on the event loop's thread."""

from __future__ import annotations

import asyncio
import threading
import wave

import pytest

from appliance.media import goertzel
from appliance.media._audioop import audioop
from appliance.media.recorder import Recorder, RecordingWriter
from appliance.media.tones import synthesize
from appliance.media.wav import read_audio

from .conftest import run_async

CALLER = synthesize((450.0,), 20, -10.0)  # whole periods in 20 ms: repeats seamlessly
OPERATOR = synthesize((1000.0,), 20, -10.0)


@pytest.fixture
def writer():
    w = RecordingWriter()
    yield w
    w.stop()


def channels(path) -> tuple[bytes, bytes]:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        data = wav.readframes(wav.getnframes())
    return audioop.tomono(data, 2, 1, 0), audioop.tomono(data, 2, 0, 1)


@run_async
async def test_stereo_recording_is_written_off_the_loop(tmp_path, writer):
    gate = threading.Event()
    blocked = writer.submit(gate.wait, 10)  # the writer is stuck behind slow storage
    rec = Recorder(tmp_path / "calls" / "c1.wav", writer)
    loop_thread = threading.get_ident()
    for _ in range(100):  # 2 s of call audio fed from the loop while the disk is stuck
        rec.caller(CALLER)
        rec.operator(OPERATOR)
    await asyncio.sleep(0)
    assert not blocked.done() and rec.frames == 100  # the loop went on regardless
    assert not (tmp_path / "calls" / "c1.wav").exists()
    written_by = writer.submit(threading.get_ident)
    gate.set()
    path = await asyncio.wait_for(asyncio.wrap_future(rec.close()), 10)
    assert (await asyncio.wrap_future(written_by)) != loop_thread
    left, right = channels(path)
    assert len(left) == len(right) == 100 * 320
    assert goertzel.tone_fraction(left, (450.0,)) > 0.99
    assert goertzel.tone_fraction(right, (1000.0,)) > 0.99
    assert rec.padded == 0 and rec.error is None


@run_async
async def test_a_silent_side_is_padded_not_stalled(tmp_path, writer):
    rec = Recorder(tmp_path / "c2.wav", writer, max_skew_frames=5)
    for _ in range(50):
        rec.caller(CALLER)  # operator muted: no frames at all
    for _ in range(3):
        rec.operator(OPERATOR)
    path = await asyncio.wrap_future(rec.close())
    left, right = channels(path)
    assert len(left) == 50 * 320
    assert goertzel.tone_fraction(left, (450.0,)) > 0.99
    assert goertzel.level_dbfs(right[: 40 * 320]) < -100
    assert rec.padded == 47


@run_async
async def test_mix_and_mulaw_layouts(tmp_path, writer):
    rec = Recorder(tmp_path / "mix.wav", writer, layout="mix", codec="pcmu")
    for _ in range(30):
        rec.caller(CALLER)
        rec.operator(OPERATOR)
    path = await asyncio.wrap_future(rec.close())
    raw = path.read_bytes()
    assert raw[20:22] == b"\x07\x00"  # WAVE_FORMAT_MULAW
    pcm = read_audio(path)
    assert len(pcm) == 30 * 320
    assert goertzel.tone_fraction(pcm, (450.0, 1000.0)) > 0.98


@run_async
async def test_header_is_valid_while_recording(tmp_path, writer):
    # A power cut mid-call: the header written so far must describe the audio so far.
    rec = Recorder(tmp_path / "long.wav", writer)
    for _ in range(400):  # 8 s: past one header patch
        rec.caller(CALLER)
        rec.operator(OPERATOR)
    await asyncio.wrap_future(writer.submit(lambda: None))
    await asyncio.wrap_future(writer.submit(lambda: rec._file_future.result().file.flush()))
    with wave.open(str(tmp_path / "long.wav")) as wav:
        assert wav.getnframes() >= 5 * 8000
    await asyncio.wrap_future(rec.close())


@run_async
async def test_unwritable_path_reports_an_error_and_loses_nothing_else(tmp_path, writer):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rec = Recorder(blocker / "sub" / "c.wav", writer)  # a file where a folder should be
    with pytest.raises(OSError):
        await asyncio.wrap_future(rec._file_future)
    rec.caller(CALLER)  # ignored, no exception on the loop
    assert rec.error is not None
    ok = Recorder(tmp_path / "ok.wav", writer)  # the writer keeps serving others
    ok.caller(CALLER)
    ok.operator(OPERATOR)
    assert (await asyncio.wrap_future(ok.close())).exists()
