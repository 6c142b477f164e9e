"""Requests a phone builds from others it sent: the CANCEL of an INVITE, the INVITE
again with credentials, DTMF as SIP INFO.  Pure functions over messages."""

from __future__ import annotations

from drivers.sip.dialog import Dialog
from drivers.sip.message import Request

# Answering a challenge is a new request: a new branch and the next CSeq (RFC 3261
# 22.2); the old credentials go too.
_NOT_COPIED = ("via", "cseq", "authorization", "proxy-authorization")


def cancel_for(invite: Request) -> Request:
    """CANCEL with the INVITE's Request-URI, Via, From, To, Call-ID, Route and CSeq
    number (RFC 3261 9.1): the box matches it to the INVITE by the branch."""
    cancel = Request(method="CANCEL", uri=invite.uri)
    for name in ("via", "from", "to", "call-id", "route"):
        for value in invite.headers.get_all(name):
            cancel.headers.add(name, value)
    cancel.headers.add("cseq", f"{invite.cseq[0]} CANCEL")
    return cancel


def next_attempt(request: Request) -> Request:
    """The same request for another try (after a 401/407), CSeq + 1, no Via yet."""
    again = Request(method=request.method, uri=request.uri, body=request.body)
    for name, value in request.headers.items():
        if name not in _NOT_COPIED:
            again.headers.add(name, value)
    again.headers.add("cseq", f"{request.cseq[0] + 1} {request.method}")
    return again


def dtmf_info(dialog: Dialog, digit: str) -> Request:
    """A digit as ``application/dtmf-relay`` INFO, for far ends without RFC 4733."""
    info = dialog.request("INFO")
    info.headers.add("content-type", "application/dtmf-relay")
    info.body = f"Signal={digit}\r\nDuration=160\r\n".encode()
    return info


def dtmf_relay_digit(body: bytes) -> str:
    """The digit of an ``application/dtmf-relay`` INFO body (``Signal=5``), or ''."""
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and value.strip():
            return value.strip()[:1]
    return ""
