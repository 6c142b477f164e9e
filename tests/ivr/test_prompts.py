"""Prompts: WAV conversion, espeak-ng TTS (with and without sox), uploads, lookup."""

from __future__ import annotations

import asyncio
import struct

import pytest

from appliance.ivr.flow import PromptRef
from appliance.ivr.prompts import PromptError, PromptLibrary, convert_wav, read_pcm
from appliance.store import open_store
from tests.conftest import require_tool

from .audio import make_wav, pitch
from .audio import samples_8k as samples


def crossings_per_second(values: list[int]) -> float:
    return 2 * pitch(values)  # a pure tone crosses zero twice per period


@pytest.mark.parametrize(("rate", "channels", "width"), [
    (44100, 2, 2), (22050, 1, 2), (16000, 1, 3), (8000, 1, 1), (48000, 2, 4), (8000, 1, 2),
])
def test_convert_keeps_length_pitch_and_level(rate: int, channels: int, width: int) -> None:
    out = samples(convert_wav(make_wav(rate, channels, width, 0.5)))
    assert abs(len(out) - 4000) <= 2
    assert 1900 <= crossings_per_second(out) <= 2100  # still a 1 kHz tone
    assert 12000 <= max(out) <= 20000  # half of full scale
    assert abs(sum(out) / len(out)) < 200  # 8-bit unsigned input came out centred


@pytest.mark.parametrize("data", [b"", b"RIFF....WAVEjunk", b"\x00" * 100,
                                  make_wav(8000, 1, 2, 0.1)[:30]])
def test_garbage_is_a_prompt_error(data: bytes) -> None:
    with pytest.raises(PromptError):
        convert_wav(data)


def test_too_long_is_refused() -> None:
    with pytest.raises(PromptError, match="longer"):
        convert_wav(make_wav(1000, 1, 1, 601, freq=100))


@pytest.fixture
def library(tmp_path):
    store = open_store(tmp_path / "data")
    yield PromptLibrary(store, tmp_path / "data", sox=None)
    store.close()


def test_upload_and_lookup(library) -> None:
    row = asyncio.run(library.upload("welcome", "en", make_wav(44100, 2, 2, 0.2)))
    assert row["source"] == "upload"
    path = library.path("welcome", "en")
    assert path is not None and len(read_pcm(path)) == 1600 * 2
    assert library.path("welcome", "ru") == path  # falls back to the language there is
    assert asyncio.run(library.resolve(PromptRef("en", name="welcome"))) == path
    assert asyncio.run(library.resolve(PromptRef("en", name="nothing"))) is None
    assert library.names() == {"welcome"}
    with pytest.raises(PromptError):
        asyncio.run(library.upload("bad", "en", b"not a wav"))
    with pytest.raises(PromptError):
        asyncio.run(library.upload("Bad Name", "en", make_wav(8000, 1, 2, 0.1)))
    with pytest.raises(PromptError):
        asyncio.run(library.upload("ok", "de", make_wav(8000, 1, 2, 0.1)))
    assert [r["name"] for r in library.list()] == ["welcome"]
    asyncio.run(library.delete("welcome", "en"))
    assert library.path("welcome", "en") is None and not path.exists()


def _speech_checks(path) -> None:
    pcm = read_pcm(path)
    values = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    seconds = len(values) / 8000
    assert 0.5 < seconds < 10
    assert max(abs(v) for v in values) > 2000  # there is a voice, not silence


@pytest.mark.parametrize("use_sox", [False, True])
def test_tts_in_both_languages(tmp_path, use_sox: bool) -> None:
    require_tool("espeak-ng")
    sox = require_tool("sox") if use_sox else None
    store = open_store(tmp_path)
    try:
        library = PromptLibrary(store, tmp_path, sox=sox)
        ru = asyncio.run(library.generate("queue-ru", "ru", "Ваш звонок второй в очереди."))
        en = asyncio.run(library.generate("queue-en", "en", "-You are second in line."))
        assert ru["source"] == "tts" and ru["text"] == "Ваш звонок второй в очереди."
        _speech_checks(library.path("queue-ru", "ru"))
        _speech_checks(library.path("queue-en", "en"))
        assert en["path"].endswith("prompts/en/queue-en.wav")
        with pytest.raises(PromptError):
            asyncio.run(library.generate("empty", "ru", "   "))
    finally:
        store.close()


def test_inline_text_is_spoken_once_and_cached(tmp_path) -> None:
    require_tool("espeak-ng")
    store = open_store(tmp_path)
    try:
        first = asyncio.run(PromptLibrary(store, tmp_path, sox=None).speak("Hello.", "en"))
        _speech_checks(first)
        broken_tts = PromptLibrary(store, tmp_path, espeak="/bin/false", sox=None)
        assert asyncio.run(broken_tts.resolve(PromptRef("en", text="Hello."))) == first
        with pytest.raises(PromptError, match="failed"):
            asyncio.run(broken_tts.speak("Something new.", "en"))
    finally:
        store.close()


def test_many_callers_asking_for_the_same_text_share_one_synthesis(tmp_path) -> None:
    espeak = require_tool("espeak-ng")
    counter = tmp_path / "runs"
    wrapper = tmp_path / "espeak-counting"
    wrapper.write_text(f'#!/bin/sh\necho run >> "{counter}"\nexec "{espeak}" "$@"\n')
    wrapper.chmod(0o755)
    store = open_store(tmp_path / "data")
    try:
        library = PromptLibrary(store, tmp_path / "data", espeak=str(wrapper), sox=None)

        async def crowd():
            return await asyncio.gather(*(library.speak("Please hold.", "en") for _ in range(20)))

        paths = asyncio.run(crowd())
        assert len(set(paths)) == 1
        _speech_checks(paths[0])
        assert counter.read_text().count("run") == 1
        assert list(paths[0].parent.iterdir()) == [paths[0]]  # no temporary files left
    finally:
        store.close()
