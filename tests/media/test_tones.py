import math

import pytest

from appliance.media import goertzel
from appliance.media.source import PcmSource, Sequence, SilenceSource
from appliance.media.tones import ToneSource, synthesize, tone_plan
from drivers.base import FRAME_BYTES, SILENCE


def on_off_pattern(source, frames: int) -> list[bool]:
    out = []
    for _ in range(frames):
        frame = source.read_frame()
        assert frame is not None and len(frame) == FRAME_BYTES
        out.append(goertzel.tone_present(frame, 425.0, min_fraction=0.9))
    return out


def runs(pattern: list[bool]) -> list[tuple[bool, int]]:
    result: list[tuple[bool, int]] = []
    for value in pattern:
        if result and result[-1][0] == value:
            result[-1] = (value, result[-1][1] + 1)
        else:
            result.append((value, 1))
    return result


@pytest.mark.parametrize(
    ("country", "name", "on_ms", "off_ms"),
    [
        ("eu", "ringback", 1000, 4000),
        ("eu", "busy", 500, 500),
        ("eu", "congestion", 250, 250),
        ("ru", "ringback", 800, 3200),
        ("ru", "busy", 400, 400),
        ("ru", "congestion", 200, 200),
    ],
)
def test_cadences_measured_from_the_audio(country, name, on_ms, off_ms):
    cycle = (on_ms + off_ms) // 20
    pattern = on_off_pattern(ToneSource.named(name, country), 3 * cycle)
    measured = runs(pattern)
    # Whole on/off runs (the first frame of a 250 ms burst may be split across frames).
    for value, length in measured[:-1]:
        expected = (on_ms if value else off_ms) / 20
        assert abs(length - expected) <= 1, (value, length, expected)
    assert sum(1 for v, _ in measured if v) == 3


def test_dial_tone_is_continuous_and_at_its_level():
    src = ToneSource.named("dial", "ru")
    frames = [src.read_frame() for _ in range(120)]  # 2.4 s: crosses the 1 s cycle seam
    for frame in frames:
        assert abs(goertzel.tone_level_dbfs(frame, 425) + goertzel.DBM0_OFFSET + 10) < 0.5
        assert goertzel.tone_fraction(frame, (425.0,)) > 0.99


def test_dual_frequency_tone_carries_both():
    busy = ToneSource.named("busy", "us")
    burst = b"".join(busy.read_frame() for _ in range(5))  # 100 ms: 10 Hz resolution
    assert goertzel.tone_fraction(burst, (480.0, 620.0)) > 0.98
    assert not goertzel.tone_present(burst, 425.0)


def test_duration_limited_source_ends():
    src = ToneSource(tone_plan("eu")["dial"], duration_ms=100)
    assert sum(1 for _ in iter(src.read_frame, None)) == 5


def test_unknown_country_is_a_clear_error():
    with pytest.raises(ValueError, match="no tone plan"):
        tone_plan("xx")


def test_goertzel_levels_match_known_signals():
    pcm = synthesize((1000.0,), 100, -10.0)
    assert abs(goertzel.level_dbfs(pcm) - (-10 - goertzel.DBM0_OFFSET)) < 0.1
    assert abs(goertzel.tone_amplitude(pcm, 1000) - goertzel.amplitude_for_dbm0(-10)) < 20
    assert goertzel.tone_amplitude(pcm, 1300) < 0.02 * goertzel.tone_amplitude(pcm, 1000)
    assert goertzel.level_dbfs(SILENCE) < -100
    det = goertzel.ToneDetector(1000, min_ms=60)
    assert [det.feed(pcm[i : i + 320]) for i in range(0, 1600, 320)] == [
        False, False, True, True, True,
    ]
    assert det.feed(SILENCE) is False


def test_dft_bin_phase_follows_the_signal():
    step = 2 * math.pi * 500 / 8000
    import array

    shifted = array.array("h", (round(8000 * math.cos(step * i + 1.0)) for i in range(160)))
    assert abs(goertzel.phase(goertzel.dft_bin(shifted.tobytes(), 500)) - 1.0) < 0.02


def test_sources_chain_in_order():
    seq = Sequence([PcmSource(b"\x01\x00" * 200), SilenceSource(2)])
    frames = list(iter(seq.read_frame, None))
    assert len(frames) == 4
    assert frames[0] == b"\x01\x00" * 160
    assert frames[1][:80] == b"\x01\x00" * 40 and frames[1][80:] == bytes(240)
    assert frames[2:] == [SILENCE, SILENCE]
    looping = PcmSource(b"\x02\x00" * 160, loop=True)
    assert [looping.read_frame() for _ in range(3)] == [b"\x02\x00" * 160] * 3
