"""The REGISTER path's quick parsers read exactly what the general ones read.

The header block and Authorization parameters have a quick path for the shapes phones
send and a general path for everything else; hypothesis builds blocks and parameter
lists near the edge between the two and holds the results equal.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.sip import message
from drivers.sip.headers import _AUTH_PARAM, parse_auth
from drivers.sip.message import Request, SipParseError

NAMES = ["Via", "v", "From", "f", "To", "Call-ID", "i", "CSeq", "Contact", "m", "Expires",
         "User-Agent", "X-Odd", "Via ", "Bad Name", "", " Via", "Content-Length"]
VALUES = ["SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa", "<sip:101@h>;tag=1", "1 REGISTER",
          "a, b", '"x, y" <sip:a@h>, <sip:b@h>', "", "  padded  ", "3600", "\x0bvt\x0c",
          "tab\there", "colon: inside", "\u00a0nbsp\u00a0"]


def _line() -> st.SearchStrategy[str]:
    header = st.builds(lambda n, v, sep: f"{n}{sep}{v}", st.sampled_from(NAMES),
                       st.sampled_from(VALUES), st.sampled_from([":", ": ", " :", ":\t", ""]))
    folded = st.sampled_from([" folded", "\tfolded", ""])
    return st.one_of(header, header, header, folded)


def _slow(block: str) -> tuple[list, str | None]:
    request = Request(method="REGISTER", uri="sip:h")
    try:
        message._parse_headers(block.replace("\r\n", "\n").split("\n"), request)
    except SipParseError as error:
        return [], error.reason
    return request.headers.items(), None


@settings(max_examples=400, deadline=None)
@given(st.lists(_line(), min_size=1, max_size=12), st.sampled_from(["\r\n", "\n"]))
def test_quick_header_block_reads_as_the_line_by_line_parser(lines, newline):
    block = newline.join(lines)
    request = Request(method="REGISTER", uri="sip:h")
    for _ in range(2):  # the second time the line cache answers
        request.headers = message.Headers()
        if message._fast_headers(block, request):
            items, error = _slow(block)
            assert error is None
            assert request.headers.items() == items
            for name, _ in items:
                assert request.headers.get_all(name) == [v for n, v in items if n == name]


AUTH_PIECES = ["username", "Realm", "nc", "x-1", "=", '"', ",", " ", "\t", "a", "B", "\x0b",
               "é", "-", "_", ";", '"101"', "auth", "00000001"]


def _general(rest: str) -> dict[str, str]:
    return {name.lower(): quoted.replace('\\"', '"') if quoted else token
            for name, quoted, token in _AUTH_PARAM.findall(rest)}


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(AUTH_PIECES), max_size=16))
def test_quick_digest_parameters_read_as_the_general_pattern(pieces):
    rest = "".join(pieces)
    try:
        scheme, params = parse_auth(f"Digest {rest}")
    except SipParseError:
        assert rest.strip() and not _general(rest)
        return
    assert scheme == "digest" and params == _general(rest)


def test_sipp_and_phone_authorization_headers_read_alike():
    sent = ('Digest username="101",realm="callbox",cnonce="6b8b4567",nc=00000001,qop=auth,'
            'uri="sip:127.0.0.1:5060",nonce="6543a.1.0123abcd",response="0a1b",algorithm=MD5')
    scheme, params = parse_auth(sent)
    assert scheme == "digest" and params == _general(sent.partition(" ")[2])
    assert params["uri"] == "sip:127.0.0.1:5060" and params["qop"] == "auth"
    assert parse_auth("Digest USERNAME=a, username=b")[1] == {"username": "b"}


def test_authorization_with_escapes_and_commas_in_quotes_still_reads():
    scheme, params = parse_auth('Digest username="a\\"b", realm="x,y", uri="sip:h", nc=01')
    assert scheme == "digest"
    assert params == {"username": 'a"b', "realm": "x,y", "uri": "sip:h", "nc": "01"}


def test_garbage_authorization_is_still_refused():
    with pytest.raises(SipParseError):
        parse_auth("Digest ,,,")
