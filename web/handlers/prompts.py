"""The prompts page: what callers hear, with its text, length, a player and the flows
using it; a recording uploaded (WAV or MP3), or text spoken by the box in Russian or
English; music on hold uploaded, or the built-in melody.

Uploads are larger than any other form, so their handler takes the body as a stream
(``MAX_BODY`` stays small for everything else): up to the upload limit it is kept, past
it only counted, and the page then says the file is too big (a browser shows a page,
not a reset connection).  The XSRF check waits until the form fields have arrived.

The WAV handlers serve only a stored prompt's own file under ``prompts/``: the name and
language in the URL are checked and the path is built from them, never taken as is.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import tornado.escape
import tornado.httputil
import tornado.web

from appliance.ivr.audioin import MAX_SECONDS, MAX_UPLOAD_BYTES, PromptError
from appliance.ivr.phrases import LANGUAGES
from appliance.ivr.promptadmin import PromptAdmin, PromptInUse
from appliance.ivr.prompts import MAX_TEXT

from .audio import send_wav
from .base import BaseHandler

# Past this the connection is dropped unread; up to it a too-big file gets a message.
HARD_LIMIT = 8 * MAX_UPLOAD_BYTES
FORM_SLACK = 64 * 1024  # the multipart framing and the small fields around the file

# Which form field a refusal belongs next to, by the prefix of the form it came from.
FIELD_OF = {"bad_name": "name", "bad_language": "language", "no_text": "text",
            "no_recording_text": "text", "text_too_long": "text"}
DONE_CODES = ("generated", "uploaded", "retexted", "deleted", "moh", "moh_builtin")


class PromptsBase(BaseHandler):
    role = "admin"

    @functools.cached_property
    def service(self) -> PromptAdmin:
        # the database lives in DATA_DIR/callbox.db, so its folder is the data directory
        return PromptAdmin(self.box.store, self.box.admin, self.box.store.path.parent)

    def message(self, exc: PromptError) -> str:
        _ = self.locale.translate
        v = exc.values
        text = {
            "bad_name": _("Use a-z, 0-9, - and _ (up to 64 characters)."),
            "bad_language": _("Choose a language from the list."),
            "no_text": _("Type the text to speak."),
            "no_recording_text": _("Type what the recording says."),
            "no_file": _("Choose a WAV or MP3 file."),
            "text_too_long": _("The text is longer than %(limit)s characters."),
            "too_big": _("The file is larger than %(mb)s MB."),
            "too_long": _("The recording is longer than %(minutes)s minutes."),
            "empty": _("The recording is empty."),
            "unknown_format": _("This is neither a WAV nor an MP3 file."),
            "bad_wav": _("This WAV file cannot be read (%(reason)s)."),
            "no_mp3": _("This box cannot decode MP3 (no sox with MP3 support). Upload a WAV."),
            "bad_audio": _("This %(kind)s file cannot be decoded (%(reason)s)."),
            "tool_timeout": _("%(tool)s took longer than %(seconds)s s."),
            "tool_failed": _("%(tool)s failed (%(reason)s)."),
        }[exc.code]
        return text % v if v else text

    def field_error(self, form: str, exc: PromptError) -> dict[str, str]:
        return {f"{form}_{FIELD_OF.get(exc.code, 'file' if form != 'tts' else 'text')}":
                self.message(exc)}

    async def show(self, *, errors: dict[str, str] | None = None,
                   tts: dict[str, str] | None = None, up: dict[str, str] | None = None,
                   in_use: PromptInUse | None = None, status: int = 200) -> None:
        prompts = await self.service.prompts()
        languages = list(LANGUAGES)
        edit = self.get_query_argument("edit", "")
        edit_language = self.get_query_argument("language", "")
        chosen = next((p for p in prompts if p["name"] == edit
                       and p["language"] == edit_language), None)
        if chosen and tts is None and up is None:  # "change" on a row fills its form
            values = {"name": chosen["name"], "language": chosen["language"],
                      "text": chosen["text"]}
            tts, up = (values, None) if chosen["source"] == "tts" else (None, values)
        blank = {"name": "", "language": languages[0], "text": ""}
        done = self.get_query_argument("done", "")
        self.set_status(status)
        self.render("admin/prompts.html", prompts=prompts, prompt_languages=languages,
                    errors=errors or {}, tts=tts or blank, up=up or blank, in_use=in_use,
                    done=done if done in DONE_CODES else "", moh=await self.service.moh(),
                    max_mb=MAX_UPLOAD_BYTES // 2**20, max_minutes=MAX_SECONDS // 60,
                    max_text=MAX_TEXT)

    async def send_wav(self, path: Path) -> None:
        await send_wav(self, path)  # at most 10 minutes of 8 kHz, with byte ranges

    def done(self, code: str, name: str = "") -> None:
        url = self.reverse_url("prompts") + "?done=" + code
        if name:
            url += "&name=" + tornado.escape.url_escape(name)
        self.redirect(url)


class PromptsHandler(PromptsBase):
    async def get(self) -> None:
        await self.show()

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        if action == "generate":
            await self._generate()
        elif action == "delete":
            await self._delete()
        elif action == "moh_builtin":
            await self.service.builtin_moh()
            self.done("moh_builtin")
        else:
            raise tornado.web.HTTPError(400)

    async def _generate(self) -> None:
        values = self.form("name", "language", "text")
        try:
            await self.service.generate(values["name"], values["language"], values["text"])
        except PromptError as exc:
            await self.show(errors=self.field_error("tts", exc), tts=values, status=400)
            return
        self.done("generated", values["name"])

    async def _delete(self) -> None:
        name, language = self.get_body_argument("name", ""), self.get_body_argument(
            "language", "")
        try:
            deleted = await self.service.delete(name, language)
        except PromptError:
            raise tornado.web.HTTPError(400) from None
        except PromptInUse as exc:
            await self.show(in_use=exc, status=409)
            return
        if not deleted:
            raise tornado.web.HTTPError(404)
        self.done("deleted", name)


@tornado.web.stream_request_body
class PromptUploadHandler(PromptsBase):
    """POST multipart/form-data, ``kind`` "prompt" (name, language, text, file) or "moh"
    (file) in the query.  The file comes last in the form, so when it is too big the
    fields before it are still read from the first bytes kept."""

    def initialize(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._fields_in = False

    @property
    def too_big(self) -> bool:
        return self._received > MAX_UPLOAD_BYTES + FORM_SLACK

    def prepare(self) -> None:
        super().prepare()  # who may: before a byte of the body is read
        if not self._finished and self.request.method == "POST":
            self.request.connection.set_max_body_size(HARD_LIMIT)

    def data_received(self, chunk: bytes) -> None:
        was_big = self.too_big
        self._received += len(chunk)
        if not self.too_big:
            self._chunks.append(chunk)
        elif not was_big:  # keep only the head, where the small fields are
            self._chunks = [b"".join(self._chunks)[:FORM_SLACK]]

    def check_xsrf_cookie(self) -> None:
        # tornado checks before prepare(), when a streamed body's fields are not in yet
        if self._fields_in:
            super().check_xsrf_cookie()

    async def post(self) -> None:
        files: dict[str, list[tornado.httputil.HTTPFile]] = {}
        self._parse_form(b"".join(self._chunks), files)
        self._chunks.clear()
        self._fields_in = True
        self.check_xsrf_cookie()
        kind = self.get_query_argument("kind", "")
        if kind not in ("prompt", "moh"):
            raise tornado.web.HTTPError(400)
        values = self.form("name", "language", "text") if kind == "prompt" else None
        data = files["file"][0].body if files.get("file") else b""
        try:
            if self.too_big:
                raise PromptError("too_big", mb=MAX_UPLOAD_BYTES // 2**20)
            if kind == "moh":
                await self.service.upload_moh(data)
                self.done("moh")
                return
            row = await self.service.upload(values["name"], values["language"], data,
                                            values["text"])
        except PromptError as exc:
            form = "up" if kind == "prompt" else "moh"
            await self.show(errors=self.field_error(form, exc), up=values,
                            status=413 if exc.code == "too_big" else 400)
            return
        self.done("uploaded" if data else "retexted", row.get("name", ""))

    def _parse_form(self, body: bytes, files: dict[str, list[Any]]) -> None:
        content_type = self.request.headers.get("Content-Type", "")
        if self.too_big:
            body = self._complete_parts(content_type, body)
        if not body:
            return
        arguments: dict[str, list[bytes]] = {}
        try:
            tornado.httputil.parse_body_arguments(content_type, body, arguments, files,
                                                  self.request.headers)
        except tornado.httputil.HTTPInputError:
            raise tornado.web.HTTPError(400) from None
        for key, values in arguments.items():
            self.request.body_arguments.setdefault(key, []).extend(values)
            self.request.arguments.setdefault(key, []).extend(values)
        if self.too_big:
            files.clear()  # whatever of the file is in the head is not the file

    @staticmethod
    def _complete_parts(content_type: str, head: bytes) -> bytes:
        """The parts of a multipart body that are whole in ``head``, closed properly."""
        for field in content_type.split(";"):
            key, _, value = field.strip().partition("=")
            if key == "boundary" and value:
                delimiter = b"--" + tornado.escape.utf8(value.strip('"'))
                cut = head.rfind(delimiter)
                return head[:cut] + delimiter + b"--\r\n" if cut > 0 else b""
        return b""


class PromptAudioHandler(PromptsBase):
    async def get(self, language: str, name: str) -> None:
        path = self.service.audio_file(name, language)
        if path is None:
            raise tornado.web.HTTPError(404)
        await self.send_wav(path)


class MohAudioHandler(PromptsBase):
    async def get(self) -> None:
        moh = await self.service.moh()
        if moh["file"] is None:
            raise tornado.web.HTTPError(404)
        await self.send_wav(moh["file"])
