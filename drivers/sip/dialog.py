"""SIP dialogs (RFC 3261 section 12): the identifiers and sequence numbers of one
peer-to-peer relationship, and the requests sent inside it."""

from __future__ import annotations

from dataclasses import dataclass

from .headers import parse_name_addr
from .message import Message, Request
from .transaction import Peer


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # name-addr without tag, as sent in From (UAC) or To (UAS)
    remote_uri: str
    remote_target: str  # the peer's Contact URI
    peer: Peer  # the flow to the peer (its source address), for NAT
    local_seq: int
    remote_seq: int
    contact: str  # our Contact header value

    @property
    def key(self) -> tuple[str, str]:
        return (self.call_id, self.local_tag)

    @classmethod
    def as_uas(cls, request: Request, peer: Peer, local_tag: str, contact: str) -> Dialog:
        """We answer ``request``: the dialog seen from the called side (12.1.1)."""
        remote = parse_name_addr(request.headers.get("from") or "")
        target = _contact_uri(request) or str(remote.uri)
        return cls(
            request.call_id, local_tag, remote.tag, _strip_tag(request.headers.get("to") or ""),
            _strip_tag(request.headers.get("from") or ""), target, peer,
            0, request.cseq[0], contact,
        )

    @classmethod
    def as_uac(cls, request: Request, response: Message, peer: Peer) -> Dialog:
        """Our ``request`` was answered by ``response``: the calling side's view (12.1.2)."""
        local = parse_name_addr(request.headers.get("from") or "")
        remote = parse_name_addr(response.headers.get("to") or "")
        target = _contact_uri(response) or request.uri
        return cls(
            request.call_id, local.tag, remote.tag, _strip_tag(request.headers.get("from") or ""),
            _strip_tag(response.headers.get("to") or ""), target, peer, request.cseq[0], 0,
            request.headers.get("contact") or "",
        )

    def request(self, method: str, cseq: int | None = None) -> Request:
        """A new in-dialog request (12.2.1.1); ACK reuses the INVITE's CSeq number."""
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        request = Request(method=method, uri=self.remote_target)
        headers = request.headers
        headers.add("from", f"{self.local_uri};tag={self.local_tag}")
        to_tag = f";tag={self.remote_tag}" if self.remote_tag else ""
        headers.add("to", f"{self.remote_uri}{to_tag}")
        headers.add("call-id", self.call_id)
        headers.add("cseq", f"{cseq} {method}")
        if method not in ("BYE", "ACK", "CANCEL"):
            headers.add("contact", self.contact)
        return request

    def accepts(self, request: Request) -> bool:
        """Check and advance the remote sequence number (12.2.2): a lower one is stale."""
        number = request.cseq[0]
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq and number <= self.remote_seq:
            return False
        self.remote_seq = number
        return True


def _contact_uri(message: Message) -> str | None:
    value = message.headers.get("contact")
    if not value or value.strip() == "*":
        return None
    return str(parse_name_addr(value).uri)


def _strip_tag(value: str) -> str:
    """The name-addr without its tag parameter."""
    addr = parse_name_addr(value)
    addr.params.pop("tag", None)
    return str(addr)
