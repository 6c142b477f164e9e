"""One call with one phone: the SIP side of a :class:`~drivers.base.Leg`.

Outbound legs (the box rings a phone) fork an INVITE to every registered contact of
the extension; the first 2xx wins and the others are cancelled (a late second 2xx is
ACKed and hung up with BYE, RFC 3261 13.2.2.4).  Inbound legs are INVITEs from phones
that the channel has already authenticated.  In-dialog requests (BYE, re-INVITE,
UPDATE, REFER, INFO) arrive through :meth:`SipLeg.in_dialog`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING, Literal

from drivers.base import CallerId, Cause, Leg, LegListener, LegState

from .causes import CAUSE_STATUS, STATUS_CAUSE
from .dialog import Dialog
from .headers import NameAddr, parse_name_addr, parse_uri, quote_display
from .message import Request, Response
from .sdp import Agreement, SdpError, build_sdp, negotiate, offer_codecs, parse_sdp
from .stack import make_response, new_tag
from .transaction import ClientTransaction, InviteServerTransaction, Peer, ServerTransaction
from .transfer import handle_info, handle_refer, transfer_result

if TYPE_CHECKING:
    from .channel import SipChannel
    from .registrar import Binding

log = logging.getLogger(__name__)



class Fork:
    """One INVITE to one contact of an outbound leg."""

    def __init__(self, binding: Binding, invite: Request) -> None:
        self.binding = binding
        self.invite = invite
        self.tx: ClientTransaction | None = None
        self.provisional = False
        self.final: int | None = None
        self.cancel_sent = False


class SipLeg(Leg):
    def __init__(
        self, channel: SipChannel, direction: Literal["inbound", "outbound"], caller: CallerId,
        dialled: str, listener: LegListener | None, extension: str,
    ) -> None:
        super().__init__(channel, direction, caller, dialled, listener)
        self.sip = channel
        self.extension = extension  # the phone's extension on either direction
        self.dialog: Dialog | None = None
        self.rtp = channel.new_rtp(self)
        self.agreement: Agreement | None = None
        self.sdp_version = 0
        self.session_id = secrets.randbelow(2**31)
        self.on_hold = False
        self.forks: list[Fork] = []
        self.invite_tx: InviteServerTransaction | None = None
        self.pending_tx: ServerTransaction | None = None  # re-INVITE awaiting its ACK
        self.ack: bytes | None = None
        self.refer_dialog_cseq: int | None = None
        # An inbound INVITE's Replaces header (RFC 3891): the phone picks up or takes
        # over the dialog it names (BLF pickup).  The core looks it up with find_leg.
        self.replaces: str | None = None
        self._ready = asyncio.Event()

    # -- media --------------------------------------------------------------------------
    async def _open_media(self, towards: str) -> None:
        try:
            await self.rtp.open(self.sip.rtp_bind, self.sip.rtp_ports)
        finally:
            self._ready.set()

    def _local_sdp(self, towards: str, direction: str = "sendrecv") -> bytes:
        self.sdp_version += 1
        codecs = offer_codecs(self.sip.codecs)
        dtmf = 101
        if self.agreement is not None:
            codecs = [(self.agreement.pt, self.agreement.codec)]
            dtmf = self.agreement.dtmf_pt  # type: ignore[assignment]
        return build_sdp(self.sip.rtp_host(towards), self.rtp.local_port, self.session_id,
                         self.sdp_version, codecs, dtmf, direction)

    def _apply_remote_sdp(self, body: bytes) -> bool:
        """Take the far end's SDP; returns whether the hold state changed."""
        remote = parse_sdp(body)
        self.agreement = negotiate(remote, self.sip.codecs)
        self.rtp.set_remote(remote.address, remote.port, self.agreement.codec,
                            self.agreement.pt, self.agreement.dtmf_pt)
        self.rtp.send_enabled = remote.direction in ("sendrecv", "recvonly") and not remote.on_hold
        changed = remote.on_hold != self.on_hold
        self.on_hold = remote.on_hold
        return changed

    def _answer_direction(self) -> str:
        if self.agreement is None:
            return "sendrecv"
        return {"sendonly": "recvonly", "inactive": "inactive", "recvonly": "sendonly"}.get(
            self.agreement.remote.direction, "sendrecv")

    # -- outbound -----------------------------------------------------------------------
    async def start_outbound(self, bindings: list[Binding]) -> None:
        try:
            await self._open_media(bindings[0].peer.host)
        except OSError as error:
            log.warning("leg %s: %s", self.id, error)
            self._finish(Cause.SWITCH_CONGESTION, remote=False)
            return
        if self.ended:  # hung up while the socket was opening: it is not needed
            self.rtp.close()
            return
        call_id, tag = secrets.token_hex(12), new_tag()
        for binding in bindings:
            fork = Fork(binding, self._invite(binding, call_id, tag))
            self.forks.append(fork)
            fork.tx = self.sip.stack.request(
                fork.invite, binding.peer,
                lambda tx, r, f=fork: self._fork_response(f, r),
                lambda tx, f=fork: self._fork_failed(f, 408),
            )
        self.sip.leg_state_changed(self)  # the lamp can now name the call (BLF pickup)

    def _invite(self, binding: Binding, call_id: str, tag: str) -> Request:
        peer, host = binding.peer, self.sip.domain_for(binding.peer)
        number = self.caller.number if self.caller.presentation == "allowed" else "anonymous"
        caller = NameAddr(parse_uri(f"sip:{number or 'unknown'}@{host}"),
                          quote_display(self.caller.name)[:64])
        invite = Request(method="INVITE", uri=binding.contact)
        h = invite.headers
        h.add("from", f"{caller};tag={tag}")
        h.add("to", f"<sip:{self.extension}@{host}>")
        h.add("call-id", call_id)
        h.add("cseq", "1 INVITE")
        h.add("contact", self.sip.stack.contact_for(peer))
        if self.caller.presentation == "allowed":
            h.add("p-asserted-identity", str(caller))
        else:
            h.add("privacy", "id")
        h.add("allow", self.sip.ALLOW)
        h.add("content-type", "application/sdp")
        invite.body = self._local_sdp(peer.host)
        self.sdp_version -= 1  # every fork carries the same offer
        return invite

    def _fork_response(self, fork: Fork, response: Response) -> None:
        status = response.status
        if status < 200:
            fork.provisional = True
            if self.state is LegState.ENDED or self.dialog is not None:
                self._cancel(fork)
                return
            if response.body and self._take_early_sdp(response):
                self._emit_early_media()
            elif status in (180, 183):
                self._emit_ringing()
            return
        if status >= 300:
            self._fork_failed(fork, status)
            return
        dialog = Dialog.as_uac(fork.invite, response, fork.binding.peer)
        ack = dialog.request("ACK", cseq=fork.invite.cseq[0])
        self.sip.stack.request_stateless(ack, fork.binding.peer)
        if fork.final is not None:
            return  # a retransmitted 2xx: the ACK above was the answer
        fork.final = status
        if self.dialog is not None or self.ended:
            # Lost the race: another fork answered, or we hung up (CANCEL/200 crossing)
            bye = dialog.request("BYE")
            self.sip.stack.request(bye, fork.binding.peer, lambda tx, r: None)
            return
        self.dialog = dialog
        self.sip.bind_dialog(self)
        try:
            self._apply_remote_sdp(response.body)
        except SdpError as error:
            log.warning("leg %s: unusable SDP answer: %s", self.id, error)
            self._bye(Cause.BEARERCAPABILITY_NOTAVAIL)
            return
        for other in self.forks:
            if other is not fork:
                self._cancel(other)
        self._emit_answered()
        self.sip.leg_state_changed(self)

    def _take_early_sdp(self, response: Response) -> bool:
        try:
            self._apply_remote_sdp(response.body)
            return True
        except SdpError:
            return False

    def _fork_failed(self, fork: Fork, status: int) -> None:
        if fork.final is None:
            fork.final = status
        if all(f.final is not None and f.final >= 300 for f in self.forks):
            worst = next((f.final for f in self.forks if f.final in (486, 600, 603)), status)
            self._finish(STATUS_CAUSE.get(worst or 480, Cause.NORMAL_UNSPECIFIED), remote=True)

    def _cancel(self, fork: Fork) -> None:
        """CANCEL a fork once it has a provisional (RFC 3261 9.1); until then, wait."""
        if fork.cancel_sent or fork.final is not None or not fork.provisional:
            return
        fork.cancel_sent = True
        invite = fork.invite
        cancel = Request(method="CANCEL", uri=invite.uri)
        for name in ("from", "to", "call-id"):
            cancel.headers.add(name, invite.headers.get(name) or "")
        cancel.headers.add("cseq", f"{invite.cseq[0]} CANCEL")
        cancel.headers.add("via", invite.headers.get("via") or "")
        self.sip.stack.request(cancel, fork.binding.peer, lambda tx, r: None, keep_via=True)

    # -- inbound ------------------------------------------------------------------------
    async def start_inbound(
        self, tx: InviteServerTransaction, request: Request, peer: Peer
    ) -> None:
        self.invite_tx = tx
        self.replaces = request.headers.get("replaces")
        tx.on_ack_timeout = lambda: self._bye(Cause.RECOVERY_ON_TIMER_EXPIRE)
        local_tag = new_tag()
        self.dialog = Dialog.as_uas(request, peer, local_tag, self.sip.stack.contact_for(peer))
        tx.respond(make_response(request, 100))
        try:
            if request.body:
                self._apply_remote_sdp(request.body)
            await self._open_media(peer.host)
        except (SdpError, OSError) as error:
            log.info("leg %s refused: %s", self.id, error)
            status = 488 if isinstance(error, SdpError) else 503
            tx.respond(make_response(request, status, to_tag=local_tag))
            self._finish(Cause.BEARERCAPABILITY_NOTAVAIL, remote=False)
            return
        if self.ended:  # CANCEL arrived while the RTP socket was opening
            self.rtp.close()
            return
        self.sip.bind_dialog(self)
        self.sip.leg_state_changed(self)
        try:
            self.sip.host.incoming(self)
        except Exception:  # the core's bug must not leave the phone hanging on 100 Trying
            log.exception("leg %s: the core failed to take the call", self.id)
            await self.hangup(Cause.TEMPORARY_FAILURE)

    def _respond(self, status: int, with_sdp: bool = False) -> None:
        assert self.invite_tx is not None and self.dialog is not None
        response = make_response(self.invite_tx.request, status, to_tag=self.dialog.local_tag)
        response.headers.add("contact", self.dialog.contact)
        if with_sdp:
            response.headers.add("allow", self.sip.ALLOW)
            response.headers.add("content-type", "application/sdp")
            response.body = self._local_sdp(self.dialog.peer.host, self._answer_direction())
        self.invite_tx.respond(response)

    def ringing(self) -> None:
        """Tell the calling phone the far end is alerting (180 Ringing)."""
        if self.direction == "inbound" and self.state is LegState.NEW:
            self._respond(180)
            self.state = LegState.RINGING

    def progress(self) -> None:
        """Open early media to the calling phone (183 with SDP): ringback, announcements."""
        if self.direction == "inbound" and self.state in (LegState.NEW, LegState.RINGING):
            self._respond(183, with_sdp=True)
            self.state = LegState.EARLY

    async def answer(self) -> None:
        if self.direction != "inbound" or self.state in (LegState.ANSWERED, LegState.ENDED):
            return
        await self._ready.wait()
        if self.ended:
            return
        self._respond(200, with_sdp=True)
        self._emit_answered()
        self.sip.leg_state_changed(self)

    def cancelled(self) -> None:
        """The calling phone sent CANCEL before we answered."""
        if self.invite_tx is not None and self.dialog is not None:
            self._respond(487)
        self._finish(Cause.NORMAL_CLEARING, remote=True)

    # -- in-dialog ----------------------------------------------------------------------
    def in_dialog(self, tx: ServerTransaction, request: Request) -> None:
        assert self.dialog is not None
        if not self.dialog.accepts(request):
            tx.respond(make_response(request, 500, "Out of order CSeq"))
            return
        method = request.method
        if method == "BYE":
            tx.respond(make_response(request, 200))
            self._finish(Cause.NORMAL_CLEARING, remote=True)
        elif method in ("INVITE", "UPDATE"):
            self._reinvite(tx, request)
        elif method == "REFER":
            handle_refer(self, tx, request)
        elif method == "INFO":
            handle_info(self, tx, request)
        elif method in ("OPTIONS", "NOTIFY"):
            tx.respond(make_response(request, 200))
        else:
            tx.respond(make_response(request, 405))

    def _reinvite(self, tx: ServerTransaction, request: Request) -> None:
        """Hold, unhold or a new address (RFC 3264 section 8)."""
        assert self.dialog is not None
        changed = False
        if request.body:
            try:
                changed = self._apply_remote_sdp(request.body)
            except SdpError:
                tx.respond(make_response(request, 488))
                return
        target = request.headers.get("contact")
        if target:
            self.dialog.remote_target = str(parse_name_addr(target).uri)
        response = make_response(request, 200, to_tag=self.dialog.local_tag)
        response.headers.add("contact", self.dialog.contact)
        response.headers.add("content-type", "application/sdp")
        response.body = self._local_sdp(self.dialog.peer.host, self._answer_direction())
        if isinstance(tx, InviteServerTransaction):
            self.pending_tx = tx
        tx.respond(response)
        if changed:
            self.listener.leg_hold(self, self.on_hold)
            self.sip.leg_state_changed(self)

    def on_ack(self, request: Request) -> None:
        for tx in (self.invite_tx, self.pending_tx):
            if tx is not None and tx.request.cseq[0] == request.cseq[0]:
                tx.ack()
        if request.body and self.agreement is None:  # delayed offer: the answer is in the ACK
            try:
                self._apply_remote_sdp(request.body)
            except SdpError:
                self._bye(Cause.BEARERCAPABILITY_NOTAVAIL)

    # -- commands from the core ---------------------------------------------------------
    async def hangup(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        if self.ended:
            return
        if self.direction == "outbound" and self.dialog is None:
            for fork in self.forks:
                self._cancel(fork)
            self._finish(cause, remote=False)
        elif self.direction == "inbound" and self.state is not LegState.ANSWERED:
            if self.invite_tx is not None and self.invite_tx.state in ("trying", "proceeding"):
                self._respond(CAUSE_STATUS.get(cause, 480))
            self._finish(cause, remote=False)
        else:
            self._bye(cause)

    def _bye(self, cause: Cause) -> None:
        if self.dialog is not None and not self.ended:
            bye = self.dialog.request("BYE")
            self.sip.stack.request(bye, self.dialog.peer, lambda tx, r: None)
        self._finish(cause, remote=False)

    def _finish(self, cause: Cause, remote: bool) -> None:
        if self.ended:
            return
        self.rtp.close()
        self._ready.set()
        self._emit_hangup(cause, remote)
        self.sip.leg_ended(self)

    async def send_dtmf(self, digits: str) -> None:
        if self.rtp.dtmf_pt is not None:
            self.rtp.send_dtmf(digits)
        elif self.dialog is not None:  # no telephone-event negotiated: SIP INFO
            for digit in digits:
                info = self.dialog.request("INFO")
                info.headers.add("content-type", "application/dtmf-relay")
                info.body = f"Signal={digit}\r\nDuration=160\r\n".encode()
                self.sip.stack.request(info, self.dialog.peer, lambda tx, r: None)

    def transfer_result(self, status: int) -> None:
        """The outcome of a transfer this phone asked for (200: done, 4xx-6xx: failed)."""
        transfer_result(self, status)

    def send_frame(self, frame: bytes) -> None:
        if not self.ended:
            self.rtp.send_frame(frame)
