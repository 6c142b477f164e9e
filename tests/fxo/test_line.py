"""The FXO driver against the simulated voice modem, through a real pty and pyserial:
incoming and outgoing calls, audio both ways, DTMF both ways, and every way a far end
leaves (loop break, busy reported or only heard, nothing but silence)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from drivers.at.engine import AtTimeout
from drivers.base import Cause, LegState
from drivers.sim.audio import tone_frames
from drivers.sim.v253 import HALF_DUPLEX, USR5637

from .conftest import Line, Recorder, SimLocator, fxo_line, tone_db, wait_for

# a Conexant that reports nothing about the far end: busy and silence are ours to hear
QUIET_CONEXANT = replace(USR5637, reports_busy=False, reports_silence=False,
                         reports_loop_break=False)


async def talk(leg, hz: float, seconds: float) -> None:
    """Send a tone at the core's pace: one 20 ms frame per 20 ms."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(int(seconds * 50)):
        leg.send_frame(tone_frames((hz,), 1, start_sample=i * 160))
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))


async def answered_call(line: Line, number: str = "5551234", name: str = "JOHN DOE"):
    line.sim.ring(number, name)
    await wait_for(lambda: line.host.legs, 15, "the call to be offered")
    leg, rec = line.host.legs[0], line.host.recorders[0]
    assert rec.kinds() == ["ringing"]
    await leg.answer()
    assert leg.state is LegState.ANSWERED
    return leg, rec


@pytest.mark.parametrize(
    "model,how,reason",
    [
        (USR5637, "loop_break", "loop_break"),  # the modem reports <DLE>l
        (USR5637, "busy", "busy"),  # the modem reports <DLE>b
        (QUIET_CONEXANT, "busy", "busy"),  # busy cadence heard in-band by us
        (QUIET_CONEXANT, "loop_break", "silence"),  # nothing but silence, measured by us
    ],
    ids=["loop-break", "busy-reported", "busy-in-band", "silence-only"],
)
def test_incoming_call_end_to_end(model, how: str, reason: str) -> None:
    async def scenario() -> None:
        async with fxo_line(model) as line:
            leg, rec = await answered_call(line)
            assert (leg.caller.number, leg.caller.name) == ("5551234", "JOHN DOE")
            assert leg.caller.presentation == "allowed" and leg.caller_time == "03-21 14:05"
            # the far end's voice (1 kHz) reaches the core
            await wait_for(lambda: len(rec.frames) >= 16000, 20, "audio from the line")
            assert tone_db(rec.recent(0.4), 1000) > -25
            # our voice (600 Hz) reaches the far end
            await talk(leg, 600, 0.8)
            assert tone_db(bytes(line.sim.far.heard[-4800:]), 600) > -25
            # DTMF both ways
            line.sim.far_dtmf("12#")
            await wait_for(lambda: len(rec.digits) == 3, 10, "DTMF from the far end")
            assert rec.digits == ["1", "2", "#"]
            await leg.send_dtmf("45")
            assert line.sim.far_heard_dtmf == "45"
            await wait_for(lambda: len(rec.frames) >= 32000, 20, "audio after +VTS")
            # the far end leaves
            line.sim.far_hangup(how)
            await wait_for(lambda: rec.hangup() is not None, 8, "far-end hang-up")
            assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, True)
            assert leg.hangup_reason == reason
            await wait_for(lambda: line.channel.state == "ready", 3)
            assert not line.sim.off_hook

    asyncio.run(scenario())


def test_withheld_caller_who_gives_up_is_not_left_on_the_line() -> None:
    async def scenario() -> None:
        async with fxo_line() as line:
            line.sim.ring("P", "P", rings=2)
            await wait_for(lambda: line.host.legs, 15, "the call to be offered")
            leg, rec = line.host.legs[0], line.host.recorders[0]
            assert leg.caller.presentation == "restricted" and leg.caller.number == ""
            await wait_for(lambda: rec.hangup() is not None, 5, "the abandoned call to end")
            assert rec.kinds() == ["ringing", "hangup"]
            assert rec.hangup()[2] is True and leg.hangup_reason == "abandoned"
            assert line.channel.leg is None and not line.sim.off_hook

    asyncio.run(scenario())


def test_unavailable_number_and_local_hangup() -> None:
    async def scenario() -> None:
        async with fxo_line() as line:
            leg, rec = await answered_call(line, "O", "")
            assert leg.caller.presentation == "unavailable"
            await leg.hangup()
            assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, False)
            assert "ATH" in line.sim.commands and not line.sim.off_hook
            await leg.hangup()  # idempotent
            assert rec.kinds().count("hangup") == 1

    asyncio.run(scenario())


@pytest.mark.parametrize("outcome,cause", [("busy", Cause.USER_BUSY),
                                           ("no_answer", Cause.NO_ANSWER)])
def test_outgoing_call_that_fails(outcome: str, cause: Cause) -> None:
    async def scenario() -> None:
        async with fxo_line() as line:
            line.sim.dial_outcomes["5550000"] = outcome
            rec = Recorder()
            leg = line.channel.originate("5550000", leg_caller(), rec)
            assert line.channel.status()["state"] == "dialling"
            await wait_for(lambda: rec.hangup() is not None, 5, "the dial result")
            assert rec.hangup() == ("hangup", cause, True)
            assert leg.hangup_reason == outcome
            assert "ATDT5550000" in line.sim.commands
            await wait_for(lambda: line.channel.state == "ready", 3)

    asyncio.run(scenario())


def leg_caller():
    from drivers.base import CallerId

    return CallerId("100", "Operator")


def test_outgoing_call_answered_with_audio_both_ways() -> None:
    async def scenario() -> None:
        async with fxo_line() as line:
            rec = Recorder()
            leg = line.channel.originate("5557777", leg_caller(), rec)
            await wait_for(lambda: "answered" in rec.kinds(), 5, "the far end to answer")
            assert rec.kinds()[:2] == ["ringing", "answered"]  # ringback <DLE>r first
            await wait_for(lambda: len(rec.frames) >= 16000, 20, "audio from the line")
            assert tone_db(rec.recent(0.4), 1000) > -25
            await talk(leg, 600, 0.6)
            assert tone_db(bytes(line.sim.far.heard[-3200:]), 600) > -25
            await leg.hangup()
            assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, False)

    asyncio.run(scenario())


def test_outgoing_call_cancelled_while_dialling_stops_the_modem() -> None:
    async def scenario() -> None:
        async with fxo_line() as line:
            line.sim.dial_outcomes["5550001"] = "no_answer"
            line.sim.ringback_cycles = 50  # rings for 20 s unless stopped
            rec = Recorder()
            leg = line.channel.originate("5550001", leg_caller(), rec)
            await wait_for(lambda: "ringing" in rec.kinds(), 5, "ringback")
            loop = asyncio.get_running_loop()
            started = loop.time()
            await leg.hangup()
            assert loop.time() - started < 3  # not after the modem's own no-answer time
            assert rec.hangup() == ("hangup", Cause.NORMAL_CLEARING, False)
            assert not line.sim.dialling and not line.sim.off_hook
            await wait_for(lambda: line.channel.state == "ready", 3)

    asyncio.run(scenario())


def test_originate_refuses_what_it_cannot_dial() -> None:
    from drivers.base import Unreachable

    async def scenario() -> None:
        async with fxo_line() as line:
            assert line.channel.reaches("5551234") and not line.channel.reaches("alice")
            with pytest.raises(Unreachable):
                line.channel.originate("alice", leg_caller(), Recorder())

    asyncio.run(scenario())


def test_half_duplex_modem_listens_and_turns_to_talk() -> None:
    async def scenario() -> None:
        async with fxo_line(HALF_DUPLEX) as line:
            status = line.channel.status()
            assert status["duplex"] == "half" and status["caller_id"] is True
            assert status["codec"] == "s8" and status["model"] == "rockwell"
            assert "AT#CID=1" in line.sim.commands  # the chip's own name for caller id
            leg, rec = await answered_call(line)
            assert "AT+VTR" not in line.sim.commands and "AT+VRX" in line.sim.commands
            await wait_for(lambda: len(rec.frames) >= 8000, 20, "audio while listening")
            assert tone_db(rec.recent(0.2), 1000) > -25
            await talk(leg, 600, 0.8)
            assert "AT+VTX" in line.sim.commands
            assert tone_db(bytes(line.sim.far.heard[-3200:]), 600) > -25
            # back to listening once we stop talking
            await wait_for(lambda: line.sim.commands.count("AT+VRX") >= 2, 3, "back to +VRX")
            heard = len(rec.frames)
            await wait_for(lambda: len(rec.frames) >= heard + 8000, 20, "audio again")
            line.sim.far_hangup("loop_break")  # this modem says nothing: silence tells
            await wait_for(lambda: rec.hangup() is not None, 5, "far-end hang-up")
            assert leg.hangup_reason == "silence"

    asyncio.run(scenario())


def test_modem_that_does_not_report_keys_gets_them_detected_in_band() -> None:
    async def scenario() -> None:
        unknown = replace(USR5637, name="ACME V.92", ati3="ACME V.92 voice", reports_dtmf=False)
        async with fxo_line(unknown) as line:
            leg, rec = await answered_call(line)
            assert line.channel.status()["model"] == "generic"
            line.sim.far_dtmf("19#")
            await wait_for(lambda: len(rec.digits) == 3, 4, "keys heard in the audio")
            assert rec.digits == ["1", "9", "#"]
            assert not any(code in "19#" for code in line.sim.events_sent)

    asyncio.run(scenario())


def test_garbage_on_the_port_is_skipped_and_calls_still_come_in() -> None:
    async def scenario() -> None:
        async with fxo_line() as line:
            line.sim.garbage(b"\xff\xfe\x00\x01noise\r\n\x10\x7f")
            line.sim.ring("5551234")
            await wait_for(lambda: line.host.legs, 5, "the call after garbage")
            assert line.host.legs[0].caller.number == "5551234"
            assert line.channel.state == "ready"

    asyncio.run(scenario())


def test_unplugged_modem_ends_the_call_and_comes_back_renumbered() -> None:
    async def scenario() -> None:
        locator = SimLocator()
        async with fxo_line(identity="usb:0baf:0303:sim1", locator=locator) as line:
            leg, rec = await answered_call(line)
            old_path = line.channel.settings["port"]
            line.carrier.unplug()
            locator.removed("usb:0baf:0303:sim1")
            await wait_for(lambda: rec.hangup() is not None, 5, "the call to end")
            assert rec.hangup() == ("hangup", Cause.NETWORK_OUT_OF_ORDER, True)
            assert line.channel.leg is None
            # the same modem comes back on another tty; the locator finds it by identity
            keep = line.carrier.plug_fresh()
            locator.enumerated("usb:0baf:0303:sim1", line.carrier.path)
            await wait_for(lambda: line.channel.state == "ready", 10, "the line back")
            assert line.channel.settings["port"] == line.carrier.path != old_path
            keep.close()

    asyncio.run(scenario())


def test_modem_that_stops_answering_is_reset() -> None:
    async def scenario() -> None:
        async with fxo_line() as line:
            sim = line.sim
            opens = line.channel.opens
            real_out = sim.out
            sim.out = lambda data: None  # wedged: hears us, says nothing
            with pytest.raises(AtTimeout):
                await line.channel.engine.command("AT", timeout=0.5)
            sim.out = real_out
            await wait_for(lambda: line.channel.supervisor.soft_resets == 1, 5, "a soft reset")
            await wait_for(lambda: line.channel.state == "ready", 8, "the line back")
            assert line.channel.opens == opens + 1
            assert sim.commands.count("ATZ") >= 3  # set-up, soft reset, set-up again

    asyncio.run(scenario())
