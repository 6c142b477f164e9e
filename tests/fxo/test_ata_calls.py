"""An analog handset behind an ATA: the box serves the ATA its provisioning file by MAC,
and a SIP user agent (sipp) registered with exactly the account in that file is offered
queue calls and can answer them."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

import pytest

from appliance.acd.config import QueueConfig
from appliance.config import Config
from appliance.daemon import Daemon
from tests.conftest import require_tool

pytestmark = pytest.mark.peers

SCENARIOS = Path(__file__).resolve().parents[1] / "sip" / "scenarios"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_grandstream_ata_account_from_its_file_is_offered_queue_calls(tmp_path):
    sipp = require_tool("sipp")
    asyncio.run(scenario(sipp, tmp_path))


async def scenario(sipp: str, tmp_path: Path) -> None:
    daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                           sip_listen="127.0.0.1:0"))
    await daemon.start()
    uas = None
    try:
        admin = daemon.admin
        await admin.save_queue(QueueConfig(name="support", ring_timeout=20), create=True)
        await admin.add_phone("201", name="Front desk handset", mac="c0:74:ad:00:00:01",
                              model="HT801")
        await admin.save_operator("Reception", "201", "", {"support": 0})
        await admin.save_line("line1", "loopback", {}, "queue:support", create=True)
        await daemon.board.sync_line("line1")
        daemon.board.acd.login("Reception")

        # what the ATA downloads at boot, as it would: by its MAC, without a login
        xml = await asyncio.to_thread(
            fetch, f"http://127.0.0.1:{daemon.web_port}/provision/cfgc074ad000001.xml")
        config = ElementTree.fromstring(xml).find("config")
        user, password = config.findtext("P35"), config.findtext("P34")
        server = config.findtext("P47")
        assert user == "201" and server == f"127.0.0.1:{daemon.board.channels['phones'].port}"

        # the ATA's SIP side: register with those credentials, then answer on that port
        port = free_udp_port()
        host, sip_port = server.split(":")
        register = await asyncio.create_subprocess_exec(
            sipp, f"{host}:{sip_port}", "-sf", str(SCENARIOS / "register.xml"), "-s", user,
            "-au", user, "-ap", password, "-i", "127.0.0.1", "-p", str(port), "-m", "1",
            "-nostdin", "-timeout", "15", stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        assert await register.wait() == 0, "sipp could not register with the file's account"
        assert daemon.board.channels["phones"].reaches("201")
        uas = await asyncio.create_subprocess_exec(
            sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin",
            "-timeout", "30", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        caller = daemon.board.channels["line1"].place_call("+79167770001")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while daemon.board.acd.operator("Reception").status.value != "on_call":
            assert loop.time() < deadline, "the ATA's handset was never connected"
            await asyncio.sleep(0.05)
        caller.far_end_hangup()  # the box sends BYE to the ATA; sipp answers and ends
        assert await asyncio.wait_for(uas.wait(), 20) == 0
        daemon.store.writer.flush()
        events = [r["event"] for r in daemon.store.query(
            "SELECT event FROM call_events WHERE call_id = ? ORDER BY id", (caller.call_id,))]
        assert events == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    finally:
        if uas is not None and uas.returncode is None:
            uas.kill()
            await uas.wait()
        await daemon.shutdown()
