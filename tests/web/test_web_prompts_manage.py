"""The prompts page, continued: text spoken by espeak-ng in both languages without
holding up the server, deleting (refused while an active flow plays the prompt), music
on hold uploaded and back to the built-in, and who may do any of it."""

from __future__ import annotations

import asyncio
import io
import os
import re
import struct
import wave
from unittest import mock

from prompts_case import XSS, PromptsCase, flow_playing
from tornado.escape import xhtml_escape

from appliance.ivr.flowstore import FlowStore
from appliance.ivr.moh import MOH_SETTING, melody_pcm
from tests.conftest import require_tool
from tests.ivr.audio import make_wav, pitch, samples_8k


class Speaking(PromptsCase):
    def generate(self, name: str, language: str, text: str):
        return self.post("/admin/prompts", {"action": "generate", "name": name,
                                            "language": language, "text": text})

    def assert_speech(self, wav: bytes) -> None:
        values = samples_8k(wav)
        assert 0.5 < len(values) / 8000 < 10
        assert max(abs(v) for v in values) > 2000

    def test_text_is_spoken_in_both_languages(self):
        require_tool("espeak-ng")
        response = self.generate("queue-ru", "ru", "Ваш звонок второй в очереди.")
        assert response.code == 302, self.text(response)
        assert self.generate("queue-en", "en", "You are second in line.").code == 302
        self.assert_speech(self.stored("queue-ru", "ru"))
        self.assert_speech(self.stored("queue-en", "en"))
        assert self.row("queue-ru", "ru")["source"] == "tts"
        row = self.prompt_row_html("queue-ru", "ru")
        assert "Ваш звонок второй в очереди." in row and 'data-source="tts"' in row

    def test_regenerate_replaces_and_text_is_escaped(self):
        require_tool("espeak-ng")
        assert self.generate("greeting", "en", "Hello.").code == 302
        short = self.stored("greeting")
        assert self.generate("greeting", "en", f"Good morning and welcome {XSS}").code == 302
        assert self.stored("greeting") != short
        assert self.row("greeting")["text"] == f"Good morning and welcome {XSS}"
        html = self.text(self.get("/admin/prompts"))
        assert XSS not in html and xhtml_escape(XSS) in html

    def test_empty_text_and_bad_name_are_refused_next_to_the_field(self):
        response = self.generate("greeting", "en", "   ")
        assert response.code == 400 and 'id="error-tts_text"' in self.text(response)
        response = self.generate("Bad Name", "en", "Hello.")
        assert response.code == 400 and 'id="error-tts_name"' in self.text(response)
        assert "Hello." in self.text(response)  # what was typed stays
        response = self.generate("greeting", "fr", "Bonjour.")
        assert response.code == 400 and 'id="error-tts_language"' in self.text(response)
        assert self.box.store.query("SELECT * FROM prompts") == []

    def test_generation_does_not_hold_up_the_server(self):
        espeak = require_tool("espeak-ng")
        started, go = self.data / "started", self.data / "go"
        os.mkfifo(started)
        os.mkfifo(go)
        bin_dir = self.data / "bin"
        bin_dir.mkdir()
        slow = bin_dir / "espeak-ng"  # says it started, then waits for the test's word
        slow.write_text(f'#!/bin/sh\necho started > "{started}"\nread word < "{go}"\n'
                        f'exec "{espeak}" "$@"\n')
        slow.chmod(0o755)
        body = f"_xsrf={self.xsrf_token()}&action=generate&name=slow&language=en&text=Wait."

        async def scenario():
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            posting = asyncio.ensure_future(self.http_client.fetch(
                self.get_url("/admin/prompts"), method="POST", body=body,
                headers={"Cookie": cookie}, follow_redirects=False, raise_error=False))
            await asyncio.to_thread(started.read_text)  # espeak is running now
            page = await self.http_client.fetch(self.get_url("/admin/prompts"),
                                                headers={"Cookie": cookie},
                                                raise_error=False)
            assert page.code == 200 and not posting.done()
            await asyncio.to_thread(go.write_text, "go\n")
            return await posting

        with mock.patch.dict(os.environ, {"PATH": f"{bin_dir}:{os.environ['PATH']}"}):
            response = self.io_loop.run_sync(scenario, timeout=60)
        assert response.code == 302
        self.assert_speech(self.stored("slow"))


class Deleting(PromptsCase):
    def delete(self, name: str, language: str = "en"):
        return self.post("/admin/prompts", {"action": "delete", "name": name,
                                            "language": language})

    def test_delete_removes_row_and_file(self):
        assert self.upload(make_wav(8000, 1, 2, 0.1)).code == 302
        response = self.delete("welcome")
        assert response.code == 302 and "done=deleted" in response.headers["Location"]
        assert self.row("welcome") is None and self.stored("welcome") is None
        assert self.delete("welcome").code == 404
        assert self.delete("../x").code == 400

    def test_a_prompt_an_active_flow_plays_is_not_deleted(self):
        assert self.upload(make_wav(8000, 1, 2, 0.1)).code == 302
        assert self.upload(make_wav(8000, 1, 2, 0.1), language="ru", text="Привет.").code == 302
        flows = FlowStore(self.box.store)
        self.run_async(flows.save("main", flow_playing("welcome"), activate=True))
        self.run_async(flows.save("backup", flow_playing("x", "welcome"), activate=True))
        for language in ("en", "ru"):
            response = self.delete("welcome", language)
            html = self.text(response)
            assert response.code == 409
            message = re.search(r'id="prompt-in-use">(.*?)</div>', html).group(1)
            assert "backup, main" in message and "welcome" in message
            assert self.row("welcome", language) and self.stored("welcome", language)
        self.run_async(flows.deactivate("main"))
        self.run_async(flows.deactivate("backup"))
        assert self.delete("welcome").code == 302 and self.row("welcome") is None


class MusicOnHold(PromptsCase):
    def moh_section(self) -> str:
        html = self.text(self.get("/admin/prompts"))
        return html.split('<section class="card" id="moh"')[1].split("</section>")[0]

    def test_builtin_until_one_is_uploaded_then_back(self):
        assert 'data-source="builtin"' in self.moh_section()
        builtin = self.get("/admin/prompts/moh.wav")
        assert builtin.code == 200
        assert len(samples_8k(builtin.body)) == len(melody_pcm()) // 2
        changes = []
        self.box.bus.subscribe(lambda e: changes.append(e.data), "config.changed")

        response = self.upload(make_wav(44100, 2, 2, 1.0, freq=440), kind="moh")
        assert response.code == 302 and "done=moh" in response.headers["Location"]
        custom = self.data / "prompts" / "moh-custom.wav"
        assert self.box.store.setting(MOH_SETTING) == str(custom)
        assert {"what": "setting", "name": MOH_SETTING} in changes  # the switchboard reloads
        section = self.moh_section()
        assert 'data-source="upload"' in section and 'id="moh-builtin-form"' in section
        served = samples_8k(self.get("/admin/prompts/moh.wav").body)
        assert abs(len(served) - 8000) <= 80 and 420 <= pitch(served) <= 460

        response = self.post("/admin/prompts", {"action": "moh_builtin"})
        assert response.code == 302
        assert self.box.store.setting(MOH_SETTING) == "" and not custom.exists()
        assert 'data-source="builtin"' in self.moh_section()

    def test_bad_music_is_refused_and_the_current_stays(self):
        assert self.upload(make_wav(8000, 1, 2, 1.0), kind="moh").code == 302
        custom = self.data / "prompts" / "moh-custom.wav"
        before = custom.read_bytes()
        response = self.upload(b"MZ\x90\x00 a program, not music", kind="moh")
        assert response.code == 400
        assert 'id="error-moh_file"' in self.text(response)
        assert custom.read_bytes() == before
        assert self.box.store.setting(MOH_SETTING) == str(custom)
        response = self.upload(None, kind="moh")
        assert response.code == 400 and 'id="error-moh_file"' in self.text(response)

    def test_a_file_set_by_hand_is_shown_not_served(self):
        self.run_async(self.box.admin.set_setting(MOH_SETTING, "/etc/passwd"))
        section = self.moh_section()
        assert 'data-source="other"' in section and "/etc/passwd" in section
        assert "<audio" not in section
        response = self.get("/admin/prompts/moh.wav")
        assert response.code == 404 and b"root:" not in response.body


class Access(PromptsCase):
    def test_operator_supervisor_and_stranger_are_refused(self):
        assert self.upload(make_wav(8000, 1, 2, 0.1)).code == 302
        self.run_async(self.box.admin.save_operator("Olga", "101", "11"))
        self.make_user("olga", "operator", operator="Olga")
        self.make_user("sam", "supervisor")
        for who in ("olga", "sam", None):
            if who:
                self.login(who)
            else:
                self.logout()
            for path in ("/admin/prompts", "/admin/prompts/en/welcome.wav",
                         "/admin/prompts/moh.wav"):
                response = self.get(path)
                assert response.code in (302, 403), (who, path)
                assert b"RIFF" not in response.body
            assert self.upload(make_wav(8000, 1, 2, 0.1), name="mine").code == 403
            assert self.upload(make_wav(8000, 1, 2, 0.1), kind="moh").code == 403
            assert self.post("/admin/prompts", {"action": "delete", "name": "welcome",
                                                "language": "en"}).code == 403
            assert self.post("/admin/prompts", {"action": "moh_builtin"}).code == 403
        assert self.row("mine") is None and self.row("welcome") is not None
        assert self.box.store.setting(MOH_SETTING) is None


def test_samples_helper_rejects_other_formats():
    """The check the tests lean on fails for a file not in the box's format."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(struct.pack("<4h", 1, 2, 3, 4))
    try:
        samples_8k(out.getvalue())
    except AssertionError:
        return
    raise AssertionError("a 16 kHz file passed as 8 kHz")


def test_every_refusal_has_a_sentence_in_both_languages():
    """A new PromptError code without a sentence on the page would be a 500."""
    from types import SimpleNamespace

    from appliance.ivr.audioin import MESSAGES, PromptError
    from web import i18n
    from web.handlers.prompts import PromptsBase

    i18n.load()
    for code, english in MESSAGES.items():
        values = {k: f"<{k}>" for k in re.findall(r"%\((\w+)\)s", english)}
        exc = PromptError(code, **values)
        shown = {lang: PromptsBase.message(SimpleNamespace(locale=i18n.get(lang)), exc)
                 for lang in ("en_US", "ru_RU")}
        assert shown["en_US"] != shown["ru_RU"], code
        for text in shown.values():
            assert "%(" not in text, (code, text)
