"""The phones channel: the box's SIP endpoint for the operators' IP phones.

Phones register here (digest-authenticated against the ``phones`` table through a
``credentials(extension) -> password | None`` callable), the core rings them with
:meth:`SipChannel.originate`, and what they dial arrives as inbound legs through
``host.incoming``.  A table of handlers dispatches requests by method.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from drivers.base import CallerId, Cause, Channel, ChannelHost, LegListener, LegState, Unreachable

from .auth import AuthGuard, DigestAuthenticator
from .blf import Blf, call_info
from .call import SipLeg
from .headers import header_tag, parse_name_addr, parse_name_addr_seen, parse_uri, split_hostport
from .message import Request, Response
from .registrar import Binding, RegisterError, Registrar, apply_register_error
from .rtp import PlayoutTicker, RtpSession, parse_port_range
from .sdp import CODECS
from .stack import SipStack, make_response
from .transaction import InviteServerTransaction, Peer, ServerTransaction
from .transfer import parse_replaces

log = logging.getLogger(__name__)

RETRY_SECONDS = 10.0  # between attempts to open the SIP port after a failure

DEFAULTS: dict[str, Any] = {
    "listen": "0.0.0.0:5060", "tcp": True, "rtp_ports": "10000-20000", "realm": "callbox",
    "digest_algorithms": "MD5", "nonce_ttl": 300, "min_expires": 60, "max_expires": 3600,
    "default_expires": 3600, "qualify_seconds": 60, "ban_failures": 5, "ban_window": 60,
    "ban_seconds": 600, "trusted": (), "codecs": "PCMU,PCMA", "nat": "auto",
}


class SipChannel(Channel):
    kind = "sip"
    role = "phones"
    ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, SUBSCRIBE, INFO, UPDATE"

    def __init__(self, name: str, settings: Mapping[str, Any], host: ChannelHost) -> None:
        super().__init__(name, {**DEFAULTS, **settings}, host)
        s = self.settings
        self.credentials: Callable[[str], str | None] = s.get("credentials") or (lambda ext: None)
        self.clock = host.clock
        self.stack = SipStack(self.clock, self)
        if "t1" in s:  # RFC 3261 17.1.1.1 allows a smaller T1 on a LAN with known RTT
            self.stack.transactions.t1 = float(s["t1"])
        self.auth = DigestAuthenticator(
            s["realm"], self.clock, lambda user: self.credentials(user),
            tuple(a.strip().upper() for a in str(s["digest_algorithms"]).split(",")),
            float(s["nonce_ttl"]),
        )
        self.guard = AuthGuard(self.clock, int(s["ban_failures"]), float(s["ban_window"]),
                               float(s["ban_seconds"]), tuple(s["trusted"]))
        self.registrar = Registrar(self.clock, self._registration_changed, int(s["min_expires"]),
                                   int(s["max_expires"]), int(s["default_expires"]),
                                   nat=str(s["nat"]))
        self.blf = Blf(self.stack, self.clock)
        self.ticker = PlayoutTicker(self.clock)
        self.rtp_ports = parse_port_range(str(s["rtp_ports"]))
        self.codecs = tuple(c.strip().upper() for c in str(s["codecs"]).split(",") if c.strip())
        if not self.codecs or set(self.codecs) - set(CODECS):
            raise ValueError(f"codecs must be among {', '.join(CODECS)}, not {s['codecs']!r}")
        self.legs: set[SipLeg] = set()
        self.dialogs: dict[tuple[str, str], SipLeg] = {}
        self.invites: dict[tuple, SipLeg] = {}
        self.state = "stopped"
        self.listen_host = split_hostport(str(self.settings["listen"]))[0]
        self.error = ""
        self._tasks: set[asyncio.Task] = set()
        self._qualify_timer: Any = None
        self._retry_timer: Any = None
        self.handlers: dict[str, Callable[[ServerTransaction, Request], None]] = {
            "REGISTER": self._on_register, "INVITE": self._on_invite,
            "OPTIONS": self._on_options, "SUBSCRIBE": self._on_subscribe,
        }

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        host, port = split_hostport(str(self.settings["listen"]))
        try:
            await self.stack.start(host, port if port is not None else 5060,
                                   bool(self.settings["tcp"]))
        except OSError as error:
            # The contract: never raise for a missing device.  Report, and try again
            # (at boot the address may not be configured yet, or the port still busy).
            self.state = "error"
            self.error = str(error)
            log.error("SIP channel %s cannot listen on %s: %s", self.name, host, error)
            self.host.channel_changed(self)
            self._retry_timer = self.clock.call_later(RETRY_SECONDS, self._retry_start)
            return
        self.state = "running"
        self.error = ""
        self._schedule_qualify()
        self.host.channel_changed(self)

    def _retry_start(self) -> None:
        self._retry_timer = None
        if self.state == "error":
            self._spawn(self.start())

    async def stop(self) -> None:
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        for leg in list(self.legs):
            await leg.hangup(Cause.NORMAL_CLEARING)
        self.blf.close()
        self.registrar.close()
        if self._qualify_timer is not None:
            self._qualify_timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self.stack.close()
        self.state = "stopped"

    @property
    def port(self) -> int:
        return self.stack.port

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SIP task failed", exc_info=task.exception())

    # -- the contract -------------------------------------------------------------------
    def originate(self, destination: str, caller: CallerId, listener: LegListener) -> SipLeg:
        bindings = self.registrar.bindings(destination)
        if self.state != "running":
            raise Unreachable("SIP channel is not running", Cause.NETWORK_OUT_OF_ORDER)
        if not bindings:
            raise Unreachable(f"extension {destination} is not registered",
                              Cause.SUBSCRIBER_ABSENT)
        leg = SipLeg(self, "outbound", caller, destination, listener, destination)
        self.legs.add(leg)
        self.leg_state_changed(leg)
        self._spawn(leg.start_outbound(bindings))
        return leg

    def reaches(self, destination: str) -> bool:
        return self.registrar.registered(destination)

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "listen": f"{self.listen_host}:{self.stack.port}",
            "error": self.error,
            "tcp": bool(self.settings["tcp"]),
            "phones": self.registrar.status(),
            "calls": len(self.legs),
            "banned": self.guard.banned(),
            "counters": dict(self.stack.counters),
        }

    def set_extension_state(self, extension: str, state: str) -> None:
        """BLF: ``idle``, ``ringing``, ``busy`` or ``held`` for ``extension``'s watchers."""
        self.blf.set_state(extension, state)

    def banned(self) -> list[dict]:
        return self.guard.banned()

    def unban(self, source: str) -> bool:
        return self.guard.unban(source)

    def find_leg(self, replaces: str) -> SipLeg | None:
        """The leg a REFER's Replaces names (RFC 3891): for attended transfer."""
        call_id, to_tag, from_tag = parse_replaces(replaces)
        for tag in (to_tag, from_tag):
            leg = self.dialogs.get((call_id, tag))
            if leg is not None:
                return leg
        for leg in self.legs:  # an early dialog: a phone still ringing (BLF pickup)
            for fork in leg.forks:
                invite = fork.invite
                if invite.call_id == call_id and header_tag(
                        invite.headers.get("from") or "") in (to_tag, from_tag):
                    return leg
        return None

    # -- helpers for legs ---------------------------------------------------------------
    @property
    def rtp_bind(self) -> str:
        return str(self.settings.get("rtp_address") or self.listen_host)

    def rtp_host(self, towards: str) -> str:
        bind = self.rtp_bind
        if bind in ("0.0.0.0", "::"):
            return self.stack.transports.local_address(towards)
        return bind

    def domain_for(self, peer: Peer) -> str:
        return self.stack.transports.local_address(peer.host)

    def new_rtp(self, leg: SipLeg) -> RtpSession:
        return RtpSession(self.clock, self.ticker, leg._emit_frame, leg._emit_dtmf)

    def bind_dialog(self, leg: SipLeg) -> None:
        assert leg.dialog is not None
        self.dialogs[leg.dialog.key] = leg

    def leg_ended(self, leg: SipLeg) -> None:
        self.legs.discard(leg)
        if leg.dialog is not None:
            self.dialogs.pop(leg.dialog.key, None)
        if leg.invite_tx is not None:
            self.invites.pop(leg.invite_tx.key, None)
        self.leg_state_changed(leg)

    def leg_state_changed(self, leg: SipLeg) -> None:
        """Keep the BLF lamp of the leg's extension in step with its calls."""
        legs = [lg for lg in self.legs if lg.extension == leg.extension]
        answered = [lg for lg in legs if lg.state is LegState.ANSWERED]
        if answered:
            state, shown = "busy", answered[0]
        elif legs:
            shown = leg if leg in legs else legs[0]
            state = "ringing" if shown.direction == "outbound" else "busy"
        else:
            state, shown = "idle", None
        self.blf.set_state(leg.extension, state, call_info(shown) if shown else None)

    # -- transaction user ---------------------------------------------------------------
    def is_banned(self, host: str) -> bool:
        return self.guard.is_banned(host)

    def on_request(self, tx: ServerTransaction, request: Request) -> None:
        if "require" in request.headers and self._unsupported(tx, request):
            return
        to_tag = _to_tag(request)
        if to_tag:
            leg = self.dialogs.get((request.call_id, to_tag))
            if request.method == "SUBSCRIBE":
                self._on_subscribe(tx, request)
            elif leg is None:
                tx.respond(make_response(request, 481))
            else:
                leg.in_dialog(tx, request)
            return
        handler = self.handlers.get(request.method)
        if handler is None:
            status = 481 if request.method in ("BYE", "REFER", "INFO", "UPDATE", "NOTIFY") else 405
            response = make_response(request, status)
            response.headers.add("allow", self.ALLOW)
            tx.respond(response)
            return
        handler(tx, request)

    def _unsupported(self, tx: ServerTransaction, request: Request) -> bool:
        required = request.headers.get("require")
        if required and request.method not in ("ACK", "CANCEL"):
            response = make_response(request, 420)
            response.headers.add("unsupported", required)
            tx.respond(response)
            return True
        return False

    def on_ack(self, request: Request, peer: Peer) -> None:
        leg = self.dialogs.get((request.call_id, _to_tag(request)))
        if leg is not None:
            leg.on_ack(request)

    def on_cancel(self, invite_tx: ServerTransaction, cancel: Request) -> None:
        leg = self.invites.pop(invite_tx.key, None)
        if leg is not None:
            leg.cancelled()
        else:
            invite_tx.respond(make_response(invite_tx.request, 487, to_tag=secrets.token_hex(4)))

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        log.debug("stray response %s from %s", response.status, peer)

    # -- authentication -----------------------------------------------------------------
    def _authenticate(self, tx: ServerTransaction, request: Request) -> str | None:
        """The authenticated extension, or None after answering 401/403."""
        result = self.auth.check(request)
        host = tx.peer.host
        if result is not None and result.ok:
            self.guard.success(host)
            return result.user
        if result is None or result.stale:
            response = make_response(request, 401)
            for challenge in self.auth.challenges(stale=bool(result and result.stale)):
                response.headers.add("www-authenticate", challenge)
            if request.method == "INVITE":
                tx.respond(response)
            else:
                # A challenge is answered statelessly, as registrars do: a retransmitted
                # request just gets a fresh nonce, and a REGISTER storm leaves no state.
                tx.respond_statelessly(response)
            return None
        if self.guard.failure(host, result.user):
            log.warning("SIP source %s banned after failed logins (last user %r)",
                        host, result.user)
            self.host.bus.publish("phone.banned", channel=self.name, source=host,
                                  user=result.user)
        tx.respond(make_response(request, 403))  # the same for unknown users: no enumeration
        return None

    # -- handlers -------------------------------------------------------------------------
    def _on_options(self, tx: ServerTransaction, request: Request) -> None:
        response = make_response(request, 200)
        response.headers.add("allow", self.ALLOW)
        response.headers.add("accept", "application/sdp")
        tx.respond(response)

    def _on_register(self, tx: ServerTransaction, request: Request) -> None:
        user = self._authenticate(tx, request)
        if user is None:
            return
        aor = parse_name_addr_seen(request.headers.get("to") or "").uri.user
        if aor != user:
            tx.respond(make_response(request, 403, "Wrong user for this address"))
            return
        try:
            bindings = self.registrar.register(request, tx.peer, user)
        except RegisterError as error:
            response = make_response(request, error.status, str(error))
            apply_register_error(response, error)
            tx.respond(response)
            return
        response = make_response(request, 200)
        for value in self.registrar.contact_headers(bindings):
            response.headers.add("contact", value)
        tx.respond(response)

    def _on_invite(self, tx: ServerTransaction, request: Request) -> None:
        user = self._authenticate(tx, request)
        if user is None:
            return
        assert isinstance(tx, InviteServerTransaction)
        uri = parse_uri(request.uri)
        caller = parse_name_addr(request.headers.get("from") or "")
        dialled = unquote(uri.user) or parse_name_addr(request.headers.get("to") or "").uri.user
        leg = SipLeg(self, "inbound", CallerId(user, caller.display), dialled, None, user)
        self.legs.add(leg)
        self.invites[tx.key] = leg
        self._spawn(leg.start_inbound(tx, request, tx.peer))

    def _on_subscribe(self, tx: ServerTransaction, request: Request) -> None:
        if self._authenticate(tx, request) is not None:
            self.blf.subscribe(tx, request, tx.peer)

    # -- registrations ------------------------------------------------------------------
    def _registration_changed(self, extension: str, state: str, binding: Binding) -> None:
        facts = binding.facts(self.clock.monotonic())
        self.host.bus.publish("phone.registration", channel=self.name, extension=extension,
                              state=state, **facts)
        self.host.channel_changed(self)

    def _schedule_qualify(self) -> None:
        interval = float(self.settings["qualify_seconds"])
        if interval > 0:
            self._qualify_timer = self.clock.call_later(interval, self._qualify)

    def _qualify(self) -> None:
        """OPTIONS to every binding (keeps NAT open, finds dead phones)."""
        for extension in self.registrar.extensions():
            for binding in self.registrar.bindings(extension):
                self._ping(binding)
        self._schedule_qualify()

    def _ping(self, binding: Binding) -> None:
        host = self.domain_for(binding.peer)
        options = Request(method="OPTIONS", uri=binding.contact)
        options.headers.add("from", f"<sip:callbox@{host}>;tag={secrets.token_hex(4)}")
        options.headers.add("to", f"<{binding.contact}>")
        options.headers.add("call-id", secrets.token_hex(10))
        options.headers.add("cseq", "1 OPTIONS")
        sent = self.clock.monotonic()

        def answered(tx: Any, response: Response) -> None:
            binding.rtt_ms = round((self.clock.monotonic() - sent) * 1000, 1)
            self._reachable(binding, True)

        self.stack.request(options, binding.peer, answered,
                           lambda tx: self._reachable(binding, False))

    def _reachable(self, binding: Binding, reachable: bool) -> None:
        if binding.reachable != reachable:
            binding.reachable = reachable
            self._registration_changed(binding.extension,
                                       "reachable" if reachable else "unreachable", binding)


def _to_tag(request: Request) -> str:
    return header_tag(request.headers.get("to") or "")
