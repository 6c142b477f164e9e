"""DLE shielding (V.253 10.1.1): any byte stream survives shield/unshield, events are
found wherever they sit and however the stream is cut into reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.fxo.dle import (
    DleDecoder,
    DleEvent,
    EndOfStream,
    event_bytes,
    shield,
)

EVENT_CODES = list("0123456789*#ABCDbdslqRr")


def decode_in_pieces(wire: bytes, cuts: list[int]) -> list:
    decoder = DleDecoder()
    items: list = []
    last = 0
    for cut in sorted(set(c % (len(wire) + 1) for c in cuts)) + [len(wire)]:
        items += decoder.feed(wire[last:cut])
        last = cut
    return items


def merge_audio(items: list) -> list:
    """Adjacent audio chunks as one: how reads split audio is not a property."""
    merged: list = []
    for item in items:
        if isinstance(item, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += item
        else:
            merged.append(item)
    return merged


@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0), max_size=20))
def test_any_bytes_survive_shield_and_unshield(data: bytes, cuts: list[int]) -> None:
    items = decode_in_pieces(shield(data), cuts)
    assert all(isinstance(i, bytes) for i in items)
    assert b"".join(items) == data


@given(
    st.lists(
        st.one_of(st.binary(min_size=1, max_size=200), st.sampled_from(EVENT_CODES)),
        max_size=30,
    ),
    st.lists(st.integers(min_value=0), max_size=30),
)
def test_events_found_at_any_position(parts: list, cuts: list[int]) -> None:
    wire = b"".join(shield(p) if isinstance(p, bytes) else event_bytes(p) for p in parts)
    expected = merge_audio([p if isinstance(p, bytes) else DleEvent(p) for p in parts])
    assert merge_audio(decode_in_pieces(wire, cuts)) == expected


@given(st.binary(max_size=500), st.binary(max_size=100), st.integers(min_value=0))
def test_end_of_stream_leaves_the_rest_for_command_mode(
    audio: bytes, after: bytes, cut: int
) -> None:
    wire = shield(audio) + b"\x10\x03" + after
    items = decode_in_pieces(wire, [cut])
    assert isinstance(items[-1], EndOfStream)
    assert b"".join(i for i in items if isinstance(i, bytes)) == audio


def test_rest_after_end_of_stream_is_kept_byte_exactly() -> None:
    decoder = DleDecoder()
    assert decoder.feed(b"ab\x10\x10c\x10") == [b"ab\x10c"]
    items = decoder.feed(b"\x03\r\nOK\r\n")
    assert items == [EndOfStream()]
    assert decoder.rest == b"\r\nOK\r\n"
    decoder.feed(b"more")
    assert decoder.rest == b"\r\nOK\r\nmore"


def test_unknown_code_is_reported_as_unknown_and_counted() -> None:
    decoder = DleDecoder()
    items = decoder.feed(b"x\x10\x7fy")
    assert items == [b"x", DleEvent("\x7f"), b"y"]
    assert not items[1].known
    assert decoder.unknown_codes == 1


def test_event_names_follow_v253() -> None:
    assert DleEvent("b").name == "busy"
    assert DleEvent("l").name == "loop_break"
    assert DleEvent("s").name == "silence"
    assert DleEvent("5").dtmf == "5"
    assert DleEvent("#").dtmf == "#"
    assert DleEvent("b").dtmf is None
