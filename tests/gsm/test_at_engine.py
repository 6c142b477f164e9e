"""The AT engine over an in-memory link to a simulator, on a virtual clock: timeouts,
health, one command at a time, the SMS prompt, slow answers, bad handlers."""

from __future__ import annotations

import asyncio

import pytest

from appliance.clock import VirtualClock
from drivers.at.engine import AtEngine, AtError, AtTimeout, PortLost
from drivers.gsm import pdu
from drivers.sim.host import SimHost
from drivers.sim.models import QuectelEC25


async def settle(rounds: int = 30) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def rig(**kwargs):
    clock = VirtualClock()
    sim = QuectelEC25(clock, sim_busy_seconds=0, **kwargs)
    host = SimHost(sim, carrier="memory")
    ports = host.start()
    engine = AtEngine(ports.at_link, clock, "ec25")
    reasons: list[str] = []
    engine.on_unhealthy(reasons.append)
    return clock, sim, host, engine, reasons


async def test_echo_and_answers_on_memory_link():
    clock, sim, host, engine, reasons = await rig()
    response = await engine.command("AT+CGMM", bare=True)  # echo is still on
    assert response.lines == ["EC25"]
    await engine.command("ATE0")
    assert (await engine.command("AT+CSQ", expect="+CSQ")).value("+CSQ") == "21,99"
    assert engine.healthy and not reasons


async def test_a_hung_modem_times_out_and_is_marked_unhealthy():
    clock, sim, host, engine, reasons = await rig()
    sim.hang()
    task = asyncio.ensure_future(engine.command("AT+CSQ", expect="+CSQ", timeout=3))
    await settle()
    clock.advance(2.9)
    await settle()
    assert not task.done()
    clock.advance(0.2)
    with pytest.raises(AtTimeout):
        await task
    assert not engine.healthy and reasons == ["no answer to AT+CSQ"]
    # the late answer of a timed-out command is not taken for the next one's
    sim.hung = False
    await engine.command("ATE0")
    assert (await engine.command("AT+CGMI", bare=True)).lines == ["Quectel"]


async def test_slow_answers_within_the_timeout_are_fine():
    clock, sim, host, engine, reasons = await rig()
    sim.slow_every, sim.slow_seconds = 1, 2.0
    task = asyncio.ensure_future(engine.command("AT+CSQ", expect="+CSQ"))
    await settle()
    clock.advance(2.0)
    assert (await task).value("+CSQ") == "21,99"
    assert engine.healthy


async def test_one_command_in_flight_at_a_time():
    clock, sim, host, engine, reasons = await rig()
    sim.slow_every, sim.slow_seconds = 1, 1.0
    first = asyncio.ensure_future(engine.command("AT+CGMI", bare=True))
    second = asyncio.ensure_future(engine.command("AT+CGMM", bare=True))
    await settle()
    assert list(sim.commands) == ["AT+CGMI"]
    clock.advance(1.0)
    await settle()
    assert list(sim.commands) == ["AT+CGMI", "AT+CGMM"]
    clock.advance(1.0)
    assert (await first).lines[-1] == "Quectel" and (await second).lines[-1] == "EC25"


async def test_garbage_streak_marks_unhealthy_but_urcs_still_flow():
    clock, sim, host, engine, reasons = await rig()
    seen = []
    engine.on_urc("RING", seen.append)
    for _ in range(20):
        sim.at_out(b"\xff\xfe\x00\x13garbage\r\n")
    sim.urc("RING")
    await settle()
    assert reasons == ["garbage on the port"]
    assert engine.noise_lines == 20
    assert len(seen) == 1


async def test_a_failing_urc_handler_does_not_stop_the_line():
    clock, sim, host, engine, reasons = await rig()
    seen = []

    def broken(urc):
        raise RuntimeError("bug")

    engine.on_urc("RING", broken)
    engine.on_urc("RING", seen.append)
    sim.urc("RING")
    sim.urc("RING")
    await settle()
    assert len(seen) == 2
    assert (await engine.command("AT")).final.ok


async def test_sms_prompt_and_pdu():
    clock, sim, host, engine, reasons = await rig()
    await engine.command("ATE0")
    part = pdu.encode_submit("+79161234567", "hello")[0]
    response = await engine.command(f"AT+CMGS={part.tpdu_length}", expect="+CMGS", pdu=part.hex)
    assert response.value("+CMGS") == "1"
    assert sim.sent_sms[0].text == "hello"


async def test_errors_raise_with_codes_and_port_loss_is_reported():
    clock, sim, host, engine, reasons = await rig(sim_inserted=False)
    await engine.command("AT+CMEE=1")
    with pytest.raises(AtError) as err:
        await engine.command("AT+CIMI", bare=True)
    assert err.value.cme == 10
    host.unplug()
    await settle()
    assert engine.lost and "port lost" in reasons
    with pytest.raises(PortLost):
        await engine.command("AT")


async def test_a_raw_stream_can_be_diverted_and_handed_back():
    clock, sim, host, engine, reasons = await rig()
    stream = bytearray()
    end = b"\x10\x03"  # V.253 DLE ETX

    def receive(data: bytes) -> bytes | None:
        stream.extend(data)
        if end in stream:
            cut = stream.index(end) + len(end)
            rest = bytes(stream[cut:])
            del stream[cut:]
            return rest
        return None

    engine.divert(receive)
    sim.at_out(b"\x00\x7f\r\nOK\r\n\x80")  # audio that looks like a line: not parsed
    await settle()
    assert engine.noise_lines == 0
    seen = []
    engine.on_urc("RING", seen.append)
    sim.at_out(b"\x10\x03\r\nRING\r\n")
    await settle()
    assert bytes(stream) == b"\x00\x7f\r\nOK\r\n\x80\x10\x03"
    assert len(seen) == 1  # the parser has the line back


async def test_the_same_simulator_object_on_memory_then_on_a_pty():
    from appliance.clock import LoopClock
    from drivers.at.transport import SerialPort

    clock = LoopClock()
    sim = QuectelEC25(clock, sim_busy_seconds=0)
    memory = SimHost(sim, carrier="memory")
    engine = AtEngine(memory.start().at_link, clock, "memory")
    await engine.command("ATE0")
    await engine.command("AT+CLIP=1")
    memory.unplug()
    pty = SimHost(sim, carrier="pty")
    port = SerialPort(pty.start().at_path)
    port.open()
    engine = AtEngine(port, clock, "pty")
    assert (await engine.command("AT+CLIP?", expect="+CLIP")).value("+CLIP") == "1,1"
    assert sim.commands[-1] == "AT+CLIP?"  # one modem state, two carriers
    engine.close()
    pty.close()
