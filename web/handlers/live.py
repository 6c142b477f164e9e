"""The live socket, the wallboard and the operator panel."""

from __future__ import annotations

import logging

import tornado.web
import tornado.websocket

from appliance.admin import ValidationError

from .. import forms
from ..box import SETTABLE_STATES
from .base import BaseHandler

log = logging.getLogger(__name__)

# The least role for each live view.
VIEW_ROLES = {"wallboard": "supervisor", "panel": "operator", "hardware": "admin",
              "phones": "admin"}


class LiveSocket(BaseHandler, tornado.websocket.WebSocketHandler):
    """``/live?view=wallboard|panel|hardware|phones``: fragments pushed by the hub.
    The default same-origin check stays; the user and role are checked before the
    upgrade (prepare) and again in open()."""

    role = "operator"

    def prepare(self) -> None:
        super().prepare()
        if self._finished:
            return
        view = self.get_argument("view", "")
        if view not in VIEW_ROLES or not self.current_user.can(VIEW_ROLES[view]):
            raise tornado.web.HTTPError(403)
        if view == "panel":
            _operator_of(self)  # one's own, or a supervisor's pick; else 403/404

    def open(self) -> None:
        user = self.current_user
        if user is None:
            self.close(4001)
            return
        self.view = self.get_argument("view")
        self.operator = _operator_of(self) if self.view == "panel" else user.operator
        self.locale_code = self.locale.code
        self._writing = False
        self._pending: dict[str, str] = {}  # target -> newest message not yet sent
        self.application.hub.add(self)

    def on_message(self, message: str | bytes) -> None:
        """Ignored: the browser only listens; actions are ordinary XSRF-checked POSTs."""

    def on_close(self) -> None:
        self.application.hub.remove(self)

    def send(self, target: str, message: str) -> None:
        """One message in flight per socket.  A slow client (a TV on bad Wi-Fi) gets the
        newest fragment per element once it has taken the last one, instead of a queue
        that grows in the box's memory."""
        self._pending[target] = message
        if not self._writing:
            self._write_next()

    def _write_next(self) -> None:
        if not self._pending:
            return
        target = next(iter(self._pending))
        message = self._pending.pop(target)
        try:
            written = self.write_message(message)
        except tornado.websocket.WebSocketClosedError:
            self.application.hub.remove(self)
            return
        self._writing = True
        written.add_done_callback(self._written)

    def _written(self, future) -> None:
        self._writing = False
        if future.cancelled() or future.exception() is not None:
            self.application.hub.remove(self)
            return
        self._write_next()


class WallboardHandler(BaseHandler):
    role = "supervisor"

    def get(self) -> None:
        self.render("wallboard.html", **self.application.views.wallboard())


def _operator_of(handler: BaseHandler) -> str:
    """The operator whose panel this is: one's own, or (supervisors) ``?operator=``."""
    user = handler.current_user
    asked = handler.get_argument("operator", "")
    if asked and user.can("supervisor"):
        if handler.box.admin.operator(asked) is None:
            raise tornado.web.HTTPError(404)
        return asked
    if not user.operator:
        raise tornado.web.HTTPError(403)
    return user.operator


# What the panel says after an action (codes from PanelActionHandler's redirect).
DONE = {
    "dial": "Your phone rings; pick it up and the number is dialled.",
    "callback": "Your phone rings; pick it up to make the callback.",
    "saved": "Saved.",
}


class PanelHandler(BaseHandler):
    role = "operator"

    def get(self) -> None:
        operator = _operator_of(self)
        views = self.application.views
        offer = self.application.hub.last_offer.get(operator)
        if self.get_argument("call", ""):  # an earlier call, picked from "recent calls"
            offer = views.offer_of_call(self.get_argument("call"), operator)
            if offer is None:
                raise tornado.web.HTTPError(404)
        card = views.caller_card(offer) if offer else None
        self.render("panel.html", card=card, own=operator == self.current_user.operator,
                    message=DONE.get(self.get_argument("done", ""), ""),
                    **views.panel(operator))


class PanelActionHandler(BaseHandler):
    """The panel's buttons.  Each one is one box call; the page follows by redirect
    (and by the live socket, which already shows the new state)."""

    role = "operator"

    async def post(self, action: str) -> None:
        operator = self.current_user.operator
        if not operator:
            raise tornado.web.HTTPError(403)
        try:
            if action == "state":
                state = self.get_body_argument("state", "")
                if state not in SETTABLE_STATES:
                    raise ValidationError({"state": "choose a state"})
                reason = self.get_body_argument("reason", "").strip()[:64]
                await self.box.set_operator_state(operator, state, reason)
                message = ""
            elif action == "dial":
                number = self.get_body_argument("number", "").strip()
                if not forms.looks_like_number(number):
                    raise ValidationError({"number": "digits, optionally starting with +"})
                await self.box.click_to_call(operator, number)
                message = "dial"
            elif action == "callback":
                await self.box.callback(int(self.get_body_argument("id")), operator)
                message = "callback"
            elif action == "disposition":
                call_id = self.get_body_argument("call_id", "")
                disposition = self.get_body_argument("disposition", "")
                note = self.get_body_argument("note", "")
                forms.check_disposition(disposition, note, self.box.store.setting(
                    "dispositions", forms.DEFAULT_DISPOSITIONS))
                await self.box.set_disposition(call_id, disposition, note)
                self.application.hub.forget_offer(operator, call_id)
                message = "saved"
            else:
                raise tornado.web.HTTPError(404)
        except ValidationError as exc:
            errors = self.errors_of(exc)
            message = "; ".join(errors.values())
            self.set_status(400)
            views = self.application.views
            offer = self.application.hub.last_offer.get(operator)
            self.render("panel.html", card=views.caller_card(offer) if offer else None,
                        own=True, message=message, **views.panel(operator))
            return
        except ValueError as exc:
            raise tornado.web.HTTPError(400) from exc
        # Only a code travels in the URL: nobody can make the page say their own words.
        self.redirect("/panel" + (f"?done={message}" if message else ""))
