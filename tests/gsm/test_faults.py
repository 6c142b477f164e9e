"""Faults on a real pty: line noise, a hung modem reset and renumbered, a lost port,
slow answers and URCs inside responses.  The line comes back without a restart."""

from __future__ import annotations

import asyncio
import os

from drivers.base import FRAME_BYTES, CallerId, Cause
from drivers.gsm import words

from .conftest import Recorder, close_rig, make_rig, wait_for

NOISE = os.urandom(512) + b"\r\n\x00\x00+++\r\nATH\r\n\xff" * 8 + b"\r\nOK\r\n"


async def test_garbage_on_the_port_is_skipped_and_calls_go_on(caplog):
    rig = await make_rig("ec25")
    try:
        await rig.up()
        rec = Recorder()
        leg = rig.channel.originate("+74951234567", CallerId(), rec)
        await wait_for(lambda: len(rec.frames) >= 5 * FRAME_BYTES, what="audio")
        rig.sim.at_out(NOISE)
        await leg.send_dtmf("1")
        assert rig.sim.dtmf_sent == ["1"]
        assert rig.channel.engine.noise_lines > 0
        assert "skipped" in caplog.text  # logged, not silently eaten
        assert not leg.ended and rig.channel.state == "up"
        await leg.hangup()
        rig.sim.at_out(bytes(range(256)) * 4)  # binary noise with the line idle
        rig.sim.incoming_call("+79161234567")
        await wait_for(lambda: rig.host.legs, what="a call after the noise")
        assert rig.host.legs[0].caller.number == "+79161234567"
    finally:
        await close_rig(rig)


async def test_slow_answers_and_urcs_inside_responses():
    rig = await make_rig("e1550")
    rig.sim.slow_every, rig.sim.slow_seconds = 3, 0.3
    rig.sim.urc_mid_response = 50
    try:
        await rig.up(timeout=15)
        status = rig.channel.status()
        assert status["imei"] == rig.sim.imei and status["operator"] == "MegaFon"
        assert rig.channel.engine.healthy
    finally:
        await close_rig(rig)


async def test_hung_modem_is_reset_renumbered_and_back_without_a_restart():
    rig = await make_rig("sim7600", poll_seconds=0.3)
    try:
        await rig.up()
        old_at = rig.channel.settings["at"]
        rec = Recorder()
        rig.channel.originate("+74951234567", CallerId(), rec)
        await wait_for(lambda: "answered" in rec.kinds(), what="call up")
        rig.sim.hang()
        await wait_for(lambda: rec.hangup() is not None, timeout=10, what="call ended")
        assert rec.hangup() == ("hangup", Cause.NETWORK_OUT_OF_ORDER, True)
        await wait_for(lambda: rig.simhost.enumerations == 2, timeout=25, what="re-enumeration")
        back = asyncio.get_running_loop().time()
        await rig.up(timeout=15)
        assert asyncio.get_running_loop().time() - back < 15
        assert rig.channel.settings["at"] != old_at
        assert rig.channel.settings["at"] == rig.simhost.ports.at_path
        assert rig.channel.identity == rig.sim.imei
        assert rig.channel.supervisor.hard_resets == 1
        assert rig.sim.boots == 2
        # and it works: a call in and out of the renumbered modem
        rig.sim.incoming_call("+79161234567")
        await wait_for(lambda: rig.host.legs, what="call after recovery")
    finally:
        await close_rig(rig)


async def test_a_reset_that_does_not_take_is_repeated():
    rig = await make_rig("ec25", poll_seconds=0.3)
    rig.channel.heartbeat_timeout = 0.5
    try:
        await rig.up()
        rig.sim.resets_ignored = 1  # the first AT+CFUN=1,1 is lost on the wedged firmware
        rig.sim.hang()
        await wait_for(lambda: rig.simhost.enumerations == 2, timeout=25, what="re-enumerated")
        await rig.up(timeout=15)
        assert rig.channel.supervisor.hard_resets == 2
        assert words.NOT_ANSWERING in rig.problems  # shown while it was deaf
    finally:
        await close_rig(rig)


async def test_a_stalled_modem_is_brought_back_by_a_soft_reset():
    rig = await make_rig("ec25", poll_seconds=0.3)
    try:
        await rig.up()
        rig.sim.go_silent(1.2)  # deaf for a while, then fine again
        await wait_for(lambda: "resetting" in rig.states, timeout=8, what="noticed")
        await rig.up(timeout=10)
        assert rig.channel.supervisor.soft_resets == 1
        assert rig.channel.supervisor.hard_resets == 0
        assert rig.simhost.enumerations == 1
    finally:
        await close_rig(rig)


async def test_unplugged_modem_ends_its_call_and_returns_on_another_port():
    rig = await make_rig("e1550")
    try:
        await rig.up()
        rig.sim.incoming_call("+79161234567")
        await wait_for(lambda: rig.host.legs, what="incoming")
        leg, rec = rig.host.legs[0], rig.host.listeners[0]
        await leg.answer()
        old_at = rig.channel.settings["at"]
        rig.simhost.reenumerate()  # pulled out and plugged back in
        await wait_for(lambda: rec.hangup() is not None, what="call ended")
        assert rec.hangup()[1] is Cause.NETWORK_OUT_OF_ORDER
        assert rig.channel.status()["state"] != "up"
        await rig.up(timeout=10)
        assert rig.channel.settings["at"] != old_at
    finally:
        await close_rig(rig)


async def test_stable_names_bring_the_line_back_without_a_locator(tmp_path):
    """Production with the udev rule: /dev/callbox/... names survive renumbering, so even
    without hotplug the supervisor finds the modem again on the same name."""
    from drivers.gsm.channel import GsmChannel
    from drivers.sim.host import SimHost
    from drivers.sim.models import HuaweiE1550

    from .conftest import FakeHost

    host = FakeHost()
    sim = HuaweiE1550(host.clock, sim_busy_seconds=0)
    simhost = SimHost(sim, reboot_seconds=0.3, link_dir=str(tmp_path), link_name="e1550")
    simhost.start()
    settings = {"at": simhost.stable_path("at"), "audio": simhost.stable_path("audio")}
    channel = GsmChannel("gsm1", settings, host)
    channel.poll_seconds, channel.heartbeat_timeout = 0.3, 1.0
    channel.supervisor.retry_seconds = 0.3
    await channel.start()
    try:
        await wait_for(lambda: channel.state == "up", 8, "up")
        old = simhost.ports.at_path
        sim.hang()
        await wait_for(lambda: simhost.enumerations == 2, 25, "re-enumerated")
        await wait_for(lambda: channel.state == "up", 15, "up again")
        assert simhost.ports.at_path != old
        assert channel.settings == settings  # same names, new ptys behind them
        assert channel.supervisor.hard_resets == 1
    finally:
        await channel.stop()
        simhost.close()
