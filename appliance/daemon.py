"""The daemon: one asyncio loop for the store's clients, the drivers, the core and the
web page (DESIGN.md principle 1).

Start-up order: open (and migrate) the store, build the switchboard, start the phones
channel (SIP) and the lines found in the database, start the web app, then tell systemd
READY=1.  The watchdog is fed from a loop timer, so a stuck loop stops the feed and
systemd restarts us.  SIGTERM/SIGINT end live calls with a cause and flush the store.
Configuration written by another process (the CLI) is noticed through the
``config_version`` setting and applied without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from drivers.base import load_channel_class

from .admin import Admin
from .callmedia import CallMedia
from .clock import LoopClock
from .config import Config
from .events import EventBus
from .sdnotify import Notifier
from .store import Store, open_store
from .switchboard import Switchboard

log = logging.getLogger("callbox")

CONFIG_POLL_SECONDS = 2.0


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store: Store | None = None
        self.bus = EventBus()
        self.clock = LoopClock()
        self.board: Switchboard | None = None
        self.admin: Admin | None = None
        self.media: CallMedia | None = None
        self.notifier = Notifier()
        self.http_server: Any = None
        self.box: Any = None
        self.web_port: int | None = None
        self._stop = asyncio.Event()
        self._config_version: Any = None
        self._found_signature: list | None = None  # what hardware_found() listed last
        self.extras: list[Any] = []  # demo traffic and the like, stopped with the daemon

    async def start(self) -> None:
        self.store = open_store(self.config.data_dir)
        self.board = Switchboard(self.store, self.bus, self.clock)
        self.admin = Admin(self.store, self.bus)
        self.media = CallMedia(self.board, self.config.data_dir)
        self.board.load_config()
        self.bus.subscribe(self._line_state, "line.state")
        self._config_version = self.store.setting("config_version")
        self._start_hotplug()
        await self._start_phones()
        await self.board.sync_lines()
        await self._start_web()
        self._tick_config()
        if self.notifier.watchdog_interval:
            self._feed_watchdog()
        self.notifier.ready(f"serving on {self.config.web_listen}")
        log.info("callbox ready: web %s, sip %s, data %s", self.config.web_listen,
                 self.config.sip_listen, self.config.data_dir)

    def _load_phone_secrets(self) -> None:
        rows = self.store.query("SELECT extension, password FROM phones")
        self._phone_secrets.clear()
        self._phone_secrets.update({r["extension"]: r["password"] for r in rows})

    def _start_hotplug(self) -> None:
        """Follow USB modems by identity; without udev (a container, a test) lines given
        by path still work."""
        try:
            from drivers.hotplug import Hotplug

            hotplug = Hotplug(self.clock)
            hotplug.on_change(self._hardware_changed)
            hotplug.start()
        except Exception as exc:  # no udev here: not fatal
            log.warning("hotplug unavailable (%s): lines are used by their paths", exc)
            return
        self.board.locator = hotplug
        self.extras.append(hotplug)

    def _hardware_changed(self, present: list) -> None:
        """A modem came or went (udev, or the rescan without it): when what the installer
        would see as found changed, say so, and the open hardware pages (the setup
        wizard's step) redraw; a voice modem plugged in shows up by itself."""
        if self.box is None:  # before the web is up nobody can be looking
            return
        try:
            found = self.box.hardware_found()
        except Exception:  # a udev hiccup: the next change tries again
            log.exception("listing found hardware failed")
            return
        signature = sorted((row["kind"], row.get("port", ""), row["model"]) for row in found)
        if signature != self._found_signature:
            self._found_signature = signature
            self.bus.publish("hardware.changed", found=len(found))

    async def _start_phones(self) -> None:
        try:
            cls = load_channel_class("sip")
        except LookupError:
            log.warning("no SIP driver installed: operators' phones cannot register")
            return
        host, port = self.config.sip_address
        # phones' secrets in memory: the SIP stack asks on the loop for every request, so
        # no disk read there; refreshed whenever phones change (here or from the CLI)
        self._phone_secrets: dict[str, str] = {}
        self._load_phone_secrets()
        self.bus.subscribe(lambda e: e.data.get("what") == "phone" and
                           self._load_phone_secrets(), "config.changed")
        settings = {**(self.store.setting("sip") or {}), "listen": f"{host}:{port}",
                    "rtp_ports": self.config.rtp_ports,
                    "credentials": self._phone_secrets.get}
        channel = cls("phones", settings, self.board)
        await self.board.add_channel(channel)

    async def _start_web(self) -> None:
        from web.app import make_app  # the web page is part of the appliance, not a driver

        from .box import Box

        box = self.box = Box(self)
        app = make_app(box, cookie_secret_path=Path(self.config.data_dir) / "cookie_secret")
        host, port = self.config.web_address
        self.http_server = app.listen(port, address=host, xheaders=False,
                                      max_body_size=box.max_upload_bytes)
        sockets = list(self.http_server._sockets.values())
        self.web_port = sockets[0].getsockname()[1] if sockets else port

    def _line_state(self, event) -> None:
        """Keep every line's facts in the database too, for `callbox line list`."""
        status = {name: ch.status() for name, ch in self.board.channels.items()
                  if ch.role == "line"}
        self.store.set_setting("line_status", status)

    def _tick_config(self) -> None:
        """Pick up changes another process (the CLI) committed to the database."""
        try:
            version = self.store.setting("config_version")
        except Exception:  # a locked moment: try again at the next tick
            version = self._config_version
        if version != self._config_version:
            self._config_version = version
            self.board.directory.settings_changed()
            self.board.load_config()
            self._load_phone_secrets()
            self.board.spawn(self.board.sync_lines(), "sync lines")
        self.clock.call_later(CONFIG_POLL_SECONDS, self._tick_config)

    def _feed_watchdog(self) -> None:
        self.notifier.watchdog()
        self.clock.call_later(self.notifier.watchdog_interval, self._feed_watchdog)

    def request_stop(self) -> None:
        self._stop.set()

    async def wait(self) -> None:
        await self._stop.wait()

    async def shutdown(self) -> None:
        from .switchboard import bounded

        log.info("callbox stopping")
        self.notifier.stopping()
        later = []  # simulators and the like go after the lines that use them
        for extra in self.extras:
            log.debug("shutdown: stopping %s", type(extra).__name__)
            stop = getattr(extra, "stop", None)
            result = stop() if stop is not None else None
            if asyncio.iscoroutine(result):
                if getattr(extra, "stop_before_lines", False):
                    # e.g. simulated phones unregistering while we still listen
                    await bounded(result, f"stop {type(extra).__name__}")
                else:
                    later.append(result)
        log.debug("shutdown: web and lines")
        if self.http_server is not None:
            self.http_server.stop()
        if self.board is not None:
            await self.board.stop()
        if self.media is not None:
            self.media.close()
        for coro in later:
            await bounded(coro, "stop a helper")
        if self.store is not None:
            self.store.close()
        log.info("callbox stopped")


async def serve(config: Config, setup=None) -> None:
    """Run until SIGTERM/SIGINT.  ``setup(daemon)`` (the demo) runs once started."""
    daemon = Daemon(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.request_stop)
    try:
        await daemon.start()
        if setup is not None:
            await setup(daemon)
        await daemon.wait()
    finally:
        await daemon.shutdown()
