"""Registration over real UDP with a python phone: digest MD5 and SHA-256 (sipp 3.6.1 has
no SHA-256 digest), stale nonces, no user enumeration, expiry, several contacts,
un-registration, keep-alives and OPTIONS qualify."""

from __future__ import annotations

import asyncio

import pytest

from appliance.clock import VirtualClock
from drivers.sip.auth import DigestAuthenticator, generate_password
from drivers.sip.headers import parse_auth, parse_via
from drivers.sip.message import Request, parse_message
from drivers.sip.registrar import RegisterError, Registrar
from drivers.sip.transaction import Peer
from tests.sip.conftest import PHONES, Phone, authorization, sip_channel, wait_until


async def test_sha256_digest_is_offered_first_and_accepted():
    async with sip_channel(digest_algorithms="SHA-256,MD5") as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            first = await phone.transact(phone.request("REGISTER"))
            algorithms = [parse_auth(v)[1]["algorithm"]
                          for v in first.headers.get_all("www-authenticate")]
            assert first.status == 401 and algorithms == ["SHA-256", "MD5"]
            ok = await phone.with_auth(phone.request("REGISTER"), algorithm="SHA-256")
            assert ok.status == 200 and channel.reaches("101")
            bad = await phone.with_auth(phone.request("REGISTER"), algorithm="SHA-256",
                                        password="nope")
            assert bad.status == 403
        finally:
            phone.close()


async def test_md5_only_channel_refuses_sha256_answers():
    async with sip_channel() as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            first = await phone.transact(phone.request("REGISTER"))
            challenge = parse_auth(first.headers.get("www-authenticate"))[1]
            forged = phone.request("REGISTER")
            forged.headers.add("authorization", authorization(
                {**challenge, "algorithm": "SHA-256"}, "101", PHONES["101"], "REGISTER",
                forged.uri))
            assert (await phone.transact(forged)).status == 403
        finally:
            phone.close()


async def test_unknown_and_known_users_get_identical_answers():
    async with sip_channel() as (channel, host):
        answers = []
        for user in ("101", "999"):
            phone = await Phone(user, "wrong-password").open(channel.port)
            try:
                challenge = await phone.transact(phone.request("REGISTER"))
                final = await phone.with_auth(phone.request("REGISTER"))
                answers.append((challenge.status, sorted(n for n, _ in challenge.headers.items()),
                                final.status, final.reason,
                                sorted(n for n, _ in final.headers.items())))
            finally:
                phone.close()
        assert answers[0] == answers[1]
        assert answers[0][2] == 403


def test_stale_nonce_and_replayed_nonce_count():
    clock = VirtualClock()
    auth = DigestAuthenticator("callbox", clock, {"101": "pw"}.get, nonce_ttl=30)
    challenge = parse_auth(auth.challenges()[0])[1]
    request = Request(method="REGISTER", uri="sip:box")
    request.headers.add("authorization", authorization(challenge, "101", "pw", "REGISTER",
                                                       "sip:box"))
    assert auth.check(request).ok  # type: ignore[union-attr]
    replay = auth.check(request)
    assert replay is not None and not replay.ok and replay.stale
    clock.advance(31)
    late = Request(method="REGISTER", uri="sip:box")
    late.headers.add("authorization", authorization(challenge, "101", "pw", "REGISTER",
                                                    "sip:box", nc="00000002"))
    result = auth.check(late)
    assert result is not None and result.stale and not result.ok
    assert "stale=true" in auth.challenges(stale=True)[0]
    wrong = Request(method="REGISTER", uri="sip:box")
    wrong.headers.add("authorization", authorization(challenge, "101", "bad", "REGISTER",
                                                     "sip:box", nc="00000003"))
    result = auth.check(wrong)
    assert result is not None and not result.stale and not result.ok


def test_generated_passwords_are_long_and_different():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 24 and p.isalnum() for p in passwords)


async def test_expires_several_contacts_unregister_and_events():
    async with sip_channel(min_expires=60) as (channel, host):
        phone = await Phone("102", PHONES["102"]).open(channel.port)
        try:
            short = phone.request("REGISTER", headers={"expires": "10"})
            too_short = await phone.with_auth(short)
            assert too_short.status == 423 and too_short.headers.get("min-expires") == "60"
            two = phone.request("REGISTER", headers={
                "contact": f"<sip:102@127.0.0.1:{phone.port}>;expires=120", "expires": "300"})
            two.headers.add("contact", "<sip:102@127.0.0.1:5999;transport=tcp>")
            ok = await phone.with_auth(two)
            assert ok.status == 200
            contacts = sorted(ok.headers.get_all("contact"))
            assert contacts == sorted([f"<sip:102@127.0.0.1:{phone.port}>;expires=120",
                                       "<sip:102@127.0.0.1:5999;transport=tcp>;expires=300"])
            phones = channel.status()["phones"]["102"]
            assert len(phones) == 2 and {p["expires_in"] for p in phones} == {120, 300}
            one_off = phone.request("REGISTER", headers={
                "contact": "<sip:102@127.0.0.1:5999;transport=tcp>;expires=0"})
            assert (await phone.with_auth(one_off)).status == 200
            assert len(channel.status()["phones"]["102"]) == 1
            star = phone.request("REGISTER", headers={"contact": "*", "expires": "0"})
            assert (await phone.with_auth(star)).status == 200
            assert not channel.reaches("102")
            states = [e.data["state"] for e in host.events if e.kind == "phone.registration"]
            assert states == ["registered", "registered", "unregistered", "unregistered"]
            query = phone.request("REGISTER")
            query.headers.remove("contact")  # no Contact: a query of the bindings
            query = await phone.with_auth(query)
            assert query.status == 200 and query.headers.get_all("contact") == []
        finally:
            phone.close()


async def test_registration_expires_on_the_clock():
    async with sip_channel(min_expires=1) as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            ok = await phone.with_auth(phone.request("REGISTER", headers={"expires": "1"}))
            assert ok.status == 200 and channel.reaches("101")
            await wait_until(lambda: not channel.reaches("101"), 5, "expiry")
            assert host.registrations("expired")[0].data["extension"] == "101"
        finally:
            phone.close()


async def test_register_for_someone_else_is_forbidden():
    async with sip_channel() as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            other = phone.request("REGISTER", to="<sip:102@127.0.0.1>")
            assert (await phone.with_auth(other)).status == 403
            assert not channel.reaches("102")
        finally:
            phone.close()


async def test_qualify_marks_silent_phone_unreachable_and_answering_one_reachable():
    async with sip_channel(qualify_seconds=0.2, t1=0.02) as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            assert (await phone.with_auth(phone.request("REGISTER"))).status == 200
            # The phone answers nothing: OPTIONS times out after 64*T1 and it is unreachable
            await wait_until(lambda: host.registrations("unreachable"), 10, "unreachable")
            assert phone.requests("OPTIONS")
            assert channel.status()["phones"]["101"][0]["reachable"] is False

            def answer_options() -> None:
                for options in phone.requests("OPTIONS"):
                    if options.headers.get("x-answered"):
                        continue
                    options.headers.add("x-answered", "1")
                    echoed = "".join(f"{n}: {v}\r\n" for n, v in options.headers.items()
                                     if n in ("via", "from", "to", "call-id", "cseq"))
                    reply = f"SIP/2.0 200 OK\r\n{echoed}Content-Length: 0\r\n\r\n"
                    phone.send_raw(reply.encode())

            async def keep_answering() -> None:
                while True:
                    answer_options()
                    await asyncio.sleep(0.01)

            task = asyncio.get_running_loop().create_task(keep_answering())
            await wait_until(lambda: host.registrations("reachable"), 10, "reachable again")
            task.cancel()
            assert channel.status()["phones"]["101"][0]["rtt_ms"] is not None
        finally:
            phone.close()


async def test_crlf_keepalive_gets_pong_over_udp():
    async with sip_channel() as (channel, host):
        phone = await Phone().open(channel.port)
        try:
            phone.send_raw(b"\r\n\r\n")
            await wait_until(lambda: phone.raw == [b"\r\n"], 5, "pong")
        finally:
            phone.close()


async def test_retransmitted_register_gets_the_same_answer_and_registers_once():
    async with sip_channel() as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            first = phone.request("REGISTER")
            challenge = await phone.transact(first)
            again = await phone.transact(first)  # a challenge keeps no state: a fresh nonce
            assert challenge.status == again.status == 401
            nonces = {parse_auth(r.headers.get("www-authenticate") or "")[1]["nonce"]
                      for r in (challenge, again)}
            assert len(nonces) == 2
            signed = phone.request("REGISTER")
            signed.headers.add("authorization", authorization(
                parse_auth(challenge.headers.get("www-authenticate") or "")[1], "101",
                PHONES["101"], "REGISTER", signed.uri))
            ok = await phone.transact(signed)
            assert ok.status == 200
            answers = len(phone.raw)
            phone.send_raw(signed.encode())  # the 200 was "lost": the phone sends it again
            await wait_until(lambda: len(phone.raw) > answers, what="the repeated answer")
            assert phone.raw[-1] == phone.raw[answers - 1]  # byte for byte the same 200
            assert len(host.registrations()) == 1
            assert channel.status()["counters"]["bad"] == 0
        finally:
            phone.close()


def _register(cseq: int, expires: int, contact: str = "<sip:101@10.0.0.7:5060>") -> Request:
    raw = (f"REGISTER sip:box SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bK{cseq}\r\n"
           f"From: <sip:101@box>;tag=a\r\nTo: <sip:101@box>\r\nCall-ID: reg-1\r\n"
           f"CSeq: {cseq} REGISTER\r\nContact: {contact}\r\nExpires: {expires}\r\n"
           f"User-Agent: desk {cseq}\r\nContent-Length: 0\r\n\r\n")
    request = parse_message(raw.encode())
    assert isinstance(request, Request)
    return request


def test_refreshed_binding_expires_at_its_new_time_longer_or_shorter():
    clock = VirtualClock()
    events: list[tuple[str, float]] = []
    registrar = Registrar(clock, lambda ext, state, b: events.append((state, clock.monotonic())),
                          min_expires=10)
    phone = Peer("udp", "10.0.0.7", 5060)
    start = clock.monotonic()
    registrar.register(_register(1, 60), phone, "101")
    clock.advance(50)
    registrar.register(_register(2, 60), phone, "101")  # refresh: now expires at 110
    clock.advance(20)  # past the first expiry time
    assert registrar.registered("101")
    assert registrar.bindings("101")[0].user_agent == "desk 2"
    clock.advance(39)
    assert registrar.registered("101")
    clock.advance(2)
    assert not registrar.registered("101")
    assert [(s, round(t - start)) for s, t in events] == [("registered", 0), ("expired", 110)]

    registrar.register(_register(3, 600), phone, "101")
    registrar.register(_register(4, 30), phone, "101")  # shorter: the old timer is too late
    clock.advance(31)
    assert not registrar.registered("101")
    assert clock.pending() == 0  # no timer left behind
    assert len(registrar.register(_register(6, 60), phone, "101")) == 1
    with pytest.raises(RegisterError) as refused:  # RFC 3261 10.3 step 7
        registrar.register(_register(5, 60), phone, "101")
    assert refused.value.status == 500


async def test_responses_carry_received_and_rport_on_the_top_via():
    async with sip_channel() as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            cases = {  # the Via as the phone writes it -> what the answer's top Via must say
                f"SIP/2.0/UDP 127.0.0.1:{phone.port};branch=z9hG4bKlast;rport":
                    {"branch": "z9hG4bKlast", "rport": str(phone.port), "received": "127.0.0.1"},
                f"SIP/2.0/UDP 127.0.0.1:{phone.port};rport;branch=z9hG4bKfirst":
                    {"rport": str(phone.port), "branch": "z9hG4bKfirst", "received": "127.0.0.1"},
                "SIP/2.0/UDP 10.9.9.9:5062;branch=z9hG4bKnat":
                    {"branch": "z9hG4bKnat", "received": "127.0.0.1"},
                f"SIP/2.0/UDP 127.0.0.1:{phone.port};branch=z9hG4bKsame": {"branch": "z9hG4bKsame"},
            }
            for sent, expected in cases.items():
                options = phone.request("OPTIONS", headers={"via": sent})
                answer = await phone.transact(options)
                top = parse_via(answer.headers.get("via") or "")
                assert answer.status == 200 and top.params == expected, sent
                assert len(answer.headers.get_all("via")) == 1
        finally:
            phone.close()
