"""Bridge and supervisor mixer."""

from __future__ import annotations

import asyncio
import types
import wave

import pytest

from appliance.media import goertzel
from appliance.media.bridge import Bridge, Mixer
from appliance.media.dtmf import DtmfGenerator
from appliance.media.recorder import Recorder, RecordingWriter
from appliance.media.tones import synthesize
from drivers.base import SILENCE, CallerId, Cause, Leg, LegListener

from .conftest import run_async


class PipeLeg(Leg):
    """A leg whose far end is this test: what the bridge sends lands in ``sent``."""

    def __init__(self, name: str, listener: LegListener | None = None) -> None:
        super().__init__(types.SimpleNamespace(name=name), "inbound", CallerId("100"),
                         listener=listener)
        self.sent: list[bytes] = []

    async def answer(self) -> None:
        self._emit_answered()

    async def hangup(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        self._emit_hangup(cause, remote=False)

    async def send_dtmf(self, digits: str) -> None:
        raise NotImplementedError  # not used here

    def send_frame(self, frame: bytes) -> None:
        self.sent.append(frame)


class CoreListener(LegListener):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def leg_dtmf(self, leg, digit):
        self.events.append(("dtmf", leg.id, digit))

    def leg_hangup(self, leg, cause, remote):
        self.events.append(("hangup", leg.id, cause))

    def leg_frame(self, leg, frame):
        self.events.append(("frame", leg.id))


A = synthesize((500.0,), 20, -10.0)
B = synthesize((1000.0,), 20, -10.0)
S = synthesize((1500.0,), 20, -10.0)


def test_frames_cross_taps_see_them_and_an_ended_leg_gets_nothing():
    caller, operator = PipeLeg("gsm"), PipeLeg("sip")
    seen: list[tuple[str, bytes]] = []
    bridge = Bridge(caller, operator, taps=[lambda leg, frame: seen.append((leg.id, frame))])
    assert bridge.has(caller) and bridge.has(operator) and not bridge.has(PipeLeg("x"))
    assert bridge.other(caller) is operator and bridge.other(operator) is caller
    for _ in range(3):
        bridge.forward(caller, A)
        bridge.forward(operator, B)
    assert operator.sent == [A] * 3 and caller.sent == [B] * 3
    assert seen[:2] == [(caller.id, A), (operator.id, B)] and len(seen) == 6
    caller._emit_hangup(Cause.NORMAL_CLEARING, remote=True)
    bridge.forward(operator, B)  # the caller is gone: nothing is sent to an ended leg
    assert caller.sent == [B] * 3
    bridge.forward(PipeLeg("stranger"), S)  # a leg not in the bridge moves nothing
    bridge.unbridge()
    assert bridge.frames == {caller.id: 3, operator.id: 4}
    bridge.forward(caller, A)  # unbridged: nothing moves
    assert operator.sent == [A] * 3


def test_in_band_dtmf_tap_reports_digits_once():
    caller, operator = PipeLeg("gsm"), PipeLeg("sip")
    bridge = Bridge(caller, operator)
    digits: list[str] = []
    bridge.detect_dtmf(caller, lambda leg, d: digits.append(d))
    for frame in iter(DtmfGenerator("42#").read_frame, None):
        bridge.forward(caller, frame)
    assert "".join(digits) == "42#"
    assert len(operator.sent) == 30  # the audio still went through


@run_async
async def test_recorder_tap_records_both_sides(tmp_path):
    writer = RecordingWriter()
    try:
        caller, operator = PipeLeg("gsm"), PipeLeg("sip")
        rec = Recorder(tmp_path / "call.wav", writer)
        bridge = Bridge(caller, operator, recorder=rec)
        for _ in range(50):
            bridge.forward(caller, A)
            bridge.forward(operator, B)
        path = await asyncio.wrap_future(rec.close())
        with wave.open(str(path)) as wav:
            assert wav.getnchannels() == 2 and wav.getnframes() == 50 * 160
    finally:
        writer.stop()


def heard(frames: list[bytes]) -> set[float]:
    pcm = b"".join(frames[-10:])
    return {f for f in (500.0, 1000.0, 1500.0) if goertzel.tone_level_dbfs(pcm, f) > -20}


@pytest.mark.parametrize(
    ("mode", "caller_hears", "operator_hears", "supervisor_hears"),
    [
        ("listen", {1000.0}, {500.0}, {500.0, 1000.0}),
        ("whisper", {1000.0}, {500.0, 1500.0}, {500.0, 1000.0}),
        ("barge", {1000.0, 1500.0}, {500.0, 1500.0}, {500.0, 1000.0}),
    ],
)
def test_supervisor_modes(clock, mode, caller_hears, operator_hears, supervisor_hears):
    out: dict[str, list[bytes]] = {"c": [], "o": [], "s": []}
    mixer = Mixer(clock)
    for name in out:
        mixer.add(name, out[name].append)
    mixer.supervise("c", "o", "s", mode)
    for _ in range(50):
        mixer.feed("c", A)
        mixer.feed("o", B)
        mixer.feed("s", S)
        clock.advance(0.02)
    assert heard(out["c"]) == caller_hears
    assert heard(out["o"]) == operator_hears
    assert heard(out["s"]) == supervisor_hears


def test_mixer_sends_silence_when_nothing_arrives_and_bounds_queues(clock):
    out: list[bytes] = []
    mixer = Mixer(clock, max_queue=4)
    mixer.add("a", out.append, hears={"b"})
    mixer.add("b", lambda f: None, hears={"a"})
    clock.advance(0.1)
    assert out and set(out) == {SILENCE}
    for _ in range(20):  # a burst from a leg whose clock runs fast
        mixer.feed("b", B)
    assert mixer.participants["b"].dropped == 16
    mixer.remove("b")
    mixer.remove("a")
    assert clock.pending() == 0
    with pytest.raises(ValueError):
        Mixer(clock).supervise("c", "o", "s", "shout")  # type: ignore[arg-type]


def test_mixer_listener_feeds_by_name(clock):
    core = CoreListener()
    leg = PipeLeg("sip")
    mixer = Mixer(clock)
    got: list[bytes] = []
    mixer.add("op", leg.send_frame, hears=())
    mixer.add("sup", got.append, hears={"op"})
    leg.listener = mixer.listener_for("op", core)
    leg._emit_frame(B)
    clock.advance(0.02)
    assert B in got
