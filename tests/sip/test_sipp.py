"""The SIP stack against sipp, a real peer: registration, calls both ways, CANCEL,
hold, loss.  Each test runs its own channel on an ephemeral port and sipp on a free one."""

from __future__ import annotations

import asyncio
import tempfile

import pytest

from drivers.base import CallerId, Cause, LegState
from tests.conftest import require_tool
from tests.sip.conftest import (
    PHONES,
    SCENARIOS,
    Phone,
    Recorder,
    free_port,
    run_sipp,
    sip_channel,
    sipp_count,
    wait_until,
)

pytestmark = pytest.mark.peers


def sipp_args(channel_port: int, scenario: str, *extra: str) -> list[str]:
    return [f"127.0.0.1:{channel_port}", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1",
            "-p", str(free_port()), "-mp", str(free_port()), *extra]


TRANSPORT = {"udp": "u1", "tcp": "t1"}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_register_md5_with_sipp(transport):
    sipp = require_tool("sipp")
    async with sip_channel() as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out = await run_sipp(sipp, sipp_args(
                channel.port, "register.xml", "-s", "101", "-au", "101",
                "-ap", PHONES["101"], "-m", "1", "-t", TRANSPORT[transport]), cwd=tmp)
        assert rc == 0, out
        assert sipp_count(out, "Successful call") == 1
        assert channel.reaches("101")
        assert not channel.reaches("102")
        phone = channel.status()["phones"]["101"][0]
        assert phone["user_agent"] == "sipp" and phone["expires_in"] > 3500
        assert phone["source"].startswith(f"{transport}:127.0.0.1:")
        event = host.registrations()[0]
        assert event.data["extension"] == "101" and event.data["user_agent"] == "sipp"


@pytest.mark.parametrize("user,password", [("101", "wrong"), ("999", "whatever")])
async def test_register_refused_the_same_for_wrong_password_and_unknown_user(user, password):
    sipp = require_tool("sipp")
    async with sip_channel() as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out = await run_sipp(sipp, sipp_args(
                channel.port, "register_refused.xml", "-s", user, "-au", user,
                "-ap", password, "-m", "1"), cwd=tmp)
        assert rc == 0, out
        assert not channel.reaches(user)
        assert host.registrations() == []


async def test_lockout_after_repeated_failures():
    sipp = require_tool("sipp")
    async with sip_channel(ban_failures=3) as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out = await run_sipp(sipp, sipp_args(
                channel.port, "register_refused.xml", "-s", "101", "-au", "101",
                "-ap", "guess", "-m", "3", "-l", "1"), cwd=tmp)
        assert rc == 0, out
        assert [b["source"] for b in channel.banned()] == ["127.0.0.1"]
        # Even the right password from a banned source gets silence now.
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            dropped = channel.stack.counters["dropped"]
            phone.send_raw(phone.request("REGISTER").encode())
            await wait_until(lambda: channel.stack.counters["dropped"] > dropped)
            assert phone.inbox == []
            assert channel.unban("127.0.0.1")
            response = await phone.with_auth(phone.request("REGISTER"))
            assert response.status == 200
        finally:
            phone.close()
        assert any(e.kind == "phone.banned" for e in host.events)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_call_from_phone_through_box_and_phone_hangs_up(transport):
    sipp = require_tool("sipp")
    async with sip_channel() as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out = await run_sipp(sipp, sipp_args(
                channel.port, "uac_call.xml", "-s", "5551234", "-au", "101",
                "-ap", PHONES["101"], "-key", "caller", "101", "-m", "1",
                "-t", TRANSPORT[transport]), cwd=tmp)
        assert rc == 0, out
        leg = host.legs[0]
        assert leg.direction == "inbound" and leg.dialled == "5551234"
        assert leg.caller == CallerId("101", "Desk 101")
        recorder = leg.listener
        assert isinstance(recorder, Recorder)
        await wait_until(lambda: leg.ended)
        assert recorder.events[-1] == ("hangup", Cause.NORMAL_CLEARING, True)
        assert channel.legs == set()


async def _register_sipp_phone(sipp: str, channel_port: int, phone_port: int, tmp: str) -> None:
    """Register 102 with a Contact naming the sipp UAS's port (same host as the REGISTER's
    source, so the registrar routes to the Contact, as for a phone on the LAN)."""
    phone = await Phone("102", PHONES["102"]).open(channel_port)
    try:
        register = phone.request("REGISTER", headers={
            "contact": f"<sip:102@127.0.0.1:{phone_port}>", "expires": "600"})
        assert (await phone.with_auth(register)).status == 200
    finally:
        phone.close()


async def _uas(sipp: str, scenario: str, phone_port: int, tmp: str, *extra: str):
    return await asyncio.create_subprocess_exec(
        sipp, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(phone_port),
        "-mp", str(free_port()), "-m", "1", "-nostdin", "-trace_err",
        "-error_file", f"{tmp}/uas-errors.log", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp)


@pytest.mark.parametrize("who_hangs_up", ["box", "phone"])
async def test_box_rings_phone_answer_and_bye(who_hangs_up):
    sipp = require_tool("sipp")
    async with sip_channel() as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            phone_port = free_port()
            scenario = "uas_call.xml" if who_hangs_up == "box" else "uas_call_bye.xml"
            uas = await _uas(sipp, scenario, phone_port, tmp)
            try:
                await _register_sipp_phone(sipp, channel.port, phone_port, tmp)
                recorder = Recorder()
                leg = channel.originate("102", CallerId("5550001", "ACME Ltd"), recorder)
                await wait_until(lambda: leg.state is LegState.ANSWERED, what="answer")
                assert recorder.kinds()[:2] == ["ringing", "answered"]
                if who_hangs_up == "box":
                    await leg.hangup()
                    assert recorder.events[-1] == ("hangup", Cause.NORMAL_CLEARING, False)
                else:
                    await wait_until(lambda: leg.ended, what="BYE from phone")
                    assert recorder.events[-1] == ("hangup", Cause.NORMAL_CLEARING, True)
                out, _ = await asyncio.wait_for(uas.communicate(), 20)
                assert uas.returncode == 0, out.decode(errors="replace")
            finally:
                if uas.returncode is None:
                    uas.kill()
                    await uas.wait()


async def test_cancel_before_answer_from_phone():
    sipp = require_tool("sipp")
    async with sip_channel(answer=False) as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out = await run_sipp(sipp, sipp_args(
                channel.port, "uac_cancel.xml", "-s", "200", "-au", "101",
                "-ap", PHONES["101"], "-key", "caller", "101", "-m", "1"), cwd=tmp)
        assert rc == 0, out
        leg = host.legs[0]
        assert leg.ended and leg.listener.events[-1][2] is True  # type: ignore[attr-defined]


async def test_box_cancels_ringing_phone():
    sipp = require_tool("sipp")
    async with sip_channel() as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            phone_port = free_port()
            uas = await _uas(sipp, "uas_cancel.xml", phone_port, tmp)
            try:
                await _register_sipp_phone(sipp, channel.port, phone_port, tmp)
                recorder = Recorder()
                leg = channel.originate("102", CallerId("5550001"), recorder)
                await wait_until(lambda: leg.state is LegState.RINGING, what="ringing")
                await leg.hangup(Cause.NO_ANSWER)
                assert recorder.events[-1] == ("hangup", Cause.NO_ANSWER, False)
                out, _ = await asyncio.wait_for(uas.communicate(), 20)
                assert uas.returncode == 0, out.decode(errors="replace")
            finally:
                if uas.returncode is None:
                    uas.kill()
                    await uas.wait()


async def test_reinvite_hold_and_unhold():
    sipp = require_tool("sipp")
    async with sip_channel() as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            rc, out = await run_sipp(sipp, sipp_args(
                channel.port, "uac_hold.xml", "-s", "300", "-au", "101",
                "-ap", PHONES["101"], "-key", "caller", "101", "-m", "1"), cwd=tmp)
        assert rc == 0, out
        recorder = host.legs[0].listener
        holds = [e for e in recorder.events if e[0] == "hold"]  # type: ignore[attr-defined]
        assert holds == [("hold", True), ("hold", False)]


async def test_calls_survive_packet_loss():
    """sipp drops 10 % of what it sends and receives; retransmissions on both sides
    (Timer A/E at sipp, G and the 2xx retransmission here) must complete every call."""
    sipp = require_tool("sipp")
    async with sip_channel() as (channel, host):  # same T1 as sipp: timers must agree
        with tempfile.TemporaryDirectory() as tmp:
            rc, out = await run_sipp(sipp, sipp_args(
                channel.port, "uac_call.xml", "-s", "5551234", "-au", "101",
                "-ap", PHONES["101"], "-key", "caller", "101", "-m", "12", "-l", "4",
                "-r", "10", "-lost", "10", "-recv_timeout", "20000"), timeout=60, cwd=tmp)
        assert sipp_count(out, "Successful call") == 12, out
        assert rc == 0, out
        await wait_until(lambda: not channel.legs, what="all legs ended")
