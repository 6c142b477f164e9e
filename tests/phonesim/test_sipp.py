"""The simulated phone against sipp, an independent SIP implementation: sipp calls the
phone (our UAS side), the phone calls sipp (our UAC side)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from drivers.sim.sip_phone import AnswerPolicy, CallState, SimPhone, Voice
from tests.conftest import require_tool
from tests.phonesim.conftest import ACCOUNTS, finish_sipp, free_udp_port, sipp_count, start_sipp

pytestmark = pytest.mark.peers
SCENARIOS = Path(__file__).parent / "scenarios"


async def test_sipp_calls_the_phone_which_answers_by_policy():
    sipp = require_tool("sipp")
    phone = SimPhone("101", "unused", ("127.0.0.1", 9), voice=Voice.tone(600),
                     policy=AnswerPolicy(answer_after=(0.2, 0.2), talk_seconds=None))
    await phone.start(register=False)
    with tempfile.TemporaryDirectory() as tmp:
        proc = await start_sipp(sipp, [
            f"127.0.0.1:{phone.port}", "-sn", "uac", "-s", "101", "-m", "1", "-d", "600",
            "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port())], tmp)
        call = await phone.next_call()
        assert call.remote == "sipp"
        assert await call.wait(CallState.ANSWERED) is CallState.ANSWERED
        await call.wait(CallState.ENDED)
        rc, out = await finish_sipp(proc)
    assert rc == 0, out
    assert sipp_count(out, "Successful call") == 1
    assert call.end_reason == "remote_bye"
    assert call.frames_spoken >= 20  # about 600 ms of voice went to sipp's media port
    await phone.stop()


async def test_phone_calls_sipp_and_hangs_up_after_talk_time():
    sipp = require_tool("sipp")
    port = free_udp_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = await start_sipp(sipp, [
            "-sn", "uas", "-m", "1", "-i", "127.0.0.1", "-p", str(port),
            "-mp", str(free_udp_port())], tmp)
        phone = SimPhone("101", "unused", ("127.0.0.1", port), t1=0.1,
                         policy=AnswerPolicy(talk_seconds=(0.5, 0.5)))
        await phone.start(register=False)
        call = await phone.dial("service")
        assert await call.wait(CallState.ANSWERED) is CallState.ANSWERED
        await call.wait(CallState.ENDED, timeout=5)
        rc, out = await finish_sipp(proc)
    assert rc == 0, out
    assert sipp_count(out, "Successful call") == 1
    assert call.end_reason == "local_bye"
    await phone.stop()


async def test_phone_answers_a_digest_challenge_that_sipp_verifies():
    sipp = require_tool("sipp")
    port = free_udp_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = await start_sipp(sipp, [
            "-sf", str(SCENARIOS / "uas_auth.xml"), "-m", "1", "-i", "127.0.0.1",
            "-p", str(port), "-mp", str(free_udp_port())], tmp)
        phone = SimPhone("101", ACCOUNTS["101"], ("127.0.0.1", port), t1=0.1,
                         policy=AnswerPolicy(talk_seconds=(0.3, 0.3)))
        await phone.start(register=False)
        call = await phone.dial("200")
        assert await call.wait(CallState.ANSWERED) is CallState.ANSWERED, call.status
        assert call.media.agreement is not None and call.media.agreement.codec == "PCMA"
        await call.wait(CallState.ENDED, timeout=5)
        rc, out = await finish_sipp(proc)
    assert rc == 0, out
    assert sipp_count(out, "Successful call") == 1
    await phone.stop()
