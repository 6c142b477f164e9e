"""The setup wizard's hardware step on the real daemon: a voice modem on the bus that no
line uses is listed next to the GSM modems, with the settings to add it; added with
exactly those settings it comes up as an analog line and leaves the "found" list."""

from __future__ import annotations

import asyncio

import pytest

from appliance.clock import LoopClock
from appliance.config import Config
from appliance.daemon import Daemon
from drivers.fxo import locate
from drivers.gsm.models import MODELS
from drivers.hotplug import FoundModem
from drivers.sim.pstn import FarEnd
from drivers.sim.v253 import V253ModemSim
from drivers.sim.v253_cli import V253Host

from .conftest import wait_for


class GsmLocator:
    def modems(self):
        return [FoundModem(MODELS["ec25"], "1-1.2", "/dev/ttyUSB2", "/dev/ttyUSB4", "")]


def test_found_voice_modem_next_to_gsm_and_set_up_from_its_row(tmp_path, monkeypatch):
    real = locate.found_modems

    async def scenario() -> None:
        carrier = V253Host(V253ModemSim(LoopClock(), far=FarEnd()), "pty")
        path = carrier.plug()
        # what udev would list: a USR5637 (0baf:0303) in socket 1-1.3 on the simulator's pty
        monkeypatch.setattr(locate, "found_modems",
                            lambda: real(lambda: [("usb:0baf:0303:1-1.3", path)]))
        daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                               sip_listen="127.0.0.1:0"))
        await daemon.start()
        try:
            daemon.board.locator = GsmLocator()
            found = [r for r in daemon.box.lines_status() if r["state"] == "found"]
            assert [(r["kind"], r["model"]) for r in found] == [
                ("gsm", MODELS["ec25"].name), ("fxo", "USRobotics USR5637")]
            voice = found[1]
            assert voice["settings"] == {"port": path, "model": "usr5637"}
            assert voice["port"] == path

            name = daemon.admin.free_line_name("fxo")
            await daemon.admin.save_line(name, "fxo", voice["settings"], "", create=True)
            await daemon.board.sync_line(name)
            await wait_for(lambda: daemon.board.channels[name].state == "ready", 10,
                           "the analog line to come up")
            rows = daemon.box.lines_status()
            assert [r["kind"] for r in rows if r["state"] == "found"] == ["gsm"]
            line = next(r for r in rows if r["name"] == name)
            assert (line["model"], line["caller_id"], line["duplex"], line["state"]) == (
                "USRobotics USR5637", True, "full", "idle")
        finally:
            await daemon.shutdown()
            carrier.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("kind,expected", [("fxo", "fxo1"), ("gsm", "gsm1")])
def test_new_line_names_take_the_first_free_number(tmp_path, kind, expected):
    from appliance.admin import Admin
    from appliance.store import open_store

    store = open_store(tmp_path)
    try:
        admin = Admin(store)
        assert admin.free_line_name(kind) == expected
        asyncio.run(admin.save_line(expected, "loopback", {}, "", create=True))
        assert admin.free_line_name(kind) == expected[:-1] + "2"
    finally:
        store.close()


class GsmOnlyHotplug:
    """The daemon's USB hotplug as on a Pi: it knows GSM modems (by IMEI), not voice
    modems, and answers a search like the real one, after its timeout."""

    def modems(self):
        return []

    async def wait_for(self, identity: str, timeout: float):
        await asyncio.sleep(timeout)
        return None


def test_renumbered_voice_modem_comes_back_in_the_daemon(tmp_path, monkeypatch):
    """Through the switchboard, which gives every hardware line the GSM hotplug: the
    analog line still finds its modem again by USB socket on a new tty name."""
    identity = "usb:0baf:0303:1-1.3"
    present: dict[str, str] = {}
    # udev as the voice modem locator reads it: (identity, tty) of voice modems present
    monkeypatch.setattr(locate, "scan_voice_modems", lambda: sorted(present.items()))

    async def scenario() -> None:
        carrier = V253Host(V253ModemSim(LoopClock(), far=FarEnd()), "pty")
        present[identity] = carrier.plug()
        daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                               sip_listen="127.0.0.1:0"))
        await daemon.start()
        keep = None
        try:
            daemon.board.locator = GsmOnlyHotplug()
            await daemon.admin.save_line("analog1", "fxo", {"port": present[identity]}, "",
                                         create=True)
            daemon.board.directory.remember_identity("analog1", identity)  # seen on USB once
            daemon.store.writer.flush()
            await daemon.board.sync_line("analog1")
            line = daemon.board.channels["analog1"]
            assert line.identity == identity
            await wait_for(lambda: line.state == "ready", 10, "the line to come up")
            old = present.pop(identity)
            carrier.unplug()
            await wait_for(lambda: line.state != "ready", 10, "the loss to be noticed")
            keep = carrier.plug_fresh()  # back, as after a USB reset: another tty number
            present[identity] = carrier.path
            await wait_for(lambda: line.state == "ready", 20, "the line to come back")
            assert line.settings["port"] == carrier.path != old
            assert line.supervisor.connects == 2
        finally:
            await daemon.shutdown()
            carrier.close()
            if keep is not None:
                keep.close()

    asyncio.run(scenario())


def test_daemon_says_when_found_hardware_changes(tmp_path, monkeypatch):
    """Hotplug's change callback: hardware.changed only when the found list differs."""
    listed: list = []
    monkeypatch.setattr(locate, "found_modems", lambda: [dict(row) for row in listed])

    async def scenario() -> None:
        daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                               sip_listen="127.0.0.1:0"))
        await daemon.start()
        events: list = []
        daemon.bus.subscribe(events.append, "hardware.changed")
        try:
            daemon.board.locator = None
            daemon._hardware_changed([])  # what was there at start
            baseline = len(events)
            daemon._hardware_changed([])
            assert len(events) == baseline  # nothing new: no redraw
            listed.append({"kind": "fxo", "port": "/dev/ttyACM0", "model": "usr5637",
                           "model_name": "USRobotics USR5637"})
            daemon._hardware_changed([])
            assert len(events) == baseline + 1 and events[-1].data["found"] == 1
            listed.clear()
            daemon._hardware_changed([])
            assert len(events) == baseline + 2
        finally:
            await daemon.shutdown()

    asyncio.run(scenario())
