"""Voicemail notifications: the SMTP server and recipients that get each new message by
e-mail, and the webhook that a CRM can receive.  Passwords and secrets are never shown
again; an empty field keeps the saved one.  "Send a test" sends a message without a
recording through the saved settings and shows what happened, in words."""

from __future__ import annotations

import time

import tornado.web

from appliance.ivr.notify import (
    EMAIL_SETTING,
    SECURITY,
    WEBHOOK_SETTING,
    VoicemailNotifier,
    check_email_settings,
    check_webhook_settings,
    sample_message,
)

from .base import BaseHandler

EMAIL_FIELDS = ("enabled", "host", "port", "security", "username", "password", "sender", "to",
                "attach", "language")
WEBHOOK_FIELDS = ("enabled", "url", "secret")


class NotificationsHandler(BaseHandler):
    role = "admin"

    def saved(self) -> tuple[dict, dict]:
        store = self.box.store
        return store.setting(EMAIL_SETTING) or {}, store.setting(WEBHOOK_SETTING) or {}

    def get(self) -> None:
        email, webhook = self.saved()
        self._show(_form_of(email), _form_of(webhook), {}, {})

    def _show(self, email, webhook, email_errors, webhook_errors, result=None) -> None:
        saved_email, saved_webhook = self.saved()
        self.render("admin/notifications.html", email=email, webhook=webhook,
                    email_errors=email_errors, webhook_errors=webhook_errors,
                    security=SECURITY, result=result,
                    has_password=bool(saved_email.get("password")),
                    has_secret=bool(saved_webhook.get("secret")))

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        saved_email, saved_webhook = self.saved()
        if action == "email":
            form = {f: self.get_body_argument(f, "") for f in EMAIL_FIELDS}
            config, errors = check_email_settings(form, saved_email)
            if errors:
                self.set_status(400)
                self._show(form, _form_of(saved_webhook), self.translate_errors(errors), {})
                return
            await self.box.admin.set_setting(EMAIL_SETTING, config)
        elif action == "webhook":
            form = {f: self.get_body_argument(f, "") for f in WEBHOOK_FIELDS}
            config, errors = check_webhook_settings(form, saved_webhook)
            if errors:
                self.set_status(400)
                self._show(_form_of(saved_email), form, {}, self.translate_errors(errors))
                return
            await self.box.admin.set_setting(WEBHOOK_SETTING, config)
        elif action == "test":
            result = await VoicemailNotifier(self.box.store.setting).notify(
                sample_message(time.time()))
            self._show(_form_of(saved_email), _form_of(saved_webhook), {}, {}, result)
            return
        else:
            raise tornado.web.HTTPError(400)
        self.redirect(self.reverse_url("notifications") + "?saved=1")


def _form_of(config: dict) -> dict[str, str]:
    """A saved setting as the form shows it: no password or secret, lists as text."""
    form = {k: ("on" if v else "") if isinstance(v, bool) else
            ", ".join(v) if isinstance(v, list) else str(v)
            for k, v in config.items() if k not in ("password", "secret")}
    form.setdefault("attach", "on")
    return form
