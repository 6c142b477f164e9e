"""Telling people a voicemail arrived: e-mail (SMTP) and a webhook POST.

Settings live in the database (written by the web setup):

* ``voicemail.email``: ``{"enabled": true, "host": "mail.example", "port": 587,
  "security": "starttls" | "ssl" | "none", "username": "", "password": "",
  "sender": "callbox@example", "to": ["boss@example"], "attach": true,
  "language": "ru"}``
* ``voicemail.webhook``: ``{"enabled": true, "url": "https://crm.example/hook",
  "secret": "..."}`` — the body is JSON; with a secret, ``X-Callbox-Signature`` carries
  ``sha256=`` HMAC of the body, so the receiver can tell it came from this box.

smtplib blocks, so it runs on a thread; the webhook uses Tornado's async client.
Both have timeouts, and a failure comes back as a result, never as an exception into
the call path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .phrases import language_or_default
from .voicemail import VoicemailMessage

log = logging.getLogger(__name__)

EMAIL_SETTING = "voicemail.email"
WEBHOOK_SETTING = "voicemail.webhook"
TIMEOUT = 15.0
MAX_ATTACHMENT = 10 * 1024 * 1024

SUBJECT = {"en": "Voicemail from {number} ({queue}), {seconds} s",
           "ru": "Голосовое сообщение от {number} ({queue}), {seconds} с"}
BODY = {"en": "A caller left a message.\n\nNumber: {number}\nQueue: {queue}\nLine: {line}\n"
              "Time (UTC): {time}\nLength: {seconds} s\n{digits}",
        "ru": "Звонящий оставил сообщение.\n\nНомер: {number}\nОчередь: {queue}\n"
              "Линия: {line}\nВремя (UTC): {time}\nДлительность: {seconds} с\n{digits}"}
ENTERED = {"en": "Entered", "ru": "Введено"}
WITHHELD = {"en": "withheld", "ru": "скрыт"}


SECURITY = ("starttls", "ssl", "none")
ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]")


def check_email_settings(form: dict[str, str], saved: dict[str, Any]
                         ) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``voicemail.email`` setting from the web form, and a message per bad field.
    An empty password keeps the saved one (the page never shows it)."""
    errors: dict[str, str] = {}
    enabled = form.get("enabled") in ("1", "on", "true")
    host = form.get("host", "").strip()
    port = form.get("port", "").strip() or "587"
    security = form.get("security", "starttls")
    sender = form.get("sender", "").strip()
    to = [a for a in re.split(r"[\s,;]+", form.get("to", "")) if a]
    if host and not HOST.fullmatch(host):
        errors["host"] = "a host name or address, e.g. smtp.example.com"
    elif enabled and not host:
        errors["host"] = "required"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        errors["port"] = "a port number from 1 to 65535"
    if security not in SECURITY:
        errors["security"] = "choose one of the offered values"
    if sender and not ADDRESS.fullmatch(sender):
        errors["sender"] = "an e-mail address, e.g. callbox@example.com"
    elif enabled and not sender:
        errors["sender"] = "required"
    if any(not ADDRESS.fullmatch(a) for a in to):
        errors["to"] = "e-mail addresses separated by commas"
    elif enabled and not to:
        errors["to"] = "required"
    if len(to) > 20:
        errors["to"] = "at most 20 addresses"
    config = {"enabled": enabled, "host": host, "port": int(port) if port.isdigit() else 587,
              "security": security, "username": form.get("username", "").strip(),
              "password": form.get("password") or saved.get("password", ""),
              "sender": sender, "to": to, "attach": form.get("attach") in ("1", "on", "true"),
              "language": language_or_default(form.get("language"))}
    return config, errors


def check_webhook_settings(form: dict[str, str], saved: dict[str, Any]
                           ) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``voicemail.webhook`` setting from the web form; an empty secret keeps the
    saved one."""
    errors: dict[str, str] = {}
    enabled = form.get("enabled") in ("1", "on", "true")
    url = form.get("url", "").strip()
    if url and (not url.startswith(("http://", "https://")) or len(url) > 2000
                or any(c.isspace() for c in url)):
        errors["url"] = "an address starting with http:// or https://"
    elif enabled and not url:
        errors["url"] = "required"
    secret = form.get("secret") or saved.get("secret", "")
    return {"enabled": enabled, "url": url, "secret": secret}, errors


def sample_message(now: float) -> VoicemailMessage:
    """What "send a test" sends: a message with no recording, from no one."""
    return VoicemailMessage(call_id="test", line="test", queue="test", caller_number="",
                            path="", duration=0.0, digits={}, created_at=now, id=0)


def build_email(config: dict[str, Any], message: VoicemailMessage) -> EmailMessage:
    language = language_or_default(config.get("language"))
    digits = (message.digits or {}).get("digits") or {}
    fields = {
        "number": message.caller_number or WITHHELD[language],
        "queue": message.queue or "-", "line": message.line or "-",
        "time": dt.datetime.fromtimestamp(message.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "seconds": round(message.duration),
        "digits": "".join(f"{ENTERED[language]} {k}: {v}\n" for k, v in digits.items()),
    }
    mail = EmailMessage()
    mail["Subject"] = SUBJECT[language].format(**fields)
    mail["From"] = config["sender"]
    mail["To"] = ", ".join(config["to"])
    mail.set_content(BODY[language].format(**fields))
    path = Path(message.path) if message.path else None
    if config.get("attach", True) and path is not None and path.is_file() \
            and path.stat().st_size <= MAX_ATTACHMENT:
        mail.add_attachment(path.read_bytes(), maintype="audio", subtype="wav",
                            filename=f"voicemail-{message.id}.wav")
    return mail


def send_email(config: dict[str, Any], message: VoicemailMessage) -> None:
    """Blocking: build and send one mail.  Run it on a thread."""
    mail = build_email(config, message)
    host, port = config["host"], int(config.get("port") or 25)
    security = config.get("security", "starttls")
    if security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=TIMEOUT)
    with client:
        client.ehlo()
        if security == "starttls":
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if config.get("username"):
            client.login(config["username"], config.get("password", ""))
        client.send_message(mail)


def webhook_body(message: VoicemailMessage) -> bytes:
    data = message.as_dict()
    data["event"] = "voicemail"
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class VoicemailNotifier:
    """``notify(message)`` -> {"email": result, "webhook": result}; results are "sent",
    "off" or "error: ..."."""

    def __init__(self, setting: Callable[[str], Any],
                 http: AsyncHTTPClient | None = None) -> None:
        self.setting = setting  # Store.setting
        self.http = http

    async def notify(self, message: VoicemailMessage) -> dict[str, str]:
        email, webhook = await asyncio.gather(self._email(message), self._webhook(message))
        return {"email": email, "webhook": webhook}

    async def __call__(self, message: VoicemailMessage) -> dict[str, str]:
        return await self.notify(message)

    async def _email(self, message: VoicemailMessage) -> str:
        config = self.setting(EMAIL_SETTING) or {}
        if not config.get("enabled"):
            return "off"
        if not (config.get("host") and config.get("sender") and config.get("to")):
            return "error: e-mail settings need a server, a sender and recipients"
        try:
            await asyncio.to_thread(send_email, config, message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("voicemail #%d: e-mail to %s failed: %s", message.id,
                        config.get("host"), exc)
            return f"error: {exc}"
        return "sent"

    async def _webhook(self, message: VoicemailMessage) -> str:
        config = self.setting(WEBHOOK_SETTING) or {}
        if not config.get("enabled"):
            return "off"
        url = str(config.get("url") or "")
        if not url.startswith(("http://", "https://")):
            return "error: the webhook needs an http:// or https:// address"
        body = webhook_body(message)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if config.get("secret"):
            headers["X-Callbox-Signature"] = signature(str(config["secret"]), body)
        request = HTTPRequest(url, method="POST", body=body, headers=headers,
                              connect_timeout=TIMEOUT, request_timeout=TIMEOUT)
        client = self.http or AsyncHTTPClient()
        try:
            response = await client.fetch(request, raise_error=False)
        except (OSError, ValueError) as exc:  # unresolvable host, malformed address
            return f"error: {exc}"
        if response.code >= 300 or response.code < 200:
            log.warning("voicemail #%d: webhook %s answered %s", message.id, url, response.code)
            return f"error: HTTP {response.code}"
        return "sent"
