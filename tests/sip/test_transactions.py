"""Transaction timers (RFC 3261 17) on the virtual clock: retransmission schedules,
timeouts, absorbed retransmissions, ACK handling; plus SDP offer/answer and the jitter
buffer, which are clock-free."""

from __future__ import annotations

import pytest

from appliance.clock import VirtualClock
from drivers.sip.message import Request, parse_message
from drivers.sip.sdp import SdpError, build_sdp, negotiate, parse_sdp
from drivers.sip.stack import make_response
from drivers.sip.transaction import Peer, TransactionLayer

UDP = Peer("udp", "127.0.0.1", 5062)
TCP = Peer("tcp", "127.0.0.1", 5062)


def request(method: str = "OPTIONS", branch: str = "z9hG4bK1") -> Request:
    req = Request(method=method, uri="sip:102@127.0.0.1")
    for name, value in (("via", f"SIP/2.0/UDP 127.0.0.1:5060;branch={branch}"),
                        ("from", "<sip:box@h>;tag=1"), ("to", "<sip:102@h>"),
                        ("call-id", "tx-test"), ("cseq", f"1 {method}")):
        req.headers.add(name, value)
    return req


class Wire:
    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.sent: list[tuple[float, bytes]] = []
        self.layer = TransactionLayer(self.clock, lambda data, peer: self.sent.append(
            (self.clock.monotonic(), data)))

    def times(self) -> list[float]:
        return [round(t, 3) for t, _ in self.sent]


def test_non_invite_client_timer_e_doubles_to_t2_and_timer_f_times_out():
    wire = Wire()
    timeouts = []
    wire.layer.send_request(request(), UDP, lambda tx, r: None, timeouts.append)
    wire.clock.advance(40)
    assert wire.times() == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert len(timeouts) == 1 and wire.layer.clients == {}


def test_non_invite_client_over_tcp_sends_once():
    wire = Wire()
    timeouts = []
    wire.layer.send_request(request(), TCP, lambda tx, r: None, timeouts.append)
    wire.clock.advance(40)
    assert wire.times() == [0] and len(timeouts) == 1


def test_invite_client_timer_a_stops_on_provisional_and_acks_failure():
    wire = Wire()
    answers: list[int] = []
    invite = request("INVITE")
    tx = wire.layer.send_request(invite, UDP, lambda t, r: answers.append(r.status))
    wire.clock.advance(1.6)
    assert wire.times() == [0, 0.5, 1.5]  # Timer A: T1, 2*T1 ...
    tx.receive(make_response(invite, 180, to_tag="x"))
    wire.clock.advance(10)
    assert len(wire.sent) == 3  # no INVITE retransmission after a provisional
    busy = make_response(invite, 486, to_tag="x")
    tx.receive(busy)
    tx.receive(busy)  # retransmitted final: ACK again, report once
    acks = [parse_message(d) for _, d in wire.sent[3:]]
    assert [a.method for a in acks] == ["ACK", "ACK"]  # type: ignore[union-attr]
    assert "branch=z9hG4bK1" in acks[0].headers.get("via")  # same branch as the INVITE
    assert answers == [180, 486]
    wire.clock.advance(33)  # Timer D
    assert wire.layer.clients == {}


def test_invite_server_retransmits_final_until_ack_then_absorbs():
    wire = Wire()
    invite = request("INVITE")
    tx = wire.layer.new_server(invite, UDP)
    tx.respond(make_response(invite, 100))
    tx.respond(make_response(invite, 486, to_tag="b"))
    wire.clock.advance(5)
    assert wire.times() == [0, 0, 0.5, 1.5, 3.5]  # Timer G doubling
    assert wire.layer.match_request(invite) is tx
    ack = request("ACK")
    ack.headers.set("cseq", "1 ACK")
    tx.retransmission(ack)
    wire.clock.advance(10)
    assert len(wire.sent) == 5  # confirmed: no more retransmissions
    assert wire.layer.servers == {}  # Timer I ran out


def test_invite_server_2xx_retransmitted_and_timeout_reported_without_ack():
    wire = Wire()
    invite = request("INVITE")
    tx = wire.layer.new_server(invite, UDP)
    lost = []
    tx.on_ack_timeout = lambda: lost.append(True)
    tx.respond(make_response(invite, 200, to_tag="b"))
    wire.clock.advance(40)
    assert wire.times()[:6] == [0, 0.5, 1.5, 3.5, 7.5, 11.5]  # T1 doubling, capped at T2
    assert lost == [True] and wire.layer.servers == {}


def test_non_invite_server_repeats_last_response_then_timer_j():
    wire = Wire()
    req = request()
    tx = wire.layer.new_server(req, UDP)
    tx.respond(make_response(req, 200))
    tx.retransmission(req)
    tx.respond(make_response(req, 500))  # a late second answer is ignored
    assert len(wire.sent) == 2 and wire.sent[0][1] == wire.sent[1][1]
    wire.clock.advance(32.1)
    assert wire.layer.servers == {}


def test_sdp_offer_answer_and_hold():
    offer = parse_sdp(build_sdp("10.0.0.5", 4000, 1, 1, [(8, "PCMA"), (0, "PCMU")], 96))
    agreed = negotiate(offer)
    assert (agreed.codec, agreed.pt, agreed.dtmf_pt) == ("PCMA", 8, 96)
    hold = parse_sdp(b"v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n")
    assert hold.on_hold and negotiate(hold).codec == "PCMU"  # static type without rtpmap
    old_hold = parse_sdp(b"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n")
    assert old_hold.on_hold
    with pytest.raises(SdpError):
        negotiate(parse_sdp(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 18\r\n"))
    with pytest.raises(SdpError):
        parse_sdp(b"v=0\r\nm=video 4000 RTP/AVP 96\r\n")


def test_ack_with_another_cseq_does_not_stop_2xx_retransmission():
    wire = Wire()
    invite = request("INVITE")
    invite.headers.set("cseq", "2 INVITE")
    tx = wire.layer.new_server(invite, UDP)
    tx.respond(make_response(invite, 200, to_tag="b"))
    stray = request("ACK")
    stray.headers.set("cseq", "1 ACK")  # the ACK of an earlier 401, re-sent with our branch
    tx.retransmission(stray)
    wire.clock.advance(2)
    assert wire.times() == [0, 0.5, 1.5]  # still retransmitting until the real ACK
