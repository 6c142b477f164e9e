"""The channel on the virtual clock, with real sockets: the transaction timers and the
nonce lifetime follow the injected clock, not the wall clock."""

from __future__ import annotations

import socket

import pytest

from appliance.clock import VirtualClock
from drivers.base import CallerId, Cause
from drivers.sip.channel import SipChannel
from drivers.sip.headers import parse_auth
from tests.sip.conftest import (
    PHONES,
    Host,
    Phone,
    Recorder,
    authorization,
    sip_channel,
    wait_until,
)


async def test_unanswered_invite_retransmits_on_timer_a_then_times_out_on_timer_b():
    clock = VirtualClock()
    async with sip_channel(clock=clock) as (channel, host):
        phone = await Phone("102", PHONES["102"]).open(channel.port)
        assert (await phone.with_auth(phone.request("REGISTER"))).status == 200
        recorder = Recorder()
        leg = channel.originate("102", CallerId("5550001"), recorder)
        await wait_until(lambda: len(phone.requests("INVITE")) == 1)
        seen = [0.0]
        for due in (0.5, 1.5, 3.5, 7.5, 15.5, 31.5):  # Timer A doubles from T1
            clock.advance(due - clock.monotonic())
            await wait_until(lambda n=len(seen) + 1: len(phone.requests("INVITE")) == n)
            seen.append(due)
        assert len({i.headers.get("via") for i in phone.requests("INVITE")}) == 1
        clock.advance(32.5 - clock.monotonic())  # Timer B = 64*T1
        await wait_until(lambda: leg.ended)
        assert recorder.events == [("hangup", Cause.NO_USER_RESPONSE, True)]
        phone.close()


async def test_nonce_goes_stale_on_the_clock():
    clock = VirtualClock()
    async with sip_channel(clock=clock, nonce_ttl=300) as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        challenge = await phone.transact(phone.request("REGISTER"))
        params = parse_auth(challenge.headers.get("www-authenticate"))[1]

        def with_nonce(nc: str):
            request = phone.request("REGISTER")
            request.headers.add("authorization", authorization(
                params, "101", PHONES["101"], "REGISTER", request.uri, nc=nc))
            return request

        assert (await phone.transact(with_nonce("00000001"))).status == 200
        clock.advance(301)
        stale = await phone.transact(with_nonce("00000002"))
        assert stale.status == 401
        assert "stale=true" in stale.headers.get("www-authenticate")
        assert channel.banned() == []  # an expired nonce is not a failed login
        phone.close()


async def test_stop_ends_calls_and_leaves_no_timers_behind():
    clock = VirtualClock()
    async with sip_channel(clock=clock, qualify_seconds=30) as (channel, host):
        phone = await Phone("102", PHONES["102"]).open(channel.port)
        assert (await phone.with_auth(phone.request("REGISTER"))).status == 200
        recorder = Recorder()
        channel.originate("102", CallerId("5550001"), recorder)
        await wait_until(lambda: phone.requests("INVITE"))
        await channel.stop()
        assert recorder.events[-1][0] == "hangup"
        assert channel.status()["state"] == "stopped" and channel.status()["phones"] == {}
        assert clock.pending() == 0
        phone.close()


async def test_busy_port_is_reported_and_retried_until_free():
    clock = VirtualClock()
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    port = blocker.getsockname()[1]
    host = Host(clock=clock)
    channel = SipChannel("phones", {"listen": f"127.0.0.1:{port}", "credentials": PHONES.get,
                                    "qualify_seconds": 0}, host)
    await channel.start()  # must not raise
    assert channel.status()["state"] == "error" and channel.status()["error"]
    clock.advance(10)  # still busy: error again, another retry scheduled
    await wait_until(lambda: clock.pending() == 1)
    assert channel.status()["state"] == "error"
    blocker.close()
    clock.advance(10)
    await wait_until(lambda: channel.status()["state"] == "running")
    assert channel.port == port
    await channel.stop()
    assert clock.pending() == 0


async def test_hangup_before_the_invite_is_sent_leaves_no_socket():
    clock = VirtualClock()
    async with sip_channel(clock=clock) as (channel, host):
        phone = await Phone("102", PHONES["102"]).open(channel.port)
        assert (await phone.with_auth(phone.request("REGISTER"))).status == 200
        leg = channel.originate("102", CallerId("5550001"), Recorder())
        await leg.hangup()  # before the task that opens RTP and sends INVITE has run
        await wait_until(lambda: not channel._tasks)
        assert leg.rtp.sock is None and channel.ticker.sessions == set()
        assert phone.requests("INVITE") == [] and channel.ticker._timer is None
        phone.close()


@pytest.mark.parametrize("bad", [{"codecs": "G729"}, {"rtp_ports": "10-5"}, {"nat": "maybe"},
                                 {"digest_algorithms": "SHA-1"}])
def test_bad_settings_are_refused_with_a_message(bad):
    with pytest.raises(ValueError) as caught:
        SipChannel("phones", {"listen": "127.0.0.1:0", **bad}, Host(clock=VirtualClock()))
    assert str(caught.value)
