import array
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media import g711
from drivers.base import FRAME_BYTES, SILENCE


def sine(freq: float, amp: float, n: int = 160) -> bytes:
    return array.array(
        "h", (round(amp * math.sin(2 * math.pi * freq * i / 8000)) for i in range(n))
    ).tobytes()


@pytest.mark.parametrize("codec", ["PCMU", "PCMA", "pcmu"])
def test_round_trip_keeps_a_tone_within_companding_error(codec):
    enc, dec = g711.encoder(codec), g711.decoder(codec)
    pcm = sine(1000, 12000)
    payload = enc(pcm)
    assert len(payload) == g711.ENCODED_FRAME_BYTES == 160
    back = array.array("h", dec(payload))
    orig = array.array("h", pcm)
    # G.711 keeps ~38 dB SNR for a loud tone: each sample within 1/16 of its value + step.
    for a, b in zip(orig, back, strict=True):
        assert abs(a - b) <= abs(a) / 16 + 16


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
@given(st.binary(min_size=1, max_size=400))
def test_any_payload_decodes_and_re_encodes_to_itself(codec, payload):
    # Every G.711 code decodes to a value that encodes back to the same code,
    # except mu-law's two zeros (0x7F and 0xFF both mean 0).
    dec, enc = g711.decoder(codec), g711.encoder(codec)
    again = enc(dec(payload))
    if codec == "PCMU":
        payload = payload.replace(b"\x7f", b"\xff")
    assert again == payload


def test_silence_payloads_are_the_codecs_zero():
    assert g711.silence("PCMU") == b"\xff" * 160
    assert g711.silence("PCMA") == b"\xd5" * 160
    assert g711.decoder("PCMA")(g711.silence("PCMA")) != SILENCE  # A-law has no exact 0
    assert max(array.array("h", g711.decoder("PCMA")(g711.silence("PCMA")))) <= 8


def test_unknown_codec_is_a_clear_error():
    with pytest.raises(ValueError, match="G.711"):
        g711.encoder("G729")
    with pytest.raises(ValueError, match="G.711"):
        g711.decoder("opus")


def test_split_and_fit_frames():
    pcm = bytes(range(256)) * 3  # 768 bytes = 2 frames + 128 bytes
    frames = list(g711.split_frames(pcm))
    assert [len(f) for f in frames] == [FRAME_BYTES] * 3
    assert b"".join(frames)[: len(pcm)] == pcm
    assert frames[-1][128:] == bytes(FRAME_BYTES - 128)
    assert len(list(g711.split_frames(pcm, pad=False))) == 2
    assert g711.fit_frame(b"\x01" * 400) == b"\x01" * FRAME_BYTES


@given(st.lists(st.integers(min_value=0, max_value=700), max_size=20))
def test_assembler_cuts_any_chunking_into_the_same_frames(sizes):
    stream = bytes(i % 251 for i in range(sum(sizes)))
    asm = g711.FrameAssembler()
    out, pos = [], 0
    for size in sizes:
        out += asm.feed(stream[pos : pos + size])
        pos += size
    whole = len(stream) // FRAME_BYTES * FRAME_BYTES
    assert b"".join(out) == stream[:whole]
    assert asm.pending == len(stream) - whole
