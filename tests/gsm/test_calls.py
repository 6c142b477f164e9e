"""The GSM driver against every simulator, through a real pty and pyserial: calls both
ways, audio both ways, DTMF both ways, causes."""

from __future__ import annotations

import asyncio

import pytest

from drivers.base import FRAME_BYTES, CallerId, Cause, Unreachable
from drivers.gsm import words
from drivers.sim.audio import tone_frames

from .conftest import Recorder, close_rig, make_rig, tone_power, wait_for

VOICE_MODELS = ["e1550", "e173", "ec25", "sim7600"]


async def send_tone(leg, freq: float, frames: int) -> None:
    pcm = tone_frames((freq,), frames)
    for i in range(0, len(pcm), FRAME_BYTES):
        leg.send_frame(pcm[i : i + FRAME_BYTES])
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("model", VOICE_MODELS)
async def test_incoming_call_audio_both_ways_and_far_end_hangup(model):
    rig = await make_rig(model)
    try:
        await rig.up()
        assert rig.channel.status()["voice"] is True
        rig.sim.incoming_call("+79161234567")
        await wait_for(lambda: rig.host.legs, what="incoming leg")
        leg, rec = rig.host.legs[0], rig.host.listeners[0]
        assert leg.caller == CallerId("+79161234567")
        assert rec.kinds() == ["ringing"]
        await leg.answer()
        assert rec.kinds() == ["ringing", "answered"]
        # the far end's 1000 Hz tone reaches the core ...
        await wait_for(lambda: len(rec.frames) >= 10 * FRAME_BYTES, what="audio from the modem")
        assert tone_power(bytes(rec.frames[-8 * FRAME_BYTES :]), 1000) > 0.9
        # ... and a 1500 Hz tone from the core reaches the far end
        await send_tone(leg, 1500, 15)
        await wait_for(lambda: len(rig.sim.audio.recorded) >= 10 * FRAME_BYTES,
                       what="audio into the modem")
        heard = bytes(rig.sim.audio.recorded[-8 * FRAME_BYTES :])
        assert tone_power(heard, 1500) > 0.9
        assert tone_power(heard, 1000) < 0.1
        rig.sim.remote_hangup(cause=16)
        await wait_for(lambda: rec.hangup() is not None, what="far-end hang-up")
        assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, True)
        assert not rig.sim.audio.active
    finally:
        await close_rig(rig)


@pytest.mark.parametrize("model", ["e1550", "ec25"])
@pytest.mark.parametrize("cring", [True, False])
async def test_withheld_number(model, cring):
    rig = await make_rig(model)
    try:
        await rig.up()
        rig.sim.crc = cring  # +CRING: VOICE with AT+CRC=1, plain RING without
        rig.sim.incoming_call(None)
        await wait_for(lambda: rig.host.legs, what="incoming leg")
        assert rig.host.legs[0].caller.presentation == "restricted"
        assert rig.host.legs[0].caller.number == ""
    finally:
        await close_rig(rig)


@pytest.mark.parametrize("model", ["e1550", "sim7600"])
async def test_caller_gives_up_before_answer(model):
    rig = await make_rig(model)
    try:
        await rig.up()
        rig.sim.incoming_call("+79161234567")
        await wait_for(lambda: rig.host.legs, what="incoming leg")
        rig.sim.remote_hangup()
        rec = rig.host.listeners[0]
        await wait_for(lambda: rec.hangup() is not None, what="missed call end")
        assert rec.hangup()[2] is True
    finally:
        await close_rig(rig)


@pytest.mark.parametrize("model", VOICE_MODELS)
@pytest.mark.parametrize("outcome,cause", [("busy", Cause.USER_BUSY),
                                           ("no_answer", Cause.NO_ANSWER)])
async def test_outgoing_call_not_answered(model, outcome, cause):
    rig = await make_rig(model)
    try:
        await rig.up()
        rig.sim.next_outcome = outcome
        rec = Recorder()
        leg = rig.channel.originate("+74951234567", CallerId(), rec)
        await wait_for(lambda: rec.hangup() is not None, what=outcome)
        assert rig.sim.dialled == ["+74951234567"]
        assert rec.hangup() == ("hangup", cause, True)
        assert leg.ended and rig.channel.reaches("+74951234567")
    finally:
        await close_rig(rig)


@pytest.mark.parametrize("model", VOICE_MODELS)
async def test_outgoing_call_answered_with_dtmf_both_ways(model):
    rig = await make_rig(model)
    try:
        await rig.up()
        rig.sim.outcome_delay = 1.0  # alerting long enough for a +CLCC poll to see it
        rec = Recorder()
        leg = rig.channel.originate("+74951234567", CallerId(), rec)
        await wait_for(lambda: "answered" in rec.kinds(), what="answer")
        assert rec.kinds()[0] == "ringing"
        await wait_for(lambda: len(rec.frames) >= 5 * FRAME_BYTES, what="audio")
        with pytest.raises(Unreachable):
            rig.channel.originate("+74951234568", CallerId(), Recorder())  # one voice channel
        await leg.send_dtmf("12#")
        assert rig.sim.dtmf_sent == ["1", "2", "#"]
        for digit in "59":
            rig.sim.press_dtmf(digit)
            await wait_for(lambda d=digit: rec.digits[-1:] == [d], what=f"far-end key {digit}")
        assert rec.digits == ["5", "9"]
        await leg.hangup()
        assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, False)
        await wait_for(lambda: not rig.sim.calls, what="modem call cleared")
    finally:
        await close_rig(rig)


async def test_simcom_audio_registration_follows_every_call():
    rig = await make_rig("sim7600")
    try:
        await rig.up()
        for _ in range(2):  # the second call would be silent without CPCMREG=0 after the first
            rec = Recorder()
            leg = rig.channel.originate("+74951234567", CallerId(), rec)
            await wait_for(lambda r=rec: len(r.frames) >= 5 * FRAME_BYTES, what="audio")
            await leg.hangup()
            await wait_for(lambda: not rig.sim.pcm_registered, what="CPCMREG=0")
        assert [c for c in rig.sim.commands if c.startswith("AT+CPCMREG")] == [
            "AT+CPCMREG=1", "AT+CPCMREG=0"] * 2
    finally:
        await close_rig(rig)


async def test_huawei_without_voice_firmware_says_so():
    rig = await make_rig("e3372")
    try:
        await rig.up()
        status = rig.channel.status()
        assert status["voice"] is False
        assert status["voice_problem"] == words.NO_VOICE
        assert status["model"] == "E3372"
    finally:
        await close_rig(rig)


async def test_stopping_the_channel_hangs_up_its_call():
    rig = await make_rig("ec25")
    try:
        await rig.up()
        rec = Recorder()
        rig.channel.originate("+74951234567", CallerId(), rec)
        await wait_for(lambda: "answered" in rec.kinds(), what="answered")
        await rig.channel.stop()
        assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, False)
        assert not rig.sim.calls
    finally:
        rig.simhost.close()


async def test_originate_refuses_bad_numbers_and_down_lines():
    rig = await make_rig("ec25")
    try:
        with pytest.raises(Unreachable) as err:
            rig.channel.originate("not a number", CallerId(), Recorder())
        assert err.value.cause is Cause.INVALID_NUMBER_FORMAT
        await rig.up()
        assert not rig.channel.reaches("hello")
        assert rig.channel.reaches("+74951234567")
    finally:
        await close_rig(rig)
