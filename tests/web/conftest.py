"""Fixtures for the browser tests in this folder: the app on a loop thread, and Debian's
Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import pytest
from browser_helpers import ServerThread

from tests.conftest import require_tool


@pytest.fixture
def server():
    s = ServerThread()
    yield s
    s.stop()


@pytest.fixture
def browser():
    require_tool("chromium")
    from playwright import sync_api  # a test dependency in pyproject: always installed

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium",
                              args=["--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking"])
        yield b
        b.close()
