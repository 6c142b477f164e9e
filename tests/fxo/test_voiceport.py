"""The port split between AT text and voice stream, fed whole, byte by byte, and with
garbage: text reaches the engine, audio and events reach the driver, nothing leaks."""

from __future__ import annotations

import asyncio

import pytest

from appliance.clock import VirtualClock
from drivers.at.engine import AtEngine
from drivers.at.protocol import FinalResult, InfoLine, Noise, Urc
from drivers.at.transport import ByteLink
from drivers.fxo.dle import DleEvent, shield
from drivers.fxo.voiceport import V253Protocol, VoicePort


class NullLink(ByteLink):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def feed(self, data: bytes) -> None:
        self._receiver(data)


class Capture:
    def __init__(self) -> None:
        self.text = bytearray()
        self.audio = bytearray()
        self.events: list[str] = []
        self.ends = 0


def make_port() -> tuple[NullLink, VoicePort, Capture]:
    link = NullLink()
    cap = Capture()
    port = VoicePort(link, cap.audio.extend, lambda e: cap.events.append(e.code),
                     lambda: setattr(cap, "ends", cap.ends + 1))
    port.set_receiver(cap.text.extend, lambda exc: None)
    return link, port, cap


AUDIO = bytes(range(256)) * 3  # includes 0x10 and 0x03 as data


def session_bytes() -> bytes:
    return (
        b"\r\nRING\r\n\x10R"
        + b"\r\nCONNECT\r\n"
        + shield(AUDIO[:300]) + b"\x105" + shield(AUDIO[300:]) + b"\x10b"
        + b"\x10\x03\r\nOK\r\n"
    )


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_stream_split_whole_and_byte_by_byte(chunk: int | None) -> None:
    link, port, cap = make_port()
    port.expect_stream()
    data = session_bytes()
    pieces = [data] if chunk is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        link.feed(piece)
    assert bytes(cap.audio) == AUDIO
    assert cap.events == ["R", "5", "b"]
    assert cap.ends == 1
    # the LF after CONNECT is neither audio nor needed by the line parser
    assert bytes(cap.text) == b"\r\nRING\r\n\r\nCONNECT\r\r\nOK\r\n"


def test_vtx_connect_keeps_command_state_and_takes_events_out() -> None:
    link, port, cap = make_port()
    port.expect_stream(incoming=False)
    link.feed(b"\r\nCONNECT\r\n\x10l\r\nOK\r\n")
    assert cap.audio == b""
    assert cap.events == ["l"]
    assert bytes(cap.text) == b"\r\nCONNECT\r\n\r\nOK\r\n"


def test_refused_stream_returns_to_text() -> None:
    link, port, cap = make_port()
    port.expect_stream()
    link.feed(b"\r\nERR")
    port.command_mode()
    link.feed(b"OR\r\n")
    assert bytes(cap.text) == b"\r\nERROR\r\n"


def test_v253_protocol_knows_caller_id_tags_and_vcon() -> None:
    proto = V253Protocol()
    events = proto.receive_data(b"\r\nDATE = 0321\r\nNMBR=P\r\nVCON\r\n")
    assert events[0] == Urc("DATE", "DATE = 0321")
    assert events[1] == Urc("NMBR", "NMBR=P")
    assert events[2] == Urc("VCON", "VCON")


def test_dle_command_goes_out_bare_and_takes_the_ok() -> None:
    from drivers.at.protocol import Command

    proto = V253Protocol()
    assert proto.send_command(Command("\x10^")) == b"\x10^"
    assert proto.receive_data(b"\r\nOK\r\n") == [FinalResult("OK")]


def test_garbage_on_the_port_is_logged_and_skipped_and_the_engine_goes_on(caplog) -> None:
    async def scenario() -> None:
        link, port, cap = make_port()
        engine = AtEngine(port, VirtualClock(), name="fxo-test")
        engine.protocol = V253Protocol()
        rings: list[str] = []
        engine.on_urc("RING", lambda urc: rings.append(urc.line))
        link.feed(b"\xff\xfe\x00garbage\x01\r\n\r\nRING\r\n\x10\x7f")
        task = asyncio.ensure_future(engine.command("AT+FCLASS?", bare=True))
        await asyncio.sleep(0)
        link.feed(b"\r\n8\r\n\r\nOK\r\n")
        response = await task
        assert response.lines == ["8"]
        assert rings == ["RING"]
        assert engine.noise_lines == 1

    asyncio.run(scenario())
    assert "skipped" in caplog.text


def test_protocol_noise_and_info_types() -> None:
    proto = V253Protocol()
    assert isinstance(proto.receive_data(b"\x01junk\r\n")[0], Noise)
    from drivers.at.protocol import Command

    proto.send_command(Command("ATI3", bare=True))
    assert proto.receive_data(b"\r\nU.S. Robotics\r\n")[0] == InfoLine("U.S. Robotics")


def test_unknown_dle_event_reaches_the_driver_as_unknown() -> None:
    link, port, cap = make_port()
    seen: list[DleEvent] = []
    port.on_event = seen.append
    link.feed(b"\x10\x7f\r\nOK\r\n")
    assert seen == [DleEvent("\x7f")] and not seen[0].known
