"""The phone's registration with the box (RFC 3261 section 10.2): REGISTER with digest
credentials, refresh before the binding expires, retry when the registrar is away,
unregister (Expires: 0) when the phone is switched off.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING

from drivers.sip.headers import parse_name_addr
from drivers.sip.message import Response
from drivers.sip.stack import new_tag
from drivers.sip.transaction import ClientTransaction

from .phone_auth import MAX_AUTH_ROUNDS, AuthFailed

if TYPE_CHECKING:
    from appliance.clock import Timer

    from .sip_phone import SimPhone

log = logging.getLogger(__name__)


class RegistrationFailed(Exception):
    def __init__(self, extension: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"phone {extension}: registration failed: {reason}")
        self.reason = reason
        self.status = status


class Registration:
    """One binding at the registrar; ``state`` is unregistered, registering, registered
    or failed.  A failed or timed-out refresh retries after ``retry_seconds``."""

    def __init__(self, phone: SimPhone, expires: int = 3600, retry_seconds: float = 30.0):
        self.phone = phone
        self.expires = expires  # what we ask for
        self.granted = 0  # what the registrar gave
        self.retry_seconds = retry_seconds
        self.state = "unregistered"
        self.error = ""
        self.call_id = secrets.token_hex(10)  # one Call-ID for all refreshes (10.2.4)
        self.tag = new_tag()
        self.cseq = 0
        self._asked = expires
        self._auth_rounds = 0
        self._timer: Timer | None = None
        self._result: asyncio.Future | None = None

    async def register(self, timeout: float = 10.0) -> None:
        """Register now; raises :class:`RegistrationFailed` when the registrar says no or
        does not answer (the phone then keeps retrying in the background)."""
        self._result = asyncio.get_running_loop().create_future()
        self._send(self.expires)
        try:
            await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except TimeoutError:
            raise RegistrationFailed(self.phone.extension, "no answer from the registrar") \
                from None
        finally:
            self._result = None

    async def unregister(self, timeout: float = 3.0) -> None:
        """Remove our binding (Expires: 0) and wait for the registrar's answer."""
        self._cancel_timer()
        if self.state not in ("registered", "registering"):
            self.state = "unregistered"
            return
        self._result = asyncio.get_running_loop().create_future()
        self._send(0)
        try:
            await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except (TimeoutError, RegistrationFailed):
            log.info("phone %s: unregister got no clean answer", self.phone.extension)
        finally:
            self._result = None
        self.state = "unregistered"
        self._cancel_timer()

    def close(self) -> None:
        self._cancel_timer()

    # -- the transaction ----------------------------------------------------------------
    def _send(self, expires: int, authorize: bool = True) -> None:
        self._cancel_timer()
        self._asked = expires
        if expires:
            self.state = "registering"
        phone = self.phone
        self.cseq += 1
        uri = phone.registrar_uri
        aor = f"<sip:{phone.extension}@{phone.registrar[0]}>"
        request = phone.new_request("REGISTER", uri, aor, self.call_id, self.tag, self.cseq)
        request.headers.add("contact", phone.contact)
        request.headers.add("expires", str(expires))
        if authorize:
            header = phone.digest.header("REGISTER", uri)
            if header is not None:
                request.headers.set(*header)
        phone.send(request, self._response, self._timeout)

    def _response(self, tx: ClientTransaction, response: Response) -> None:
        status = response.status
        if status < 200:
            return
        if status in (401, 407):
            self._challenged(response)
        elif status == 423 and self._asked:  # Interval Too Brief: ask for Min-Expires
            minimum = response.headers.get("min-expires") or ""
            if minimum.isdigit() and int(minimum) > self._asked:
                self.expires = int(minimum)
                self._send(self.expires)
            else:
                self._failed(f"423 without a usable Min-Expires ({minimum!r})", status)
        elif 200 <= status < 300:
            self._auth_rounds = 0
            self._registered(response)
        else:
            self._failed(f"{status} {response.reason}", status)

    def _challenged(self, response: Response) -> None:
        self._auth_rounds += 1
        try:
            challenge = self.phone.digest.take(response)
        except AuthFailed as error:
            self._failed(str(error), response.status)
            return
        # A fresh challenge after our answer to one, not for staleness: wrong password.
        # A registrar that calls every nonce stale is given up on too, a little later.
        if self._auth_rounds > MAX_AUTH_ROUNDS and (
                not challenge.stale or self._auth_rounds > 2 * MAX_AUTH_ROUNDS):
            self._failed("credentials refused", response.status)
            return
        self._send(self._asked)

    def _registered(self, response: Response) -> None:
        if self._asked == 0:
            self.state, self.granted = "unregistered", 0
            self._resolve(None)
            return
        self.granted = self._granted(response)
        was = self.state
        self.state, self.error = "registered", ""
        # Refresh well before expiry (RFC 3261 10.2.4 leaves the margin to us).
        refresh = max(1.0, min(self.granted * 0.8, self.granted - 5.0))
        self._timer = self.phone.clock.call_later(refresh, self._refresh)
        self._resolve(None)
        if was != "registered":
            self.phone.emit("registered", None, expires=self.granted)

    def _granted(self, response: Response) -> int:
        """Our binding's expiry as the registrar granted it (Contact param, else Expires)."""
        ours = parse_name_addr(self.phone.contact).uri
        for value in response.headers.get_all("contact"):
            try:
                contact = parse_name_addr(value)
            except Exception:  # a contact we cannot read is not ours
                continue
            uri = contact.uri
            if (uri.user, uri.host, uri.port) == (ours.user, ours.host, ours.port):
                expires = contact.params.get("expires", "")
                if expires.isdigit():
                    return int(expires)
        header = response.headers.get("expires") or ""
        return int(header) if header.isdigit() else self._asked

    def _refresh(self) -> None:
        self._timer = None
        self._auth_rounds = 0
        self._send(self.expires)

    def _timeout(self, tx: ClientTransaction) -> None:
        self._failed("no answer from the registrar", None)

    def _failed(self, reason: str, status: int | None) -> None:
        was = self.state
        self.state, self.error = "failed", reason
        self._auth_rounds = 0
        if status is not None:  # refused: start afresh; a silent registrar may come back
            self.phone.digest.forget()
        log.warning("phone %s: registration failed: %s", self.phone.extension, reason)
        if self._result is not None and not self._result.done():
            self._result.set_exception(RegistrationFailed(self.phone.extension, reason, status))
        if self._asked and self.retry_seconds > 0:
            self._timer = self.phone.clock.call_later(self.retry_seconds, self._refresh)
        if was != "failed" and self._asked:
            self.phone.emit("registration_failed", None, reason=reason, status=status)

    def _resolve(self, value: None) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(value)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
