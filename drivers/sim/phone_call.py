"""One call on a simulated phone: the UAS side (the box rings us) and the UAC side (we
dial), over the box's own transaction layer and :class:`~drivers.sip.dialog.Dialog`.

Inbound: 100 Trying, 180 Ringing, then by the policy 200 OK with SDP after a delay, or
ring until CANCEL (200 + 487), or 486 Busy Here.  Outbound: INVITE with an SDP offer,
answering 401/407 challenges, ACK for the 2xx, CANCEL or BYE to end.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
from typing import TYPE_CHECKING, Any, Literal

from drivers.sip.dialog import Dialog
from drivers.sip.message import Request, Response
from drivers.sip.sdp import SdpError
from drivers.sip.stack import make_response, new_tag
from drivers.sip.transaction import ClientTransaction, InviteServerTransaction, ServerTransaction

from .phone_auth import MAX_AUTH_ROUNDS, AuthFailed
from .phone_media import PhoneMedia
from .phone_policy import RingDecision
from .phone_requests import cancel_for, dtmf_info, dtmf_relay_digit, next_attempt

if TYPE_CHECKING:
    from appliance.clock import Timer

    from .sip_phone import SimPhone

log = logging.getLogger(__name__)



class CallState(enum.Enum):
    CALLING = "calling"  # outbound: INVITE sent
    ALERTING = "alerting"  # outbound: the far end rings (180/183)
    RINGING = "ringing"  # inbound: we ring
    ANSWERED = "answered"
    ENDED = "ended"


class SimCall:
    def __init__(self, phone: SimPhone, direction: Literal["inbound", "outbound"],
                 remote: str, dialled: str) -> None:
        self.phone = phone
        self.direction = direction
        self.remote = remote  # who calls us (From user), or what we dialled
        self.dialled = dialled
        self.call_id = secrets.token_hex(12)
        self.state = CallState.RINGING if direction == "inbound" else CallState.CALLING
        clock = phone.clock
        self.started_at = clock.monotonic()
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.end_reason = ""  # local_bye, remote_bye, cancelled, busy, rejected, failed
        self.status: int | None = None  # the final SIP status that ended an unanswered call
        self.decision: RingDecision | None = None
        self.talk_seconds: float | None = None
        self.digits = ""  # DTMF heard from the far end
        self.media = PhoneMedia(clock, phone.ticker, phone.voice, phone.local_host,
                                self._dtmf, phone.keep_seconds)
        self.dialog: Dialog | None = None
        self.invite_tx: InviteServerTransaction | None = None
        self.invite: Request | None = None
        self.invite_ctx: ClientTransaction | None = None
        self._provisional = False
        self._cancel_pending = False
        self._auth_rounds = 0
        self._delayed_offer = False
        self._answer_sdp = b""
        self._held = False
        self._timers: list[Timer] = []
        self._waiters: list[tuple[set[CallState], asyncio.Future]] = []

    def __repr__(self) -> str:
        return f"<SimCall {self.phone.extension} {self.direction} {self.remote} {self.state.value}>"

    # -- state and waiting --------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED

    def _set_state(self, state: CallState) -> None:
        self.state = state
        for states, future in list(self._waiters):
            if (state in states or state is CallState.ENDED) and not future.done():
                future.set_result(state)

    async def wait(self, *states: CallState, timeout: float = 10.0) -> CallState:
        """Until the call is in one of ``states`` (or has ended); returns the state.
        Raises TimeoutError after ``timeout`` seconds of loop time."""
        if self.state in states or self.ended:
            return self.state
        future = asyncio.get_running_loop().create_future()
        entry = (set(states), future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.remove(entry)

    def _later(self, delay: float, callback: Any, *args: Any) -> None:
        self._timers.append(self.phone.clock.call_later(delay, callback, *args))

    def _end(self, reason: str, remote: bool, status: int | None = None) -> None:
        if self.ended:
            return
        self.end_reason, self.status = reason, status
        self.ended_at = self.phone.clock.monotonic()
        for timer in self._timers:
            timer.cancel()
        self.media.close()
        self._set_state(CallState.ENDED)
        self.phone.call_ended(self)
        self.phone.emit("hangup", self, reason=reason, remote=remote, status=status)

    def _answered(self) -> None:
        self.answered_at = self.phone.clock.monotonic()
        self._set_state(CallState.ANSWERED)
        self.media.start()
        if self.talk_seconds is not None:
            self._later(self.talk_seconds, self.hangup)
        self.phone.emit("answered", self)

    # -- inbound (we are the UAS) -------------------------------------------------------
    async def start_inbound(self, tx: InviteServerTransaction, request: Request,
                            decision: RingDecision) -> None:
        self.invite_tx, self.decision = tx, decision
        self.call_id = request.call_id
        self.talk_seconds = decision.talk_seconds
        tx.on_ack_timeout = lambda: self._bye("no_ack")
        tx.respond(make_response(request, 100))
        contact = self.phone.stack.contact_for(tx.peer, self.phone.extension)
        self.dialog = Dialog.as_uas(request, tx.peer, new_tag(), contact)
        self.phone.bind_dialog(self)
        if decision.action == "busy":
            self.phone.emit("incoming", self, action="busy", answer_after=None)
            self._final(486)
            self._end("busy", remote=False, status=486)
            return
        try:
            await self.media.open(self.phone.rtp_ports)
            self._delayed_offer = not request.body
            if request.body:  # answer the offer now: a 488 goes out before any ringing
                self._answer_sdp = self.media.answer(request.body)
        except (SdpError, OSError) as error:
            log.info("phone %s refuses a call: %s", self.phone.extension, error)
            status = 488 if isinstance(error, SdpError) else 503
            self._final(status)
            self._end("failed", remote=False, status=status)
            return
        if self.ended:  # cancelled while the port was being opened
            return
        self._respond(180)
        self.phone.emit("incoming", self, action=decision.action,
                        answer_after=decision.answer_after)
        if decision.action == "answer" and decision.answer_after is not None:
            self._later(decision.answer_after, self.answer)

    def _respond(self, status: int, body: bytes = b"") -> None:
        assert self.invite_tx is not None and self.dialog is not None
        response = make_response(self.invite_tx.request, status, to_tag=self.dialog.local_tag)
        response.headers.add("contact", self.dialog.contact)
        if body:
            response.headers.add("content-type", "application/sdp")
            response.body = body
        self.invite_tx.respond(response)

    def _final(self, status: int) -> None:
        if self.invite_tx is not None and self.invite_tx.state in ("trying", "proceeding"):
            self._respond(status)

    def answer(self) -> None:
        """Pick up: 200 OK with our SDP answer (or our offer, if the INVITE had none)."""
        if self.direction != "inbound" or self.state is not CallState.RINGING:
            return
        self._respond(200, self.media.offer() if self._delayed_offer else self._answer_sdp)
        self._answered()

    def reject(self, status: int = 486) -> None:
        """Refuse a ringing call (486 Busy Here, 603 Decline...)."""
        if self.direction == "inbound" and self.state is CallState.RINGING:
            self._final(status)
            self._end("rejected", remote=False, status=status)

    def cancelled(self) -> None:
        """The caller gave up (CANCEL, already answered 200 by the stack): 487."""
        self._final(487)
        self._end("cancelled", remote=True, status=487)

    def on_ack(self, request: Request) -> None:
        if self.invite_tx is not None and self.invite_tx.request is not None \
                and self.invite_tx.request.cseq[0] == request.cseq[0]:
            self.invite_tx.ack()
        if self._delayed_offer and request.body and not self.ended:
            try:
                self.media.take(request.body)
            except SdpError:
                self._bye("bad_sdp")

    # -- outbound (we are the UAC) ------------------------------------------------------
    async def start_outbound(self) -> None:
        try:
            await self.media.open(self.phone.rtp_ports)
        except OSError as error:
            log.warning("phone %s cannot open RTP: %s", self.phone.extension, error)
            self._end("failed", remote=False, status=503)
            return
        if self.ended:  # hung up before the INVITE could go
            return
        self.talk_seconds = self.phone.outbound_talk_time()
        invite = self.phone.new_request("INVITE", self.phone.dial_uri(self.dialled),
                                        self.phone.dial_uri(self.dialled), self.call_id,
                                        new_tag(), 1)
        invite.headers.add("contact", self.phone.contact)
        invite.headers.add("allow", self.phone.ALLOW)
        invite.headers.add("content-type", "application/sdp")
        invite.body = self.media.offer()
        self._send_invite(invite)

    def _send_invite(self, invite: Request) -> None:
        self.invite = invite
        self._provisional = False
        self.invite_ctx = self.phone.send(invite, self._invite_response, self._invite_timeout)

    def _invite_timeout(self, tx: ClientTransaction) -> None:
        if tx is self.invite_ctx:
            self._end("failed", remote=True, status=408)

    def _invite_response(self, tx: ClientTransaction, response: Response) -> None:
        status = response.status
        if 200 <= status < 300:
            self._invite_ok(tx, response)
        elif tx is not self.invite_ctx:
            return  # the answer to an INVITE we already replaced with credentials
        elif status < 200:
            self._provisional = True
            if self._cancel_pending:
                self._send_cancel()
            elif status in (180, 183) and self.state is CallState.CALLING:
                self._set_state(CallState.ALERTING)
                self.phone.emit("ringing", self)
        elif status in (401, 407) and not self.ended:
            self._challenged(response)
        else:
            self._end("cancelled" if status == 487 else "rejected", remote=True, status=status)

    def _challenged(self, response: Response) -> None:
        self._auth_rounds += 1
        try:
            challenge = self.phone.digest.take(response)
        except AuthFailed as error:
            log.warning("phone %s: %s", self.phone.extension, error)
            self._end("failed", remote=True, status=response.status)
            return
        if self._auth_rounds > MAX_AUTH_ROUNDS and (
                not challenge.stale or self._auth_rounds > 2 * MAX_AUTH_ROUNDS):
            self._end("failed", remote=True, status=response.status)
            return
        assert self.invite is not None
        again = next_attempt(self.invite)
        header = self.phone.digest.header(again.method, again.uri)
        if header is not None:
            again.headers.set(*header)
        self._send_invite(again)

    def _invite_ok(self, tx: ClientTransaction, response: Response) -> None:
        assert self.invite is not None
        dialog = Dialog.as_uac(tx.request, response, tx.peer)
        self.phone.send_stateless(dialog.request("ACK", cseq=tx.request.cseq[0]), tx.peer)
        if self.dialog is not None:
            return  # a retransmitted 2xx: the ACK above was the answer
        self.dialog = dialog
        self.phone.bind_dialog(self)
        if self.ended:  # we hung up and our CANCEL crossed the 200: end it properly
            self.phone.send(dialog.request("BYE"), lambda tx, r: None)
            return
        try:
            self.media.take(response.body)
        except SdpError as error:
            log.warning("phone %s: unusable SDP answer: %s", self.phone.extension, error)
            self._bye("bad_sdp")
            return
        self._answered()

    def _send_cancel(self) -> None:
        """CANCEL once the INVITE has a provisional (RFC 3261 9.1); until then, wait."""
        self._cancel_pending = False
        assert self.invite is not None
        self.phone.send(cancel_for(self.invite), lambda tx, r: None, keep_via=True)

    # -- in dialog ----------------------------------------------------------------------
    def in_dialog(self, tx: ServerTransaction, request: Request) -> None:
        assert self.dialog is not None
        if not self.dialog.accepts(request):
            tx.respond(make_response(request, 500, "Out of order CSeq"))
            return
        method = request.method
        if method == "BYE":
            tx.respond(make_response(request, 200))
            self._end("remote_bye", remote=True)
        elif method in ("INVITE", "UPDATE"):
            self._reinvite(tx, request)
        elif method == "INFO":
            tx.respond(make_response(request, 200))
            signal = dtmf_relay_digit(request.body)
            if signal:
                self._dtmf(signal)
        elif method in ("OPTIONS", "NOTIFY"):
            tx.respond(make_response(request, 200))
        else:
            tx.respond(make_response(request, 405))

    def _reinvite(self, tx: ServerTransaction, request: Request) -> None:
        """Hold/unhold or a new address from the box (RFC 3264 section 8)."""
        assert self.dialog is not None
        try:
            body = self.media.answer(request.body) if request.body else self.media.offer()
        except SdpError:
            tx.respond(make_response(request, 488))
            return
        response = make_response(request, 200, to_tag=self.dialog.local_tag)
        response.headers.add("contact", self.dialog.contact)
        response.headers.add("content-type", "application/sdp")
        response.body = body
        held = self._held
        self._held = not self.media.rtp.send_enabled
        tx.respond(response)
        if held != self._held:
            self.phone.emit("hold", self, on_hold=self._held)

    # -- commands -----------------------------------------------------------------------
    def hangup(self) -> None:
        """End the call the way its state needs: CANCEL, 603 or BYE."""
        if self.ended:
            return
        if self.state is CallState.ANSWERED:
            self._bye("local_bye")
        elif self.direction == "inbound":
            self.reject(603)
        else:
            if self._provisional:
                self._send_cancel()
            else:
                self._cancel_pending = True
            self._end("cancelled", remote=False)

    def _bye(self, reason: str) -> None:
        if self.dialog is not None and not self.ended:
            self.phone.send(self.dialog.request("BYE"), lambda tx, r: None)
        self._end(reason, remote=False)

    def send_dtmf(self, digits: str) -> None:
        """RFC 4733 events on the media stream; SIP INFO when none was agreed."""
        if self.state is not CallState.ANSWERED or self.media.send_dtmf(digits):
            return
        assert self.dialog is not None
        for digit in digits:
            self.phone.send(dtmf_info(self.dialog, digit), lambda tx, r: None)

    def _dtmf(self, digit: str) -> None:
        self.digits += digit
        self.phone.emit("dtmf", self, digit=digit)

    # -- what tests look at -------------------------------------------------------------
    def heard_audio(self, seconds: float | None = None) -> bytes:
        return self.media.heard_audio(seconds)

    @property
    def frames_heard(self) -> int:
        return self.media.frames_heard

    @property
    def frames_spoken(self) -> int:
        return self.media.frames_spoken

    def facts(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "direction": self.direction, "remote": self.remote,
                "dialled": self.dialled, "state": self.state.value,
                "end_reason": self.end_reason, "status": self.status,
                "frames_heard": self.frames_heard, "frames_spoken": self.frames_spoken,
                "digits": self.digits}

