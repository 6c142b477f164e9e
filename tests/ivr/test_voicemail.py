"""Voicemail: message + callback task in one write; e-mail and webhook to local servers."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from appliance.ivr.notify import EMAIL_SETTING, WEBHOOK_SETTING, VoicemailNotifier
from appliance.ivr.prompts import read_pcm
from appliance.ivr.voicemail import MessageRecorder, VoicemailBox
from appliance.store import open_store
from drivers.base import FRAME_BYTES

SUMMARY = {"flow": "main", "digits": {"account": "12345"}, "choices": []}


@pytest.fixture
def store(tmp_path):
    store = open_store(tmp_path)
    yield store
    store.close()


async def leave_message(box: VoicemailBox, number: str = "+79161234567", seconds: float = 3.0):
    recorder = MessageRecorder(max_seconds=60)
    for i in range(int(seconds * 50)):
        recorder.add(bytes([i % 256]) * FRAME_BYTES)
    path = box.path_for("call-1")
    duration = await recorder.save(path)
    return await box.deposit(call_id="call-1", line="gsm1", queue="sales", caller_number=number,
                             path=path, duration=duration, digits=SUMMARY)


def test_message_and_callback_task_are_written_together(store, tmp_path) -> None:
    hooked = []
    box = VoicemailBox(store, tmp_path, on_callback=hooked.append)
    message = asyncio.run(leave_message(box))
    rows = box.list()
    assert len(rows) == 1 and rows[0]["id"] == message.id
    assert rows[0]["digits"] == SUMMARY and rows[0]["duration"] == 3.0
    assert rows[0]["heard"] == 0 and rows[0]["caller_number"] == "+79161234567"
    callbacks = store.query("SELECT * FROM callbacks")
    assert [(c["queue"], c["number"], c["status"], c["note"], c["id"]) for c in callbacks] == [
        ("sales", "+79161234567", "waiting", f"voicemail #{message.id}", message.callback_id)]
    assert hooked == [message]
    assert len(read_pcm(box.root.parent / rows[0]["path"])) == 150 * FRAME_BYTES
    assert asyncio.run(box.mark_heard(message.id)) is True
    assert box.list(heard=False) == [] and len(box.list(heard=True, queue="sales")) == 1
    assert asyncio.run(box.mark_heard(9999)) is False


def test_withheld_number_keeps_the_message_without_a_task(store, tmp_path) -> None:
    box = VoicemailBox(store, tmp_path)
    message = asyncio.run(leave_message(box, number=""))
    assert message.callback_id is None
    assert store.query("SELECT COUNT(*) AS n FROM callbacks")[0]["n"] == 0
    assert len(box.list()) == 1


def test_recorder_limits_and_pads(tmp_path) -> None:
    recorder = MessageRecorder(max_seconds=0.1)  # five frames
    assert all(recorder.add(b"\x01\x00" * 160) for _ in range(4))
    assert recorder.add(b"\x02") is False  # the fifth fills it
    assert recorder.add(b"\x03" * FRAME_BYTES) is False
    assert recorder.duration == 0.1
    path = tmp_path / "m.wav"
    asyncio.run(recorder.save(path))
    pcm = read_pcm(path)
    assert len(pcm) == 5 * FRAME_BYTES and pcm[-FRAME_BYTES:] == b"\x02" + bytes(FRAME_BYTES - 1)


def test_path_stays_inside_the_voicemail_folder(store, tmp_path) -> None:
    box = VoicemailBox(store, tmp_path)
    path = box.path_for("../../etc/passwd")
    assert path.resolve().is_relative_to(box.root.resolve())
    assert box.path_for("").suffix == ".wav"


class SmtpStub:
    """Just enough SMTP (RFC 5321) to receive one mail: written for this test."""

    def __init__(self) -> None:
        self.mails: list[bytes] = []
        self.envelope: list[str] = []
        self.auth: list[str] = []
        self.received = asyncio.Event()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 stub ready\r\n")
        data: list[bytes] | None = None
        while line := await reader.readline():
            if data is not None:
                if line == b".\r\n":
                    self.mails.append(b"".join(data))
                    data = None
                    writer.write(b"250 queued\r\n")
                    self.received.set()
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-stub\r\n250 AUTH PLAIN\r\n")
            elif verb in (b"MAIL", b"RCPT"):
                verb_text, _, rest = line.decode().strip().partition(":")
                self.envelope.append(f"{verb_text.upper()}:{rest}")
                writer.write(b"250 ok\r\n")
            elif verb == b"AUTH":
                self.auth.append(base64.b64decode(line.split()[-1]).decode())
                writer.write(b"235 ok\r\n")
            elif verb == b"DATA":
                data = []
                writer.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()


def test_email_notification_with_the_recording(store, tmp_path) -> None:
    async def scenario():
        stub = SmtpStub()
        port = await stub.start()
        store.set_setting(EMAIL_SETTING, {
            "enabled": True, "host": "127.0.0.1", "port": port, "security": "none",
            "username": "box", "password": "s3cret", "sender": "callbox@office.test",
            "to": ["boss@office.test"], "language": "ru"}).result()
        notifier = VoicemailNotifier(store.setting)
        box = VoicemailBox(store, tmp_path, notify=notifier)
        message = await leave_message(box)
        await box.drain()
        await asyncio.wait_for(stub.received.wait(), 10)
        stub.server.close()
        return stub, message

    stub, message = asyncio.run(scenario())
    assert stub.envelope == ["MAIL FROM:<callbox@office.test>", "RCPT TO:<boss@office.test>"]
    assert stub.auth == ["\0box\0s3cret"]
    mail = email.message_from_bytes(stub.mails[0], policy=email.policy.default)
    assert mail["Subject"] == "Голосовое сообщение от +79161234567 (sales), 3 с"
    body = mail.get_body(("plain",)).get_content()
    assert "Введено account: 12345" in body
    attachment = next(mail.iter_attachments())
    assert attachment.get_content_type() == "audio/wav"
    with open(message.path, "rb") as handle:
        assert attachment.get_content() == handle.read()


def test_email_failure_is_a_result_not_an_exception(store, tmp_path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store.set_setting(EMAIL_SETTING, {"enabled": True, "host": "127.0.0.1", "port": port,
                                      "security": "none", "sender": "a@b.test",
                                      "to": ["c@d.test"]}).result()
    box = VoicemailBox(store, tmp_path)
    message = asyncio.run(leave_message(box))
    results = asyncio.run(VoicemailNotifier(store.setting).notify(message))
    assert results["email"].startswith("error") and results["webhook"] == "off"
    store.set_setting(EMAIL_SETTING, {"enabled": True, "host": "x"}).result()
    assert asyncio.run(VoicemailNotifier(store.setting).notify(message))["email"].startswith(
        "error: e-mail settings")


class Hook(tornado.web.RequestHandler):
    def initialize(self, seen: list, status: int) -> None:
        self.seen, self.status = seen, status

    def post(self) -> None:
        self.seen.append((dict(self.request.headers), self.request.body))
        self.set_status(self.status)


def _serve(seen: list, status: int) -> tuple[tornado.httpserver.HTTPServer, int]:
    app = tornado.web.Application([("/hook", Hook, {"seen": seen, "status": status})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def test_webhook_is_signed_json(store, tmp_path) -> None:
    async def scenario(status: int):
        seen: list = []
        server, port = _serve(seen, status)
        store.set_setting(WEBHOOK_SETTING, {"enabled": True, "secret": "k3y",
                                            "url": f"http://127.0.0.1:{port}/hook"}).result()
        box = VoicemailBox(store, tmp_path)
        message = await leave_message(box)
        results = await VoicemailNotifier(store.setting).notify(message)
        server.stop()
        return seen, message, results

    seen, message, results = asyncio.run(scenario(204))
    assert results == {"email": "off", "webhook": "sent"}
    headers, body = seen[0]
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert headers["X-Callbox-Signature"] == expected
    data = json.loads(body)
    assert data["event"] == "voicemail" and data["id"] == message.id
    assert data["caller_number"] == "+79161234567" and data["digits"] == SUMMARY

    _seen, _message, results = asyncio.run(scenario(500))
    assert results["webhook"] == "error: HTTP 500"


def test_webhook_bad_address_and_unreachable(store, tmp_path) -> None:
    box = VoicemailBox(store, tmp_path)
    message = asyncio.run(leave_message(box))
    store.set_setting(WEBHOOK_SETTING, {"enabled": True, "url": "ftp://x"}).result()
    assert asyncio.run(VoicemailNotifier(store.setting).notify(message))["webhook"].startswith(
        "error: the webhook")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store.set_setting(WEBHOOK_SETTING, {"enabled": True,
                                        "url": f"http://127.0.0.1:{port}/hook"}).result()
    result = asyncio.run(VoicemailNotifier(store.setting).notify(message))["webhook"]
    assert result.startswith("error")


def test_audio_path_only_inside_the_voicemail_folder(store, tmp_path):
    box = VoicemailBox(store, tmp_path)
    inside = box.root / "2026-11" / "a.wav"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"RIFF")
    outside = tmp_path / "b.wav"
    outside.write_bytes(b"RIFF")
    (box.root / "2026-11" / "link.wav").symlink_to(outside)  # a link out of the folder

    def insert(path) -> int:
        return asyncio.run(store.writer.awrite(lambda c: c.execute(
            "INSERT INTO voicemail(path, created_at) VALUES (?, 0)", (str(path),)).lastrowid))

    assert box.audio_path(insert(inside)) == inside.resolve()
    for path in (outside, box.root / ".." / "b.wav", box.root / "2026-11" / "link.wav",
                 box.root / "2026-11" / "missing.wav", tmp_path / "callbox.db", ""):
        assert box.audio_path(insert(path)) is None, path
    assert box.audio_path(10_000) is None
