"""The sans-I/O parser: whole, byte by byte, with trailing bytes, and the forms real
phones send (compact headers, folding, any case, several Vias, rport)."""

from __future__ import annotations

import pytest

from drivers.sip.headers import parse_auth, parse_name_addr, parse_uri, parse_via
from drivers.sip.message import (
    KeepAlive,
    Request,
    Response,
    SipParseError,
    StreamParser,
    parse_message,
)

INVITE = (
    b"INVITE sip:102@box.local SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKaaa;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKbbb, "
    b"SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKccc\r\n"
    b"max-forwards: 70\r\n"
    b'f: "Desk, 101" <sip:101@box.local>;tag=ab12\r\n'
    b"t: <sip:102@box.local>\r\n"
    b"i: call-1@10.0.0.5\r\n"
    b"CSEQ: 7 INVITE\r\n"
    b"m: <sip:101@10.0.0.5:5060;transport=udp>;expires=60\r\n"
    b"Subject: a long\r\n  folded\r\n\tsubject\r\n"
    b"c: application/sdp\r\n"
    b"l: 5\r\n"
    b"\r\n"
    b"v=0\r\n"
)


def test_request_with_compact_folded_and_mixed_case_headers():
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE" and msg.uri == "sip:102@box.local"
    assert msg.call_id == "call-1@10.0.0.5"
    assert msg.cseq == (7, "INVITE")
    assert msg.headers.get("subject") == "a long folded subject"
    assert msg.headers.get("content-type") == "application/sdp"
    assert msg.body == b"v=0\r\n"
    vias = [parse_via(v) for v in msg.headers.get_all("via")]
    assert [v.branch for v in vias] == ["z9hG4bKaaa", "z9hG4bKbbb", "z9hG4bKccc"]
    assert vias[0].params["rport"] == "" and vias[0].port == 5060
    assert vias[2].transport == "tcp" and vias[2].host == "2001:db8::1" and vias[2].port == 5070
    sender = parse_name_addr(msg.headers.get("from"))
    assert sender.display == "Desk, 101" and sender.tag == "ab12" and sender.uri.user == "101"
    contact = parse_name_addr(msg.headers.get("contact"))
    assert contact.params["expires"] == "60" and contact.uri.transport == "udp"


def test_round_trip_keeps_meaning():
    msg = parse_message(INVITE)
    again = parse_message(msg.encode())
    assert again.headers.items() == msg.headers.items()
    assert again.body == msg.body


def test_response_and_bare_lf():
    raw = (b"SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@h>;tag=1\n"
           b"To: <sip:b@h>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\nContent-Length: 0\n\n")
    msg = parse_message(raw)
    assert isinstance(msg, Response) and msg.status == 180 and msg.reason == "Ringing"


def test_trailing_bytes_after_content_length_are_not_body():
    msg = parse_message(INVITE + b"garbage after the body")
    assert msg.body == b"v=0\r\n"


def test_stream_whole_byte_by_byte_and_with_trailing_bytes():
    two = INVITE + b"\r\n\r\n" + INVITE
    whole = StreamParser().feed(two)
    assert [type(m) for m in whole] == [Request, KeepAlive, Request]
    parser = StreamParser()
    trickle = []
    for i in range(len(two)):
        trickle += parser.feed(two[i : i + 1])
    assert [type(m) for m in trickle] == [Request, KeepAlive, Request]
    assert [m.body for m in trickle if isinstance(m, Request)] == [b"v=0\r\n", b"v=0\r\n"]
    parser = StreamParser()
    first = parser.feed(INVITE + INVITE[:40])
    assert len(first) == 1 and first[0].body == b"v=0\r\n"
    assert parser.feed(INVITE[40:])[0].cseq == (7, "INVITE")


def test_stream_garbage_loses_framing_and_says_so():
    out = StreamParser().feed(b"\x16\x03\x01 this is TLS, not SIP\r\n\r\n")
    assert len(out) == 1 and isinstance(out[0], SipParseError) and out[0].status is None


@pytest.mark.parametrize("raw,reason", [
    (INVITE.replace(b"l: 5", b"l: 50"), "body shorter"),
    (INVITE.replace(b"l: 5", b"l: five"), "Content-Length"),
    (INVITE.replace(b"i: call-1@10.0.0.5\r\n", b""), "Call-ID"),
    (INVITE.replace(b"CSEQ: 7 INVITE", b"CSeq: 7 BYE"), "CSeq method"),
    (INVITE.replace(b"CSEQ: 7 INVITE", b"CSeq: x INVITE"), "CSeq"),
    (INVITE.replace(b"max-forwards: 70", b"max forwards 70"), "malformed header"),
    (INVITE.replace(b"Subject: a long", b"Subject: \xff\xfe long"), "UTF-8"),
])
def test_bad_requests_hint_400_and_keep_what_was_read(raw, reason):
    with pytest.raises(SipParseError) as caught:
        parse_message(raw)
    assert caught.value.status == 400
    assert reason in caught.value.reason
    assert caught.value.partial is not None and caught.value.partial.method == "INVITE"


@pytest.mark.parametrize("raw", [
    b"", b"\x00\x01\x02", b"HELLO\r\n\r\n", b"INVITE sip:x SIP/3.0\r\n\r\n",
    b"SIP/2.0 abc Bad\r\n\r\n", b"INVITE sip:a@b SIP/2.0\r\nVia: x",
    b"\xff\xfe INVITE sip:a@b SIP/2.0\r\n\r\n",
])
def test_garbage_is_dropped(raw):
    with pytest.raises(SipParseError) as caught:
        parse_message(raw)
    assert caught.value.status is None or caught.value.partial is None


def test_huge_header_is_refused():
    raw = INVITE.replace(b"Subject: a long", b"Subject: " + b"x" * 9000)
    with pytest.raises(SipParseError) as caught:
        parse_message(raw)
    assert caught.value.status == 400 and "too long" in caught.value.reason


def test_uris_and_auth_params():
    uri = parse_uri("sip:%31%30%31:pw@[::1]:5062;transport=TCP;lr?Replaces=a%3Bb")
    assert (uri.user, uri.host, uri.port, uri.transport) == ("101", "::1", 5062, "tcp")
    assert uri.headers == "Replaces=a%3Bb"
    assert str(parse_uri("sip:102@h:5060;lr")) == "sip:102@h:5060;lr"
    with pytest.raises(SipParseError) as caught:
        parse_uri("mailto:x@y")
    assert caught.value.status == 416
    scheme, params = parse_auth('Digest username="10\\"1", realm="r", nc=00000001, qop=auth')
    assert scheme == "digest" and params["username"] == '10"1' and params["nc"] == "00000001"
