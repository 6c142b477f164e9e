"""Bad input: 400 or silence, never a crash, and the stack still serves a REGISTER after.

Hypothesis mutates good requests and feeds the stack directly (no sockets, a virtual
clock: thousands of cases a second); hand-written cases go over real UDP and TCP."""

from __future__ import annotations

import asyncio
import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.clock import VirtualClock
from appliance.events import EventBus
from drivers.sip.channel import SipChannel
from drivers.sip.message import Response, StreamParser, parse_message
from drivers.sip.transaction import Peer
from tests.sip.conftest import PHONES, Phone, sip_channel, wait_until

REGISTER = (
    "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK{branch};rport\r\n"
    "From: <sip:101@127.0.0.1>;tag=77\r\n"
    "To: <sip:101@127.0.0.1>\r\n"
    "Call-ID: {call_id}\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:101@127.0.0.1:5099>\r\n"
    "Max-Forwards: 70\r\n"
    "Expires: 600\r\n"
    "Content-Length: 0\r\n\r\n"
)


class OfflineHost:
    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.bus = EventBus()

    def incoming(self, leg) -> None: ...

    def channel_changed(self, channel) -> None: ...


def offline_channel() -> tuple[SipChannel, list[bytes]]:
    """A channel whose stack is fed by hand; what it sends is collected."""
    channel = SipChannel("phones", {"credentials": PHONES.get, "ban_failures": 10**6},
                         OfflineHost())
    sent: list[bytes] = []
    channel.stack.transports.send = lambda data, peer: sent.append(data)  # type: ignore
    channel.stack.transactions.send = channel.stack.transports.send
    return channel, sent


PEER = Peer("udp", "127.0.0.1", 5099)
GOOD = REGISTER.format(branch="good", call_id="c1").encode()
INVITE = GOOD.replace(b"REGISTER sip:", b"INVITE sip:").replace(b"1 REGISTER", b"1 INVITE")

mutations = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda cut: GOOD[:cut], st.integers(0, len(GOOD))),
    st.builds(lambda pos, junk: GOOD[:pos] + junk + GOOD[pos:],
              st.integers(0, len(GOOD)), st.binary(min_size=1, max_size=50)),
    st.builds(lambda pos, b: GOOD[:pos] + bytes([b]) + GOOD[pos + 1:],
              st.integers(0, len(GOOD) - 1), st.integers(0, 255)),
    st.builds(lambda n: GOOD.replace(b"Content-Length: 0", f"Content-Length: {n}".encode()),
              st.integers(-5, 10**9).map(str).map(int)),
    st.builds(lambda name, value: GOOD.replace(b"Expires: 600", name + b": " + value),
              st.sampled_from([b"Via", b"CSeq", b"Contact", b"To", b"From", b"Expires",
                               b"Call-ID", b"Content-Length", b"Authorization"]),
              st.binary(max_size=300)),
    st.builds(lambda drop: b"\r\n".join(line for i, line in enumerate(INVITE.split(b"\r\n"))
                                        if i != drop), st.integers(0, 9)),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutations)
def test_mutated_requests_get_400_or_silence_and_the_stack_keeps_serving(data):
    channel, sent = offline_channel()
    channel.stack._on_datagram(data, PEER)
    for raw in sent:
        if raw == b"\r\n":
            continue  # the pong to a CRLF keep-alive
        answer = parse_message(raw)
        assert isinstance(answer, Response)
        assert answer.status in (400, 401, 403, 405, 416, 420, 423, 481, 500, 200), answer.status
    sent.clear()
    channel.stack._on_datagram(REGISTER.format(branch="after", call_id="c2").encode(), PEER)
    assert [parse_message(raw).status for raw in sent] == [401]  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=300), max_size=8))
def test_stream_parser_never_raises(chunks):
    parser = StreamParser()
    for chunk in chunks:
        parser.feed(chunk)
    assert all(isinstance(item, object) for item in parser.feed(GOOD))


HAND_WRITTEN = [
    GOOD.replace(b"Content-Length: 0", b"Content-Length: 400"),  # body shorter than said
    GOOD.replace(b"Call-ID: c1\r\n", b""),  # mandatory header missing
    GOOD.replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"),
    GOOD.replace(b"Expires: 600", b"X-Huge: " + b"A" * 20000),  # huge header
    GOOD.replace(b"Expires: 600", b"Subject: \xc3\x28 bad utf-8"),
    GOOD[: len(GOOD) // 2],  # truncated datagram
    b"\x00" * 100,
]


async def test_hand_written_malformed_over_udp_then_register():
    async with sip_channel() as (channel, host):
        phone = await Phone("101", PHONES["101"]).open(channel.port)
        try:
            for i, raw in enumerate(HAND_WRITTEN):
                phone.send_raw(raw.replace(b"z9hG4bKgood", f"z9hG4bKbad{i}".encode()))
            await wait_until(lambda: channel.stack.counters["bad"] == 7, what="bad counted")
            await wait_until(lambda: len(phone.raw) >= 4, what="400s")
            statuses = [parse_message(r).status for r in phone.raw]  # type: ignore[union-attr]
            # Four can be answered; no Call-ID, truncated and zeros cannot: silence
            assert statuses == [400] * 4
            bad_expires = phone.request("REGISTER", headers={"expires": "soon"})
            assert (await phone.with_auth(bad_expires)).status == 400
            response = await phone.with_auth(phone.request("REGISTER"))
            assert response.status == 200 and channel.reaches("101")
        finally:
            phone.close()


async def test_malformed_over_tcp_then_register_on_a_new_connection():
    async with sip_channel() as (channel, host):
        reader, writer = await asyncio.open_connection("127.0.0.1", channel.port)
        bad = GOOD.replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE").replace(b"UDP", b"TCP")
        writer.write(bad)
        await writer.drain()
        answer = parse_message(await _read_message(reader))
        assert isinstance(answer, Response) and answer.status == 400
        writer.write(b"\r\n\r\n")  # keep-alive ping gets a pong
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"\r\n"
        writer.write(b"\x16\x03\x01\x00garbage that is not SIP at all\r\n\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # framing lost: closed
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", channel.port)
        good = REGISTER.format(branch="tcp", call_id="t1").replace("UDP", "TCP").encode()
        for i in range(len(good)):  # byte by byte over the wire
            writer.write(good[i: i + 1])
        await writer.drain()
        answer = parse_message(await _read_message(reader))
        assert isinstance(answer, Response) and answer.status == 401
        writer.close()


async def _read_message(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return head + await reader.readexactly(length)


def test_udp_socket_survives_garbage_sizes():
    """A 64 KB datagram and empty ones do not upset the parser."""
    channel, sent = offline_channel()
    channel.stack._on_datagram(b"x" * 65_000, PEER)
    channel.stack._on_datagram(b"", PEER)
    channel.stack._on_datagram(b"\r\n\r\n", PEER)
    assert sent == [b"\r\n"]  # only the keep-alive pong
    assert socket.SOCK_DGRAM  # the real-socket variant is the UDP test above
