"""Thin asyncio transports for SIP over UDP and TCP (RFC 3261 section 18).

They only move bytes: a datagram or a framed TCP message goes up to the stack with the
:class:`Peer` it came from; bytes go down to a peer.  Over TCP the connection a phone
opened is reused for requests to it (it is usually the only way through its NAT).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from .message import KeepAlive, Message, SipParseError, StreamParser
from .transaction import Peer

log = logging.getLogger(__name__)

Parsed = Message | KeepAlive | SipParseError
DatagramHandler = Callable[[bytes, Peer], None]
StreamHandler = Callable[[Parsed, Peer], None]
MAX_TCP_BUFFER = 256 * 1024  # a peer that floods without framing is cut off
MAX_TCP_CONNECTIONS = 1024  # far above a box's phones; keeps file descriptors for calls


class UdpEndpoint:
    """The SIP UDP socket, read straight from the loop's selector.

    asyncio's datagram transport reads one datagram per loop iteration; under a
    REGISTER storm that is one epoll round trip per message.  Here each wake-up drains
    what the kernel has queued (up to a batch), and sends go straight to the socket: a
    full send buffer drops the datagram, which SIP's retransmissions are made for.
    """

    BATCH = 64

    def __init__(self, on_datagram: DatagramHandler) -> None:
        self.on_datagram = on_datagram
        self.sock: socket.socket | None = None
        self.dropped_sends = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._peers: dict[tuple, Peer] = {}  # one Peer per source, not one per datagram

    def open(self, host: str, port: int) -> int:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)
        return sock.getsockname()[1]

    def _readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        peers, on_datagram = self._peers, self.on_datagram
        for _ in range(self.BATCH):
            try:
                data, addr = sock.recvfrom(65_535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # ICMP port unreachable from a phone that left
                log.debug("SIP UDP error: %s", error)
                continue
            peer = peers.get(addr)
            if peer is None:
                if len(peers) >= 4096:  # sources are spoofable: bound the cache
                    peers.clear()
                peer = peers[addr] = Peer("udp", addr[0], addr[1])
            try:
                on_datagram(data, peer)
            except Exception:  # one bad datagram must not stop the listener
                log.exception("SIP datagram from %s:%s failed", addr[0], addr[1])

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            self.dropped_sends += 1
        except OSError as error:
            log.debug("SIP UDP send to %s failed: %s", addr, error)

    def close(self) -> None:
        if self.sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None


class TcpConnection(asyncio.Protocol):
    def __init__(self, owner: Transports, peer: Peer | None = None) -> None:
        self.owner = owner
        self.peer = peer
        self.parser = StreamParser()
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.peer is None:
            if len(self.owner.connections) >= MAX_TCP_CONNECTIONS:
                log.warning("SIP TCP connection refused: %d open", MAX_TCP_CONNECTIONS)
                transport.close()
                return
            host, port = transport.get_extra_info("peername")[:2]
            self.peer = Peer("tcp", host, port)
        self.owner.connections[(self.peer.host, self.peer.port)] = self
        for data in self.pending:
            self.transport.write(data)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        try:
            items = self.parser.feed(data)
        except Exception:
            log.exception("SIP TCP framing failed from %s", self.peer)
            self.transport.close()
            return
        for item in items:
            if isinstance(item, KeepAlive):
                self.transport.write(b"\r\n")  # RFC 5626 3.5.1 pong
                continue
            try:
                self.owner.on_stream(item, self.peer)
            except Exception:
                log.exception("SIP message from %s failed", self.peer)
            if isinstance(item, SipParseError) and item.status is None:
                self.transport.close()  # framing lost: the peer reconnects
                return
        if len(self.parser._buffer) > MAX_TCP_BUFFER:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer and self.owner.connections.get((self.peer.host, self.peer.port)) is self:
            del self.owner.connections[(self.peer.host, self.peer.port)]

    def write(self, data: bytes) -> None:
        if self.transport is None:
            self.pending.append(data)
        elif not self.transport.is_closing():
            self.transport.write(data)


class Transports:
    """The UDP socket and TCP listener of one SIP endpoint, and the way out."""

    def __init__(self, on_datagram: DatagramHandler, on_stream: StreamHandler) -> None:
        self.udp = UdpEndpoint(on_datagram)
        self.on_stream = on_stream
        self.connections: dict[tuple[str, int], TcpConnection] = {}
        self.tcp_server: asyncio.AbstractServer | None = None
        self.host = "127.0.0.1"
        self.udp_port = 0
        self.tcp_port = 0
        self._local_for: dict[str, str] = {}

    async def start(self, host: str, port: int, tcp: bool = True) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.udp_port = self.udp.open(host, port)
        self.host = host
        if tcp:
            # Same port number for TCP as for UDP, as phones expect (RFC 3261 18.2.1)
            try:
                self.tcp_server = await loop.create_server(
                    lambda: TcpConnection(self), host, self.udp_port, family=family
                )
            except OSError:
                self.udp.close()
                raise
            self.tcp_port = self.udp_port

    def send(self, data: bytes, peer: Peer) -> None:
        if peer.transport == "udp":
            self.udp.sendto(data, peer[1:])  # (host, port): Peer is a named tuple
            return
        conn = self.connections.get((peer.host, peer.port))
        if conn is None:
            conn = TcpConnection(self, peer)
            self.connections[(peer.host, peer.port)] = conn
            loop = asyncio.get_running_loop()
            task = loop.create_task(loop.create_connection(lambda: conn, peer.host, peer.port))
            task.add_done_callback(lambda t: self._connect_done(t, peer))
        conn.write(data)

    def _connect_done(self, task: asyncio.Task, peer: Peer) -> None:
        if task.cancelled() or task.exception() is not None:
            log.info("SIP TCP connect to %s:%s failed", peer.host, peer.port)
            self.connections.pop((peer.host, peer.port), None)

    def local_address(self, towards: str) -> str:
        """The address a peer at ``towards`` can reach us on (for Via, Contact, SDP)."""
        if self.host not in ("0.0.0.0", "::"):
            return self.host
        if towards not in self._local_for:
            family = socket.AF_INET6 if ":" in towards else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                try:
                    probe.connect((towards, 9))  # no packet is sent; the kernel picks a route
                    self._local_for[towards] = probe.getsockname()[0]
                except OSError:
                    return "127.0.0.1"
        return self._local_for[towards]

    async def close(self) -> None:
        self.udp.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        if self.tcp_server is not None:
            self.tcp_server.close()
            await self.tcp_server.wait_closed()
