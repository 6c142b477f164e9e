"""A simulated operator's IP phone: a compact SIP user agent for the demo and the tests.

It registers to the box with digest credentials, rings when the box calls, picks up (or
not) as its :class:`~drivers.sim.phone_policy.AnswerPolicy` says, talks (a tone or a WAV
file as its voice, RTP G.711 at 20 ms), hangs up after a while, dials feature codes and
numbers, and sends DTMF (RFC 4733).  It is built on the box's own SIP stack (parser,
transactions, dialogs, digest, SDP, RTP), one UDP socket per phone like a desk phone.

    phone = SimPhone("101", "secret", registrar=("127.0.0.1", 5060),
                     policy=AnswerPolicy(answer_after=(2, 7), talk_seconds=(20, 90)))
    await phone.start()                  # registered, or RegistrationFailed
    call = await phone.dial("*45")       # a SimCall; await call.wait(CallState.ANSWERED)
    await phone.stop()                   # hangs up, unregisters

:class:`PhoneBank` runs many on one loop.  ``python -m drivers.sim.sip_phone --help``
runs some from the command line.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from appliance.clock import Clock, LoopClock
from drivers.sip.headers import parse_name_addr
from drivers.sip.message import Request, Response
from drivers.sip.rtp import PlayoutTicker
from drivers.sip.stack import SipStack, make_response
from drivers.sip.transaction import (
    ClientTransaction,
    InviteServerTransaction,
    Peer,
    ResponseHandler,
    ServerTransaction,
    TimeoutHandler,
)

from .phone_auth import DigestClient
from .phone_call import CallState, SimCall
from .phone_media import Voice
from .phone_policy import AnswerPolicy, RingDecision, decide, talk_time
from .phone_register import Registration, RegistrationFailed

log = logging.getLogger(__name__)

USER_AGENT = "callbox-simphone/1"
HISTORY = 200  # calls kept per phone for tests and the demo's counters
KEEP_RECORDINGS = 3  # ended calls whose heard audio is kept (the rest would be megabytes)
# RFC 3261 25.1 user part: what a dialled string may carry unescaped ('#' must be %23).
USER_SAFE = "-_.!~*'()&=+$,;?/"

__all__ = ["AnswerPolicy", "CallState", "PhoneBank", "PhoneEvent", "RegistrationFailed",
           "SimCall", "SimPhone", "Voice"]


@dataclass(slots=True)
class PhoneEvent:
    """``kind``: registered, registration_failed, unregistered, incoming, ringing,
    answered, hold, dtmf, hangup.  ``call`` is set for call events."""

    kind: str
    extension: str
    call: SimCall | None = None
    detail: dict[str, Any] = field(default_factory=dict)


EventHandler = Callable[[PhoneEvent], None]


class SimPhone:
    ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, UPDATE"

    def __init__(
        self, extension: str, password: str, registrar: tuple[str, int] = ("127.0.0.1", 5060),
        local_host: str = "127.0.0.1", policy: AnswerPolicy | None = None,
        clock: Clock | None = None, voice: Voice | None = None, expires: int = 3600,
        rtp_ports: tuple[int, int] = (40000, 49999), on_event: EventHandler | None = None,
        keep_seconds: float = 10.0, retry_seconds: float = 30.0,
        ticker: PlayoutTicker | None = None, t1: float | None = None,
    ) -> None:
        self.extension = extension
        self.registrar = (registrar[0], int(registrar[1]))
        self.local_host = local_host
        self.policy = policy or AnswerPolicy()
        self.clock: Clock = clock or LoopClock()
        self.voice = voice or Voice.tone(440.0)
        self.rtp_ports = rtp_ports
        self.on_event = on_event
        self.keep_seconds = keep_seconds
        self.rng = self.policy.generator(extension)
        self.digest = DigestClient(extension, password)
        self.stack = SipStack(self.clock, self)
        if t1 is not None:  # a LAN with known round trips may retransmit sooner (17.1.1.1)
            self.stack.transactions.t1 = t1
        self.ticker = ticker or PlayoutTicker(self.clock)
        self.registration = Registration(self, expires, retry_seconds)
        self.calls: deque[SimCall] = deque(maxlen=HISTORY)  # newest last, live and ended
        self.dialogs: dict[tuple[str, str], SimCall] = {}
        self.invites: dict[tuple, SimCall] = {}
        self.running = False
        self._tasks: set[asyncio.Task] = set()
        self._call_waiters: list[asyncio.Future] = []

    def __repr__(self) -> str:
        return f"<SimPhone {self.extension} {self.registration.state}>"

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, timeout: float = 10.0, register: bool = True) -> None:
        """Open the phone's SIP socket and register.  Raises :class:`RegistrationFailed`
        (and closes the phone again) when the box refuses or does not answer.
        ``register=False`` only opens the socket: the registrar is then just the
        outbound proxy calls go to (a peer such as sipp that takes no REGISTER)."""
        await self.stack.start(self.local_host, 0, tcp=False)
        self.running = True
        if not register:
            return
        try:
            await self.registration.register(timeout)
        except RegistrationFailed:
            await self._close()
            raise

    async def stop(self) -> None:
        """Hang up every call, unregister, close the socket."""
        if not self.running:
            return
        for call in self.active_calls:
            call.hangup()
        await self.registration.unregister()
        await self._close()
        self.emit("unregistered", None)

    async def _close(self) -> None:
        self.running = False
        self.registration.close()
        for call in self.active_calls:
            call.media.close()
        for task in list(self._tasks):
            task.cancel()
        await self.stack.close()

    @property
    def registered(self) -> bool:
        return self.registration.state == "registered"

    @property
    def port(self) -> int:
        return self.stack.port

    @property
    def active_calls(self) -> list[SimCall]:
        return [call for call in self.calls if not call.ended]

    # -- calls --------------------------------------------------------------------------
    async def dial(self, number: str) -> SimCall:
        """Place a call through the box (an extension, a feature code, an outside
        number).  Returns once the INVITE is on its way; follow it with ``call.wait``."""
        if not self.running:
            raise RuntimeError(f"phone {self.extension} is not started")
        call = SimCall(self, "outbound", number, number)
        self.calls.append(call)
        await call.start_outbound()
        return call

    async def next_call(self, timeout: float = 10.0) -> SimCall:
        """The next call that comes in from now on (ringing, or refused as busy)."""
        future = asyncio.get_running_loop().create_future()
        self._call_waiters.append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if future in self._call_waiters:
                self._call_waiters.remove(future)

    def outbound_talk_time(self) -> float | None:
        return talk_time(self.policy, self.rng)

    def emit(self, kind: str, call: SimCall | None, **detail: Any) -> None:
        log.debug("phone %s: %s call=%s %s", self.extension, kind,
                  call.call_id if call is not None else "-", detail)
        if kind == "incoming" and call is not None:
            for future in self._call_waiters:
                if not future.done():
                    future.set_result(call)
        if self.on_event is not None:
            try:
                self.on_event(PhoneEvent(kind, self.extension, call, detail))
            except Exception:  # a listener's bug must not stop the phone
                log.exception("phone %s: event handler failed", self.extension)

    # -- helpers for calls and registration ---------------------------------------------
    @property
    def registrar_peer(self) -> Peer:
        return Peer("udp", *self.registrar)

    @property
    def registrar_uri(self) -> str:
        return f"sip:{self.registrar[0]}:{self.registrar[1]}"

    @property
    def contact(self) -> str:
        return self.stack.contact_for(self.registrar_peer, self.extension)

    def dial_uri(self, number: str) -> str:
        return f"sip:{quote(number, safe=USER_SAFE)}@{self.registrar[0]}:{self.registrar[1]}"

    def new_request(self, method: str, uri: str, to: str, call_id: str, tag: str,
                    cseq: int) -> Request:
        request = Request(method=method, uri=uri)
        h = request.headers
        h.add("from", f"<sip:{self.extension}@{self.registrar[0]}>;tag={tag}")
        h.add("to", to if to.startswith("<") else f"<{to}>")
        h.add("call-id", call_id)
        h.add("cseq", f"{cseq} {method}")
        h.add("user-agent", USER_AGENT)
        return request

    def send(self, request: Request, on_response: ResponseHandler,
             on_timeout: TimeoutHandler | None = None, keep_via: bool = False,
             peer: Peer | None = None) -> ClientTransaction:
        if "user-agent" not in request.headers:
            request.headers.add("user-agent", USER_AGENT)
        return self.stack.request(request, peer or self.registrar_peer, on_response,
                                  on_timeout, keep_via)

    def send_stateless(self, request: Request, peer: Peer) -> None:
        self.stack.request_stateless(request, peer)

    def bind_dialog(self, call: SimCall) -> None:
        assert call.dialog is not None
        self.dialogs[call.dialog.key] = call

    def call_ended(self, call: SimCall) -> None:
        if call.dialog is not None:
            self.dialogs.pop(call.dialog.key, None)
        if call.invite_tx is not None:
            self.invites.pop(call.invite_tx.key, None)
        ended = [c for c in self.calls if c.ended and c is not call]
        for old in ended[: max(0, len(ended) - (KEEP_RECORDINGS - 1))]:
            old.media.recording.clear()

    # -- the transaction user (what the stack hands us) ---------------------------------
    def is_banned(self, host: str) -> bool:
        return False

    def on_request(self, tx: ServerTransaction, request: Request) -> None:
        to_tag = parse_name_addr(request.headers.get("to") or "").tag
        if to_tag:
            call = self.dialogs.get((request.call_id, to_tag))
            if call is None:
                tx.respond(make_response(request, 481))
            else:
                call.in_dialog(tx, request)
            return
        if request.method == "INVITE":
            assert isinstance(tx, InviteServerTransaction)
            self._incoming(tx, request)
        elif request.method in ("OPTIONS", "NOTIFY"):  # qualify pings, unsolicited MWI
            response = make_response(request, 200)
            response.headers.add("allow", self.ALLOW)
            tx.respond(response)
        elif request.method in ("BYE", "INFO", "UPDATE"):
            tx.respond(make_response(request, 481))
        else:
            response = make_response(request, 405)
            response.headers.add("allow", self.ALLOW)
            tx.respond(response)

    def _incoming(self, tx: InviteServerTransaction, request: Request) -> None:
        caller = parse_name_addr(request.headers.get("from") or "")
        call = SimCall(self, "inbound", caller.uri.user or caller.display, self.extension)
        decision = decide(self.policy, self.rng)
        if self.policy.busy_when_in_call and any(
                c.state is CallState.ANSWERED for c in self.active_calls):
            decision = RingDecision("busy", None, None)
        self.calls.append(call)
        self.invites[tx.key] = call
        self._spawn(call.start_inbound(tx, request, decision))

    def on_ack(self, request: Request, peer: Peer) -> None:
        to_tag = parse_name_addr(request.headers.get("to") or "").tag
        call = self.dialogs.get((request.call_id, to_tag))
        if call is not None:
            call.on_ack(request)

    def on_cancel(self, invite_tx: ServerTransaction, cancel: Request) -> None:
        call = self.invites.pop(invite_tx.key, None)
        if call is not None:
            call.cancelled()
        else:
            invite_tx.respond(make_response(invite_tx.request, 487, to_tag="gone"))

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        log.debug("phone %s: stray %s", self.extension, response.status)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("phone %s task failed", self.extension, exc_info=task.exception())


class PhoneBank:
    """Many simulated phones on one loop (the demo's office).  ``accounts`` maps each
    extension to its SIP password; every phone gets the same policy (with its own
    random draws) and the bank's ``on_event``."""

    def __init__(
        self, accounts: Mapping[str, str], registrar: tuple[str, int],
        local_host: str = "127.0.0.1", policy: AnswerPolicy | None = None,
        clock: Clock | None = None, on_event: EventHandler | None = None, **options: Any,
    ) -> None:
        self.clock = clock or LoopClock()
        self.on_event = on_event
        self.ticker = PlayoutTicker(self.clock)  # one 20 ms playout tick for all phones
        self.phones: dict[str, SimPhone] = {
            ext: SimPhone(ext, password, registrar, local_host, policy, self.clock,
                          on_event=self._event, ticker=self.ticker, **options)
            for ext, password in accounts.items()
        }

    def __getitem__(self, extension: str) -> SimPhone:
        return self.phones[extension]

    def __iter__(self) -> Iterator[SimPhone]:
        return iter(self.phones.values())

    def _event(self, event: PhoneEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    async def start(self, timeout: float = 10.0) -> dict[str, str]:
        """Start and register every phone; returns ``{extension: reason}`` for those the
        box refused (they are left stopped, the others run)."""
        results = await asyncio.gather(*(p.start(timeout) for p in self.phones.values()),
                                       return_exceptions=True)
        failures = {}
        for phone, result in zip(self.phones.values(), results, strict=True):
            if isinstance(result, BaseException):
                failures[phone.extension] = str(result)
        return failures

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.phones.values()), return_exceptions=True)

    @property
    def registered(self) -> list[str]:
        return [ext for ext, phone in self.phones.items() if phone.registered]


if __name__ == "__main__":  # python -m drivers.sim.sip_phone
    from .phone_cli import main

    raise SystemExit(main())
