"""The voicemail notifications page: SMTP and webhook settings validated field by field,
secrets never shown again, and "send a test" delivering through a real SMTP conversation
and a real HTTP POST on loopback."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socketserver
import threading
from email import message_from_bytes, policy

from web_helpers import WebCase

from appliance.ivr.notify import EMAIL_SETTING, WEBHOOK_SETTING


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib without TLS: EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        envelope: dict = {"to": []}
        self.reply("220 test ESMTP")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 test")
            elif verb == b"MAIL":
                envelope["from"] = line.decode().split(":", 1)[1].strip()
                self.reply("250 ok")
            elif verb == b"RCPT":
                envelope["to"].append(line.decode().split(":", 1)[1].strip())
                self.reply("250 ok")
            elif verb == b"DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                envelope["data"] = data
                self.server.mails.append(envelope)
                envelope = {"to": []}
                self.reply("250 queued")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class HookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        return  # quiet: the test reads what arrived, not the log


def serve(server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


class NotificationsPage(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()

    def email_form(self, **values):
        return {"action": "email", "enabled": "on", "host": "127.0.0.1", "port": "25",
                "security": "none", "username": "", "password": "", "sender":
                "callbox@example.com", "to": "boss@example.com", "attach": "on",
                "language": "ru"} | values

    def test_bad_values_are_named_and_nothing_is_saved(self):
        response = self.post("/admin/notifications", self.email_form(
            host="bad host!", port="70000", sender="nobody", to="a@b.c, not-an-address",
            security="rot13"))
        assert response.code == 400
        page = self.text(response)
        for field in ("host", "port", "sender", "to", "security"):
            assert f'id="error-{field}"' in page, field
        assert self.box.store.setting(EMAIL_SETTING) is None
        response = self.post("/admin/notifications", {"action": "webhook", "enabled": "on",
                                                       "url": "javascript:alert(1)"})
        assert response.code == 400 and 'id="error-url"' in self.text(response)
        assert self.box.store.setting(WEBHOOK_SETTING) is None

    def test_password_is_never_shown_and_an_empty_field_keeps_it(self):
        assert self.post("/admin/notifications", self.email_form(
            username="box", password="s3cret-pass")).code == 302
        page = self.text(self.get("/admin/notifications"))
        assert "s3cret-pass" not in page and "A password is saved" in page
        assert self.post("/admin/notifications", self.email_form(username="box")).code == 302
        saved = self.box.store.setting(EMAIL_SETTING)
        assert saved["password"] == "s3cret-pass" and saved["to"] == ["boss@example.com"]
        assert saved["port"] == 25 and saved["language"] == "ru"

    def test_send_a_test_delivers_mail_and_a_signed_webhook(self):
        smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
        smtp.mails = []
        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HookHandler)
        hook.posts = []
        serve(smtp), serve(hook)
        try:
            self.post("/admin/notifications", self.email_form(
                port=str(smtp.server_address[1]), to="boss@example.com, desk@example.com"))
            url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
            self.post("/admin/notifications", {"action": "webhook", "enabled": "on",
                                               "url": url, "secret": "shared"})
            page = self.text(self.post("/admin/notifications", {"action": "test"}))
        finally:
            smtp.shutdown(), hook.shutdown()
            smtp.server_close(), hook.server_close()
        assert 'id="result-email" class="ok"' in page and 'id="result-webhook" class="ok"' in page
        assert len(smtp.mails) == 1
        mail = smtp.mails[0]
        assert mail["to"] == ["<boss@example.com>", "<desk@example.com>"]
        parsed = message_from_bytes(mail["data"], policy=policy.default)
        assert "Голосовое сообщение" in parsed["Subject"]  # the language chosen
        headers, body = hook.posts[0]
        expected = "sha256=" + hmac.new(b"shared", body, hashlib.sha256).hexdigest()
        assert headers["X-Callbox-Signature"] == expected
        assert json.loads(body)["event"] == "voicemail"

    def test_a_server_that_is_down_is_reported_in_words(self):
        closed = socketserver.TCPServer(("127.0.0.1", 0), SmtpHandler)
        port = closed.server_address[1]
        closed.server_close()  # nothing listens there now
        self.post("/admin/notifications", self.email_form(port=str(port)))
        page = self.text(self.post("/admin/notifications", {"action": "test"}))
        assert 'id="result-email" class="bad"' in page
        assert 'id="result-webhook" class="muted"' in page  # not set up: off

    def test_supervisors_cannot_change_notifications(self):
        self.make_user("sup", "supervisor")
        self.logout()
        self.login("sup")
        assert self.get("/admin/notifications").code == 403
        assert self.post("/admin/notifications", self.email_form()).code == 403
        assert self.box.store.setting(EMAIL_SETTING) is None
