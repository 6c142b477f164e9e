"""The sans-I/O AT parser: whole, byte by byte, with trailing bytes; URCs inside
responses; echo; the SMS prompt; noise."""

from __future__ import annotations

import pytest

from drivers.at.protocol import (
    AtProtocol,
    Command,
    Echo,
    FinalResult,
    InfoLine,
    Noise,
    Prompt,
    Urc,
)

# A transcript: echo on, a RING and a +CLIP arriving in the middle of +CSQ's answer.
CSQ_WITH_RING = (b"AT+CSQ\r\r\n+CSQ: 21,99\r\n\r\nRING\r\n"
                 b"\r\n+CLIP: \"+79161234567\",145,,,,0\r\n\r\nOK\r\n")


def feed(proto: AtProtocol, data: bytes, mode: str) -> list:
    if mode == "whole":
        return proto.receive_data(data)
    if mode == "bytes":
        out = []
        for i in range(len(data)):
            out += proto.receive_data(data[i : i + 1])
        return out
    half = len(data) // 2
    return proto.receive_data(data[:half]) + proto.receive_data(data[half:])


MODES = ["whole", "bytes", "halves"]


@pytest.mark.parametrize("mode", MODES)
def test_urc_in_the_middle_of_a_response(mode):
    proto = AtProtocol()
    assert proto.send_command(Command("AT+CSQ", ("+CSQ",))) == b"AT+CSQ\r"
    events = [e for e in feed(proto, CSQ_WITH_RING, mode) if not isinstance(e, Echo)]
    assert events == [
        InfoLine("+CSQ: 21,99"),
        Urc("RING", "RING"),
        Urc("+CLIP", '+CLIP: "+79161234567",145,,,,0'),
        FinalResult("OK"),
    ]
    assert proto.command is None


@pytest.mark.parametrize("mode", MODES)
def test_trailing_bytes_wait_for_their_line_end(mode):
    proto = AtProtocol()
    proto.send_command(Command("AT+CGMI", bare=True))
    events = feed(proto, b"\r\nhuawei\r\n\r\nOK\r\n\r\n+CMTI: \"SM\",", mode)
    assert events == [InfoLine("huawei"), FinalResult("OK")]
    assert proto.receive_data(b"3\r\n") == [Urc("+CMTI", '+CMTI: "SM",3')]


def test_same_prefix_is_information_while_expected_and_urc_otherwise():
    proto = AtProtocol()
    proto.send_command(Command("AT+CREG?", ("+CREG",)))
    assert proto.receive_data(b"\r\n+CREG: 2,1,\"1A2B\",\"00C3D4\"\r\n") == [
        InfoLine('+CREG: 2,1,"1A2B","00C3D4"')
    ]
    proto.receive_data(b"\r\nOK\r\n")
    assert proto.receive_data(b"\r\n+CREG: 5\r\n") == [Urc("+CREG", "+CREG: 5")]


def test_errors_carry_their_codes():
    proto = AtProtocol()
    proto.send_command(Command("AT+CPIN?", ("+CPIN",)))
    assert proto.receive_data(b"\r\n+CME ERROR: 14\r\n") == [FinalResult("+CME ERROR", 14)]
    proto.send_command(Command("AT+CMGS=20", ("+CMGS",), prompt=True))
    assert proto.receive_data(b"\r\n+CMS ERROR: 304\r\n") == [FinalResult("+CMS ERROR", 304)]
    proto.send_command(Command("AT+CPIN?", ("+CPIN",)))
    assert proto.receive_data(b"\r\n+CME ERROR: SIM busy\r\n") == [
        FinalResult("+CME ERROR", None, "SIM busy")
    ]


def test_dial_results_final_for_dial_and_unsolicited_otherwise():
    proto = AtProtocol()
    proto.send_command(Command("ATD+7916;", dial=True))
    assert proto.receive_data(b"\r\nBUSY\r\n") == [FinalResult("BUSY")]
    assert proto.receive_data(b"\r\nNO CARRIER\r\n") == [Urc("NO CARRIER", "NO CARRIER")]
    proto.send_command(Command("AT+CSQ", ("+CSQ",)))
    assert proto.receive_data(b"\r\nNO ANSWER\r\n") == [Urc("NO ANSWER", "NO ANSWER")]


@pytest.mark.parametrize("mode", MODES)
def test_sms_prompt_without_line_end(mode):
    proto = AtProtocol()
    proto.send_command(Command("AT+CMGS=23", ("+CMGS",), prompt=True))
    events = feed(proto, b"\r\n> ", mode)
    assert events == [Prompt()]
    assert proto.send_pdu("0011") == b"0011\x1a"
    assert proto.receive_data(b"\r\n+CMGS: 12\r\n\r\nOK\r\n") == [
        InfoLine("+CMGS: 12"), FinalResult("OK")]


@pytest.mark.parametrize("mode", MODES)
def test_two_line_urcs_come_with_their_pdu(mode):
    proto = AtProtocol()
    events = feed(proto, b"\r\n+CMT: ,24\r\n0791AABB\r\n\r\n+CDS: 25\r\n07919761\r\n", mode)
    assert events == [Urc("+CMT", "+CMT: ,24", "0791AABB"), Urc("+CDS", "+CDS: 25", "07919761")]


def test_a_two_line_urc_cut_short_is_reported_and_parsing_goes_on():
    proto = AtProtocol()
    proto.send_command(Command("AT"))
    events = proto.receive_data(b"\r\n+CMT: ,24\r\n\r\nOK\r\n")
    assert isinstance(events[0], Noise)
    assert events[1] == FinalResult("OK")


def test_echo_is_recognised_and_garbage_is_noise():
    proto = AtProtocol()
    proto.send_command(Command("ATE0"))
    events = proto.receive_data(b"ATE0\r\r\n\xff\xfe\x00\x81\r\n\x01\x02junk\r\nOK\r\n")
    assert events[0] == Echo("ATE0")
    assert [type(e) for e in events[1:3]] == [Noise, Noise]
    assert events[-1] == FinalResult("OK")


def test_blank_lines_and_lone_line_feeds_are_fine():
    proto = AtProtocol()
    proto.send_command(Command("AT+CGSN", bare=True))
    assert proto.receive_data(b"\n\n\r\r861234567890123\n\nOK\n") == [
        InfoLine("861234567890123"), FinalResult("OK")]


def test_endless_line_is_dropped_not_kept():
    proto = AtProtocol()
    events = proto.receive_data(b"A" * 5000)
    assert [type(e) for e in events] == [Noise]
    assert proto.receive_data(b"\r\nRING\r\n")[-1] == Urc("RING", "RING")


def test_final_result_with_nothing_in_flight_is_noise():
    assert isinstance(AtProtocol().receive_data(b"\r\nOK\r\n")[0], Noise)


def test_two_commands_at_once_are_refused():
    proto = AtProtocol()
    proto.send_command(Command("AT"))
    with pytest.raises(RuntimeError):
        proto.send_command(Command("AT"))
    proto.command_done()
    proto.send_command(Command("AT"))
