"""Small pieces: settings validation and CLI hooks, signal and registration words, +CLIP
and +CLCC parsing, the DTMF detector, the simulator's pace and RING cadence, random
input to the AT parser."""

from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.clock import VirtualClock
from drivers.at.protocol import AtProtocol, Command
from drivers.base import FRAME_BYTES
from drivers.gsm import facts, words
from drivers.gsm.dtmf import DtmfDetector
from drivers.gsm.models import MODELS, SettingsError, cli_line_row, cli_line_settings
from drivers.gsm.profiles import HuaweiProfile, Profile, QuectelProfile, SimcomProfile, pick_profile
from drivers.sim.audio import dtmf_pair, tone_frames
from drivers.sim.host import SimHost
from drivers.sim.models import HuaweiE1550


def test_cli_settings_are_validated_and_normalised():
    assert cli_line_settings("/dev/callbox/ec25-usb-0_1-at", "/dev/callbox/ec25-usb-0_1-audio",
                             "EC25", "1234") == {
        "at": "/dev/callbox/ec25-usb-0_1-at", "audio": "/dev/callbox/ec25-usb-0_1-audio",
        "model": "ec25", "pin": "1234"}
    assert cli_line_settings("/dev/ttyUSB2") == {"at": "/dev/ttyUSB2"}


@pytest.mark.parametrize("kwargs,field", [
    ({"at": ""}, "at"),
    ({"at": "ttyUSB2"}, "at"),
    ({"at": "/dev/../etc/passwd"}, "at"),
    ({"at": "/dev/ttyUSB2", "audio": "/dev/ttyUSB2"}, "audio"),
    ({"at": "/dev/ttyUSB2", "model": "nokia3310"}, "model"),
    ({"at": "/dev/ttyUSB2", "pin": "12"}, "pin"),
    ({"at": "/dev/ttyUSB2", "pin": "12ab"}, "pin"),
])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(SettingsError) as err:
        cli_line_settings(**kwargs)
    assert err.value.field == field
    assert err.value.message  # a sentence for the installer


def test_unknown_settings_are_refused():
    from drivers.gsm.models import validate_settings

    with pytest.raises(SettingsError) as err:
        validate_settings({"at": "/dev/ttyUSB2", "baud": 9600})
    assert err.value.field == "baud"


def test_line_list_row():
    row = cli_line_row("gsm1", {"at": "/dev/ttyUSB2", "model": "sim7600"},
                       {"state": "up", "operator": "MTS", "signal_dbm": -71, "imei": "86"})
    assert row["model"] == MODELS["sim7600"].name
    assert (row["state"], row["signal"], row["imei"]) == ("up", "-71 dBm", "86")
    assert cli_line_row("gsm2", {"at": "/dev/x"})["state"] == ""


def test_every_word_has_a_russian_translation():
    folder = Path(words.__file__).parent
    with open(folder / "messages_ru.csv", encoding="utf-8") as f:
        russian = {row[0]: row[1] for row in csv.reader(f)}
    marked = set()
    for source in folder.glob("*.py"):
        marked |= set(re.findall(r'N_\(\s*"([^"]+)"\s*\)', source.read_text()))
    assert len(marked) > 20
    assert sorted(marked - set(russian)) == []


@pytest.mark.parametrize("rssi,dbm,bars", [(0, -113, 0), (1, -111, 0), (9, -95, 1),
                                           (14, -85, 2), (19, -75, 3), (31, -51, 4),
                                           (99, None, 0)])
def test_signal(rssi, dbm, bars):
    signal = facts.parse_csq(f"{rssi},99")
    assert (signal.dbm, signal.bars) == (dbm, bars)


def test_registration_words():
    assert facts.parse_creg('2,5,"1A2B","00C3D4"', urc=False) == 5
    assert facts.parse_creg('3,"1A2B","00C3D4"', urc=True) == 3
    assert facts.registration(3)["denied"] and facts.registration(5)["roaming"]
    assert facts.registration(None)["registration"] == words.REG_WORDS[4]


def test_clip_and_clcc():
    assert facts.parse_clip('"+79161234567",145,,,,0') == facts.Clip("+79161234567", "allowed")
    assert facts.parse_clip('"79161234567",145') == facts.Clip("+79161234567", "allowed")
    assert facts.parse_clip('"89161234567",129,"",,"Ivan Petrov",0').name == "Ivan Petrov"
    assert facts.parse_clip('"",128,,,,1').presentation == "restricted"
    assert facts.parse_clip('"",128,,,,2').presentation == "unavailable"
    entry = facts.parse_clcc('1,0,3,0,0,"+74951234567",145')
    assert (entry.index, entry.mobile_terminated, entry.stat) == (1, False, 3)
    assert facts.parse_clcc("1,0,0,1,0") is None  # a data call is not ours
    assert facts.parse_clcc("garbage") is None


def test_profiles_are_picked_by_what_the_modem_says():
    assert isinstance(pick_profile("huawei", "E1550"), HuaweiProfile)
    assert isinstance(pick_profile("Quectel", "EC25"), QuectelProfile)
    assert isinstance(pick_profile("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H"), SimcomProfile)
    assert type(pick_profile("Telit", "LE910")) is Profile
    assert isinstance(pick_profile("Telit", "LE910", "quectel"), QuectelProfile)


async def test_hotplug_watches_udev_here_without_failing():
    from appliance.clock import LoopClock
    from drivers.hotplug import Hotplug

    seen = []
    hotplug = Hotplug(LoopClock(), scan=lambda: [])
    hotplug.on_change(seen.append)
    hotplug.start()
    hotplug.changed()
    hotplug.stop()
    assert seen == [[]]


def test_dtmf_detector_finds_keys_and_ignores_tones_and_silence():
    detector = DtmfDetector()
    found = []
    for key in "159*0#D":
        pcm = tone_frames(dtmf_pair(key), 4) + bytes(FRAME_BYTES * 2)
        for i in range(0, len(pcm), FRAME_BYTES):
            digit = detector.feed(pcm[i : i + FRAME_BYTES])
            if digit:
                found.append(digit)
    assert "".join(found) == "159*0#D"
    pcm = tone_frames((1000.0,), 10) + tone_frames((697.0, 1000.0), 10)
    assert not any(detector.feed(pcm[i : i + FRAME_BYTES]) for i in range(0, len(pcm), FRAME_BYTES))


@given(st.lists(st.binary(max_size=64), max_size=30))
def test_random_bytes_never_break_the_parser(chunks):
    proto = AtProtocol()
    proto.send_command(Command("AT+CSQ", ("+CSQ",)))
    for chunk in chunks:
        proto.receive_data(chunk)
    proto.command_done()
    assert proto.receive_data(b"\r\nRING\r\n")[-1].name == "RING"


async def test_simulator_pace_and_ring_cadence_on_a_virtual_clock():
    clock = VirtualClock()
    sim = HuaweiE1550(clock, sim_busy_seconds=0)
    host = SimHost(sim, carrier="memory")
    ports = host.start()
    received = bytearray()
    ports.at_link.set_receiver(received.extend, lambda exc: None)
    frames = bytearray()
    ports.audio_link.set_receiver(frames.extend, lambda exc: None)
    sim.clip = True
    sim.incoming_call("+79161234567")
    for _ in range(9):
        clock.advance(1.0)
    await asyncio.sleep(0)
    assert received.count(b"RING") == 4  # at 0, 3, 6 and 9 seconds
    sim.calls[0].stat = 0
    sim.audio.start()
    clock.advance(1.0)
    await asyncio.sleep(0)
    assert len(frames) == 50 * FRAME_BYTES  # one second of 20 ms frames, no more
    host.close()


def test_audio_pump_keeps_samples_aligned_when_it_starts_mid_stream():
    from drivers.at.transport import MemoryLink
    from drivers.gsm.audio import AudioPump

    link, _ = MemoryLink.pair()
    frames = []
    pump = AudioPump(link, frames.append)
    pcm = tone_frames((1000.0,), 3)
    pump._data(pcm[:101])  # an odd-sized read before the call's audio started
    pump.start()
    pump._data(pcm[101:])
    pump._data(pcm[:FRAME_BYTES])
    assert frames and all(len(f) == FRAME_BYTES for f in frames)
    assert frames[0] == pcm[102 : 102 + FRAME_BYTES]  # the half sample at 101 was skipped


async def test_simulator_control_voice_and_loudness():
    """``voice FREQ`` changes what the far end says; ``loudness`` measures what it heard."""
    import json

    from appliance.media.goertzel import tone_fraction
    from drivers.sim.gsm import Control

    clock = VirtualClock()
    sim = HuaweiE1550(clock, sim_busy_seconds=0)
    host = SimHost(sim, carrier="memory")
    ports = host.start()
    frames = bytearray()
    ports.audio_link.set_receiver(frames.extend, lambda exc: None)
    control = Control(sim, host, lambda: None)
    assert json.loads(control.handle("loudness")[3:])["level_dbfs"] is None  # nothing heard yet
    sim.audio.start()
    assert control.handle("voice 600") == "ok"
    assert control.handle("voice 9000").startswith("error voice")
    assert control.handle("voice loud").startswith("error voice")
    clock.advance(1.0)
    await asyncio.sleep(0)
    assert tone_fraction(bytes(frames[-8000:]), (600.0,)) > 0.9
    sim.audio.received(bytes(8000))  # the box sent half a second of silence...
    quiet = json.loads(control.handle("loudness 0.5")[3:])["level_dbfs"]
    sim.audio.received(tone_frames((440.0,), 25))  # ...then half a second of a tone
    loud = json.loads(control.handle("loudness 0.5")[3:])
    assert quiet < -90 and -20 < loud["level_dbfs"] < -5
    assert loud["heard_seconds"] == 1.0 and loud["said_seconds"] == 1.0
    tone = json.loads(control.handle("heard 440 0.5")[3:])
    assert tone["share"] > 0.99 and -20 < tone["level_dbfs"] < -5
    mixed = json.loads(control.handle("heard 440 1")[3:])  # a tone filling half the window
    assert 0.4 < mixed["share"] < 0.6 and mixed["level_dbfs"] < tone["level_dbfs"] - 5
    assert json.loads(control.handle("heard 1000 0.5")[3:])["share"] < 0.01
    sim.audio.stop()
    sim.audio.start()  # the next call: its far end has heard nothing yet
    assert json.loads(control.handle("loudness")[3:]) == {
        "level_dbfs": None, "heard_seconds": 0.0, "said_seconds": 0.0}
    host.close()
