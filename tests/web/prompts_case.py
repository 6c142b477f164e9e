"""The prompts page's test base: a logged-in installer, multipart uploads as a browser
sends them, and what was stored."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from unittest import mock

from web_helpers import WebCase

XSS = '<script>alert("x")</script>'


def multipart(fields: dict[str, str], file: bytes | None,
              filename: str = "recording.wav") -> tuple[bytes, str]:
    """A form body as a browser sends it: the fields, then the file."""
    boundary = "----callbox" + uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
             + v.encode() + b"\r\n" for k, v in fields.items()]
    if file is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                     '\r\n\r\n'.encode() + file + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


def flow_playing(*prompts: str) -> dict:
    return {"start": "hello", "language": "en", "operator": "bye",
            "nodes": {"hello": {"type": "menu", "prompt": prompts[0],
                                "invalid_prompt": prompts[-1],
                                "choices": {"1": {"next": "bye"}}},
                      "bye": {"type": "hangup"}}}


class PromptsCase(WebCase):
    def setUp(self):
        super().setUp()
        # uploads of 20 MB and espeak on a busy machine: more than tornado's 5 s default
        patcher = mock.patch.dict(os.environ, {"ASYNC_TEST_TIMEOUT": "60"})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.setup_admin()
        self.data = Path(self.tmp)

    def upload(self, data: bytes | None, name: str = "welcome", language: str = "en",
               text: str = "Welcome to Acme.", *, kind: str = "prompt", xsrf: bool = True,
               filename: str = "recording.wav"):
        fields = {"_xsrf": self.xsrf_token()} if xsrf else {}
        if kind == "prompt":
            fields.update(name=name, language=language, text=text)
        body, content_type = multipart(fields, data, filename)
        return self.request("POST", f"/admin/prompts/upload?kind={kind}", raw_body=body,
                            headers={"Content-Type": content_type})

    def stored(self, name: str, language: str = "en") -> bytes | None:
        path = self.data / "prompts" / language / f"{name}.wav"
        return path.read_bytes() if path.exists() else None

    def row(self, name: str, language: str = "en") -> dict | None:
        rows = self.box.store.query("SELECT * FROM prompts WHERE name = ? AND language = ?",
                                    (name, language))
        return rows[0] if rows else None

    def prompt_row_html(self, name: str, language: str = "en") -> str:
        html = self.text(self.get("/admin/prompts"))
        match = re.search(rf'<tr id="prompt-{language}-{name}"(.*?)</tr>', html, re.S)
        assert match, f"{name}/{language} not listed"
        return match.group(1)
