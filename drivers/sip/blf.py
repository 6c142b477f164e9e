"""Busy lamp fields: dialog-info subscriptions (RFC 6665 SUBSCRIBE/NOTIFY, RFC 4235 body).

A phone's BLF key subscribes to another extension's ``dialog`` event; we NOTIFY it with
that extension's state: idle (terminated), ringing (early) or busy (confirmed).  The
state comes from the core through :meth:`Blf.set_state`, and from the channel's own
legs when the core says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .dialog import Dialog
from .headers import header_tag, parse_uri
from .message import Request
from .stack import make_response, new_tag
from .transaction import Peer, ServerTransaction

if TYPE_CHECKING:
    from appliance.clock import Clock, Timer

    from .call import SipLeg
    from .stack import SipStack

STATES = {"idle": "terminated", "ringing": "early", "busy": "confirmed", "held": "confirmed"}
MIN_EXPIRES, MAX_EXPIRES, DEFAULT_EXPIRES = 60, 3600, 600


@dataclass(frozen=True, slots=True)
class CallInfo:
    """The call behind a lamp, from the watched phone's side (RFC 4235 3.7.1), so that a
    BLF key can pick up a ringing call with INVITE/Replaces."""

    call_id: str
    local_tag: str  # the watched phone's tag ("" while it has not answered a 1xx yet)
    remote_tag: str  # the box's tag
    direction: str  # "initiator": the phone called; "recipient": it is being called
    remote: str  # who is on the other end: a number or an extension


@dataclass(slots=True)
class Subscription:
    dialog: Dialog
    extension: str  # watched
    version: int = 0
    timer: Timer | None = None


class Blf:
    def __init__(self, stack: SipStack, clock: Clock) -> None:
        self.stack = stack
        self.clock = clock
        self.states: dict[str, str] = {}
        self.calls: dict[str, CallInfo] = {}
        self.subscriptions: dict[tuple[str, str], Subscription] = {}

    def subscribe(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        """A SUBSCRIBE the channel has authenticated (new or refreshing)."""
        event = (request.headers.get("event") or "").split(";")[0].strip().lower()
        if event != "dialog":
            response = make_response(request, 489)
            response.headers.add("allow-events", "dialog")
            tx.respond(response)
            return
        expires_text = (request.headers.get("expires") or str(DEFAULT_EXPIRES)).strip()
        expires = min(int(expires_text), MAX_EXPIRES) if expires_text.isdigit() else -1
        if 0 < expires < MIN_EXPIRES or expires < 0:
            response = make_response(request, 423 if expires >= 0 else 400)
            response.headers.add("min-expires", str(MIN_EXPIRES))
            tx.respond(response)
            return
        to_tag = _to_tag(request)
        sub = self.subscriptions.get((request.call_id, to_tag)) if to_tag else None
        if to_tag and sub is None:
            tx.respond(make_response(request, 481))
            return
        if sub is None:
            watched = parse_uri(request.uri).user
            dialog = Dialog.as_uas(request, peer, new_tag(), self.stack.contact_for(peer))
            sub = Subscription(dialog, watched)
            self.subscriptions[dialog.key] = sub
        elif not sub.dialog.accepts(request):
            tx.respond(make_response(request, 500))
            return
        response = make_response(request, 200, to_tag=sub.dialog.local_tag)
        response.headers.add("expires", str(expires))
        response.headers.add("contact", sub.dialog.contact)
        tx.respond(response)
        if sub.timer is not None:
            sub.timer.cancel()
        if expires == 0:
            self._end(sub, "timeout")
            return
        sub.timer = self.clock.call_later(expires, self._end, sub, "timeout")
        self._notify(sub, f"active;expires={expires}")

    def set_state(self, extension: str, state: str, call: CallInfo | None = None) -> None:
        """``state``: idle, ringing, busy or held.  Every watcher of ``extension`` hears."""
        if state not in STATES:
            raise ValueError(f"unknown BLF state {state!r}")
        if self.states.get(extension, "idle") == state and self.calls.get(extension) == call:
            return
        self.states[extension] = state
        if call is None or state == "idle":
            self.calls.pop(extension, None)
        else:
            self.calls[extension] = call
        for sub in list(self.subscriptions.values()):
            if sub.extension == extension:
                self._notify(sub, "active")

    def state(self, extension: str) -> str:
        return self.states.get(extension, "idle")

    def _end(self, sub: Subscription, reason: str) -> None:
        self.subscriptions.pop(sub.dialog.key, None)
        if sub.timer is not None:
            sub.timer.cancel()
        self._notify(sub, f"terminated;reason={reason}")

    def close(self) -> None:
        for sub in list(self.subscriptions.values()):
            self._end(sub, "noresource")

    def _notify(self, sub: Subscription, subscription_state: str) -> None:
        notify = sub.dialog.request("NOTIFY")
        notify.headers.add("event", "dialog")
        notify.headers.add("subscription-state", subscription_state)
        notify.headers.add("content-type", "application/dialog-info+xml")
        notify.body = self.body(sub)
        self.stack.request(notify, sub.dialog.peer, lambda tx, r: self._answered(sub, r.status))

    def _answered(self, sub: Subscription, status: int) -> None:
        if status in (481, 489) or status >= 500:  # the phone forgot the subscription
            self.subscriptions.pop(sub.dialog.key, None)
            if sub.timer is not None:
                sub.timer.cancel()

    def body(self, sub: Subscription) -> bytes:
        state = self.states.get(sub.extension, "idle")
        host = self.stack.transports.local_address(sub.dialog.peer.host)
        entity = escape(f"sip:{sub.extension}@{host}")
        call = self.calls.get(sub.extension)
        if call is None:
            direction = ' direction="recipient"' if state == "ringing" else ""
            dialog = (f'<dialog id="{escape(sub.extension)}"{direction}>'
                      f"<state>{STATES[state]}</state></dialog>")
        else:
            attrs = {"id": call.call_id, "call-id": call.call_id, "local-tag": call.local_tag,
                     "remote-tag": call.remote_tag, "direction": call.direction}
            text = " ".join(f'{k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in attrs.items())
            remote = escape(f"sip:{call.remote}@{host}")
            dialog = (f"<dialog {text}><state>{STATES[state]}</state>"
                      f"<remote><identity>{remote}</identity></remote></dialog>")
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="{sub.version}"'
            f' state="full" entity="{entity}">\n{dialog}\n</dialog-info>\n'
        )
        sub.version += 1
        return xml.encode()


def call_info(leg: SipLeg) -> CallInfo | None:
    """This call as the phone's busy lamp watchers see it (RFC 4235)."""
    if leg.dialog is not None:
        phone_tag, box_tag, call_id = (leg.dialog.remote_tag, leg.dialog.local_tag,
                                       leg.dialog.call_id)
    elif leg.forks:
        invite = leg.forks[0].invite
        phone_tag, box_tag = "", header_tag(invite.headers.get("from") or "")
        call_id = invite.call_id
    else:
        return None
    if leg.direction == "outbound":
        return CallInfo(call_id, phone_tag, box_tag, "recipient", leg.caller.number)
    return CallInfo(call_id, phone_tag, box_tag, "initiator", leg.dialled)


def _to_tag(request: Request) -> str:
    return header_tag(request.headers.get("to") or "")
