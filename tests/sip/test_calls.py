"""Call features with a scripted python phone: forking, the CANCEL/200 race, busy,
transfers (REFER blind and attended), DTMF (RFC 4733 both ways, INFO), BLF."""

from __future__ import annotations

import asyncio
import socket
import struct
from xml.etree import ElementTree

from drivers.base import CallerId, Cause, LegState
from drivers.sip.headers import parse_auth, parse_name_addr
from drivers.sip.message import Request, Response, StreamParser
from drivers.sip.sdp import build_sdp, parse_sdp
from drivers.sip.stack import make_response
from tests.sip.conftest import (
    PHONES,
    Phone,
    Recorder,
    authorization,
    sip_channel,
    wait_until,
)


def phone_sdp(port: int, direction: str = "sendrecv") -> bytes:
    return build_sdp("127.0.0.1", port, 1, 1, [(0, "PCMU")], 101, direction)


def answer(phone: Phone, invite: Request, status: int, tag: str = "ph1", sdp: bytes = b"") -> None:
    response = make_response(invite, status, to_tag=tag)
    response.headers.add("contact", f"<sip:{phone.user}@127.0.0.1:{phone.port}>")
    if sdp:
        response.headers.add("content-type", "application/sdp")
        response.body = sdp
    phone.send_raw(response.encode())


async def registered(channel, user: str, contacts: int = 1) -> list[Phone]:
    phones = []
    for _ in range(contacts):
        phone = await Phone(user, PHONES[user]).open(channel.port)
        assert (await phone.with_auth(phone.request("REGISTER"))).status == 200
        phones.append(phone)
    return phones


async def test_fork_to_two_contacts_first_answer_wins_other_cancelled():
    async with sip_channel() as (channel, host):
        desk, softphone = await registered(channel, "102", contacts=2)
        recorder = Recorder()
        leg = channel.originate("102", CallerId("5550001", "Ann"), recorder)
        await wait_until(lambda: desk.requests("INVITE") and softphone.requests("INVITE"))
        invite = desk.requests("INVITE")[0]
        pai = parse_name_addr(invite.headers.get("p-asserted-identity"))
        assert (pai.uri.user, pai.display) == ("5550001", "Ann")
        answer(softphone, softphone.requests("INVITE")[0], 180, "soft")
        answer(desk, invite, 180, "desk")
        await wait_until(lambda: leg.state is LegState.RINGING)
        answer(desk, invite, 200, "desk", phone_sdp(40000))
        await wait_until(lambda: leg.state is LegState.ANSWERED)
        await wait_until(lambda: desk.requests("ACK") and softphone.requests("CANCEL"))
        await leg.hangup()
        await wait_until(lambda: desk.requests("BYE"))
        assert softphone.requests("BYE") == []
        for phone in (desk, softphone):
            phone.close()


async def test_cancel_and_200_crossing_gets_ack_then_bye():
    async with sip_channel() as (channel, host):
        (phone,) = await registered(channel, "102")
        recorder = Recorder()
        leg = channel.originate("102", CallerId("5550001"), recorder)
        await wait_until(lambda: phone.requests("INVITE"))
        invite = phone.requests("INVITE")[0]
        answer(phone, invite, 180)
        await wait_until(lambda: leg.state is LegState.RINGING)
        await leg.hangup(Cause.NO_ANSWER)
        await wait_until(lambda: phone.requests("CANCEL"))
        # The phone answered just before the CANCEL arrived: the 200 crosses it
        answer(phone, invite, 200, sdp=phone_sdp(40002))
        await wait_until(lambda: phone.requests("ACK") and phone.requests("BYE"))
        assert recorder.events == [("ringing",), ("hangup", Cause.NO_ANSWER, False)]
        phone.close()


async def test_busy_phone_maps_to_user_busy():
    async with sip_channel() as (channel, host):
        (phone,) = await registered(channel, "102")
        recorder = Recorder()
        leg = channel.originate("102", CallerId("5550001"), recorder)
        await wait_until(lambda: phone.requests("INVITE"))
        answer(phone, phone.requests("INVITE")[0], 486)
        await wait_until(lambda: leg.ended)
        assert recorder.events == [("hangup", Cause.USER_BUSY, True)]
        await wait_until(lambda: phone.requests("ACK"))  # the transaction ACKs the 486
        phone.close()


async def _call_in(channel, host, phone: Phone, dialled: str, rtp_port: int = 40010):
    """The phone dials through the box; the test host answers. Returns (leg, 200, invite)."""
    invite = phone.request("INVITE", uri=f"sip:{dialled}@127.0.0.1:{channel.port}",
                           to=f"<sip:{dialled}@127.0.0.1>", call_id=f"call-{dialled}",
                           headers={"content-type": "application/sdp"},
                           body=phone_sdp(rtp_port))
    ok = await phone.with_auth(invite)
    assert ok.status == 200, ok.status
    leg = host.legs[-1]
    ack = phone.request("ACK", uri=str(parse_name_addr(ok.headers.get("contact")).uri),
                        to=ok.headers.get("to"), call_id=ok.call_id)
    ack.headers.set("cseq", f"{ok.cseq[0]} ACK")
    phone.send_raw(ack.encode())
    return leg, ok


def in_dialog(phone: Phone, ok: Response, method: str, **headers: str) -> Request:
    req = phone.request(method, uri=str(parse_name_addr(ok.headers.get("contact")).uri),
                        to=ok.headers.get("to"), call_id=ok.call_id,
                        headers={k.replace("_", "-"): v for k, v in headers.items()})
    return req


async def test_blind_and_attended_transfer_and_sipfrag_notify():
    async with sip_channel() as (channel, host):
        (phone,) = await registered(channel, "101")
        leg, ok = await _call_in(channel, host, phone, "5551234")
        refer = in_dialog(phone, ok, "REFER", refer_to="<sip:103@127.0.0.1>")
        assert (await phone.transact(refer)).status == 202
        assert leg.listener.events[-1] == ("transfer", "103", None)
        await wait_until(lambda: phone.requests("NOTIFY"))
        assert phone.requests("NOTIFY")[0].body.startswith(b"SIP/2.0 100")
        leg.transfer_result(200)
        await wait_until(lambda: len(phone.requests("NOTIFY")) == 2)
        final = phone.requests("NOTIFY")[1]
        assert final.body.startswith(b"SIP/2.0 200") and "terminated" in final.headers.get(
            "subscription-state")
        # Attended: a consultation call, then REFER with Replaces naming it
        consult, ok2 = await _call_in(channel, host, phone, "104", rtp_port=40012)
        replaces = (f"{ok2.call_id};to-tag={parse_name_addr(ok2.headers.get('to')).tag};"
                    f"from-tag={phone.tag}")
        escaped = replaces.replace(";", "%3B").replace("=", "%3D")
        refer = in_dialog(phone, ok, "REFER", refer_to=f"<sip:104@127.0.0.1?Replaces={escaped}>")
        assert (await phone.transact(refer)).status == 202
        assert leg.listener.events[-1] == ("transfer", "104", replaces)
        assert channel.find_leg(replaces) is consult
        phone.close()


async def test_dtmf_rfc4733_in_and_out_and_info():
    async with sip_channel() as (channel, host):
        (phone,) = await registered(channel, "101")
        media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        media.bind(("127.0.0.1", 0))
        media.setblocking(False)
        leg, ok = await _call_in(channel, host, phone, "5551234", media.getsockname()[1])
        box_rtp = parse_sdp(ok.body)
        assert box_rtp.pt_of("TELEPHONE-EVENT") == 101
        for ts, digit in ((1000, 5), (2000, 11)):  # '5' then '#', each with retransmits
            for seq, (end, duration) in enumerate([(0, 160), (0, 320), (1, 800), (1, 800)]):
                packet = struct.pack("!BBHII", 0x80, 101, ts + seq, ts, 0x1234)
                packet += struct.pack("!BBH", digit, (0x80 if end else 0) | 10, duration)
                media.sendto(packet, ("127.0.0.1", box_rtp.port))
        await wait_until(lambda: leg.listener.digits == "5#")
        info = in_dialog(phone, ok, "INFO", content_type="application/dtmf-relay")
        info.body = b"Signal=7\r\nDuration=160\r\n"
        assert (await phone.transact(info)).status == 200
        assert leg.listener.digits == "5#7"
        await leg.send_dtmf("19")
        events: list[tuple[int, int, bool]] = []

        def collect() -> bool:
            while True:
                try:
                    data = media.recv(2048)
                except BlockingIOError:
                    break
                if data[1] & 0x7F == 101:
                    event, flags, _ = struct.unpack("!BBH", data[12:16])
                    ts = struct.unpack("!I", data[4:8])[0]
                    events.append((ts, event, bool(flags & 0x80)))
            return sum(1 for e in events if e[2]) >= 6

        await wait_until(collect, 5, "DTMF events from the box")
        digits = [e[1] for e in events if e[2]]
        assert digits == [1, 1, 1, 9, 9, 9]  # three end packets per digit (RFC 4733 2.5.1.4)
        assert len({e[0] for e in events}) == 2  # one timestamp per event
        media.close()
        phone.close()


async def test_blf_subscription_follows_calls_and_api():
    async with sip_channel() as (channel, host):
        (watcher,) = await registered(channel, "101")
        (target,) = await registered(channel, "102")
        subscribe = watcher.request("SUBSCRIBE", uri=f"sip:102@127.0.0.1:{channel.port}",
                                    to="<sip:102@127.0.0.1>", call_id="blf-1",
                                    headers={"event": "dialog", "expires": "600",
                                             "accept": "application/dialog-info+xml"})
        ok = await watcher.with_auth(subscribe)
        assert ok.status == 200 and ok.headers.get("expires") == "600"

        def states() -> list[str]:
            out = []
            for notify in watcher.requests("NOTIFY"):
                body = notify.body.decode()
                out.append(body.split("<state>")[1].split("</state>")[0])
            return out

        await wait_until(lambda: states() == ["terminated"], what="initial NOTIFY")
        # answer the NOTIFYs so the box keeps the subscription
        for notify in watcher.requests("NOTIFY"):
            watcher.send_raw(make_response(notify, 200).encode())
        leg = channel.originate("102", CallerId("5550001"), Recorder())
        await wait_until(lambda: states()[-1:] == ["early"] and target.requests("INVITE"),
                         what="ringing lamp")
        await wait_until(lambda: 'call-id="' in watcher.requests("NOTIFY")[-1].body.decode())
        ns = {"d": "urn:ietf:params:xml:ns:dialog-info"}
        lamp = ElementTree.fromstring(watcher.requests("NOTIFY")[-1].body).find("d:dialog", ns)
        ringing_invite = target.requests("INVITE")[0]
        assert lamp.get("call-id") == ringing_invite.call_id
        assert lamp.get("direction") == "recipient"
        assert lamp.findtext("d:remote/d:identity", namespaces=ns).startswith("sip:5550001@")
        # what a BLF key's pickup would send back in Replaces names the ringing leg
        pickup = f"{lamp.get('call-id')};to-tag={lamp.get('remote-tag')};from-tag=x"
        assert channel.find_leg(pickup) is leg
        await leg.hangup()
        await wait_until(lambda: states()[-1:] == ["terminated"], what="idle lamp")
        channel.set_extension_state("102", "busy")
        await wait_until(lambda: states()[-1:] == ["confirmed"], what="busy lamp via API")
        versions = [int(ElementTree.fromstring(n.body).attrib["version"])
                    for n in watcher.requests("NOTIFY")]
        assert versions == sorted(versions) and len(set(versions)) == len(versions)
        bad_event = watcher.request("SUBSCRIBE", uri=f"sip:102@127.0.0.1:{channel.port}",
                                    to="<sip:102@127.0.0.1>", call_id="blf-2",
                                    headers={"event": "presence"})
        assert (await watcher.with_auth(bad_event)).status == 489
        for phone in (watcher, target):
            phone.close()


async def test_inbound_call_refused_busy_and_cancelled_by_the_phone():
    async with sip_channel(answer=False) as (channel, host):
        (phone,) = await registered(channel, "101")
        invite = phone.request("INVITE", uri=f"sip:200@127.0.0.1:{channel.port}",
                               to="<sip:200@127.0.0.1>", call_id="busy-1",
                               headers={"content-type": "application/sdp"},
                               body=phone_sdp(40020))
        task = asyncio.get_running_loop().create_task(phone.with_auth(invite))
        await wait_until(lambda: host.legs)
        await host.legs[0].hangup(Cause.USER_BUSY)
        assert (await task).status == 486
        assert host.legs[0].listener.events[-1] == ("hangup", Cause.USER_BUSY, False)
        phone.close()


async def test_phone_registered_over_tcp_is_rung_over_its_connection():
    async with sip_channel() as (channel, host):
        reader, writer = await asyncio.open_connection("127.0.0.1", channel.port)
        local_port = writer.get_extra_info("sockname")[1]
        parser = StreamParser()
        inbox: list = []

        async def next_message():
            while not inbox:
                inbox.extend(parser.feed(await asyncio.wait_for(reader.read(4096), 5)))
            return inbox.pop(0)

        phone = Phone("102", PHONES["102"])
        phone.port = local_port
        phone.server = ("127.0.0.1", channel.port)
        register = phone.request("REGISTER", headers={
            "contact": "<sip:102@10.9.9.9:5060;transport=tcp>"})  # NATed address
        register.headers.replace_first("via", register.headers.get("via").replace("UDP", "TCP"))
        writer.write(register.encode())
        challenge = await next_message()
        assert challenge.status == 401
        params = parse_auth(challenge.headers.get("www-authenticate"))[1]
        register.headers.set("cseq", "2 REGISTER")
        register.headers.add("authorization", authorization(
            params, "102", PHONES["102"], "REGISTER", register.uri))
        writer.write(register.encode())
        assert (await next_message()).status == 200
        assert channel.status()["phones"]["102"][0]["target"].startswith("tcp:127.0.0.1:")
        leg = channel.originate("102", CallerId("5550001"), Recorder())
        invite = await next_message()
        assert invite.method == "INVITE" and "SIP/2.0/TCP" in invite.headers.get("via")
        writer.write(make_response(invite, 486, to_tag="t").encode())
        await wait_until(lambda: leg.ended)
        assert leg.cause is Cause.USER_BUSY
        writer.close()


async def test_early_media_183_and_delayed_offer_call_in():
    async with sip_channel() as (channel, host):
        (phone,) = await registered(channel, "102")
        recorder = Recorder()
        leg = channel.originate("102", CallerId("5550001"), recorder)
        await wait_until(lambda: phone.requests("INVITE"))
        answer(phone, phone.requests("INVITE")[0], 183, sdp=phone_sdp(40030))
        await wait_until(lambda: leg.state is LegState.EARLY)
        assert recorder.kinds() == ["early"]
        await leg.hangup()
        # A phone that sends INVITE without SDP gets our offer in the 200 (RFC 3264 delayed)
        (caller,) = await registered(channel, "101")
        invite = caller.request("INVITE", uri=f"sip:300@127.0.0.1:{channel.port}",
                                to="<sip:300@127.0.0.1>", call_id="late-offer")
        ok = await caller.with_auth(invite)
        assert ok.status == 200 and parse_sdp(ok.body).port > 0
        inbound = host.legs[-1]
        ack = caller.request("ACK", uri=str(parse_name_addr(ok.headers.get("contact")).uri),
                             to=ok.headers.get("to"), call_id=ok.call_id,
                             headers={"content-type": "application/sdp"}, body=phone_sdp(40032))
        ack.headers.set("cseq", f"{ok.cseq[0]} ACK")
        caller.send_raw(ack.encode())
        await wait_until(lambda: inbound.rtp.remote == ("127.0.0.1", 40032), what="answer in ACK")
        for p in (phone, caller):
            p.close()


async def test_symmetric_rtp_latches_on_the_first_packet():
    """The phone's SDP names one port, its packets come from another (NAT): audio from
    the box follows the packets; a third source is ignored once latched."""
    async with sip_channel() as (channel, host):
        (phone,) = await registered(channel, "101")
        real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (real, stray):
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
        leg, ok = await _call_in(channel, host, phone, "5551234", rtp_port=40040)
        box = ("127.0.0.1", parse_sdp(ok.body).port)
        silence_ulaw = b"\xff" * 160
        real.sendto(struct.pack("!BBHII", 0x80, 0, 1, 160, 7) + silence_ulaw, box)
        await wait_until(lambda: leg.rtp.latched)
        stray.sendto(struct.pack("!BBHII", 0x80, 0, 1, 160, 9) + silence_ulaw, box)
        await wait_until(lambda: leg.rtp.stats["ignored"] == 1)
        leg.send_frame(bytes(320))

        def got() -> bytes | None:
            try:
                return real.recv(2048)
            except BlockingIOError:
                return None

        packet = await wait_until(got, 5, "RTP at the latched address")
        assert packet[1] & 0x7F == 0 and len(packet) == 12 + 160
        assert leg.rtp.remote == real.getsockname()
        for s in (real, stray):
            s.close()
        phone.close()


async def test_invite_with_replaces_names_the_dialog_it_takes_over():
    async with sip_channel(answer=False) as (channel, host):
        (ringing_phone,) = await registered(channel, "102")
        (picker,) = await registered(channel, "101")
        ringing = channel.originate("102", CallerId("5550001"), Recorder())
        await wait_until(lambda: ringing_phone.requests("INVITE"))
        invite = ringing_phone.requests("INVITE")[0]
        answer(ringing_phone, invite, 180, "r102")
        await wait_until(lambda: ringing.state is LegState.RINGING)
        # the BLF pickup key: INVITE with Replaces naming the box's dialog to 102
        box_tag = parse_name_addr(invite.headers.get("from")).tag
        replaces = f"{invite.call_id};to-tag={box_tag};from-tag=r102"
        pickup = picker.request("INVITE", uri=f"sip:102@127.0.0.1:{channel.port}",
                                to="<sip:102@127.0.0.1>", call_id="pickup-1",
                                headers={"replaces": replaces,
                                         "content-type": "application/sdp"},
                                body=phone_sdp(40050))
        task = asyncio.get_running_loop().create_task(picker.with_auth(pickup))
        await wait_until(lambda: host.legs)
        assert host.legs[0].replaces == replaces
        assert channel.find_leg(replaces) is ringing
        await host.legs[0].hangup(Cause.CALL_REJECTED)
        assert (await task).status == 603
        await ringing.hangup()
        for phone in (ringing_phone, picker):
            phone.close()


async def test_a_failing_core_gets_the_phone_a_503_not_silence():
    async with sip_channel() as (channel, host):
        def broken(leg) -> None:
            raise RuntimeError("core bug")

        host.incoming = broken  # type: ignore[method-assign]
        (phone,) = await registered(channel, "101")
        invite = phone.request("INVITE", uri=f"sip:200@127.0.0.1:{channel.port}",
                               to="<sip:200@127.0.0.1>", call_id="broken-core",
                               headers={"content-type": "application/sdp"},
                               body=phone_sdp(40060))
        assert (await phone.with_auth(invite)).status == 503
        assert channel.legs == set()
        phone.close()


async def test_update_holds_and_unsubscribe_ends_blf():
    async with sip_channel() as (channel, host):
        (phone,) = await registered(channel, "101")
        leg, ok = await _call_in(channel, host, phone, "5551234", rtp_port=40070)
        update = in_dialog(phone, ok, "UPDATE", content_type="application/sdp")
        update.body = phone_sdp(40070, "inactive")
        answer_ = await phone.transact(update)
        assert answer_.status == 200 and parse_sdp(answer_.body).direction == "inactive"
        assert leg.listener.events[-1] == ("hold", True)
        assert leg.rtp.send_enabled is False
        subscribe = phone.request("SUBSCRIBE", uri=f"sip:103@127.0.0.1:{channel.port}",
                                  to="<sip:103@127.0.0.1>", call_id="blf-x",
                                  headers={"event": "dialog", "expires": "120"})
        ok2 = await phone.with_auth(subscribe)
        assert ok2.status == 200 and len(channel.blf.subscriptions) == 1
        unsubscribe = phone.request("SUBSCRIBE", uri=f"sip:103@127.0.0.1:{channel.port}",
                                    to=ok2.headers.get("to"), call_id="blf-x",
                                    headers={"event": "dialog", "expires": "0"})
        assert (await phone.with_auth(unsubscribe)).status == 200
        assert channel.blf.subscriptions == {}
        await wait_until(lambda: any("terminated" in (n.headers.get("subscription-state") or "")
                                     for n in phone.requests("NOTIFY")))
        phone.close()
