"""DTMF detection against ITU-T Q.24 figures (frequency, twist, duration, pause,
level) and talk-off over synthetic speech and noise."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.media._audioop import audioop
from appliance.media.dtmf import DtmfDetector, DtmfGenerator
from appliance.media.tones import DTMF_FREQS, synthesize
from drivers.base import FRAME_BYTES

from .conftest import frames_of, noise

KEYS = "123A456B789C*0#D"


def press(
    key: str,
    ms: float = 80,
    low_dbm0: float = -9.0,
    high_dbm0: float = -7.0,
    low_off: float = 0.0,
    high_off: float = 0.0,
    lead_samples: int = 0,
    phase: int = 0,
) -> bytes:
    low, high = DTMF_FREQS[key]
    tone = synthesize(
        (low * (1 + low_off), high * (1 + high_off)), ms, (low_dbm0, high_dbm0),
        start_sample=phase,
    )
    return bytes(2 * lead_samples) + tone + bytes(1600)


def detect(pcm: bytes, detector: DtmfDetector | None = None) -> str:
    detector = detector or DtmfDetector()
    return "".join("".join(detector.feed(f)) for f in frames_of(pcm + bytes(FRAME_BYTES)))


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(("low_off", "high_off"), [(0, 0), (0.015, 0.015), (-0.015, -0.015),
                                                   (0.015, -0.015), (-0.015, 0.015)])
def test_every_key_accepted_within_1_5_percent(key, low_off, high_off):
    assert detect(press(key, low_off=low_off, high_off=high_off, phase=77)) == key


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(("low_off", "high_off"), [(0.035, 0), (-0.035, 0), (0, 0.035),
                                                   (0, -0.035)])
def test_every_key_rejected_beyond_3_5_percent(key, low_off, high_off):
    assert detect(press(key, low_off=low_off, high_off=high_off, phase=13)) == ""


@pytest.mark.parametrize("key", KEYS)
def test_twist_limits(key):
    # normal twist: high group louder; reverse: low group louder.
    assert detect(press(key, low_dbm0=-14, high_dbm0=-7)) == key  # 7 dB normal
    assert detect(press(key, low_dbm0=-7, high_dbm0=-10)) == key  # 3 dB reverse
    assert detect(press(key, low_dbm0=-17, high_dbm0=-7)) == ""  # 10 dB normal
    assert detect(press(key, low_dbm0=-7, high_dbm0=-13)) == ""  # 6 dB reverse


def test_twist_limits_are_settings():
    strict = DtmfDetector(normal_twist_db=4.0)
    assert detect(press("5", low_dbm0=-14, high_dbm0=-7), strict) == ""


@pytest.mark.parametrize("lead", [0, 17, 40, 63, 79, 80, 121, 159])
def test_40_ms_accepted_and_under_23_ms_rejected_at_any_alignment(lead):
    rng = random.Random(lead)
    for key in KEYS:
        phase = rng.randrange(8000)
        assert detect(press(key, ms=40, lead_samples=lead, phase=phase)) == key
        assert detect(press(key, ms=22.9, lead_samples=lead, phase=phase)) == ""


def test_levels():
    assert detect(press("0", low_dbm0=-30, high_dbm0=-29)) == "0"
    assert detect(press("0", low_dbm0=-40, high_dbm0=-39)) == ""
    assert detect(press("0", low_dbm0=-3, high_dbm0=-3)) == "0"


def test_one_report_per_press_and_40_ms_pause_separates_presses():
    tone = synthesize(DTMF_FREQS["7"], 200, (-9.0, -7.0))
    pause = bytes(2 * 320)  # 40 ms
    assert detect(tone + pause + tone) == "77"
    assert detect(synthesize(DTMF_FREQS["7"], 2000, (-9.0, -7.0))) == "7"  # a long hold


@pytest.mark.parametrize("offset", [0, 30, 55, 79])
def test_10_ms_dropout_is_bridged(offset):
    tone = synthesize(DTMF_FREQS["9"], 300, (-9.0, -7.0))
    cut = 2 * (800 + offset)
    with_gap = tone[:cut] + bytes(160) + tone[cut + 160 :]
    assert detect(with_gap) == "9"


def test_generator_round_trip_and_fast_dialling():
    digits = "0123456789*#ABCD"
    pcm = b"".join(iter(DtmfGenerator(digits).read_frame, None))
    assert detect(pcm) == digits
    fast = b"".join(iter(DtmfGenerator(digits, on_ms=45, off_ms=45).read_frame, None))
    assert detect(fast) == digits


def test_any_chunking_gives_the_same_digits():
    pcm = b"".join(iter(DtmfGenerator("159#", on_ms=60, off_ms=60).read_frame, None))
    rng = random.Random(3)
    det = DtmfDetector()
    out, pos = [], 0
    while pos < len(pcm):
        size = rng.choice([1, 3, 100, 320, 999])
        out += det.feed(pcm[pos : pos + size])
        pos += size
    assert "".join(out) == "159#"


def test_detected_in_noise():
    pcm = b"".join(iter(DtmfGenerator("2580", on_ms=80, off_ms=80).read_frame, None))
    # Tones at -9/-7 dBm0 (about -14 dBFS together); noise 15 dB below.
    noisy = audioop.add(pcm, noise(len(pcm) // 2, -29.0, seed=9), 2)
    assert detect(noisy) == "2580"


def test_no_talk_off_in_ten_minutes_of_speech(speech_corpus):
    assert len(speech_corpus) >= 600 * 16000
    det = DtmfDetector()
    hits = []
    for i in range(0, len(speech_corpus) - FRAME_BYTES + 1, FRAME_BYTES):
        digits = det.feed(speech_corpus[i : i + FRAME_BYTES])
        if digits:
            hits.append((i / 16000, digits))
    assert hits == []


def test_no_false_digits_in_speech_with_noise_and_in_noise(speech_corpus):
    two_minutes = speech_corpus[: 120 * 16000]
    loud = audioop.mul(two_minutes, 2, 2.0)  # speech 6 dB hotter
    mixed = audioop.add(loud, noise(len(loud) // 2, -35.0, seed=4), 2)
    assert detect(mixed) == ""
    for level in (-50.0, -30.0, -10.0):
        assert detect(noise(60 * 8000, level, seed=int(-level))) == ""


def test_speech_does_not_hide_a_real_key_press(speech_corpus):
    # A digit pressed between two sentences is still seen (talk-off defences do not
    # make the detector deaf).
    speech = speech_corpus[16000 * 30 : 16000 * 33]
    pcm = speech + press("5", ms=60) + speech
    assert detect(pcm) == "5"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=40))
def test_garbage_audio_never_raises_and_is_never_a_digit(chunks):
    det = DtmfDetector()
    for chunk in chunks:
        assert all(d in KEYS for d in det.feed(chunk))


@pytest.mark.parametrize("key", KEYS)
def test_second_harmonics_reject_voiced_sound_but_not_clean_tones(key):
    low, high = DTMF_FREQS[key]
    # A voice-like pair: the same two tones with their second harmonics 10 dB down.
    voiced = synthesize((low, high, 2 * low, 2 * high), 100, (-9.0, -7.0, -19.0, -17.0))
    assert detect(voiced + bytes(1600)) == ""
    # Harmonics 25 dB down (a real generator's distortion) still pass.
    clean = synthesize((low, high, 2 * low, 2 * high), 100, (-9.0, -7.0, -34.0, -32.0))
    assert detect(clean + bytes(1600)) == key


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_digits_survive_g711_at_low_level(codec):
    from appliance.media import g711

    pcm = b"".join(iter(DtmfGenerator(KEYS, on_ms=50, off_ms=50, low_dbm0=-26.0,
                                      high_dbm0=-24.0).read_frame, None))
    coded = g711.decoder(codec)(g711.encoder(codec)(pcm))
    assert detect(coded) == KEYS
