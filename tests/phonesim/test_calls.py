"""The simulated phone against the box's own SIP channel: ringing, answering by policy,
audio both ways, hang-ups from either side, CANCEL, busy, dialling, DTMF."""

from __future__ import annotations

import asyncio

from appliance.media.goertzel import tone_present
from appliance.media.pacing import Pacer
from appliance.media.tones import ToneSource, ToneSpec
from drivers.base import CallerId, Cause, LegState
from drivers.sim.sip_phone import AnswerPolicy, CallState, SimPhone, Voice
from tests.phonesim.conftest import ACCOUNTS, LegRecorder, box, wait_until

BOX_TONE = 1000.0
PHONE_TONE = 600.0


def make_phone(channel, ext: str = "101", **policy) -> SimPhone:
    return SimPhone(ext, ACCOUNTS[ext], registrar=("127.0.0.1", channel.port),
                    policy=AnswerPolicy(**policy), voice=Voice.tone(PHONE_TONE), t1=0.1)


def play_tone(clock, leg, hz: float) -> Pacer:
    source = ToneSource(ToneSpec((hz,)))

    def tick() -> bool:
        if leg.ended:
            return False
        leg.send_frame(source.read_frame())
        return True

    pacer = Pacer(clock, tick)
    pacer.start()
    return pacer


async def test_rings_answers_after_delay_talks_both_ways_and_hangs_up_after_talk_time():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=(0.4, 0.4), talk_seconds=(1.6, 1.6))
        await phone.start()
        recorder = LegRecorder()
        leg = channel.originate("101", CallerId("5550001", "Ann"), recorder)
        call = await phone.next_call()
        assert call.remote == "5550001" and call.state is CallState.RINGING
        await asyncio.wait_for(recorder.ringing, 5)
        assert leg.state is LegState.RINGING
        await asyncio.wait_for(recorder.answered, 5)
        assert call.state is CallState.ANSWERED
        assert call.answered_at - call.started_at >= 0.4  # the policy's ringing time
        pacer = play_tone(host.clock, leg, BOX_TONE)
        await wait_until(lambda: call.frames_heard >= 25 and len(recorder.frames) >= 25,
                         what="audio both ways")
        heard = call.heard_audio(0.4)
        assert tone_present(heard, BOX_TONE)
        assert not tone_present(heard, PHONE_TONE)
        said = b"".join(recorder.frames[-20:])
        assert tone_present(said, PHONE_TONE)
        assert not tone_present(said, BOX_TONE)
        cause, remote = await asyncio.wait_for(recorder.hangup, 5)
        pacer.stop()
        assert (cause, remote) == (Cause.NORMAL_CLEARING, True)
        assert call.end_reason == "local_bye"
        talked = call.ended_at - call.answered_at
        assert 1.6 <= talked < 3.0
        # about 50 frames a second went out while talking (20 ms pace)
        assert 0.8 * 50 * talked <= call.frames_spoken <= 1.2 * 50 * talked + 2
        assert phone.active_calls == []
        await phone.stop()


async def test_box_hangs_up_an_answered_call_phone_answers_bye():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=(0, 0), talk_seconds=None)
        await phone.start()
        recorder = LegRecorder()
        leg = channel.originate("101", CallerId("5550002"), recorder)
        call = await phone.next_call()
        await asyncio.wait_for(recorder.answered, 5)
        await leg.hangup()
        assert await call.wait(CallState.ENDED) is CallState.ENDED
        assert call.end_reason == "remote_bye"
        assert (await recorder.hangup) == (Cause.NORMAL_CLEARING, False)
        await phone.stop()


async def test_never_answering_phone_gets_cancel_when_box_gives_up():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=None)
        await phone.start()
        recorder = LegRecorder()
        leg = channel.originate("101", CallerId("5550003"), recorder)
        call = await phone.next_call()
        await asyncio.wait_for(recorder.ringing, 5)
        await leg.hangup(Cause.NO_ANSWER)
        await call.wait(CallState.ENDED)
        assert (call.end_reason, call.status) == ("cancelled", 487)
        assert call.answered_at is None and call.frames_spoken == 0
        assert (await recorder.hangup) == (Cause.NO_ANSWER, False)
        await phone.stop()


async def test_no_answer_ratio_one_lets_every_call_ring():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=(0, 0), no_answer_ratio=1.0, seed=7)
        await phone.start()
        for n in range(2):
            recorder = LegRecorder()
            leg = channel.originate("101", CallerId(f"55500{n}"), recorder)
            call = await phone.next_call()
            await asyncio.wait_for(recorder.ringing, 5)
            assert call.decision is not None and call.decision.action == "ring"
            await leg.hangup(Cause.NO_ANSWER)
            await call.wait(CallState.ENDED)
            assert call.end_reason == "cancelled"
        await phone.stop()


async def test_busy_policy_refuses_with_486():
    async with box() as (channel, host):
        phone = make_phone(channel, busy_ratio=1.0)
        await phone.start()
        recorder = LegRecorder()
        channel.originate("101", CallerId("5550004"), recorder)
        cause, remote = await asyncio.wait_for(recorder.hangup, 5)
        assert (cause, remote) == (Cause.USER_BUSY, True)
        assert phone.calls[-1].status == 486 and phone.calls[-1].end_reason == "busy"
        await phone.stop()


async def test_second_call_while_talking_gets_busy():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=(0, 0), talk_seconds=None)
        await phone.start()
        first = LegRecorder()
        channel.originate("101", CallerId("5550005"), first)
        await asyncio.wait_for(first.answered, 5)
        second = LegRecorder()
        channel.originate("101", CallerId("5550006"), second)
        assert (await asyncio.wait_for(second.hangup, 5)) == (Cause.USER_BUSY, True)
        assert len(phone.active_calls) == 1
        await phone.stop()
        assert (await asyncio.wait_for(first.hangup, 5))[1] is True  # stop() hung up


async def test_dial_feature_code_reaches_the_host_with_digest_auth():
    async with box() as (channel, host):
        phone = make_phone(channel)
        await phone.start()
        call = await phone.dial("*45")
        leg = await host.next_leg()
        assert leg.dialled == "*45"
        assert leg.caller.number == "101"  # the box knows who dialled from the credentials
        assert await call.wait(CallState.ANSWERED) is CallState.ANSWERED
        await leg.hangup()
        await call.wait(CallState.ENDED)
        assert call.end_reason == "remote_bye"
        await phone.stop()


async def test_dialled_hash_is_escaped_and_arrives_whole():
    async with box(answer=False) as (channel, host):
        phone = make_phone(channel)
        await phone.start()
        call = await phone.dial("*46#2")
        leg = await host.next_leg()
        assert leg.dialled == "*46#2"
        assert await call.wait(CallState.ALERTING) is CallState.ALERTING
        call.hangup()  # the caller gives up: CANCEL
        recorder = host.recorders[leg.id]
        assert (await asyncio.wait_for(recorder.hangup, 5))[1] is True
        assert call.end_reason == "cancelled"
        await phone.stop()


async def test_dtmf_both_ways_rfc4733():
    async with box() as (channel, host):
        phone = make_phone(channel, talk_seconds=None)
        await phone.start()
        call = await phone.dial("200")
        leg = await host.next_leg()
        await call.wait(CallState.ANSWERED)
        call.send_dtmf("12#")
        recorder = host.recorders[leg.id]
        await wait_until(lambda: recorder.digits == "12#", what="digits at the box")
        await leg.send_dtmf("9*")
        await wait_until(lambda: call.digits == "9*", what="digits at the phone")
        call.hangup()
        assert (await asyncio.wait_for(recorder.hangup, 5)) == (Cause.NORMAL_CLEARING, True)
        await phone.stop()


async def test_outbound_call_to_an_unregistered_extension_is_rejected():
    async with box(answer=False) as (channel, host):
        phone = make_phone(channel)
        await phone.start()
        call = await phone.dial("555")
        leg = await host.next_leg()
        await leg.hangup(Cause.UNALLOCATED_NUMBER)
        await call.wait(CallState.ENDED)
        assert (call.end_reason, call.status) == ("rejected", 404)
        await phone.stop()


async def test_two_phones_talk_through_the_box():
    """Phone 101 dials 102; the host bridges the legs' audio like the core would."""
    async with box(answer=False) as (channel, host):
        a = make_phone(channel, "101", talk_seconds=(1.0, 1.0))
        b = SimPhone("102", ACCOUNTS["102"], ("127.0.0.1", channel.port),
                     policy=AnswerPolicy(answer_after=(0.2, 0.2), talk_seconds=None),
                     voice=Voice.tone(BOX_TONE), t1=0.1)
        await a.start()
        await b.start()
        call = await a.dial("102")
        inbound = await host.next_leg()
        outbound_rec = LegRecorder()

        class Relay(LegRecorder):
            def leg_frame(self, leg, frame):
                out.send_frame(frame)

        relay_in = Relay()
        inbound.listener = relay_in
        out = channel.originate("102", CallerId("101"), outbound_rec)
        await asyncio.wait_for(outbound_rec.answered, 5)
        outbound_rec.leg_frame = lambda leg, frame: inbound.send_frame(frame)  # type: ignore
        await inbound.answer()
        await call.wait(CallState.ANSWERED)
        await wait_until(lambda: call.frames_heard >= 20, what="audio from 102 at 101")
        assert tone_present(call.heard_audio(0.3), BOX_TONE)
        b_call = b.calls[-1]
        await wait_until(lambda: b_call.frames_heard >= 20, what="audio from 101 at 102")
        assert tone_present(b_call.heard_audio(0.3), PHONE_TONE)
        await call.wait(CallState.ENDED, timeout=5)  # 101's talk time
        assert (await asyncio.wait_for(relay_in.hangup, 5))[1] is True
        await out.hangup()
        await b_call.wait(CallState.ENDED)
        await a.stop()
        await b.stop()


async def test_wav_file_as_the_phones_voice(tmp_path):
    from appliance.media.tones import synthesize  # noqa: PLC0415
    from appliance.media.wav import write_wav  # noqa: PLC0415

    path = tmp_path / "voice.wav"
    write_wav(path, synthesize((700.0,), 1000, -12.0, rate=16000), rate=16000)  # resampled
    async with box() as (channel, host):
        phone = SimPhone("101", ACCOUNTS["101"], ("127.0.0.1", channel.port), t1=0.1,
                         policy=AnswerPolicy(answer_after=(0, 0), talk_seconds=None),
                         voice=await Voice.from_file(path))
        await phone.start()
        recorder = LegRecorder()
        leg = channel.originate("101", CallerId("5550007"), recorder)
        await asyncio.wait_for(recorder.answered, 5)
        await wait_until(lambda: len(recorder.frames) >= 30, what="the phone's voice")
        said = b"".join(recorder.frames[-20:])
        assert tone_present(said, 700.0) and not tone_present(said, PHONE_TONE)
        await leg.hangup()
        await phone.stop()
