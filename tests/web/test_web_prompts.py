"""The prompts page: recordings uploaded in any common WAV layout or MP3 and stored in the
box's format, each prompt listed with its text, length, player and the flows using it;
bad files, names and URLs refused with nothing changed.  Speaking, deleting, music on
hold and roles: test_web_prompts_manage.py."""

from __future__ import annotations

import io
import os
import re
import wave
from unittest import mock

from prompts_case import XSS, PromptsCase, flow_playing, multipart
from tornado.escape import xhtml_escape

from appliance.ivr.audioin import MAX_UPLOAD_BYTES
from appliance.ivr.flowstore import FlowStore
from tests.conftest import require_tool
from tests.ivr.audio import make_float_wav, make_mp3, make_wav, pitch, samples_8k


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
