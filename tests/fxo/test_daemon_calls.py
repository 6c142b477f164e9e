"""An analog caller through the whole box: the daemon answers the FXO line, queues the
caller, and when the far end leaves (loop break, busy tone heard in-band, or nothing
but silence) the call record says so and the line is free again: nobody is left "on
the line"."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from appliance.acd.config import QueueConfig
from appliance.clock import LoopClock
from appliance.config import Config
from appliance.daemon import Daemon
from drivers.base import Cause
from drivers.sim.pstn import FarEnd
from drivers.sim.v253 import USR5637, V253ModemSim
from drivers.sim.v253_cli import V253Host

from .conftest import wait_for

# a Conexant that reports nothing about the far end: busy and silence are ours to hear
QUIET_CONEXANT = replace(USR5637, reports_busy=False, reports_silence=False,
                         reports_loop_break=False)


@pytest.mark.parametrize("model,how,reason", [
    (USR5637, "loop_break", "loop_break"),
    (QUIET_CONEXANT, "busy", "busy"),
    (QUIET_CONEXANT, "loop_break", "silence"),
], ids=["loop-break", "busy-in-band", "silence-only"])
def test_queued_analog_caller_who_leaves_is_recorded_and_the_line_freed(tmp_path, model, how,
                                                                        reason):
    async def scenario() -> None:
        sim = V253ModemSim(LoopClock(), model, FarEnd(), ring_on=0.3, ring_off=0.5)
        carrier = V253Host(sim, "pty")
        path = carrier.plug()
        daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                               sip_listen="127.0.0.1:0"))
        await daemon.start()
        try:
            await daemon.admin.save_queue(QueueConfig(name="support", join_empty=True),
                                          create=True)
            await daemon.admin.save_line("analog1", "fxo", {
                "port": path, "ring_timeout_seconds": "1.5", "caller_id_wait_seconds": "1",
                "silence_hangup_seconds": "2"}, "queue:support", create=True)
            await daemon.board.sync_line("analog1")
            line = daemon.board.channels["analog1"]
            await wait_for(lambda: line.state == "ready", 10, "the line to come up")
            sim.ring("5551234", "JOHN DOE")
            board = daemon.board
            await wait_for(lambda: any(c.state == "queued" for c in board.calls.values()), 15,
                           "the caller to be queued")
            call_id = next(c.id for c in board.calls.values() if c.state == "queued")
            # answered: the caller hears the queue, not ringing
            await wait_for(lambda: sim.off_hook and line.state == "in_call", 10, "the answer")
            sim.far_hangup(how)
            await wait_for(lambda: call_id not in board.calls, 15, "the far end to be noticed")
            await wait_for(lambda: line.state == "ready" and not sim.off_hook, 5,
                           "the line to be free")
            daemon.store.writer.flush()
            record = daemon.store.query("SELECT * FROM calls WHERE id = ?", (call_id,))[0]
            assert (record["caller_number"], record["caller_name"]) == ("5551234", "JOHN DOE")
            assert (record["hangup_by"], record["hangup_cause"]) == (
                "caller", int(Cause.NORMAL_CLEARING))
            assert json.loads(record["data"])["line_hangup"] == reason
            events = [r["event"] for r in daemon.store.query(
                "SELECT event FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))]
            assert events == ["ENTERQUEUE", "ABANDON"]
        finally:
            await daemon.shutdown()
            carrier.close()

    asyncio.run(scenario())
