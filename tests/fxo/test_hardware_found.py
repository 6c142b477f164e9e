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
