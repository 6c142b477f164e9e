"""SMS PDU codec: round trips for random text, real-world PDUs published by others."""

from __future__ import annotations

import calendar
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.gsm import gsm7, pdu
from drivers.gsm.ussd import UssdError, decode_cusd

GSM7_CHARS = "".join(ch for ch in gsm7.DEFAULT if ch != "\x1b") + "".join(gsm7.EXTENSION.values())
gsm7_text = st.text(alphabet=GSM7_CHARS, min_size=1, max_size=500)
# Cyrillic, CJK, emoji (outside the BMP: surrogate pairs in UCS2) and some Latin
ucs2_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x400, max_codepoint=0x4FF),
        st.characters(min_codepoint=0x1F600, max_codepoint=0x1F64F),
        st.sampled_from("abc 123,.!ёЁ€"),
    ),
    min_size=1, max_size=300,
).filter(lambda t: not gsm7.encodable(t))


def join(parts: list) -> str:
    text = "".join(p.text for p in parts)
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be")


@settings(max_examples=60, deadline=None)
@given(text=gsm7_text, ref=st.integers(0, 255))
def test_gsm7_submit_round_trip(text, ref):
    parts = [pdu.decode_submit(s.hex) for s in pdu.encode_submit("+79161234567", text, ref)]
    assert all(p.alphabet == pdu.GSM7 for p in parts)
    assert join(parts) == text
    if len(parts) > 1:
        assert {p.concat.reference for p in parts} == {ref}
        assert [p.concat.sequence for p in parts] == list(range(1, len(parts) + 1))


@settings(max_examples=60, deadline=None)
@given(text=ucs2_text, ref=st.integers(0, 65535))
def test_ucs2_deliver_round_trip_with_16_bit_reference(text, ref):
    hexes = pdu.encode_deliver("+79161234567", text, 1_767_225_600, ref, wide_ref=True)
    parts = [pdu.decode(h) for h in hexes]
    assert all(p.alphabet == pdu.UCS2 and p.sender == "+79161234567" for p in parts)
    assert join(parts) == text
    if len(parts) > 1:
        assert {(p.concat.reference, p.concat.wide) for p in parts} == {(ref, True)}


@settings(max_examples=40, deadline=None)
@given(text=gsm7_text)
def test_tpdu_length_matches_what_cmgs_is_told(text):
    for submit in pdu.encode_submit("89161234567", text):
        assert submit.tpdu_length == len(submit.hex) // 2 - 1  # minus the SMSC length octet


def test_parts_never_split_an_escape_or_a_surrogate_pair():
    _, parts = pdu.split("€" * 200)
    assert all(gsm7.septet_length(p) <= pdu.PART_GSM7 for p in parts)
    assert "".join(parts) == "€" * 200
    _, parts = pdu.split("😀" * 100)
    assert all(len(p.encode("utf-16-be")) // 2 <= pdu.PART_UCS2 for p in parts)
    assert "".join(parts) == "😀" * 100


def test_single_message_limits():
    assert len(pdu.split("a" * 160)[1]) == 1
    assert len(pdu.split("a" * 161)[1]) == 2
    assert len(pdu.split("ж" * 70)[1]) == 1
    assert len(pdu.split("ж" * 71)[1]) == 2


# -- real-world PDUs ---------------------------------------------------------------------
def test_deliver_hellohello():
    # SMS-DELIVER from "SMS and the PDU format" (Lars Pettersson, dreamfabric.com), also
    # quoted at turbocontrol.com/CoolStuff/SMS messages and the PDU format: "hellohello"
    # from 27838890001 via SMSC +27381000015, 1999-03-29 15:16:59 at GMT+2.
    msg = pdu.decode("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
    assert isinstance(msg, pdu.Deliver)
    assert msg.text == "hellohello"
    assert msg.smsc == "+27381000015"
    assert msg.sender == "27838890001"
    assert msg.timestamp == calendar.timegm((1999, 3, 29, 13, 16, 59))


def test_submit_hellohello():
    # SMS-SUBMIT from the same page: "hellohello" to +46708251358, VP AA (4 days).
    msg = pdu.decode_submit("0011000B916407281553F80000AA0AE8329BFD4697D9EC37")
    assert (msg.destination, msg.text, msg.report) == ("+46708251358", "hellohello", False)


def test_deliver_ucs2_from_a_forum_transcript():
    # AT+CMGR output posted on the Nokia developer forum ("how to send UCS character"):
    # two Arabic letters in UCS2 (DCS 08), sender +20101014063.
    msg = pdu.decode("07910201956905F0040B910201014160F3000820219130521580040628062A")
    assert msg.text == "\u0628\u062a"
    assert msg.alphabet == pdu.UCS2
    assert msg.sender == "+20101014063"


def test_submit_with_validity_period_from_a_decoding_walkthrough():
    # SMS-SUBMIT decoded step by step at accessvba.blogsky.com ("decode SMS-SUBMIT"):
    # SMSC +8613800280500, to 1861, VP FF, 22 septets; the page's septets read
    # 48 65 6C 6C 6F 2C 6D 79 20 70 72 65 74 74 79 20 77 6F 72 6C 64 21.
    msg = pdu.decode_submit(
        "0891683108200805F01151048181160000FF16C8329BFD66B5F320B8BC4CA7E741F7B79C4D0E01")
    assert msg.destination == "1861"
    assert msg.text == "Hello,my pretty world!"


def test_concat_8_bit_reference_and_extension_characters():
    hexes = pdu.encode_deliver("+79161234567", "[x]" * 60, 0, 0xAB)
    parts = [pdu.decode(h) for h in hexes]
    assert [p.concat for p in parts] == [pdu.Concat(0xAB, 2, 1), pdu.Concat(0xAB, 2, 2)]
    assert "".join(p.text for p in parts) == "[x]" * 60


def test_status_report():
    report = pdu.decode(pdu.encode_status_report(42, "+79161234567", 0x00, 1_767_225_600))
    assert isinstance(report, pdu.StatusReport)
    assert (report.reference, report.delivered, report.final) == (42, True, True)
    pending = pdu.decode(pdu.encode_status_report(42, "+79161234567", 0x20, 1_767_225_600))
    assert not pending.final


@pytest.mark.parametrize("bad", ["", "07917283", "zz", "07917283010010F504", "0791728301001"])
def test_bad_pdus_raise_a_typed_error(bad):
    with pytest.raises(pdu.PduError):
        pdu.decode(bad)


@given(st.binary(max_size=60))
def test_random_bytes_never_raise_anything_but_pdu_error(data):
    with contextlib.suppress(pdu.PduError):  # a clear refusal is fine; any other error fails
        pdu.decode(data.hex())


def test_bad_numbers_are_refused():
    with pytest.raises(ValueError):
        pdu.encode_submit("call me", "hi")


# -- USSD ---------------------------------------------------------------------------------
def test_ussd_packing_matches_the_huawei_example():
    # *100# as Huawei sticks want it: AA180C3602 (chan_dongle and many forum transcripts)
    assert gsm7.pack_ussd("*100#").hex().upper() == "AA180C3602"
    assert gsm7.unpack_ussd(bytes.fromhex("AA180C3602")) == "*100#"


@given(st.text(alphabet=GSM7_CHARS, min_size=1, max_size=150).filter(lambda t: t[-1] != "\r"))
def test_ussd_pack_round_trip(text):
    assert gsm7.unpack_ussd(gsm7.pack_ussd(text)) == text


def test_cusd_replies():
    ucs2 = "Баланс 12 р.".encode("utf-16-be").hex().upper()
    assert decode_cusd(f'0,"{ucs2}",72', packed=False) == (0, "Баланс 12 р.")
    packed = gsm7.pack_ussd("Balance 5.00").hex().upper()
    assert decode_cusd(f'0,"{packed}",15', packed=True) == (0, "Balance 5.00")
    assert decode_cusd('1,"Reply 1 or 2",15', packed=False) == (1, "Reply 1 or 2")
    assert decode_cusd("4", packed=False) == (4, "")
    with pytest.raises(UssdError):
        decode_cusd("garbage", packed=False)
