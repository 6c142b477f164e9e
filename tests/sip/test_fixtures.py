"""Messages captured from a real peer (baresip 1.0.0, registering and answering a call
from the box): parsed whole, byte by byte from a stream, and cut at every length; and
our digest arithmetic checked against what baresip computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sip.auth import digest_response
from drivers.sip.headers import parse_auth, parse_name_addr, parse_via
from drivers.sip.message import Request, Response, SipParseError, StreamParser, parse_message
from drivers.sip.sdp import negotiate, parse_sdp

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.sip"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_captured_message_whole_streamed_and_truncated(path):
    raw = path.read_bytes()
    whole = parse_message(raw)
    assert whole.call_id and parse_via(whole.headers.get("via")).branch.startswith("z9hG4bK")
    parser = StreamParser()
    streamed = [m for i in range(len(raw)) for m in parser.feed(raw[i:i + 1])]
    assert len(streamed) == 1 and streamed[0].headers.items() == whole.headers.items()
    assert streamed[0].body == whole.body
    for cut in range(len(raw)):  # a datagram cut short anywhere: an error, never a crash
        try:
            partial = parse_message(raw[:cut])
        except SipParseError:
            continue
        assert partial.body == whole.body[: len(partial.body)]


def test_baresip_digest_matches_our_arithmetic():
    register = parse_message((FIXTURES[0].parent / "baresip-register-auth.sip").read_bytes())
    assert isinstance(register, Request)
    params = parse_auth(register.headers.get("authorization"))[1]
    expected = digest_response("MD5", "103", "callbox", "s3cret-103", "REGISTER",
                               params["uri"], params["nonce"], params["nc"], params["cnonce"],
                               params["qop"])
    assert expected == params["response"]
    contact = parse_name_addr(register.headers.get("contact"))
    assert contact.params["expires"] == "600" and contact.uri.port == 35445


def test_baresip_answer_sdp():
    answer = parse_message((FIXTURES[0].parent / "baresip-response-200.sip").read_bytes())
    assert isinstance(answer, Response) and answer.reason == "Answering"
    agreed = negotiate(parse_sdp(answer.body))
    assert (agreed.codec, agreed.dtmf_pt, agreed.remote.ptime) == ("PCMU", 101, 20)
