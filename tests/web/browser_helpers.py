"""What the browser tests share: the web app with a FakeBox on its own loop thread, and
screenshots for a reviewer in test-output/screenshots/."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import tempfile
import threading
from pathlib import Path

import tornado.httpserver
import tornado.netutil
from fakebox import FakeBox

from web.app import HTTP_LIMITS, make_app

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


class ServerThread:
    """The application on its own event loop thread, as in the daemon; the test talks
    to the FakeBox through ``call`` so that events are published on that loop."""

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="callbox-browser-")
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.box = FakeBox(self.tmp)
        self.app = make_app(self.box, cookie_secret_path=f"{self.tmp}/secret")
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(self.app, **HTTP_LIMITS)
        self.server.add_sockets(sockets)
        self.ready.set()
        self.loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, fn, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args, **kwargs))
            except Exception as exc:  # handed to the test thread
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(10)

    def stop(self) -> None:
        async def shutdown() -> None:
            self.server.stop()
            self.app.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.box.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
