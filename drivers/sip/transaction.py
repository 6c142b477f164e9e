"""SIP transactions (RFC 3261 section 17, with the RFC 6026 'Accepted' state).

Four state machines: INVITE and non-INVITE, client and server.  They do no I/O: they are
handed a ``send(bytes, peer)`` function and a :class:`~appliance.clock.Clock`, so the
timers (A..K) run on a virtual clock in tests.  Retransmission timers only run over
UDP; over TCP the transport is reliable and the 'wait' timers are zero (17.1.1.2).
"""

from __future__ import annotations

import logging
import secrets
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from .headers import MAGIC_COOKIE, header_tag, parse_via, top_via
from .message import Request, Response, SipParseError

if TYPE_CHECKING:
    from appliance.clock import Clock, Timer

log = logging.getLogger(__name__)

# RFC 3261 17.1.1.1 timer values, seconds.
T1 = 0.5  # RTT estimate
T2 = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
T4 = 5.0  # maximum time a message stays in the network


class Peer(NamedTuple):
    """Where a message came from or goes to: the flow, not what the headers claim.

    A named tuple, not a frozen dataclass: one is made per datagram received, and a
    tuple is built in C (a frozen dataclass sets each field through object.__setattr__).
    """

    transport: str  # "udp" or "tcp"
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


Send = Callable[[bytes, Peer], None]
ResponseHandler = Callable[["ClientTransaction", Response], None]
TimeoutHandler = Callable[["ClientTransaction"], None]


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


def server_key(request: Request) -> tuple:
    """Match a request to its server transaction (RFC 3261 17.2.3)."""
    via = top_via(request)
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch.startswith(MAGIC_COOKIE):
        return (branch, via.host, via.port, method)
    # RFC 2543 peers: no unique branch, fall back on the dialog identifiers
    from_tag = header_tag(request.headers.get("from") or "")
    return (request.call_id, request.cseq[0], from_tag, via.host, via.port, method)


class Timers:
    """Named timers on a clock; restarting one cancels the old one."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._timers: dict[str, Timer] = {}

    def start(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self.stop(name)
        self._timers[name] = self.clock.call_later(delay, callback)

    def stop(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def stop_all(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


class TransactionLayer:
    def __init__(self, clock: Clock, send: Send, t1: float = T1, t2: float = T2, t4: float = T4):
        self.clock = clock
        self.send = send
        self.t1, self.t2, self.t4 = t1, t2, t4
        self.servers: dict[tuple, ServerTransaction] = {}
        self.clients: dict[tuple, ClientTransaction] = {}
        # Completed non-INVITE server transactions wait out Timer J here.  J is the same
        # for all, so the queue is in deadline order and one sweep timer serves them all
        # (a REGISTER storm would otherwise put a timer per transaction on the heap).
        self._lingering: deque[tuple[float, ServerTransaction]] = deque()
        self._sweep: Timer | None = None

    def linger(self, tx: ServerTransaction, seconds: float) -> None:
        self._lingering.append((self.clock.monotonic() + seconds, tx))
        if self._sweep is None:
            self._sweep = self.clock.call_later(seconds, self._sweep_lingering)

    def _sweep_lingering(self) -> None:
        now = self.clock.monotonic()
        queue = self._lingering
        while queue and queue[0][0] <= now:
            queue.popleft()[1].terminate()
        self._sweep = None
        if queue:
            self._sweep = self.clock.call_later(max(queue[0][0] - now, 0.1),
                                                self._sweep_lingering)

    # -- server side ------------------------------------------------------------------
    def match_request(self, request: Request) -> ServerTransaction | None:
        try:
            key = server_key(request)
        except SipParseError:
            return None
        return self.servers.get(key)

    def new_server(
        self, request: Request, peer: Peer, key: tuple | None = None
    ) -> ServerTransaction:
        cls = InviteServerTransaction if request.method == "INVITE" else ServerTransaction
        tx = cls(self, request, peer, key or server_key(request))
        self.servers[tx.key] = tx
        return tx

    def find_invite_server(self, cancel: Request) -> ServerTransaction | None:
        """The INVITE a CANCEL refers to (same branch, RFC 3261 9.2)."""
        key = server_key(cancel)
        return self.servers.get((*key[:-1], "INVITE"))

    # -- client side ------------------------------------------------------------------
    def send_request(
        self, request: Request, peer: Peer, on_response: ResponseHandler,
        on_timeout: TimeoutHandler | None = None,
    ) -> ClientTransaction:
        cls = InviteClientTransaction if request.method == "INVITE" else ClientTransaction
        tx = cls(self, request, peer, on_response, on_timeout)
        self.clients[tx.key] = tx
        tx.start()
        return tx

    def match_response(self, response: Response) -> ClientTransaction | None:
        try:
            branch = top_via(response).branch
            method = response.cseq[1]
        except (SipParseError, ValueError):
            return None
        return self.clients.get((branch, method))

    def close(self) -> None:
        for tx in [*self.servers.values(), *self.clients.values()]:
            if getattr(tx, "_timers", True) is not None:
                tx.timers.stop_all()
        if self._sweep is not None:
            self._sweep.cancel()
        self._lingering.clear()
        self.servers.clear()
        self.clients.clear()


class ServerTransaction:
    """Non-INVITE server transaction (RFC 3261 17.2.2)."""

    # Thousands linger at once under a REGISTER storm (Timer J): keep them small.
    __slots__ = ("layer", "request", "peer", "key", "state", "last", "_timers",
                 "on_ack_timeout")

    def __init__(self, layer: TransactionLayer, request: Request, peer: Peer, key: tuple):
        self.layer = layer
        self.request = request
        self.peer = peer
        self.key = key
        self.state = "trying"
        self.last: bytes | None = None
        self._timers: Timers | None = None
        self.on_ack_timeout: Callable[[], None] | None = None  # INVITE: no ACK for our 2xx

    @property
    def timers(self) -> Timers:
        if self._timers is None:
            self._timers = Timers(self.layer.clock)
        return self._timers

    def respond(self, response: Response) -> None:
        if self.state in ("completed", "confirmed", "terminated", "accepted"):
            return  # a final answer was given already; the TU lost a race
        self.last = response.encode()
        self.layer.send(self.last, self.peer)
        if response.status >= 200:
            self._final(response)
        else:
            self.state = "proceeding"

    def respond_statelessly(self, response: Response) -> None:
        """A final answer, then forget the request (no Timer J wait): a retransmission
        is answered afresh.  For digest challenges, as registrars do."""
        if self.state in ("completed", "confirmed", "terminated", "accepted"):
            return
        self.layer.send(response.encode(), self.peer)
        self.terminate()

    def _final(self, response: Response) -> None:
        self.state = "completed"
        self.request = None  # type: ignore[assignment]  # only the answer is needed now
        if self.peer.reliable:
            self.terminate()
        else:
            self.layer.linger(self, 64 * self.layer.t1)  # Timer J

    def retransmission(self, request: Request) -> None:
        """The same request arrived again: repeat our last answer (17.2.2)."""
        if self.last is not None and self.state != "terminated":
            self.layer.send(self.last, self.peer)

    def terminate(self) -> None:
        self.state = "terminated"
        if self._timers is not None:
            self._timers.stop_all()
        self.layer.servers.pop(self.key, None)


class InviteServerTransaction(ServerTransaction):
    """INVITE server transaction (RFC 3261 17.2.1 with RFC 6026 'Accepted')."""

    __slots__ = ()

    def _final(self, response: Response) -> None:
        t1, reliable = self.layer.t1, self.peer.reliable
        if 200 <= response.status < 300:
            # RFC 6026: stay to absorb INVITE retransmissions; the 2xx is retransmitted
            # here until the dialog sees the ACK (RFC 3261 13.3.1.4 puts it on the TU).
            self.state = "accepted"
            self.timers.start("L", 64 * t1, self._accepted_timeout)
        else:
            self.state = "completed"
            self.timers.start("H", 64 * t1, self.terminate)  # Timer H: give up on ACK
        if not reliable:
            self._schedule_retransmit(t1)

    def _schedule_retransmit(self, interval: float) -> None:
        def fire() -> None:
            if self.state in ("completed", "accepted") and self.last is not None:
                self.layer.send(self.last, self.peer)
                self._schedule_retransmit(min(2 * interval, self.layer.t2))

        self.timers.start("G", interval, fire)  # Timer G (and the TU's 2xx retransmit)

    def _accepted_timeout(self) -> None:
        acked = self.state == "confirmed"
        self.terminate()
        if not acked and self.on_ack_timeout:
            self.on_ack_timeout()

    def ack(self) -> None:
        """ACK received (for a non-2xx: same branch; for a 2xx: matched by the dialog)."""
        if self.state == "completed":
            self.state = "confirmed"
            self.timers.stop("G")
            self.timers.stop("H")
            wait = 0.0 if self.peer.reliable else self.layer.t4
            self.timers.start("I", wait, self.terminate)  # Timer I
        elif self.state == "accepted":
            self.state = "confirmed"
            self.timers.stop("G")
            self.on_ack_timeout = None  # lets the call go while Timer L runs out

    def retransmission(self, request: Request) -> None:
        if request.method == "ACK":
            # Branch matching alone (17.2.3) would let a stray ACK from another INVITE of
            # the same call, re-sent with a reused Via, silence our 2xx retransmissions.
            if request.cseq[0] == self.request.cseq[0]:
                self.ack()
        elif self.state in ("proceeding", "completed") and self.last is not None:
            self.layer.send(self.last, self.peer)


class ClientTransaction:
    """Non-INVITE client transaction (RFC 3261 17.1.2)."""

    def __init__(
        self, layer: TransactionLayer, request: Request, peer: Peer,
        on_response: ResponseHandler, on_timeout: TimeoutHandler | None,
    ) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.on_response = on_response
        self.on_timeout = on_timeout
        via = parse_via(request.headers.get("via") or "")
        self.key = (via.branch, request.method)
        self.state = "trying"
        self.data = request.encode()
        self.timers = Timers(layer.clock)

    def start(self) -> None:
        self.layer.send(self.data, self.peer)
        if not self.peer.reliable:
            self._retransmit_after(self.layer.t1)
        self.timers.start("F", 64 * self.layer.t1, self._timeout)  # Timer F (B for INVITE)

    def _retransmit_after(self, interval: float) -> None:
        def fire() -> None:
            if self.state in ("trying", "proceeding", "calling"):
                self.layer.send(self.data, self.peer)
                self._retransmit_after(self._next_interval(interval))

        self.timers.start("E", interval, fire)  # Timer E (A for INVITE)

    def _next_interval(self, interval: float) -> float:
        if self.state == "proceeding":
            return self.layer.t2  # 17.1.2.2: once a provisional came, retransmit every T2
        return min(2 * interval, self.layer.t2)

    def _timeout(self) -> None:
        if self.state in ("trying", "proceeding", "calling"):
            self.terminate()
            if self.on_timeout:
                self.on_timeout(self)

    def receive(self, response: Response) -> None:
        if self.state in ("completed", "terminated"):
            return  # retransmitted final response: already reported
        if response.status < 200:
            self.state = "proceeding"
            self.on_response(self, response)
            return
        self.state = "completed"
        self.timers.stop_all()
        wait = 0.0 if self.peer.reliable else self.layer.t4  # Timer K
        self.timers.start("K", wait, self.terminate)
        self.on_response(self, response)

    def terminate(self) -> None:
        self.state = "terminated"
        self.timers.stop_all()
        self.layer.clients.pop(self.key, None)


class InviteClientTransaction(ClientTransaction):
    """INVITE client transaction (RFC 3261 17.1.1, RFC 6026 'Accepted')."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.state = "calling"

    def _next_interval(self, interval: float) -> float:
        return 2 * interval  # Timer A doubles without a cap

    def receive(self, response: Response) -> None:
        status = response.status
        if status < 200:
            if self.state in ("calling", "proceeding"):
                self.state = "proceeding"
                self.timers.stop("E")  # 17.1.1.2: no INVITE retransmissions after 1xx
                self.on_response(self, response)
            return
        if status < 300:
            if self.state in ("calling", "proceeding"):
                self.state = "accepted"
                self.timers.stop_all()
                self.timers.start("M", 64 * self.layer.t1, self.terminate)
            if self.state == "accepted":
                self.on_response(self, response)  # 2xx retransmissions reach the TU too
            return
        if self.state in ("calling", "proceeding"):
            self.state = "completed"
            self.timers.stop_all()
            self.ack = self._ack_for(response)
            self.layer.send(self.ack, self.peer)
            wait = 0.0 if self.peer.reliable else 32.0  # Timer D
            self.timers.start("D", wait, self.terminate)
            self.on_response(self, response)
        elif self.state == "completed":
            self.layer.send(self.ack, self.peer)  # our ACK was lost: repeat it

    def _ack_for(self, response: Response) -> bytes:
        """ACK for a non-2xx final response: same branch, hop by hop (17.1.1.3)."""
        invite = self.request
        ack = Request(method="ACK", uri=invite.uri)
        for name in ("via", "from", "call-id"):
            ack.headers.add(name, invite.headers.get(name) or "")
        ack.headers.add("to", response.headers.get("to") or "")
        ack.headers.add("cseq", f"{invite.cseq[0]} ACK")
        for route in invite.headers.get_all("route"):
            ack.headers.add("route", route)
        ack.headers.add("max-forwards", "70")
        return ack.encode()
