"""The daemon in-process on ephemeral ports: the Box the web uses is the real one, the
web page and the SIP endpoint answer, phones and ATAs get their provisioning files."""

from __future__ import annotations

import asyncio
import urllib.request
from xml.etree import ElementTree

import pytest

from appliance.acd.config import QueueConfig
from appliance.admin import ValidationError
from appliance.config import Config
from appliance.daemon import Daemon
from web.box import check_box


def run(coro):
    return asyncio.run(coro)


async def started(tmp_path) -> Daemon:
    daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                           sip_listen="127.0.0.1:0"))
    await daemon.start()
    return daemon


def fetch(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_daemon_serves_web_and_sip_and_its_box_satisfies_the_web(tmp_path):
    async def scenario():
        daemon = await started(tmp_path)
        try:
            box = daemon.box
            check_box(box)  # every member the web calls, sync/async as the web expects
            status, body = await asyncio.to_thread(fetch, daemon.web_port, "/setup")
            assert status == 200 and b"password" in body.lower()
            assert "phones" in daemon.board.channels  # the SIP endpoint is up
            assert daemon.board.channels["phones"].port > 0
            await daemon.admin.save_queue(QueueConfig(name="support"), create=True)
            await daemon.admin.add_phone("101", name="Anna's desk", mac="00:15:65:aa:bb:cc",
                                         model="Yealink T31P")
            await daemon.admin.add_phone("102", mac="c0:74:ad:11:22:33", model="HT801")
            await daemon.admin.save_operator("Anna", "101", "11", {"support": 0})
            wall = box.wallboard()
            assert [q["name"] for q in wall["queues"]] == ["support"]
            assert [o["name"] for o in wall["operators"]] == ["Anna"]
            await box.set_operator_state("Anna", "paused", "lunch")
            view = daemon.board.acd.operator("Anna")
            assert view.status.value == "paused" and view.reason == "lunch"
            with pytest.raises(ValidationError):
                await box.set_operator_state("Nobody", "available")
            rows = await box.reports("queue", 0, 4e9)
            assert rows == [] or rows[0]["key"] == "support"
            # provisioning over HTTP, no login needed
            status, cfg = await asyncio.to_thread(fetch, daemon.web_port,
                                                  "/provision/001565aabbcc.cfg")
            assert status == 200 and b"101" in cfg
            password = daemon.store.query("SELECT password FROM phones WHERE extension='101'")
            assert password[0]["password"].encode() in cfg
            status, xml = await asyncio.to_thread(fetch, daemon.web_port,
                                                  "/provision/cfgc074ad112233.xml")
            assert status == 200
            ElementTree.fromstring(xml)  # a well-formed Grandstream file
            assert b"102" in xml
            status, _ = await asyncio.to_thread(fetch, daemon.web_port,
                                                "/provision/001565000000.cfg")
            assert status == 404
        finally:
            await daemon.shutdown()

    run(scenario())


def test_changes_by_another_process_reach_a_running_daemon(tmp_path):
    """The CLI writes to the database; the daemon notices within a couple of seconds."""
    from appliance.admin import Admin
    from appliance.store import open_store

    async def scenario():
        daemon = await started(tmp_path)
        try:
            other = open_store(tmp_path)  # what `callbox queue add` does, in another process
            await Admin(other).save_queue(QueueConfig(name="sales"), create=True)
            other.close()
            deadline = asyncio.get_running_loop().time() + 10
            while "sales" not in daemon.board.queue_configs:
                assert asyncio.get_running_loop().time() < deadline, "change not noticed"
                await asyncio.sleep(0.1)
        finally:
            await daemon.shutdown()

    run(scenario())


def test_line_status_is_kept_for_the_cli(tmp_path):
    async def scenario():
        daemon = await started(tmp_path)
        try:
            await daemon.admin.save_line("test1", "loopback", {}, "", create=True)
            await daemon.board.sync_line("test1")
            daemon.store.writer.flush()
            status = daemon.store.setting("line_status")
            assert status["test1"]["state"] == "up"
        finally:
            await daemon.shutdown()

    run(scenario())



def test_hardware_found_but_not_set_up_is_listed(tmp_path):
    """A modem hotplug sees that no line uses yet shows on the hardware page."""
    from drivers.gsm.models import MODELS
    from drivers.hotplug import FoundModem

    class Locator:
        def modems(self):
            return [FoundModem(MODELS["ec25"], "1-1.2", "/dev/ttyUSB2", "/dev/ttyUSB4", "1-1_2"),
                    FoundModem(MODELS["ec25"], "1-1.3", "/dev/ttyUSB7", "/dev/ttyUSB9", "")]

    async def scenario():
        daemon = await started(tmp_path)
        try:
            daemon.board.locator = Locator()
            await daemon.admin.save_line("gsm1", "gsm", {"at": "/dev/ttyUSB7"}, "", create=True)
            rows = [r for r in daemon.box.lines_status() if r["state"] == "found"]
            assert [r["settings"]["at"] for r in rows] == ["/dev/callbox/ec25-1-1_2-at"]
            assert rows[0]["kind"] == "gsm" and "EC25" in rows[0]["model"]
        finally:
            await daemon.shutdown()

    run(scenario())


def test_shutdown_is_clean_when_a_modem_has_vanished(tmp_path):
    """A modem unplugged for good (its process killed) must not hold the daemon's stop:
    the line's supervisor is searching for it by IMEI when SIGTERM comes."""
    import os
    import signal

    from drivers.sim.process import SimModemProcess

    async def scenario():
        modem = await SimModemProcess.start("ec25", tmp_path / "modem", sim_busy=0.2)
        daemon = await started(tmp_path / "box")
        try:
            await daemon.admin.save_line("gsm1", "gsm", modem.line_settings(), "",
                                         create=True)
            await daemon.board.sync_line("gsm1")
            line = daemon.board.channels["gsm1"]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while line.status()["state"] != "up":
                assert loop.time() < deadline, "the line never came up"
                await asyncio.sleep(0.05)
            line.identity = line.identity or "861234567890123"
            os.kill(modem.process.pid, signal.SIGKILL)  # gone, no goodbye
            while line.status()["state"] == "up":
                assert loop.time() < deadline + 10, "the lost modem was not noticed"
                await asyncio.sleep(0.05)
        finally:
            await asyncio.wait_for(daemon.shutdown(), 30)  # must not hang
            await modem.stop()

    run(scenario())
