"""Call-progress tones recognised by cadence; speech and noise never are."""

from __future__ import annotations

import pytest

from appliance.media._audioop import audioop
from appliance.media.progress import CallProgressDetector
from appliance.media.tones import ToneSource, tone_plan

from .conftest import frames_of, noise


def first_report(detector: CallProgressDetector, frames) -> tuple[str | None, int]:
    for i, frame in enumerate(frames):
        name = detector.feed(frame)
        if name:
            return name, i
    return None, -1


@pytest.mark.parametrize("country", ["eu", "ru", "us"])
@pytest.mark.parametrize("name", ["dial", "ringback", "busy", "congestion"])
def test_each_tone_of_each_plan_is_recognised(country, name):
    spec = tone_plan(country)[name]
    period_frames = sum(spec.cadence) // 20 if spec.cadence else 50
    source = ToneSource(spec)
    frames = [source.read_frame() for _ in range(4 * period_frames)]
    found, at = first_report(CallProgressDetector(country), frames)
    assert found == name
    assert at <= 3 * period_frames + 2


def test_reported_once_and_then_a_new_tone_is_reported():
    det = CallProgressDetector("ru")
    busy = ToneSource.named("busy", "ru")
    reports = [det.feed(busy.read_frame()) for _ in range(200)]
    assert [r for r in reports if r] == ["busy"]
    congestion = ToneSource.named("congestion", "ru")
    reports = [det.feed(congestion.read_frame()) for _ in range(100)]
    assert [r for r in reports if r] == ["congestion"]


def test_weak_or_noisy_tone():
    det = CallProgressDetector("eu")
    busy = ToneSource.named("busy", "eu")
    frames = [audioop.add(audioop.mul(busy.read_frame(), 2, 0.1), n, 2)
              for n in frames_of(noise(8000 * 4, -45.0))]
    assert first_report(det, frames)[0] == "busy"


def test_speech_and_noise_are_not_call_progress(speech_corpus):
    for country in ("eu", "ru"):
        det = CallProgressDetector(country)
        assert first_report(det, frames_of(speech_corpus[: 16000 * 150]))[0] is None
        assert first_report(det, frames_of(noise(8000 * 30, -20.0)))[0] is None
