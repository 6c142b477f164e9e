"""Less common paths of the simulated phone: hold by re-INVITE, a delayed offer, an offer
without a common codec, a challenged INVITE, qualify pings, deterministic policy."""

from __future__ import annotations

import asyncio
import random
import secrets

from appliance.clock import LoopClock, VirtualClock
from drivers.base import CallerId, Cause
from drivers.sim.phone_policy import AnswerPolicy, decide
from drivers.sim.sip_phone import CallState, PhoneEvent, SimPhone
from drivers.sip.auth import DigestAuthenticator
from drivers.sip.message import Request, Response
from drivers.sip.sdp import build_sdp, parse_sdp
from drivers.sip.stack import SipStack, make_response
from drivers.sip.transaction import Peer
from tests.phonesim.conftest import ACCOUNTS, LegRecorder, box, wait_until
from tests.phonesim.test_calls import make_phone, play_tone


def invite_to(phone, port: int, body: bytes) -> Request:
    invite = Request(method="INVITE", uri=f"sip:101@127.0.0.1:{phone.port}", body=body)
    h = invite.headers
    h.add("from", f"<sip:5550100@127.0.0.1:{port}>;tag={secrets.token_hex(4)}")
    h.add("to", "<sip:101@127.0.0.1>")
    h.add("call-id", secrets.token_hex(8))
    h.add("cseq", "1 INVITE")
    h.add("contact", f"<sip:box@127.0.0.1:{port}>")
    if body:
        h.add("content-type", "application/sdp")
    return invite


async def send(channel, request: Request, peer: Peer) -> Response:
    """Send with the box's own stack as a plain UAC; the final response."""
    final: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_response(tx, response: Response) -> None:
        if response.status >= 200 and not final.done():
            final.set_result(response)

    channel.stack.request(request, peer, on_response)
    return await asyncio.wait_for(final, 5)


async def test_reinvite_to_hold_stops_the_phone_talking_and_unhold_resumes():
    async with box() as (channel, host):
        events: list[PhoneEvent] = []
        phone = make_phone(channel, answer_after=(0, 0), talk_seconds=None)
        phone.on_event = events.append
        await phone.start()
        recorder = LegRecorder()
        leg = channel.originate("101", CallerId("5550010"), recorder)
        call = await phone.next_call()
        await asyncio.wait_for(recorder.answered, 5)
        await wait_until(lambda: call.media.packets_sent > 5, what="talking")

        async def reinvite(direction: str) -> Response:
            request = leg.dialog.request("INVITE")
            request.headers.add("content-type", "application/sdp")
            request.body = build_sdp("127.0.0.1", leg.rtp.local_port, 1, 2 + len(events),
                                     [(0, "PCMU")], 101, direction)
            response = await send(channel, request, leg.dialog.peer)
            ack = leg.dialog.request("ACK", cseq=request.cseq[0])
            channel.stack.request_stateless(ack, leg.dialog.peer)
            return response

        held = await reinvite("sendonly")
        assert held.status == 200 and parse_sdp(held.body).direction == "recvonly"
        assert [e.detail for e in events if e.kind == "hold"] == [{"on_hold": True}]
        sent = call.media.packets_sent
        # while held the phone sends nothing: 15 frames of the box's audio (300 ms) come
        # in and not one packet goes out
        pacer = play_tone(host.clock, leg, 1000.0)
        heard = call.frames_heard
        await wait_until(lambda: call.frames_heard >= heard + 15, what="box audio")
        assert call.media.packets_sent == sent
        resumed = await reinvite("sendrecv")
        assert resumed.status == 200
        await wait_until(lambda: call.media.packets_sent > sent + 5, what="talking again")
        assert [e.detail["on_hold"] for e in events if e.kind == "hold"] == [True, False]
        pacer.stop()
        await leg.hangup()
        await call.wait(CallState.ENDED)
        await phone.stop()


async def test_delayed_offer_gets_an_offer_in_the_200_and_the_answer_in_the_ack():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=(0, 0), talk_seconds=None)
        await phone.start()
        peer = Peer("udp", "127.0.0.1", phone.port)
        invite = invite_to(phone, channel.port, b"")
        ok = await send(channel, invite, peer)
        assert ok.status == 200
        offer = parse_sdp(ok.body)
        assert offer.pt_of("PCMU") == 0 and offer.pt_of("TELEPHONE-EVENT") == 101
        ack = Request(method="ACK", uri=invite.uri,
                      body=build_sdp("127.0.0.1", 40998, 1, 1, [(8, "PCMA")], None))
        for name in ("from", "call-id"):
            ack.headers.add(name, invite.headers.get(name))
        ack.headers.add("to", ok.headers.get("to"))
        ack.headers.add("cseq", "1 ACK")
        ack.headers.add("content-type", "application/sdp")
        channel.stack.request_stateless(ack, peer)
        call = phone.calls[-1]
        await wait_until(lambda: call.media.agreement is not None, what="answer taken")
        assert call.media.agreement.codec == "PCMA"
        assert call.media.rtp.remote == ("127.0.0.1", 40998)
        call.hangup()
        await phone.stop()


async def test_offer_without_a_common_codec_is_refused_with_488():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=(0, 0))
        await phone.start()
        g729_only = build_sdp("127.0.0.1", 40996, 1, 1, [(18, "G729")], None)
        response = await send(channel, invite_to(phone, channel.port, g729_only),
                              Peer("udp", "127.0.0.1", phone.port))
        assert response.status == 488
        assert phone.calls[-1].end_reason == "failed" and phone.active_calls == []
        await phone.stop()


async def test_invite_without_remembered_credentials_answers_the_box_challenge():
    async with box() as (channel, host):
        phone = make_phone(channel)
        await phone.start()
        phone.digest.forget()  # as after a reboot of the box: nothing to send up front
        call = await phone.dial("*45")
        leg = await host.next_leg()
        assert leg.dialled == "*45"
        assert call.invite is not None and call.invite.cseq[0] == 2  # challenged once
        await call.wait(CallState.ANSWERED)
        call.hangup()
        await asyncio.wait_for(host.recorders[leg.id].hangup, 5)
        await phone.stop()


async def test_box_qualify_pings_are_answered():
    async with box(qualify_seconds=0.1) as (channel, host):
        phone = make_phone(channel)
        await phone.start()
        await wait_until(lambda: channel.registrar.bindings("101")[0].rtt_ms is not None,
                         what="OPTIONS answered")
        assert channel.registrar.bindings("101")[0].reachable
        await phone.stop()


async def test_stop_while_ringing_declines_the_call():
    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=None)
        await phone.start()
        recorder = LegRecorder()
        channel.originate("101", CallerId("5550011"), recorder)
        call = await phone.next_call()
        await phone.stop()
        assert (call.end_reason, call.status) == ("rejected", 603)
        assert (await asyncio.wait_for(recorder.hangup, 5)) == (Cause.CALL_REJECTED, True)


def test_same_seed_same_decisions_and_ratios_hold():
    policy = AnswerPolicy(answer_after=(2, 7), talk_seconds=(20, 90), no_answer_ratio=0.1,
                          busy_ratio=0.05, seed=42)

    def five(extension: str) -> list:
        rng = policy.generator(extension)
        return [decide(policy, rng) for _ in range(5)]

    assert five("101") == five("101")  # a seeded demo replays the same way
    assert five("101") != five("102")  # but phones do not move in step
    rng = random.Random(1)
    decisions = [decide(policy, rng) for _ in range(4000)]
    share = {a: sum(d.action == a for d in decisions) / 4000 for a in ("ring", "busy")}
    assert 0.08 < share["ring"] < 0.12 and 0.035 < share["busy"] < 0.065
    answers = [d.answer_after for d in decisions if d.action == "answer"]
    assert min(answers) >= 2 and max(answers) <= 7


class ProxyChallenger:
    """A far end that answers INVITEs with 407 until Proxy-Authorization checks out
    (with the box's own authenticator), then says 486: the phone got through."""

    def __init__(self, clock) -> None:
        self.auth = DigestAuthenticator("proxy.test", clock, {"101": "pw-101-secret"}.get)
        self.results: list[bool | None] = []

    def on_request(self, tx, request: Request) -> None:
        result = self.auth.check(request, "proxy-authorization")
        self.results.append(None if result is None else result.ok)
        if result is None or not result.ok:
            response = make_response(request, 407, to_tag="px1")
            for challenge in self.auth.challenges():
                response.headers.add("proxy-authenticate", challenge)
        else:
            response = make_response(request, 486, to_tag="px1")
        tx.respond(response)

    def on_ack(self, request, peer) -> None: ...

    def on_cancel(self, invite_tx, cancel) -> None: ...

    def on_stray_response(self, response, peer) -> None: ...

    def is_banned(self, host: str) -> bool:
        return False


async def test_proxy_challenge_407_is_answered_with_proxy_authorization():
    clock = LoopClock()
    proxy = ProxyChallenger(clock)
    stack = SipStack(clock, proxy)
    await stack.start("127.0.0.1", 0, tcp=False)
    try:
        for password, results, status in (("pw-101-secret", [None, True], 486),
                                           ("wrong-password", [None, False], 407)):
            proxy.results.clear()
            phone = SimPhone("101", password, ("127.0.0.1", stack.port), t1=0.1)
            await phone.start(register=False)
            call = await phone.dial("5551234")
            await call.wait(CallState.ENDED)
            assert (call.status, proxy.results) == (status, results)
            await phone.stop()
    finally:
        await stack.close()


async def test_policy_delays_follow_the_injected_clock():
    """On a virtual clock the phone rings exactly ``answer_after`` and talks exactly
    ``talk_seconds`` of that clock's time, however long the loop really took."""
    async with box() as (channel, host):
        clock = VirtualClock()
        phone = SimPhone("101", ACCOUNTS["101"], ("127.0.0.1", channel.port), clock=clock,
                         policy=AnswerPolicy(answer_after=(5, 5), talk_seconds=(30, 30)))
        await phone.start()
        recorder = LegRecorder()
        channel.originate("101", CallerId("5550012"), recorder)
        call = await phone.next_call()
        clock.advance(4.9)
        assert call.state is CallState.RINGING and not recorder.answered.done()
        clock.advance(0.1)
        assert call.state is CallState.ANSWERED
        await asyncio.wait_for(recorder.answered, 5)
        clock.advance(29.9)
        assert call.state is CallState.ANSWERED
        clock.advance(0.1)
        assert call.state is CallState.ENDED and call.end_reason == "local_bye"
        assert call.ended_at - call.answered_at == 30
        assert (await asyncio.wait_for(recorder.hangup, 5))[1] is True
        await phone.stop()
