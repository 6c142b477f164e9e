"""Transfers (REFER, RFC 3515; Replaces, RFC 3891) and DTMF over SIP INFO.

A phone's transfer key sends REFER in the call it wants to hand on.  Blind: Refer-To is
the target.  Attended: the phone first called the target, and Refer-To carries a
Replaces header naming that consultation dialog.  The core decides what to do; we
report ``leg_transfer(target, replaces)`` and the progress goes back to the phone as
sipfrag NOTIFYs (RFC 3515 2.4.5) through :func:`transfer_result`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from .headers import parse_name_addr
from .message import Request, SipParseError
from .stack import REASONS, make_response
from .transaction import ServerTransaction

if TYPE_CHECKING:
    from .call import SipLeg

DTMF_DIGITS = set("0123456789*#ABCDabcd")


def parse_refer_to(value: str) -> tuple[str, str | None]:
    """``<sip:102@box?Replaces=id%3Bto-tag%3Da%3Bfrom-tag%3Db>`` -> ("102", "id;to-tag=a;...")."""
    addr = parse_name_addr(value)
    replaces = None
    for part in addr.uri.headers.split("&"):
        name, _, raw = part.partition("=")
        if name.lower() == "replaces" and raw:
            replaces = unquote(raw)
    return addr.uri.user or addr.uri.host, replaces


def parse_replaces(value: str) -> tuple[str, str, str]:
    """A Replaces value (RFC 3891 6.1) -> (call_id, to_tag, from_tag)."""
    call_id, _, rest = value.partition(";")
    tags = {}
    for param in rest.split(";"):
        name, _, tag = param.strip().partition("=")
        tags[name.lower()] = tag
    return call_id.strip(), tags.get("to-tag", ""), tags.get("from-tag", "")


def handle_refer(leg: SipLeg, tx: ServerTransaction, request: Request) -> None:
    value = request.headers.get("refer-to")
    if not value:
        tx.respond(make_response(request, 400, "Missing Refer-To"))
        return
    try:
        target, replaces = parse_refer_to(value)
    except SipParseError:
        tx.respond(make_response(request, 400, "Bad Refer-To"))
        return
    tx.respond(make_response(request, 202, to_tag=leg.dialog.local_tag if leg.dialog else None))
    leg.refer_dialog_cseq = request.cseq[0]
    transfer_result(leg, 100, final=False)
    leg.listener.leg_transfer(leg, target, replaces)


def transfer_result(leg: SipLeg, status: int, final: bool = True) -> None:
    """Tell the transferring phone how the transfer went (a sipfrag NOTIFY)."""
    if leg.dialog is None or leg.refer_dialog_cseq is None or leg.ended:
        return
    notify = leg.dialog.request("NOTIFY")
    notify.headers.add("event", f"refer;id={leg.refer_dialog_cseq}")
    state = "terminated;reason=noresource" if final else "active;expires=60"
    notify.headers.add("subscription-state", state)
    notify.headers.add("content-type", "message/sipfrag;version=2.0")
    notify.body = f"SIP/2.0 {status} {REASONS.get(status, 'Unknown')}\r\n".encode()
    leg.sip.stack.request(notify, leg.dialog.peer, lambda tx, r: None)
    if final:
        leg.refer_dialog_cseq = None


def handle_info(leg: SipLeg, tx: ServerTransaction, request: Request) -> None:
    """DTMF in INFO: application/dtmf-relay ``Signal=5`` or application/dtmf ``5``."""
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", "replace")
    digit = ""
    if kind == "application/dtmf-relay":
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                digit = value.strip()
    elif kind == "application/dtmf":
        digit = text.strip()
    elif request.body:
        tx.respond(make_response(request, 415))
        return
    tx.respond(make_response(request, 200))
    if digit in DTMF_DIGITS and digit:
        leg._emit_dtmf(digit.upper())
