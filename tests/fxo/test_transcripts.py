"""A captured modem transcript fed to the port split and the AT parser whole, byte by
byte, and cut short anywhere: the same caller id, audio, events and stream end each
time it is complete, and never an exception when it is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.at.protocol import Urc
from drivers.at.transport import ByteLink
from drivers.fxo.voiceport import V253Protocol, VoicePort

TRANSCRIPT = (Path(__file__).parent / "fixtures" / "usr5637_incoming.bin").read_bytes()


class Null(ByteLink):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def feed(self, data: bytes) -> None:
        self._receiver(data)


def replay(pieces: list[bytes]) -> dict:
    """The port split as the driver runs it around +VTR: text lines, audio, events."""
    got: dict = {"lines": [], "urcs": [], "audio": 0, "events": [], "ends": 0}
    link = Null()
    port = VoicePort(link, lambda a: got.__setitem__("audio", got["audio"] + len(a)),
                     lambda e: got["events"].append(e.code),
                     lambda: got.__setitem__("ends", got["ends"] + 1))
    proto = V253Protocol()  # no command in flight: tags and RING are URCs
    pending = bytearray()

    def text(data: bytes) -> None:
        pending.extend(data)
        for event in proto.receive_data(data):
            if isinstance(event, Urc):
                got["urcs"].append(event.line)
        *complete, rest = bytes(pending).replace(b"\r", b"\n").split(b"\n")
        got["lines"] += [ln.decode() for ln in complete if ln.strip()]
        pending[:] = rest

    port.set_receiver(text, lambda exc: None)
    port.expect_stream()  # +VTR will be sent; lines before its CONNECT are text
    for piece in pieces:
        link.feed(piece)
    return got


def test_whole_transcript() -> None:
    got = replay([TRANSCRIPT])
    assert got["urcs"][:1] == ["RING"]
    assert "NMBR = 5551234" in got["urcs"] and "NAME = JOHN DOE" in got["urcs"]
    finals = [ln for ln in got["lines"] if ln in ("OK", "CONNECT", "ERROR")]
    assert finals == ["OK"] * 4 + ["OK", "CONNECT", "OK"]
    # nobody fed the modem audio in this capture: it reported every empty tick (<DLE>u)
    assert [e for e in got["events"] if e != "u"] == ["5", "l"]
    assert got["events"].count("u") >= 10
    assert got["ends"] == 1
    assert got["audio"] >= 0.25 * 8000  # G.711: one byte a sample


def test_byte_by_byte_equals_whole() -> None:
    whole = replay([TRANSCRIPT])
    assert replay([bytes([b]) for b in TRANSCRIPT]) == whole


@pytest.mark.parametrize("cut", [5, 40, 120, 200, 260, len(TRANSCRIPT) // 2,
                                 len(TRANSCRIPT) - 3])
def test_truncated_transcript_is_a_prefix(cut: int) -> None:
    whole = replay([TRANSCRIPT])
    part = replay([TRANSCRIPT[:cut]])
    assert whole["urcs"][: len(part["urcs"])] == part["urcs"]
    assert whole["lines"][: len(part["lines"])] == part["lines"]
    assert whole["events"][: len(part["events"])] == part["events"]
    assert part["audio"] <= whole["audio"]
