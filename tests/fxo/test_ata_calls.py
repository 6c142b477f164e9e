"""An analog handset behind an ATA: the box serves the ATA its provisioning file by MAC,
with one SIP account per phone port, and a SIP user agent (sipp) registered with exactly
one port's account from that file is offered queue calls and can answer them: port 1 of
an HT801, port 2 of an HT802 (Grandstream P-values), line 2 of a SPA112 (Cisco XML)."""

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


def grandstream_accounts(body: bytes) -> dict[int, tuple[str, str, str]]:
    """(user, password, server) per FXS port, read with the HT80x template's P-values."""
    config = ElementTree.fromstring(body).find("config")
    found = {}
    for port, (user, password, server) in {1: ("P35", "P34", "P47"),
                                           2: ("P735", "P734", "P747")}.items():
        if config.find(user) is not None:
            found[port] = (config.findtext(user), config.findtext(password),
                           config.findtext(server))
    return found


def cisco_accounts(body: bytes) -> dict[int, tuple[str, str, str]]:
    """(user, password, server) per line of a SPA112 flat profile (``_1_``, ``_2_``)."""
    root = ElementTree.fromstring(body)
    return {n: (root.findtext(f"User_ID_{n}_"), root.findtext(f"Password_{n}_"),
                root.findtext(f"Proxy_{n}_"))
            for n in (1, 2) if root.find(f"User_ID_{n}_") is not None}


# (model, mac, file the ATA asks for, how to read it, the port the operator's handset is on)
ATAS = [
    ("HT801", "c0:74:ad:00:00:01", "cfgc074ad000001.xml", grandstream_accounts, 1),
    ("HT802", "c0:74:ad:00:00:02", "cfgc074ad000002.xml", grandstream_accounts, 2),
    ("SPA112", "00:18:f8:00:00:03", "spa0018f8000003.xml", cisco_accounts, 2),
]


@pytest.mark.parametrize("model,mac,filename,accounts_of,port", ATAS,
                         ids=[f"{a[0]}-port{a[4]}" for a in ATAS])
def test_ata_port_account_from_its_file_is_offered_queue_calls(tmp_path, model, mac, filename,
                                                               accounts_of, port):
    sipp = require_tool("sipp")
    asyncio.run(scenario(sipp, tmp_path, model, mac, filename, accounts_of, port))


async def scenario(sipp: str, tmp_path: Path, model: str, mac: str, filename: str,
                   accounts_of, port_no: int) -> None:
    daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                           sip_listen="127.0.0.1:0"))
    await daemon.start()
    uas = None
    try:
        admin = daemon.admin
        await admin.save_queue(QueueConfig(name="support", ring_timeout=20), create=True)
        # every port of the ATA is a phone of its own, all with the ATA's MAC
        extensions = {n: str(200 + n) for n in range(1, port_no + 1)}
        for n, extension in extensions.items():
            await admin.add_phone(extension, name=f"Handset {n}", mac=mac, model=model, port=n)
        user_ext = extensions[port_no]
        await admin.save_operator("Reception", user_ext, "", {"support": 0})
        await admin.save_line("line1", "loopback", {}, "queue:support", create=True)
        await daemon.board.sync_line("line1")
        daemon.board.acd.login("Reception")

        # what the ATA downloads at boot, as it would: by its MAC, without a login
        body = await asyncio.to_thread(
            fetch, f"http://127.0.0.1:{daemon.web_port}/provision/{filename}")
        accounts = accounts_of(body)
        sip_server = f"127.0.0.1:{daemon.board.channels['phones'].port}"
        assert accounts == {n: (ext, admin.phone(ext)["password"], sip_server)
                            for n, ext in extensions.items()}, "one account per port"
        user, password, server = accounts[port_no]

        # the ATA's SIP side: register with those credentials, then answer on that port
        port = free_udp_port()
        host, sip_port = server.split(":")
        register = await asyncio.create_subprocess_exec(
            sipp, f"{host}:{sip_port}", "-sf", str(SCENARIOS / "register.xml"), "-s", user,
            "-au", user, "-ap", password, "-i", "127.0.0.1", "-p", str(port), "-m", "1",
            "-nostdin", "-timeout", "15", stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        assert await register.wait() == 0, "sipp could not register with the file's account"
        assert daemon.board.channels["phones"].reaches(user_ext)
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
