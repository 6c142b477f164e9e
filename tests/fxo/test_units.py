"""Codec choice and conversion, caller id lines, model identification, the far-end
monitor and the ring session, each on its own."""

from __future__ import annotations

import math
import struct

import pytest

from appliance.clock import VirtualClock
from appliance.media.goertzel import tone_level_dbfs
from appliance.media.tones import ToneSource
from drivers.fxo import models
from drivers.fxo.callerid import CallerIdReport, parse_tagged
from drivers.fxo.codec import VoiceCodec, choose_format, parse_vsm_list
from drivers.fxo.hangup import FarEndMonitor
from drivers.fxo.ringing import RingSession
from drivers.sim.v253 import CONEXANT_VSM, ROCKWELL_VSM


def sine(hz: float, frames: int, amp: float = 8000) -> bytes:
    n = frames * 160
    return struct.pack(f"<{n}h", *(int(amp * math.sin(2 * math.pi * hz * i / 8000))
                                   for i in range(n)))


def test_vsm_list_parsed_and_g711_preferred() -> None:
    formats = parse_vsm_list(["+VSM: " + CONEXANT_VSM[0], *CONEXANT_VSM[1:]])
    assert [f.cml for f in formats] == [1, 128, 129, 130, 131, 132, 133]
    assert formats[2].kind is None  # ADPCM: not converted
    assert choose_format(formats).kind == "ulaw"
    assert choose_format(parse_vsm_list(list(ROCKWELL_VSM))).kind == "s8"
    assert choose_format(parse_vsm_list(['1,"UNSIGNED PCM",8,0,(8000),(0),(0)'])).kind == "u8"
    assert choose_format(parse_vsm_list(['2,"CELP",1,0,(9600),(0),(0)', "junk"])) is None


@pytest.mark.parametrize("kind,min_db", [("ulaw", -13), ("alaw", -13), ("s8", -14),
                                         ("u8", -14), ("s16", -13)])
def test_codec_round_trip_keeps_a_tone_in_whole_frames(kind: str, min_db: float) -> None:
    codec = VoiceCodec(kind)
    pcm = sine(1000, 10)
    wire = b"".join(codec.encode(pcm[i:i + 320]) for i in range(0, len(pcm), 320))
    assert len(wire) == 10 * codec.frame_wire_bytes
    frames = []
    for i in range(0, len(wire), 37):  # reads that never end on a frame
        frames += codec.decode_frames(wire[i:i + 37])
    assert len(frames) == 10 and all(len(f) == 320 for f in frames)
    assert tone_level_dbfs(b"".join(frames), 1000) > min_db


def test_caller_id_lines_and_presentation() -> None:
    assert parse_tagged("DATE = 0321") == ("DATE", "0321")
    assert parse_tagged("NMBR=5551234") == ("NMBR", "5551234")
    assert parse_tagged("RING") is None
    report = CallerIdReport()
    for line in ("DATE = 1224", "TIME = 0905", "NMBR = 5551234", "NAME = ANNA K"):
        report.add(*parse_tagged(line))
    cid = report.caller_id()
    assert (cid.number, cid.name, cid.presentation) == ("5551234", "ANNA K", "allowed")
    assert report.when == "12-24 09:05"
    withheld = CallerIdReport(number="P", name="P").caller_id()
    assert (withheld.number, withheld.name, withheld.presentation) == ("", "", "restricted")
    assert CallerIdReport(number="O").caller_id().presentation == "unavailable"
    assert CallerIdReport().caller_id().display == "unavailable"


def test_models_identified_by_usb_then_ati() -> None:
    assert models.identify(None, (0x0BAF, 0x0303), "").key == "usr5637"
    assert models.identify(None, (0x0803, 0x3095), "").key == "zoom3095"
    assert models.identify(None, (0x0572, 0x1329), "").key == "cx93010"
    assert models.identify(None, None, "U.S. Robotics 56K FAX USB V1.2.23").key == "usr5637"
    assert models.identify(None, None, "ROCKWELL RC56 V.90").key == "rockwell"
    assert models.identify(None, None, "something else").key == "generic"
    assert models.identify("zoom3095", (0x0BAF, 0x0303), "").key == "zoom3095"
    assert models.usb_identity("/dev/null") is None


@pytest.mark.parametrize("country", ["eu", "ru", "us"])
def test_monitor_hears_busy_congestion_and_dial_tone_but_not_ringback_or_voice(
    country: str,
) -> None:
    for name, reason in (("busy", "busy"), ("congestion", "busy"), ("dial", "dial_tone")):
        mon = FarEndMonitor(0, country)
        src = ToneSource.named(name, country)
        results = [mon.feed(src.read_frame()) for _ in range(250)]
        assert reason in results, name
        assert results.index(reason) * 20 <= 4000
    mon = FarEndMonitor(0, country)
    src = ToneSource.named("ringback", country)
    assert all(mon.feed(src.read_frame()) is None for _ in range(400))
    mon = FarEndMonitor(0, country)
    voice = sine(300, 1) + sine(700, 1)
    assert all(mon.feed(voice[i % 2 * 320:][:320]) is None for i in range(400))


def test_monitor_silence_needs_the_full_interval() -> None:
    mon = FarEndMonitor(1.0)
    quiet = bytes(320)
    assert all(mon.feed(quiet) is None for _ in range(49))
    assert mon.feed(quiet) == "silence"
    mon.reset()
    for _ in range(40):
        mon.feed(quiet)
    word = sine(1000, 10)
    for i in range(10):  # a 200 ms word resets the count (a 20 ms click would not)
        mon.feed(word[i * 320:(i + 1) * 320])
    assert all(mon.feed(quiet) is None for _ in range(49))


def test_monitor_silence_is_relative_to_what_we_send() -> None:
    residual = sine(523, 1, amp=100)  # what the canceller leaves of our 5000-peak music
    listener = sine(523, 1, amp=400)  # a quiet caller's room, over the same residual
    gone = FarEndMonitor(0.5)
    assert "silence" in [gone.feed(residual, ours_rms=3500) for _ in range(30)]
    here = FarEndMonitor(0.5)
    assert all(here.feed(listener, ours_rms=3500) is None for _ in range(60))
    alone = FarEndMonitor(0.5)  # without our audio, the fixed floor applies
    assert all(alone.feed(residual) is None for _ in range(60))


def test_ring_session_offers_after_caller_id_and_ends_when_rings_stop() -> None:
    clock = VirtualClock()
    offers: list = []
    ended: list = []
    session = RingSession(clock, {"ring_timeout_seconds": 8}, lambda c, w: offers.append((c, w)),
                          lambda: ended.append(True))
    session.urc("RING", "RING")
    clock.advance(2.5)
    for line in ("DATE = 0321", "TIME = 1405", "NMBR = P"):
        session.urc(line.split()[0], line)
    assert offers == []
    clock.advance(0.5)
    assert offers[0][0].presentation == "restricted" and offers[0][1] == "03-21 14:05"
    session.urc("RING", "RING")
    assert len(offers) == 1
    clock.advance(7.9)
    assert ended == []
    clock.advance(0.2)
    assert ended == [True]


def test_ring_session_without_caller_id_offers_at_the_second_ring() -> None:
    clock = VirtualClock()
    offers: list = []
    session = RingSession(clock, {}, lambda c, w: offers.append(c), lambda: None)
    session.urc("RING", "RING")
    clock.advance(4)
    assert offers == []
    session.urc("RING", "RING")
    assert offers[0].presentation == "unavailable"


def test_ring_session_one_ring_then_gone_is_still_a_missed_call() -> None:
    clock = VirtualClock()
    events: list = []
    RingSession(clock, {"ring_timeout_seconds": 3, "caller_id_wait_seconds": 5},
                lambda c, w: events.append("offer"), lambda: events.append("gone")).urc(
        "RING", "RING")
    clock.advance(3.1)
    assert events == ["offer", "gone"]


def test_settings_validation_speaks_to_the_installer() -> None:
    from drivers.fxo import words
    from drivers.fxo.settings import _flag, line_facts, validate_settings

    assert validate_settings({"port": "/dev/ttyACM0", "model": "usr5637"}) == {}
    problems = validate_settings({"model": "nokia", "silence_hangup_seconds": "soon",
                                  "duplex": "both"})
    assert problems == {"port": words.PORT_REQUIRED, "model": words.UNKNOWN_MODEL,
                        "silence_hangup_seconds": words.BAD_SECONDS,
                        "duplex": words.BAD_DUPLEX}
    assert not _flag("false") and not _flag("0") and _flag("yes") and _flag(True)
    facts = line_facts({"state": "ready", "model_name": "Zoom 3095", "caller_id": True,
                        "duplex": "full", "codec": "ulaw", "port": "/dev/ttyACM0"})
    assert facts["caller_id"] == "yes" and facts["model"] == "Zoom 3095"


def test_locator_finds_a_renumbered_modem_by_its_socket() -> None:
    import asyncio

    from appliance.clock import LoopClock
    from drivers.fxo.locate import VoiceModemLocator, identity_for

    ident = identity_for(0x0BAF, 0x0303, "/sys/devices/platform/usb1/1-1/1-1.2")
    assert ident == "usb:0baf:0303:1-1.2"
    present: list = []

    async def scenario() -> None:
        locator = VoiceModemLocator(LoopClock(), lambda: list(present), rescan_seconds=0.05)
        assert await locator.wait_for(ident, 0.1) is None
        waiter = asyncio.ensure_future(locator.wait_for(ident, 5))
        await asyncio.sleep(0)
        present.append(("usb:0803:3095:1-1.3", "/dev/ttyACM0"))
        present.append((ident, "/dev/ttyACM1"))
        assert await waiter == {"at": "/dev/ttyACM1"}

    asyncio.run(scenario())


def test_every_word_has_a_russian_translation() -> None:
    import csv
    from pathlib import Path

    from drivers.fxo import words

    path = Path(words.__file__).with_name("messages_ru.csv")
    with path.open(encoding="utf-8") as f:
        ru = {row[0]: row[1] for row in csv.reader(f) if row}
    keys = [*words.STATE_WORDS.values(), *words.DUPLEX_WORDS.values(),
            *words.HANGUP_WORDS.values(), words.PORT_REQUIRED, words.UNKNOWN_MODEL,
            words.BAD_SECONDS, words.BAD_DUPLEX, words.NO_ECHO_CANCELLER]
    missing = [k for k in keys if not ru.get(k)]
    assert missing == []


def test_found_modems_named_from_the_table() -> None:
    from drivers.fxo.locate import found_modems

    rows = found_modems(lambda: [("usb:0803:3095:1-1.3", "/dev/ttyACM0")])
    assert rows == [{"kind": "fxo", "port": "/dev/ttyACM0", "model": "zoom3095",
                     "model_name": "Zoom 3095", "usb_id": "0803:3095", "socket": "1-1.3"}]
