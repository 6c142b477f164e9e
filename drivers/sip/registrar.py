"""The registrar (RFC 3261 section 10.3): where each extension's phones can be reached.

A binding remembers the flow the REGISTER came over (source address and transport), not
only the Contact URI: phones behind NAT advertise addresses nobody can reach, and calls
to them must go back the way their registrations came (RFC 5626's idea, simplified).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .headers import NameAddr, Uri, parse_name_addr
from .message import Request, Response, SipParseError
from .transaction import Peer

if TYPE_CHECKING:
    from appliance.clock import Clock, Timer


@dataclass(slots=True)
class Binding:
    extension: str
    contact: str  # the Contact URI as the phone wrote it
    peer: Peer  # where requests to it go (see Registrar.route)
    expires_at: float  # clock.monotonic()
    user_agent: str = ""
    call_id: str = ""
    cseq: int = 0
    registered_at: float = 0.0  # wall clock
    reachable: bool = True
    rtt_ms: float | None = None
    timer: Timer | None = None
    source: Peer | None = None  # where the REGISTER came from

    def facts(self, now: float) -> dict[str, Any]:
        return {
            "contact": self.contact,
            "source": _peer_text(self.source or self.peer),
            "target": _peer_text(self.peer),
            "user_agent": self.user_agent,
            "expires_in": max(0, round(self.expires_at - now)),
            "registered_at": self.registered_at,
            "reachable": self.reachable,
            "rtt_ms": self.rtt_ms,
        }


Change = Callable[[str, str, Binding], None]  # (extension, state, binding)


class RegisterError(Exception):
    def __init__(self, status: int, reason: str, min_expires: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.min_expires = min_expires


class Registrar:
    def __init__(
        self, clock: Clock, on_change: Change, min_expires: int = 60,
        max_expires: int = 3600, default_expires: int = 3600, max_contacts: int = 5,
        nat: str = "auto",
    ) -> None:
        if nat not in ("auto", "flow", "contact"):
            raise ValueError(f"nat must be auto, flow or contact, not {nat!r}")
        self.nat = nat
        self.clock = clock
        self.on_change = on_change
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.max_contacts = max_contacts
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._contacts: dict[str, tuple[NameAddr, str]] = {}

    def bindings(self, extension: str) -> list[Binding]:
        return list(self._bindings.get(extension, {}).values())

    def registered(self, extension: str) -> bool:
        return bool(self._bindings.get(extension))

    def extensions(self) -> list[str]:
        return sorted(self._bindings)

    def register(self, request: Request, peer: Peer, extension: str) -> list[Binding]:
        """Apply a REGISTER; returns the extension's bindings now (RFC 3261 10.3 step 6-8).
        Raises :class:`RegisterError` for a request to refuse."""
        contacts = request.headers.get_all("contact")
        header_expires = self._number(request.headers.get("expires"))
        call_id, cseq = request.call_id, request.cseq[0]
        if "*" in contacts or any(c.strip() == "*" for c in contacts if "*" in c):
            if len(contacts) != 1 or header_expires != 0:
                raise RegisterError(400, "Contact * needs Expires: 0 and no other contact")
            for binding in self.bindings(extension):
                self._remove(binding, "unregistered")
            return []
        wanted = []
        for value in contacts:
            contact, uri = self._contact(value)
            expires = self._number(contact.params.get("expires"))
            if expires is None:
                expires = header_expires if header_expires is not None else self.default_expires
            if 0 < expires < self.min_expires:
                raise RegisterError(423, "Interval Too Brief", self.min_expires)
            wanted.append((contact.uri, uri, min(expires, self.max_expires)))
        current = self._bindings.setdefault(extension, {})
        for contact_uri, uri, expires in wanted:
            old = current.get(uri)
            if old and old.call_id == call_id and cseq <= old.cseq:
                raise RegisterError(500, "Out of order REGISTER")  # RFC 3261 10.3 step 7
            if expires == 0:
                if old:
                    self._remove(old, "unregistered")
                continue
            self._bind(extension, uri, self.route(contact_uri, peer), expires, request, old)
            current[uri].source = peer
        if not current:
            self._bindings.pop(extension, None)
        return self.bindings(extension)

    def _contact(self, value: str) -> tuple[NameAddr, str]:
        """A Contact value parsed, with its URI as the binding's key; kept by the text,
        since a phone sends the same Contact in every re-REGISTER."""
        known = self._contacts.get(value)
        if known is None:
            contact = parse_name_addr(value)
            if len(self._contacts) >= 4096:  # values come from the wire: bound the cache
                self._contacts.clear()
            known = self._contacts[value] = (contact, str(contact.uri))
        return known

    def route(self, contact: Uri, source: Peer) -> Peer:
        """Where to send requests for a binding.  ``flow``: back to the REGISTER's source
        (NAT-proof, like RFC 5626 flows); ``contact``: to the Contact URI (RFC 3261);
        ``auto``: the Contact when its host is the address the REGISTER came from (the
        phone is not behind NAT and told us its port), else the flow.  TCP always uses
        the flow: the phone's connection is the way to it."""
        if self.nat == "flow" or source.reliable or contact.scheme != "sip":
            return source
        if self.nat == "contact" or contact.host == source.host:
            return Peer(contact.transport, contact.host, contact.port or 5060)
        return source

    def _bind(
        self, extension: str, uri: str, peer: Peer, expires: int, request: Request,
        old: Binding | None,
    ) -> None:
        now = self.clock.monotonic()
        if old is not None and old.peer == peer and old.expires_at <= now + expires:
            # A refresh over the same flow, as every phone sends every few minutes: the
            # binding is updated where it is, and its timer, which fires early now, is
            # re-armed for the rest then (no new object, no timer per REGISTER).
            old.expires_at = now + expires
            old.user_agent = request.headers.get("user-agent") or ""
            old.call_id, old.cseq = request.call_id, request.cseq[0]
            old.reachable, old.rtt_ms = True, None  # as a new binding would start
            return
        binding = Binding(
            extension, uri, peer, now + expires, request.headers.get("user-agent") or "",
            request.call_id, request.cseq[0],
            old.registered_at if old and old.peer == peer else self.clock.time(),
        )
        if old is not None and old.timer is not None:
            old.timer.cancel()
        binding.timer = self.clock.call_later(expires, self._expire, extension, uri)
        current = self._bindings[extension]
        current[uri] = binding
        while len(current) > self.max_contacts:  # a phone that re-registers under new URIs
            oldest = min(current.values(), key=lambda b: b.registered_at)
            self._remove(oldest, "replaced")
        if old is None or old.peer != peer:
            self.on_change(extension, "registered", binding)

    def _expire(self, extension: str, uri: str) -> None:
        binding = self._bindings.get(extension, {}).get(uri)
        if binding is None:
            return
        remaining = binding.expires_at - self.clock.monotonic()
        if remaining > 0.001:  # refreshed since the timer was set: wait for the rest
            binding.timer = self.clock.call_later(remaining, self._expire, extension, uri)
            return
        self._remove(binding, "expired")

    def _remove(self, binding: Binding, state: str) -> None:
        current = self._bindings.get(binding.extension, {})
        if current.get(binding.contact) is binding:
            del current[binding.contact]
        if not current:
            self._bindings.pop(binding.extension, None)
        if binding.timer is not None:
            binding.timer.cancel()
        self.on_change(binding.extension, state, binding)

    def close(self) -> None:
        """Forget every binding without events: the channel is stopping, and phones
        register again when it is back (their bindings were only in memory)."""
        for current in self._bindings.values():
            for binding in current.values():
                if binding.timer is not None:
                    binding.timer.cancel()
        self._bindings.clear()

    def contact_headers(self, bindings: list[Binding]) -> list[str]:
        now = self.clock.monotonic()
        return [f"<{b.contact}>;expires={max(0, round(b.expires_at - now))}" for b in bindings]

    @staticmethod
    def _number(value: str | None) -> int | None:
        if value is None:
            return None
        value = value.strip()
        if not value.isdigit():
            raise SipParseError("bad Expires value")
        return min(int(value), 2**32 - 1)

    def status(self) -> dict[str, list[dict[str, Any]]]:
        now = self.clock.monotonic()
        return {ext: [b.facts(now) for b in self.bindings(ext)] for ext in self.extensions()}


def apply_register_error(response: Response, error: RegisterError) -> None:
    if error.min_expires is not None:
        response.headers.add("min-expires", str(error.min_expires))


def _peer_text(peer: Peer) -> str:
    return f"{peer.transport}:{peer.host}:{peer.port}"
