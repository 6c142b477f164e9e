"""The prompts page in headless Chromium: a WAV uploaded through the form is listed with
its text, and its player loads the converted file (the browser itself reads the length)."""

from __future__ import annotations

import pytest
from browser_helpers import shot

from tests.ivr.audio import make_wav

pytestmark = pytest.mark.peers

PASSWORD = "installer's secret 1"


def test_upload_a_recording_and_play_it(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    failed: list[str] = []  # any answer >= 400 but the favicon browsers always ask for
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/setup")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("#setup-form button[type=submit]")
    page.wait_for_url("**/admin/wizard")

    page.click("nav >> text=Prompts")
    page.wait_for_url("**/admin/prompts")
    page.fill("#up-name", "welcome")
    page.fill("#up-text", "Welcome to Acme. Please hold.")
    page.set_input_files("#up-file", files=[{
        "name": "welcome.wav", "mimeType": "audio/wav",
        "buffer": make_wav(44100, 2, 2, 1.5, freq=440)}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/admin/prompts?done=uploaded*")
    assert page.is_visible("#prompt-done")

    row = "#prompt-en-welcome"
    assert "Welcome to Acme. Please hold." in page.inner_text(f"{row} .prompt-text")
    duration = page.wait_for_function(
        """selector => {
             const audio = document.querySelector(selector);
             return audio && audio.readyState >= 1 && audio.duration > 0 && audio.duration;
           }""", arg=f"{row} audio", timeout=10000).json_value()
    assert abs(duration - 1.5) < 0.05
    assert page.eval_on_selector(f"{row} audio", "a => a.error") is None
    shot(page, "20-prompts")
    assert failed == []
    assert not [e for e in console_errors if "Content Security Policy" in e]
    context.close()
