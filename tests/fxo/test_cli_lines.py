"""``callbox line add fxo --port PATH [--model MODEL]`` and ``callbox line list`` as the
installer runs them: a separate process writing the database the daemon serves, the
daemon picking the line up by itself and the list showing state, model, caller id
support and duplex."""

from __future__ import annotations

import asyncio

from appliance.clock import LoopClock
from appliance.config import Config
from appliance.daemon import Daemon
from appliance.store import open_store
from drivers.sim.pstn import FarEnd
from drivers.sim.v253 import V253ModemSim
from drivers.sim.v253_cli import V253Host
from tests.core.test_cli import callbox, one_line_error

from .conftest import wait_for


def facts_of(listing: str, name: str) -> str:
    row = next(line for line in listing.splitlines() if line.startswith(name + " "))
    return row.split(None, 4)[4]  # after "name kind -> destination"


def test_line_add_fxo_checks_its_settings_and_list_shows_what_the_settings_say(tmp_path):
    open_store(tmp_path).close()
    ok = callbox("line", "add", "fxo", "--port", "/dev/ttyACM0", "--model", "usr5637",
                 "--destination", "", data=tmp_path)
    assert ok.returncode == 0 and ok.stdout.strip() == "line fxo1 added"
    assert callbox("line", "add", "fxo", "--port", "/dev/ttyACM1", "--model", "rockwell",
                   data=tmp_path).returncode == 0
    assert callbox("line", "add", "fxo", "--port", "/dev/ttyACM2",
                   data=tmp_path).returncode == 0
    assert "absolute" in one_line_error(callbox("line", "add", "fxo", "--port", "ttyACM0",
                                                data=tmp_path))
    assert "unknown modem model" in one_line_error(
        callbox("line", "add", "fxo", "--port", "/dev/ttyACM3", "--model", "nokia",
                data=tmp_path))
    assert "port" in one_line_error(callbox("line", "add", "fxo", data=tmp_path))
    listing = callbox("line", "list", data=tmp_path).stdout
    assert facts_of(listing, "fxo1") == ("state='not running' model='USRobotics USR5637' "
                                         "caller_id=yes duplex=full port=/dev/ttyACM0")
    assert "duplex=half" in facts_of(listing, "fxo2")  # the Rockwell chip has no +VTR
    assert "model=detect caller_id='?' duplex='?'" in facts_of(listing, "fxo3")
    assert [line.split()[0] for line in listing.splitlines()] == ["fxo1", "fxo2", "fxo3"]


def test_daemon_runs_a_line_added_by_the_cli_and_list_shows_its_state(tmp_path):
    async def scenario() -> None:
        daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                               sip_listen="127.0.0.1:0"))
        await daemon.start()
        carrier = V253Host(V253ModemSim(LoopClock(), far=FarEnd()), "pty")
        try:
            path = carrier.plug()
            added = await asyncio.to_thread(callbox, "line", "add", "fxo", "--port", path,
                                            "--name", "analog1", data=tmp_path)
            assert added.returncode == 0, added.stderr
            await wait_for(lambda: "analog1" in daemon.board.channels, 10,
                           "the daemon to take the CLI's line")
            line = daemon.board.channels["analog1"]
            await wait_for(lambda: line.state == "ready", 10, "the modem to be set up")
            daemon.store.writer.flush()
            listing = (await asyncio.to_thread(callbox, "line", "list", data=tmp_path)).stdout
            facts = facts_of(listing, "analog1")
            assert facts.startswith("state=ready model='USRobotics USR5637' caller_id=yes "
                                    "duplex=full codec=")
            assert facts.endswith(f"port={path}")
        finally:
            await daemon.shutdown()
            carrier.close()

    asyncio.run(scenario())
