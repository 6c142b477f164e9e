"""Installer pages: the setup checklist, site settings, hardware, business hours, users."""

from __future__ import annotations

import zoneinfo

import tornado.web

from appliance.admin import ValidationError

from .. import forms
from .base import BaseHandler


class WizardHandler(BaseHandler):
    """The first-run checklist: each step links to its page and says if it is done."""

    role = "admin"

    def get(self) -> None:
        admin, store = self.box.admin, self.box.store
        lines = self.box.lines_status()
        steps = [
            ("site", "/admin/site", bool(store.setting("site_name"))),
            ("hardware", "/admin/hardware", bool(lines)),
            ("lines", "/admin/lines", bool(admin.lines())),
            ("phones", "/admin/phones", bool(admin.phones())),
            ("queues", "/admin/queues", bool(admin.queues())),
            ("operators", "/admin/operators", bool(admin.operators())),
            ("hours", "/admin/hours", store.setting("business_hours") is not None),
        ]
        self.render("admin/wizard.html", steps=steps)


class SiteHandler(BaseHandler):
    role = "admin"

    def get(self) -> None:
        store = self.box.store
        values = {
            "site_name": store.setting("site_name", ""),
            "timezone": store.setting("timezone", "UTC"),
            "language": store.setting("language", "en_US"),
            "dispositions": "\n".join(store.setting("dispositions",
                                                    forms.DEFAULT_DISPOSITIONS)),
        }
        self._show(values, {})

    def _show(self, values, errors, saved=False) -> None:
        self.render("admin/site.html", values=values, errors=errors, saved=saved,
                    zones=sorted(zoneinfo.available_timezones()))

    async def post(self) -> None:
        raw = self.form("site_name", "timezone", "language", "dispositions")
        values, errors = forms.parse_site(raw)
        if errors:
            self.set_status(400)
            self._show(raw, self.translate_errors(errors))
            return
        for key, value in values.items():
            await self.box.admin.set_setting(key, value)
        raw["dispositions"] = "\n".join(values["dispositions"])
        self._show(raw, {}, saved=True)


class HardwareHandler(BaseHandler):
    """Every line the box found, live: model, IMEI, network, signal, SIM."""

    role = "admin"

    def get(self) -> None:
        self.render("admin/hardware.html", lines=self.box.lines_status())


class HoursHandler(BaseHandler):
    role = "admin"

    def get(self) -> None:
        store = self.box.store
        hours = store.setting("business_hours") or {d: [["09:00", "18:00"]]
                                                     for d in forms.DAYS[:5]}
        values = {d: forms.format_ranges(hours.get(d, [])) for d in forms.DAYS}
        values["holidays"] = "\n".join(f"{h['date']} {h['name']}".strip()
                                       for h in store.setting("holidays", []))
        self._show(values, {})

    def _show(self, values, errors, saved=False) -> None:
        self.render("admin/hours.html", values=values, errors=errors, saved=saved,
                    days=forms.DAYS)

    async def post(self) -> None:
        raw = self.form(*forms.DAYS, "holidays")
        parsed, errors = forms.parse_hours(raw)
        if errors:
            self.set_status(400)
            self._show(raw, self.translate_errors(errors))
            return
        await self.box.admin.set_setting("business_hours", parsed["business_hours"])
        await self.box.admin.set_setting("holidays", parsed["holidays"])
        self._show(raw, {}, saved=True)


class UsersHandler(BaseHandler):
    """Web logins for supervisors and administrators (operators get theirs on the
    operator's page); unlock a locked account, reset a password."""

    role = "admin"

    def get(self) -> None:
        self._show({}, {})

    def _show(self, values, errors, message: str = "") -> None:
        self.render("admin/users.html", users=self.accounts.users(), values=values,
                    errors=errors, message=message, now=self.application.clock_time())

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        values = self.form("username", "role")
        try:
            if action == "create":
                await self.accounts.create(values["username"],
                                           self.get_body_argument("password", ""),
                                           values["role"])
            elif action in ("unlock", "delete", "password"):
                user_id = int(self.get_body_argument("id"))
                if action == "unlock":
                    await self.accounts.unlock(user_id)
                elif action == "password":
                    await self.accounts.set_password(user_id,
                                                     self.get_body_argument("password", ""))
                elif user_id == self.current_user.id:
                    raise ValidationError({"id": "you cannot delete yourself"})
                else:
                    await self.accounts.delete(user_id)
            else:
                raise tornado.web.HTTPError(400)
        except ValidationError as exc:
            self.set_status(400)
            self._show(values, self.errors_of(exc))
            return
        except ValueError as exc:
            raise tornado.web.HTTPError(400) from exc
        self.redirect("/admin/users")
