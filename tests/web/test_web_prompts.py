"""The prompts page: recordings uploaded in any common WAV layout or MP3 and stored in the
box's format, text spoken by espeak-ng in both languages, each prompt listed with its
text, length, player and the flows using it; bad files, names and URLs refused with
nothing changed; music on hold uploaded and back to the built-in."""

from __future__ import annotations

import asyncio
import io
import os
import re
import struct
import uuid
import wave
from pathlib import Path
from unittest import mock

from tornado.escape import xhtml_escape
from web_helpers import WebCase

from appliance.ivr.audioin import MAX_UPLOAD_BYTES
from appliance.ivr.flowstore import FlowStore
from appliance.ivr.moh import MOH_SETTING, melody_pcm
from tests.conftest import require_tool
from tests.ivr.audio import make_float_wav, make_mp3, make_wav, pitch, samples_8k

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


class Uploads(PromptsCase):
    def test_every_common_wav_layout_is_stored_as_8k_mono(self):
        layouts = {"w8k1x1": make_wav(8000, 1, 1, 0.5), "w16k1x2": make_wav(16000, 1, 2, 0.5),
                   "w22k2x2": make_wav(22050, 2, 2, 0.5), "w44k2x3": make_wav(44100, 2, 3, 0.5),
                   "w48k1x4": make_wav(48000, 1, 4, 0.5),
                   "w44k2float": make_float_wav(44100, 2, 0.5),
                   "w48kext": make_float_wav(48000, 1, 0.5, extensible=True)}
        for name, data in layouts.items():
            response = self.upload(data, name=name, text=f"tone {name}")
            assert response.code == 302, (name, self.text(response))
            assert response.headers["Location"].startswith("/admin/prompts?done=uploaded")
            out = samples_8k(self.stored(name))
            assert abs(len(out) - 4000) <= 40, name
            assert 950 <= pitch(out) <= 1050, name
            assert self.row(name)["source"] == "upload"
            assert self.row(name)["text"] == f"tone {name}"
        html = self.text(self.get("/admin/prompts"))
        for name in layouts:
            assert f'src="/admin/prompts/en/{name}.wav"' in html

    def test_mp3_is_converted(self):
        mp3 = make_mp3(self.data, rate=44100, channels=2, seconds=1.0)
        response = self.upload(mp3, name="hold-on", filename="no-extension")
        assert response.code == 302, self.text(response)
        out = samples_8k(self.stored("hold-on"))
        assert 8000 <= len(out) <= 9200 and 950 <= pitch(out[800:7200]) <= 1050
        duration = self.prompt_row_html("hold-on").split('class="num">')[1].split("<")[0]
        assert 1.0 <= float(duration) <= 1.15

    def test_file_name_does_not_decide_the_format(self):
        response = self.upload(make_wav(8000, 1, 2, 0.2), filename="music.mp3")
        assert response.code == 302 and self.stored("welcome")
        response = self.upload(b"just text, not sound", name="other", filename="speech.wav")
        assert response.code == 400 and self.stored("other") is None

    def test_mp3_refused_clearly_when_sox_cannot_decode_it(self):
        mp3 = make_mp3(self.data, seconds=0.3)
        bin_dir = self.data / "bin"
        bin_dir.mkdir()
        sox = bin_dir / "sox"
        sox.write_text('#!/bin/sh\nif [ "$1" = -h ]; then echo "AUDIO FILE FORMATS: wav"; '
                       f'exit 0; fi\nexec "{require_tool("sox")}" "$@"\n')
        sox.chmod(0o755)
        with mock.patch.dict(os.environ, {"PATH": f"{bin_dir}:{os.environ['PATH']}"}):
            response = self.upload(mp3)
        html = self.text(response)
        assert response.code == 400
        error = re.search(r'id="error-up_file">(.*?)</div>', html).group(1)
        assert "MP3" in error and "WAV" in error
        assert self.stored("welcome") is None and self.row("welcome") is None

    def test_garbage_is_refused_next_to_the_file_and_the_old_prompt_stays(self):
        assert self.upload(make_wav(16000, 1, 2, 0.3), text="The old words.").code == 302
        before = self.stored("welcome")
        for garbage in (b"\x00" * 5000, b"RIFF\x10\x00\x00\x00WAVEjunkjunk",
                        make_wav(8000, 1, 2, 0.5)[:40], b"ID3\x04\x00" + b"noise" * 300):
            response = self.upload(garbage, text="New words that must not stick.")
            html = self.text(response)
            assert response.code == 400, garbage[:10]
            assert 'id="error-up_file"' in html
            assert "New words that must not stick." in html  # what was typed stays
            assert self.stored("welcome") == before
            assert self.row("welcome")["text"] == "The old words."
        assert sorted(p.name for p in (self.data / "prompts" / "en").iterdir()) == \
            ["welcome.wav"]  # no half-written files left

    def test_too_big_is_refused_with_a_message_and_the_fields_kept(self):
        big = make_wav(8000, 1, 2, 0.1) + bytes(MAX_UPLOAD_BYTES)
        response = self.upload(big, text="Too big to keep.")
        html = self.text(response)
        assert response.code == 413
        assert "20 MB" in re.search(r'id="error-up_file">(.*?)</div>', html).group(1)
        assert "Too big to keep." in html
        assert self.stored("welcome") is None and self.row("welcome") is None

    def test_too_long_is_refused(self):
        response = self.upload(make_wav(1000, 1, 1, 601, freq=100))
        assert response.code == 400
        assert "10 minutes" in self.text(response) and self.stored("welcome") is None

    def test_bad_names_and_languages_are_refused_and_write_nothing(self):
        wav = make_wav(8000, 1, 2, 0.1)
        for name in ("Welcome", "../evil", "a/b", "", "x" * 65, "-start", "имя"):
            response = self.upload(wav, name=name)
            assert response.code == 400, name
            assert 'id="error-up_name"' in self.text(response), name
        response = self.upload(wav, language="de")
        assert response.code == 400 and 'id="error-up_language"' in self.text(response)
        assert self.box.store.query("SELECT * FROM prompts") == []
        assert not (self.data / "evil.wav").exists()
        written = {p.name for p in self.data.rglob("*.wav")}
        assert written <= {"moh-builtin.wav"}  # the page's player wrote the melody only

    def test_text_is_required_and_can_be_changed_alone(self):
        response = self.upload(make_wav(8000, 1, 2, 0.2), text="  ")
        assert response.code == 400 and 'id="error-up_text"' in self.text(response)
        assert self.upload(make_wav(8000, 1, 2, 0.2), text="First words.").code == 302
        sound = self.stored("welcome")
        response = self.upload(None, text="Better words.")
        assert response.code == 302 and "done=retexted" in response.headers["Location"]
        assert self.row("welcome")["text"] == "Better words." and self.stored("welcome") == sound
        response = self.upload(b"", name="nothing-yet", text="Words.")
        assert response.code == 400 and 'id="error-up_file"' in self.text(response)
        assert self.row("nothing-yet") is None
        # a spoken prompt's text is what the box said: it changes only by speaking again
        self.run_async(self.box.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO prompts(name, language, text, path, source, created_at) "
            "VALUES ('spoken', 'en', 'Hello.', 'x', 'tts', 0)")))
        response = self.upload(None, name="spoken", text="Goodbye.")
        assert response.code == 400 and 'id="error-up_file"' in self.text(response)
        assert self.row("spoken")["text"] == "Hello."

    def test_upload_without_xsrf_token_changes_nothing(self):
        response = self.upload(make_wav(8000, 1, 2, 0.1), xsrf=False)
        assert response.code == 403 and self.row("welcome") is None
        body, content_type = multipart({"_xsrf": "2|00|00|00", "name": "welcome",
                                        "language": "en", "text": "x"},
                                       make_wav(8000, 1, 2, 0.1))
        response = self.request("POST", "/admin/prompts/upload?kind=prompt", raw_body=body,
                                headers={"Content-Type": content_type})
        assert response.code == 403 and self.row("welcome") is None

    def test_text_is_escaped(self):
        assert self.upload(make_wav(8000, 1, 2, 0.1), text=XSS).code == 302
        html = self.text(self.get("/admin/prompts"))
        assert XSS not in html and xhtml_escape(XSS) in html

    def test_malformed_multipart_is_a_bad_request(self):
        response = self.request("POST", "/admin/prompts/upload?kind=prompt",
                                raw_body=b"--x\r\nnonsense",
                                headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert response.code in (400, 403) and self.row("welcome") is None


class Listing(PromptsCase):
    def test_each_prompt_shows_text_source_length_player_and_flows(self):
        assert self.upload(make_wav(8000, 1, 2, 2.5), text="Hello and welcome.").code == 302
        assert self.upload(make_wav(8000, 1, 2, 1.0), name="sorry",
                           text="Sorry, again.").code == 302
        flows = FlowStore(self.box.store)
        self.run_async(flows.save("day", flow_playing("welcome", "sorry"), activate=True))
        self.run_async(flows.save("night", flow_playing("welcome"), activate=True))
        self.run_async(flows.save("draft", flow_playing("sorry"), activate=False))
        row = self.prompt_row_html("welcome")
        assert "Hello and welcome." in row and 'data-source="upload"' in row
        assert '<td class="num">2.5</td>' in row
        assert '<audio controls preload="metadata" src="/admin/prompts/en/welcome.wav">' in row
        used = re.search(r'class="used-by">(.*?)</td>', row, re.S).group(1)
        assert ">day<" in used and ">night<" in used
        sorry = re.search(r'class="used-by">(.*?)</td>', self.prompt_row_html("sorry"),
                          re.S).group(1)
        assert ">day<" in sorry and "draft" not in sorry  # via invalid_prompt; drafts play nothing

    def test_audio_is_served_to_the_player(self):
        assert self.upload(make_wav(16000, 2, 2, 0.4)).code == 302
        response = self.get("/admin/prompts/en/welcome.wav")
        assert response.code == 200 and response.headers["Content-Type"] == "audio/wav"
        assert response.body == self.stored("welcome")
        with wave.open(io.BytesIO(response.body)) as w:
            assert w.getframerate() == 8000 and w.getnframes() == len(samples_8k(response.body))

    def test_audio_urls_cannot_escape_the_prompts_folder(self):
        assert self.upload(make_wav(8000, 1, 2, 0.1)).code == 302
        (self.data / "secret.wav").write_bytes(b"RIFF-CONFIDENTIAL-BYTES")
        (self.data / "prompts" / "en" / "link.wav").symlink_to(self.data / "secret.wav")
        self.run_async(self.box.store.writer.awrite(lambda c: c.executemany(
            "INSERT INTO prompts(name, language, path, source, created_at) "
            "VALUES (?, 'en', ?, 'upload', 0)",
            [("link", str(self.data / "secret.wav")), ("passwd", "/etc/passwd"),
             ("db", str(self.data / "callbox.db"))])))
        for path in ("/admin/prompts/en/..%2F..%2Fsecret.wav", "/admin/prompts/en/link.wav",
                     "/admin/prompts/en/passwd.wav", "/admin/prompts/en/db.wav",
                     "/admin/prompts/..%2Fen/welcome.wav", "/admin/prompts/en/%2e%2e.wav",
                     "/admin/prompts/en/..%2F..%2Fcallbox.db%00.wav",
                     "/admin/prompts/de/welcome.wav", "/admin/prompts/ru/welcome.wav",
                     "/admin/prompts/en/nothing.wav", "/admin/prompts/en/WELCOME.wav",
                     "/admin/prompts/en/welcome.wav/..", "/admin/prompts/en/.wav"):
            response = self.get(path)
            assert response.code == 404, path
            assert b"CONFIDENTIAL" not in response.body and b"SQLite" not in response.body
            assert b"root:" not in response.body

    def test_edit_link_fills_the_form_of_its_kind(self):
        assert self.upload(make_wav(8000, 1, 2, 0.1), text="Recorded words.").code == 302
        html = self.text(self.get("/admin/prompts?edit=welcome&language=en"))
        upload_form = html.split('id="upload-form"')[1].split("</form>")[0]
        assert 'value="welcome"' in upload_form and "Recorded words." in upload_form

    def test_a_prompt_whose_file_is_gone_says_so_without_a_player(self):
        assert self.upload(make_wav(8000, 1, 2, 0.1)).code == 302
        (self.data / "prompts" / "en" / "welcome.wav").unlink()
        row = self.prompt_row_html("welcome")
        assert "file missing" in row and "<audio" not in row
        assert self.get("/admin/prompts/en/welcome.wav").code == 404

    def test_russian_page(self):
        self.cookies["callbox_locale"] = "ru_RU"
        assert self.upload(make_wav(8000, 1, 2, 0.1), language="ru",
                           text="Здравствуйте.").code == 302
        html = self.text(self.get("/admin/prompts"))
        assert "Музыка ожидания" in html and "Здравствуйте." in html
        response = self.upload(b"garbage", name="bad")
        assert "Это не файл WAV и не MP3." in self.text(response)


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
