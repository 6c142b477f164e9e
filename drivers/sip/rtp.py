"""RTP for one call leg (RFC 3550), G.711 at the edge, DTMF as RFC 4733 events.

One asyncio datagram socket per leg on an even port.  Symmetric RTP: we send to where
the phone's packets come from (latched on the first one), not only to what its SDP
said, so phones behind NAT get audio.  Received audio goes through the box's jitter buffer
(:mod:`appliance.media.jitter`) and is played out to the core one 20 ms frame per tick
of a shared :class:`PlayoutTicker`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import socket
import struct
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.media.jitter import JitterBuffer
from drivers.base import FRAME_BYTES

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

if TYPE_CHECKING:
    from appliance.clock import Clock, Timer

log = logging.getLogger(__name__)

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
SAMPLES_PER_FRAME = 160
DTMF_EVENTS = "0123456789*#ABCD"  # RFC 4733 3.2: events 0-15
DTMF_DURATION = 800  # samples: 100 ms of tone
DTMF_GAP = 3  # frames of silence between digits
DECODE = {"PCMU": audioop.ulaw2lin, "PCMA": audioop.alaw2lin}
ENCODE = {"PCMU": audioop.lin2ulaw, "PCMA": audioop.lin2alaw}


def parse_port_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    low_port, high_port = int(low), int(high or low)
    if not (1024 <= low_port <= high_port <= 65535) or high_port - low_port < 1:
        raise ValueError(f"bad RTP port range {text!r}")
    return low_port, high_port


class PlayoutTicker:
    """One 20 ms tick for every RTP session of a channel, scheduled against the clock
    so that it does not drift (each tick is due at start + n * 20 ms)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sessions: set[RtpSession] = set()
        self._timer: Timer | None = None
        self._due = 0.0

    def add(self, session: RtpSession) -> None:
        self.sessions.add(session)
        if self._timer is None:
            self._due = self.clock.monotonic() + 0.020
            self._timer = self.clock.call_later(0.020, self._tick)

    def remove(self, session: RtpSession) -> None:
        self.sessions.discard(session)
        if not self.sessions and self._timer is not None:
            self._timer.cancel()  # idle: no 50 Hz wake-ups without calls
            self._timer = None

    def _tick(self) -> None:
        for session in list(self.sessions):
            try:
                session.tick()
            except Exception:
                log.exception("RTP playout failed")
        if not self.sessions:
            self._timer = None
            return
        now = self.clock.monotonic()
        self._due += 0.020
        if self._due < now - 0.2:  # the loop stalled: do not race to catch up
            self._due = now + 0.020
        self._timer = self.clock.call_later(self._due - now, self._tick)


class RtpSession:
    def __init__(
        self, clock: Clock, ticker: PlayoutTicker, on_frame: Callable[[bytes], None],
        on_dtmf: Callable[[str], None],
    ) -> None:
        self.clock = clock
        self.ticker = ticker
        self.on_frame = on_frame
        self.on_dtmf = on_dtmf
        # A plain non-blocking socket read from the loop's selector: asyncio's datagram
        # transport costs a loop callback per packet, and media is 50 packets a second
        # per leg.  A full send buffer drops the packet: late audio is useless anyway.
        self.sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.local_port = 0
        self.remote: tuple[str, int] | None = None
        self.latched = False
        self.remote_ssrc: int | None = None
        self.codec = "PCMU"
        self.pt = 0
        self.dtmf_pt: int | None = None
        self.send_enabled = True
        self.ssrc = secrets.randbits(32)
        self.seq = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)
        self._marker = True
        self._last_send: float | None = None
        self._dtmf_queue: list[str] = []
        self._dtmf_timer: Timer | None = None
        self._dtmf_seen: set[int] = set()
        self.jitter = JitterBuffer(initial_delay_ms=20)
        self.stats = {"sent": 0, "received": 0, "ignored": 0, "dropped": 0}

    # -- setup ------------------------------------------------------------------------
    async def open(self, host: str, ports: tuple[int, int]) -> int:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        low, high = ports
        for _ in range(64):
            port = random.randrange(low + (low & 1), high, 2)  # RTP on even ports (3550 11)
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind((host, port))
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            self.sock, self._loop, self.local_port = sock, loop, port
            loop.add_reader(sock.fileno(), self._readable)
            self.ticker.add(self)
            return port
        raise OSError(f"no free RTP port in {low}-{high}")

    def _readable(self) -> None:
        sock = self.sock
        for _ in range(16):  # what queued up since the last wake-up, in one callback
            if sock is None:
                return
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP unreachable from a phone that went away
                continue
            self.datagram_received(data, addr)
            sock = self.sock  # a DTMF or frame callback may have closed the session

    def set_remote(self, host: str, port: int, codec: str, pt: int, dtmf_pt: int | None) -> None:
        if (host, port) != self.remote:
            self.latched = False  # a new SDP address: latch again on what arrives
        self.remote = (host, port) if port else None
        self.codec, self.pt, self.dtmf_pt = codec, pt, dtmf_pt

    def close(self) -> None:
        self.ticker.remove(self)
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        if self.sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    # -- receiving --------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if len(data) < 12 or data[0] >> 6 != RTP_VERSION:
            self.stats["ignored"] += 1
            return
        source = (addr[0], addr[1])
        if not self.latched:
            self.remote, self.latched = source, True
        elif source != self.remote:
            self.stats["ignored"] += 1  # a stray or spoofed stream: keep the latched one
            return
        first, second, seq, timestamp, ssrc = HEADER.unpack_from(data)
        if ssrc != self.remote_ssrc:
            # A new source (the phone resumed from hold, or a transfer changed the far
            # end): its sequence numbers start anywhere, so the buffer starts afresh.
            if self.remote_ssrc is not None:
                self.jitter.reset()
            self.remote_ssrc = ssrc
        offset = 12 + 4 * (first & 0x0F)
        if first & 0x10:  # header extension (RFC 3550 5.3.1)
            if len(data) < offset + 4:
                return
            offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
        payload = data[offset:]
        if first & 0x20 and payload:  # padding
            payload = payload[: -payload[-1]]
        pt = second & 0x7F
        self.stats["received"] += 1
        if pt == self.dtmf_pt:
            self._receive_dtmf(timestamp, payload)
            return
        decode = DECODE.get("PCMU" if pt == 0 else "PCMA" if pt == 8 else "")
        if decode is None or not payload:
            self.stats["ignored"] += 1
            return
        self.jitter.put(seq, timestamp, decode(payload, 2), self.clock.monotonic())

    def _receive_dtmf(self, timestamp: int, payload: bytes) -> None:
        if len(payload) < 4 or payload[0] >= len(DTMF_EVENTS):
            return
        if timestamp in self._dtmf_seen:
            return  # the same event again (updates and the three end packets)
        self._dtmf_seen.add(timestamp)
        if len(self._dtmf_seen) > 64:
            self._dtmf_seen = {timestamp}
        self.on_dtmf(DTMF_EVENTS[payload[0]])

    def tick(self) -> None:
        frame = self.jitter.pop()
        if frame is not None:
            self.on_frame(frame)

    # -- sending ----------------------------------------------------------------------
    def _send(self, pt: int, payload: bytes, marker: bool, timestamp: int) -> None:
        if self.sock is None or self.remote is None:
            return
        header = HEADER.pack(0x80, (0x80 if marker else 0) | pt, self.seq, timestamp, self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        try:
            self.sock.sendto(header + payload, self.remote)
        except OSError:  # full buffer or unreachable: this packet is lost, the next may go
            self.stats["dropped"] += 1
            return
        self.stats["sent"] += 1

    def send_frame(self, frame: bytes) -> None:
        if not self.send_enabled or self._dtmf_timer is not None or len(frame) != FRAME_BYTES:
            return  # on hold, or a DTMF event owns the timestamp line now
        now = self.clock.monotonic()
        if self._last_send is not None and now - self._last_send > 0.06:
            # a gap in what the core sent: move the timestamp on, mark a new talk spurt
            gap = int((now - self._last_send) / 0.020) - 1
            self.timestamp = (self.timestamp + gap * SAMPLES_PER_FRAME) & 0xFFFFFFFF
            self._marker = True
        self._last_send = now
        self._send(self.pt, ENCODE[self.codec](frame, 2), self._marker, self.timestamp)
        self._marker = False
        self.timestamp = (self.timestamp + SAMPLES_PER_FRAME) & 0xFFFFFFFF

    def send_dtmf(self, digits: str) -> None:
        """Queue digits as RFC 4733 events; unknown characters are skipped."""
        self._dtmf_queue.extend(d for d in digits.upper() if d in DTMF_EVENTS)
        if self._dtmf_timer is None and self._dtmf_queue and self.dtmf_pt is not None:
            self._next_digit()

    def _next_digit(self) -> None:
        if not self._dtmf_queue:
            self._dtmf_timer = None
            return
        event = DTMF_EVENTS.index(self._dtmf_queue.pop(0))
        self._event_packet(event, self.timestamp, SAMPLES_PER_FRAME, 0)

    def _event_packet(self, event: int, start: int, duration: int, ends: int) -> None:
        end = duration >= DTMF_DURATION
        payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
        assert self.dtmf_pt is not None
        self._send(self.dtmf_pt, payload, duration == SAMPLES_PER_FRAME and not ends, start)
        if end and ends >= 2:  # the end packet goes three times (RFC 4733 2.5.1.4)
            self.timestamp = (start + DTMF_DURATION + DTMF_GAP * SAMPLES_PER_FRAME) & 0xFFFFFFFF
            self._marker = True
            self._dtmf_timer = self.clock.call_later(DTMF_GAP * 0.020, self._next_digit)
            return
        if end:
            self._dtmf_timer = self.clock.call_later(
                0.0, self._event_packet, event, start, duration, ends + 1)
        else:
            self._dtmf_timer = self.clock.call_later(
                0.020, self._event_packet, event, start,
                min(duration + SAMPLES_PER_FRAME, DTMF_DURATION), 0)
