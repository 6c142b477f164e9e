"""Installer pages for what the Admin service validates: lines, phones, operators, queues.

Every write goes through ``box.admin``; a ValidationError comes back as messages next to
the fields and the form keeps what was typed.
"""

from __future__ import annotations

from dataclasses import MISSING, fields

import tornado.web

from appliance.acd.config import QueueConfig
from appliance.admin import ValidationError

from .. import forms
from .base import BaseHandler


class LinesHandler(BaseHandler):
    role = "admin"

    def get(self) -> None:
        self._show({}, {})

    def _show(self, values, errors) -> None:
        from drivers.base import available_kinds  # names of installed drivers only

        status = {s["name"]: s for s in self.box.lines_status()}
        self.render("admin/lines.html", lines=self.box.admin.lines(), status=status,
                    kinds=available_kinds(), values=values, errors=errors,
                    destinations=self.destinations())

    def destinations(self) -> list[str]:
        """What the destination field offers: every queue, active flow and extension."""
        admin = self.box.admin
        flows = self.box.store.query("SELECT name FROM flows WHERE active = 1 ORDER BY name")
        return ([f"queue:{q.name}" for q in admin.queues()]
                + [f"flow:{f['name']}" for f in flows]
                + [f"extension:{p['extension']}" for p in admin.phones()] + ["hangup"])

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        values = self.form("name", "kind", "destination")
        values["enabled"] = self.get_body_argument("enabled", "") == "on"
        try:
            if action == "delete":
                await self.box.admin.delete_line(values["name"])
            elif action == "add_found":  # "set up as a line" on a modem the hardware page found
                values["name"] = self.box.admin.free_line_name(values["kind"])
                await self.box.admin.save_line(values["name"], values["kind"],
                                               self._found_settings(), values["destination"],
                                               True, create=True)
            elif action in ("create", "save"):
                line = next((x for x in self.box.admin.lines() if x["name"] == values["name"]),
                            None)
                settings = line["settings"] if line else {}
                kind = values["kind"] or (line["kind"] if line else "")
                await self.box.admin.save_line(values["name"], kind, settings,
                                               values["destination"], values["enabled"],
                                               create=action == "create")
            else:
                raise tornado.web.HTTPError(400)
        except ValidationError as exc:
            self.set_status(400)
            self._show(values, self.errors_of(exc))
            return
        self.redirect("/admin/lines")

    def _found_settings(self) -> dict[str, str]:
        """``setting.KEY`` fields (the port and model the hardware page suggests); the
        driver checks them in save_line like any other settings."""
        return {name.split(".", 1)[1]: self.get_body_argument(name, "").strip()
                for name in self.request.body_arguments
                if name.startswith("setting.") and self.get_body_argument(name, "").strip()}


class PhonesHandler(BaseHandler):
    """Phones: desk phones and ATA ports (one phone per FXS port, same MAC)."""

    role = "admin"

    def get(self) -> None:
        extension = self.get_argument("edit", "")
        if extension:
            phone = self.box.admin.phone(extension)
            if phone is None:
                raise tornado.web.HTTPError(404)
            values = {k: str(phone[k] or "") for k in ("extension", "name", "mac", "model",
                                                       "port")}
            values["edit"] = "1"
        else:  # "add a phone for this port" links of an ATA's free ports fill the form
            values = {k: self.get_argument(k, "") for k in ("mac", "model", "port")}
        self._show(values, {})

    def _show(self, values, errors) -> None:
        self.render("admin/phones.html", phones=self.box.admin.phone_rows(),
                    status=self.box.phones_status(), values=values, errors=errors,
                    banned=self.box.banned(),
                    provision_base=f"{self.request.protocol}://{self.request.host}/provision/")

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        values = self.form("extension", "name", "mac", "model", "port", "password", "edit")
        try:
            if action == "create":
                await self.box.admin.add_phone(values["extension"], values["password"] or None,
                                               values["name"], values["mac"], values["model"],
                                               values["port"])
            elif action == "save":
                await self.box.admin.update_phone(
                    values["extension"], name=values["name"], mac=values["mac"],
                    model=values["model"], port=values["port"],
                    password=values["password"] or None)
            elif action == "delete":
                await self.box.admin.delete_phone(values["extension"])
            elif action == "unban":
                self.box.unban(self.get_body_argument("source", ""))
            else:
                raise tornado.web.HTTPError(400)
        except ValidationError as exc:
            self.set_status(400)
            values.pop("password")  # never echo a secret back into a page
            self._show(values, self.errors_of(exc))
            return
        self.redirect("/admin/phones")


class OperatorsHandler(BaseHandler):
    """Operators: name, login code, extension, queues with penalties, and a web login."""

    role = "admin"

    def get(self) -> None:
        name = self.get_argument("edit", "")
        operator = self.box.admin.operator(name) if name else None
        values = {}
        if operator:
            values = {"name": operator["name"], "extension": operator["extension"],
                      "login_code": operator["login_code"] or "", "queues": operator["queues"],
                      "edit": "1"}
        self._show(values, {})

    def _show(self, values, errors) -> None:
        operators = self.box.admin.operators()
        for op in operators:
            op["login"] = self.accounts.by_operator(op["name"])
        self.render("admin/operators.html", operators=operators, values=values, errors=errors,
                    queues=[q.name for q in self.box.admin.queues()])

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        values = self.form("name", "extension", "login_code", "username", "edit")
        queue_names = [q.name for q in self.box.admin.queues()]
        args = {k: [v.decode() for v in vs] for k, vs in self.request.body_arguments.items()}
        penalties, errors = forms.parse_penalties(args, queue_names)
        values["queues"] = penalties
        try:
            if action == "delete":
                await self.box.admin.delete_operator(values["name"])
                login = self.accounts.by_operator(values["name"])
                if login:
                    await self.accounts.delete(login["id"])
                self.redirect("/admin/operators")
                return
            if action != "save":
                raise tornado.web.HTTPError(400)
            if errors:
                raise ValidationError(errors)
            await self._save(values)
        except ValidationError as exc:
            self.set_status(400)
            self._show(values, self.errors_of(exc))
            return
        self.redirect("/admin/operators")

    async def _save(self, values) -> None:
        password = self.get_body_argument("password", "")
        login = self.accounts.by_operator(values["name"]) if values["edit"] else None
        if values["username"] and not login:
            # check the login before saving the operator: the form is one change
            errors = self.accounts.check(values["username"], password, "operator", new=True)
            if errors:
                raise ValidationError(errors)
        await self.box.admin.save_operator(values["name"], values["extension"],
                                           values["login_code"], values["queues"],
                                           create=not values["edit"])
        if values["username"] and not login:
            await self.accounts.create(values["username"], password, "operator",
                                       operator=values["name"])
        elif login and password:
            await self.accounts.set_password(login["id"], password)


def queue_fields() -> list[dict]:
    """Every QueueConfig option with its help, default and kind, for the form."""
    result = []
    for f in fields(QueueConfig):
        default = f.default if f.default is not MISSING else ""
        kind = "bool" if isinstance(default, bool) else (
            "int" if isinstance(default, int) else "text")
        result.append({"name": f.name, "help": f.metadata.get("help", ""), "default": default,
                       "kind": kind, "choices": f.metadata.get("choices"),
                       "min": f.metadata.get("min"), "max": f.metadata.get("max")})
    return result


class QueuesHandler(BaseHandler):
    role = "admin"

    def get(self) -> None:
        name = self.get_argument("edit", "")
        config = self.box.admin.queue(name) if name else None
        if name and config is None:
            raise tornado.web.HTTPError(404)
        values = {f["name"]: getattr(config or QueueConfig(), f["name"]) for f in queue_fields()}
        self._show(values, {}, editing=bool(config))

    def _show(self, values, errors, editing: bool) -> None:
        self.render("admin/queues.html", queues=self.box.admin.queues(), values=values,
                    errors=errors, fields=queue_fields(), editing=editing)

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        editing = self.get_body_argument("editing", "") == "1"
        if action == "delete":
            try:
                await self.box.admin.delete_queue(self.get_body_argument("name", ""))
            except ValidationError as exc:
                self.set_status(400)
                self._show({}, self.errors_of(exc), editing=False)
                return
            self.redirect("/admin/queues")
            return
        raw = {}
        for f in queue_fields():
            if f["kind"] == "bool":
                raw[f["name"]] = "on" if self.get_body_argument(f["name"], "") else ""
            else:
                raw[f["name"]] = self.get_body_argument(f["name"], "")
        config, errors = QueueConfig.coerce(raw)
        try:
            if errors:
                raise ValidationError(errors)
            await self.box.admin.save_queue(config, create=not editing)
        except ValidationError as exc:
            self.set_status(400)
            self._show(raw, self.errors_of(exc), editing=editing)
            return
        self.redirect("/admin/queues")
