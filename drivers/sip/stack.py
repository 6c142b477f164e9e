"""The SIP endpoint: transports + transactions, handing requests to a transaction user.

It answers on its own only what needs no policy: 400 to what cannot be parsed, 481 to a
CANCEL for nothing, retransmissions, CRLF keep-alives.  Everything else goes to the
:class:`TransactionUser` (the phones channel).
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Protocol

from .headers import parse_via, top_via
from .message import KeepAlive, Message, Request, Response, SipParseError, parse_message
from .transaction import (
    ClientTransaction,
    Peer,
    ResponseHandler,
    ServerTransaction,
    TimeoutHandler,
    TransactionLayer,
    new_branch,
    server_key,
)
from .transport import Transports

if TYPE_CHECKING:
    from appliance.clock import Clock

log = logging.getLogger(__name__)

USER_AGENT = "callbox"
REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 202: "Accepted",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 407: "Proxy Authentication Required", 408: "Request Timeout",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    423: "Interval Too Brief", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 489: "Bad Event",
    491: "Request Pending", 500: "Server Internal Error", 501: "Not Implemented",
    503: "Service Unavailable", 603: "Decline",
}


class TransactionUser(Protocol):
    def on_request(self, tx: ServerTransaction, request: Request) -> None: ...
    def on_ack(self, request: Request, peer: Peer) -> None: ...
    def on_cancel(self, invite_tx: ServerTransaction, cancel: Request) -> None: ...
    def on_stray_response(self, response: Response, peer: Peer) -> None: ...
    def is_banned(self, host: str) -> bool: ...


def new_tag() -> str:
    return secrets.token_hex(6)


def make_response(
    request: Request, status: int, reason: str | None = None, to_tag: str | None = None
) -> Response:
    """A response carrying the request's Via, From, To, Call-ID and CSeq (RFC 3261 8.2.6)."""
    response = Response(status=status, reason=reason or REASONS.get(status, "Unknown"))
    get = request.headers._lookup().get  # the header map itself: five lookups per answer
    to = get("to") or ""
    if to_tag and ";tag=" not in to.replace(" ", "").lower() and status != 100:
        to = f"{to};tag={to_tag}"
    # built as one list, not header by header: every answer to every request comes here
    vias = request.headers.get_all("via")
    items = [("via", vias[0])] if len(vias) == 1 else [("via", via) for via in vias]
    items += (("from", get("from") or ""), ("to", to), ("call-id", get("call-id") or ""),
              ("cseq", get("cseq") or ""), ("server", USER_AGENT))
    response.headers._items = items
    return response


class SipStack:
    def __init__(self, clock: Clock, user: TransactionUser) -> None:
        self.clock = clock
        self.user = user
        self.transports = Transports(self._on_datagram, self._on_parsed)
        self.transactions = TransactionLayer(clock, self.transports.send)
        self.counters = {"received": 0, "bad": 0, "dropped": 0}

    async def start(self, host: str, port: int, tcp: bool = True) -> None:
        await self.transports.start(host, port, tcp)

    async def close(self) -> None:
        self.transactions.close()
        await self.transports.close()

    @property
    def port(self) -> int:
        return self.transports.udp_port

    # -- inbound --------------------------------------------------------------------
    def _on_datagram(self, data: bytes, peer: Peer) -> None:
        if self.user.is_banned(peer.host):
            self.counters["dropped"] += 1
            return
        if len(data) <= 4 and not data.strip(b"\r\n"):
            if data == b"\r\n\r\n":
                self.transports.send(b"\r\n", peer)  # RFC 5626 3.5.1 keep-alive pong
            return
        try:
            message = parse_message(data)
        except SipParseError as error:
            self._reject(error, peer)
            return
        self._dispatch(message, peer)  # the ban was checked above

    def _on_parsed(self, item: Message | KeepAlive | SipParseError, peer: Peer) -> None:
        if isinstance(item, KeepAlive):
            return
        if isinstance(item, SipParseError):
            self._reject(item, peer)
            return
        if self.user.is_banned(peer.host):
            self.counters["dropped"] += 1
            return
        self._dispatch(item, peer)

    def _dispatch(self, item: Message, peer: Peer) -> None:
        self.counters["received"] += 1
        try:
            if isinstance(item, Request):
                self._on_request(item, peer)
            else:
                self._on_response(item, peer)  # type: ignore[arg-type]
        except SipParseError as error:  # a header we needed was malformed
            if error.partial is None and isinstance(item, Request):
                error.partial = item
            self._reject(error, peer)

    def _reject(self, error: SipParseError, peer: Peer) -> None:
        self.counters["bad"] += 1
        request = error.partial
        # debug, not info: a scanner sending garbage must not fill the SD card with logs
        log.debug("bad SIP message from %s:%s: %s", peer.host, peer.port, error.reason)
        if error.status is None or request is None or request.method == "ACK":
            return
        if not _answerable(request):
            return  # no way to address a response that the sender could match
        try:
            response = make_response(request, error.status, REASONS.get(error.status))
            response.headers.add("warning", f'399 callbox "{error.reason[:80]}"')
            self.transports.send(response.encode(), peer)
        except Exception:  # the headers were too broken to even echo
            log.debug("could not answer a bad message", exc_info=True)

    def _on_request(self, request: Request, peer: Peer) -> None:
        self._stamp_via(request, peer)
        key = server_key(request)  # the Via parsed above: no error left to meet here
        tx = self.transactions.servers.get(key)
        if tx is not None:
            tx.retransmission(request)
            return
        if request.method == "ACK":
            self.user.on_ack(request, peer)
            return
        if request.method == "CANCEL":
            invite = self.transactions.find_invite_server(request)
            if invite is None:
                self.transports.send(make_response(request, 481).encode(), peer)
                return
            cancel_tx = self.transactions.new_server(request, peer)
            cancel_tx.respond(make_response(request, 200))
            if invite.state in ("trying", "proceeding"):
                self.user.on_cancel(invite, request)
            return
        tx = self.transactions.new_server(request, peer, key)
        self.user.on_request(tx, request)

    def _stamp_via(self, request: Request, peer: Peer) -> None:
        """RFC 3261 18.2.1 'received' and RFC 3581 'rport' on the top Via."""
        via = top_via(request)
        params = via.params
        rport = params.get("rport")
        if via.host == peer.host and rport is None:
            return
        text = request.headers.get("via") or ""
        # The phone's own text with the two parameters added, when that reads the same as
        # the Via written afresh: rport (bare) last or absent, and no 'received' yet.
        # That covers the usual Via and saves rebuilding it for every request.
        plain = "received" not in params and (rport is None or (
            rport == "" and text.endswith(";rport")))
        params["received"] = peer.host
        if rport is not None:
            params["rport"] = str(peer.port)
        if plain:
            if rport is not None:
                text = f"{text[:-6]};rport={peer.port}"
            stamped = f"{text};received={peer.host}"
        else:
            stamped = str(via)
        request.headers.replace_first("via", stamped)

    def _on_response(self, response: Response, peer: Peer) -> None:
        if len(response.headers.get_all("via")) != 1:
            return  # RFC 3261 18.1.2: not for us, we are no proxy
        tx = self.transactions.match_response(response)
        if tx is not None:
            tx.receive(response)
        else:
            self.user.on_stray_response(response, peer)

    # -- outbound -------------------------------------------------------------------
    def via_for(self, peer: Peer, branch: str | None = None) -> str:
        host = self.transports.local_address(peer.host)
        host = f"[{host}]" if ":" in host else host
        proto = peer.transport.upper()
        return f"SIP/2.0/{proto} {host}:{self.port};branch={branch or new_branch()};rport"

    def contact_for(self, peer: Peer, user: str = "callbox") -> str:
        host = self.transports.local_address(peer.host)
        host = f"[{host}]" if ":" in host else host
        tail = ";transport=tcp" if peer.transport == "tcp" else ""
        return f"<sip:{user}@{host}:{self.port}{tail}>"

    def request(
        self, request: Request, peer: Peer, on_response: ResponseHandler,
        on_timeout: TimeoutHandler | None = None, keep_via: bool = False,
    ) -> ClientTransaction:
        """Send a request in a new client transaction (a fresh Via is put on top, except
        for CANCEL, which must carry its INVITE's Via, RFC 3261 9.1)."""
        if not keep_via:
            request.headers.remove("via")
            request.headers.prepend("via", self.via_for(peer))
        if "max-forwards" not in request.headers:
            request.headers.add("max-forwards", "70")
        if "user-agent" not in request.headers:
            request.headers.add("user-agent", USER_AGENT)
        return self.transactions.send_request(request, peer, on_response, on_timeout)

    def request_stateless(self, request: Request, peer: Peer) -> None:
        """Send without a transaction: the ACK for a 2xx (RFC 3261 13.2.2.4)."""
        request.headers.remove("via")
        request.headers.prepend("via", self.via_for(peer))
        request.headers.add("max-forwards", "70")
        self.transports.send(request.encode(), peer)

    def send_raw(self, data: bytes, peer: Peer) -> None:
        self.transports.send(data, peer)


def _answerable(request: Request) -> bool:
    """Whether a broken request still has what a response must echo (RFC 3261 8.2.6.2)."""
    headers = request.headers
    if not all(headers.get(name) for name in ("via", "from", "to", "call-id", "cseq")):
        return False
    try:
        parse_via(headers.get("via") or "")
        request.cseq  # noqa: B018 - raises on a CSeq the sender could not match
    except (SipParseError, ValueError):
        return False
    return True
