"""The JSON API: the same data and actions as the pages, for scripts and CRMs.

Authentication is ``Authorization: Bearer <token>`` (tokens are made on the account
page and stored hashed).  A token acts with its user's role.  A request without a
token may use the browser session instead, and then the XSRF check applies as for any
form; a bearer request carries no cookie, so it cannot be forged by another site.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import tornado.web

from appliance import calllog
from appliance.acd.config import QueueConfig
from appliance.admin import ValidationError

from .. import forms, i18n
from ..box import REPORT_GROUPS, SETTABLE_STATES
from ..openapi import document
from .base import BaseHandler
from .calls import format_cursor, parse_cursor, read_filter


class ApiHandler(BaseHandler):
    role = "supervisor"

    def _bearer(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def get_current_user(self):
        token = self._bearer()
        if token is not None:
            return self.accounts.user_for_token(token)
        return super().get_current_user()

    def check_xsrf_cookie(self) -> None:
        if self._bearer() is None:
            super().check_xsrf_cookie()

    def prepare(self) -> None:
        user = self.current_user
        if user is None:
            self.set_header("WWW-Authenticate", 'Bearer realm="callbox"')
            raise tornado.web.HTTPError(401)
        if not user.can(self.role):
            raise tornado.web.HTTPError(403)

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise tornado.web.HTTPError(400, "the body is not JSON") from exc
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "the body must be a JSON object")
        return data

    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False, default=str))

    def invalid(self, exc: ValidationError) -> None:
        self.send({"error": "invalid", "fields": self.errors_of(exc)}, 422)

    def operator_allowed(self, name: str) -> None:
        """Operators act only for themselves; supervisors for anyone."""
        user = self.current_user
        if not (user.can("supervisor") or user.operator == name):
            raise tornado.web.HTTPError(403)


class OpenApiHandler(ApiHandler):
    role = "operator"

    def get(self) -> None:
        self.send(document())


class WallboardApi(ApiHandler):
    def get(self) -> None:
        self.send(self.box.wallboard())


class CallsApi(ApiHandler):
    async def get(self) -> None:
        flt, _raw, errors = read_filter(self)
        if errors:
            self.send({"error": "invalid", "fields": errors}, 422)
            return
        after = parse_cursor(self.get_argument("after", ""))
        try:
            limit = min(max(int(self.get_argument("limit", "50") or 50), 1), 1000)
        except ValueError:
            self.send({"error": "invalid", "fields": {"limit": "a whole number"}}, 422)
            return
        page = await self.box.store.read(
            lambda c: calllog.search(c, flt, after=after, limit=limit))
        self.send({"calls": page.rows, "next": format_cursor(page.older) or None})


class CallApi(ApiHandler):
    async def get(self, call_id: str) -> None:
        record = await self.box.store.read(lambda c: calllog.call(c, call_id))
        if record is None:
            raise tornado.web.HTTPError(404)
        self.send(record)


class DispositionApi(ApiHandler):
    role = "operator"

    async def post(self, call_id: str) -> None:
        data = self.body()
        record = await self.box.store.read(lambda c: calllog.call(c, call_id))
        if record is None:
            raise tornado.web.HTTPError(404)
        self.operator_allowed(record["operator"])
        try:
            disposition, note = str(data.get("disposition", "")), str(data.get("note", ""))
            forms.check_disposition(disposition, note, self.box.store.setting(
                "dispositions", forms.DEFAULT_DISPOSITIONS))
            await self.box.set_disposition(call_id, disposition, note)
        except ValidationError as exc:
            self.invalid(exc)
            return
        self.application.hub.forget_offer(record["operator"], call_id)
        self.send({"ok": True})


class OperatorsApi(ApiHandler):
    def get(self) -> None:
        live = {o["name"]: o for o in self.box.wallboard()["operators"]}
        operators = self.box.admin.operators()
        for op in operators:
            op.pop("login_code", None)  # what an operator types on the phone stays private
            op["live"] = live.get(op["name"])
        self.send({"operators": operators})


class OperatorActionApi(ApiHandler):
    role = "operator"

    async def post(self, name: str, action: str) -> None:
        self.operator_allowed(name)
        if self.box.admin.operator(name) is None:
            raise tornado.web.HTTPError(404)
        data = self.body()
        try:
            if action == "state":
                state = str(data.get("state", ""))
                if state not in SETTABLE_STATES:
                    raise ValidationError({"state": "choose a state"})
                await self.box.set_operator_state(name, state, str(data.get("reason", ""))[:64])
                self.send({"ok": True})
            elif action == "dial":
                number = str(data.get("number", ""))
                if not forms.looks_like_number(number):
                    raise ValidationError({"number": "digits, optionally starting with +"})
                self.send({"call_id": await self.box.click_to_call(name, number)})
            else:
                raise tornado.web.HTTPError(404)
        except ValidationError as exc:
            self.invalid(exc)


class CallbacksApi(ApiHandler):
    role = "operator"

    def get(self) -> None:
        name = self.get_argument("operator", self.current_user.operator)
        self.operator_allowed(name)
        queues = list((self.box.admin.operator(name) or {}).get("queues", {}))
        self.send({"callbacks": calllog.callbacks_for(self.box.store.conn, name, queues)})

    async def post(self) -> None:
        if not self.current_user.can("supervisor"):
            raise tornado.web.HTTPError(403)
        data = self.body()
        try:
            number = str(data.get("number", ""))
            if not forms.looks_like_number(number):
                raise ValidationError({"number": "digits, optionally starting with +"})
            callback_id = await self.box.request_callback(
                number, str(data.get("queue", "")), str(data.get("call_id", "")),
                str(data.get("operator", "")))
        except ValidationError as exc:
            self.invalid(exc)
            return
        self.send({"id": callback_id}, 201)


class CallbackTakeApi(ApiHandler):
    role = "operator"

    async def post(self, callback_id: str) -> None:
        name = str(self.body().get("operator", self.current_user.operator))
        self.operator_allowed(name)
        try:
            call_id = await self.box.callback(int(callback_id), name)
        except ValidationError as exc:
            self.invalid(exc)
            return
        self.send({"call_id": call_id})


class QueuesApi(ApiHandler):
    def get(self) -> None:
        self.send({"queues": [{"name": q.name, "strategy": q.strategy, **q.options()}
                              for q in self.box.admin.queues()]})


class QueueApi(ApiHandler):
    role = "admin"

    async def put(self, name: str) -> None:
        data = {k: ("on" if v is True else "" if v is False else str(v))
                for k, v in self.body().items()}
        data["name"] = name
        existing = self.box.admin.queue(name)
        if existing is not None:  # a PUT of some options keeps the others
            merged = {k: ("on" if v is True else "" if v is False else str(v))
                      for k, v in {"strategy": existing.strategy, **existing.options()}.items()}
            data = {**merged, **data}
        config, errors = QueueConfig.coerce(data)
        try:
            if errors:
                raise ValidationError(errors)
            await self.box.admin.save_queue(config, create=existing is None)
        except ValidationError as exc:
            self.invalid(exc)
            return
        self.send({"name": config.name, "strategy": config.strategy, **config.options()},
                  201 if existing is None else 200)

    async def delete(self, name: str) -> None:
        try:
            await self.box.admin.delete_queue(name)
        except ValidationError:
            raise tornado.web.HTTPError(404) from None
        self.send({"ok": True})


class LinesApi(ApiHandler):
    role = "admin"

    def get(self) -> None:
        self.send({"lines": self.box.lines_status()})


class PhonesApi(ApiHandler):
    role = "admin"

    def get(self) -> None:
        status = self.box.phones_status()
        phones = [{k: v for k, v in p.items() if k != "password"} | {"status":
                  status.get(p["extension"])} for p in self.box.admin.phones()]
        self.send({"phones": phones})


class ReportsApi(ApiHandler):
    async def get(self) -> None:
        group = self.get_argument("group", "queue")
        if group not in REPORT_GROUPS:
            self.send({"error": "invalid", "fields": {"group": "queue, operator or hour"}}, 422)
            return
        tz = i18n.zone(self.box.store.setting("timezone", "UTC"))
        start, end, errors = forms.parse_period(self.get_argument("from", ""),
                                                self.get_argument("to", ""), tz,
                                                dt.datetime.now(tz).date())
        if errors:
            self.send({"error": "invalid", "fields": errors}, 422)
            return
        rows = await self.box.reports(group, start, end, queue=self.get_argument("queue", ""),
                                      operator=self.get_argument("operator", ""))
        self.send({"group": group, "from": start, "to": end, "rows": rows})
