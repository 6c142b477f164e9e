"""The product's proof: a GSM call reaches an operator's phone, every piece a separate
real process — the daemon (``callbox run``), a simulated Quectel EC25 on ptys, and two
baresip softphones as operators' phones — and the call is on the web call log
(headless Chromium).

Anna (extension 101) answers by herself; Boris (102) never answers.  Boris is in the
queue's first tier, Anna in the second, which opens after 4 s of waiting; the queue
rings everyone in the open tiers.  So a call rings Boris, gives RINGNOANSWER when his
ring times out, then Anna's phone rings and she answers.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from drivers.sim.process import SimModemProcess

from .peers import Baresip, Daemon, admin_page, callbox, heard, tone_share, wait_for, wav_pcm

pytestmark = pytest.mark.peers

GSM_TONE = 1000.0  # the simulated caller's voice
PHONE_TONE = 440.0  # what Anna's baresip plays
PASSWORDS = {"101": "anna-secret-101", "102": "boris-secret-102"}


def test_gsm_call_to_baresip_operator_end_to_end(site):
    baresip_bin, data, tmp = site
    asyncio.run(scenario(baresip_bin, data, tmp))


async def scenario(baresip_bin: str, data, tmp) -> None:
    modem = await SimModemProcess.start("ec25", tmp / "modem", sim_busy=0.5)
    daemon = Daemon(data)
    phones: list[Baresip] = []
    try:
        # the installer's part, with the admin CLI, before the box runs
        from appliance.store import open_store

        open_store(data).close()
        callbox(data, "queue", "add", "support", "--strategy", "ring-all", "--ring-timeout", "4",
                "--penalty-step-seconds", "4", "--retry-delay", "0", "--autopause-after", "0",
                "--wrapup-seconds", "1", "--sticky-days", "0")
        for ext, password in PASSWORDS.items():
            callbox(data, "phone", "add", ext, "--password", password)
        callbox(data, "operator", "add", "Boris", "--ext", "102", "--queue", "support:0")
        callbox(data, "operator", "add", "Anna", "--ext", "101", "--queue", "support:1")
        callbox(data, "setting", "set", "login_on_registration", "true")
        settings = modem.line_settings()
        callbox(data, "line", "add", "gsm", "--name", "gsm1", "--at", settings["at"],
                "--audio", settings["audio"], "--model", "ec25", "--destination",
                "queue:support")
        await daemon.start()
        await wait_for(lambda: daemon.line_state("gsm1") == "up", 30, "the GSM line up")
        anna = Baresip(baresip_bin, tmp / "anna", "101", PASSWORDS["101"], daemon.sip_port,
                       PHONE_TONE)
        boris = Baresip(baresip_bin, tmp / "boris", "102", PASSWORDS["102"], daemon.sip_port,
                        PHONE_TONE, answer=False)
        phones += [anna, boris]
        for phone in phones:
            await phone.start()
        await wait_for(lambda: len(daemon.query(
            "SELECT DISTINCT operator FROM call_events WHERE event = 'LOGIN'")) == 2,
            20, "both operators logged in by their phones registering")

        await answered_call_with_audio_both_ways(daemon, modem, anna)
        await caller_who_hangs_up_while_waiting(daemon, modem)
        await modem_unplugged_mid_call(daemon, modem)
        await asyncio.to_thread(call_is_on_the_web_call_log, daemon.web_port, "+79161234567")
        await anna.stop()
        caller_was_heard_by_the_phone(anna)
    except BaseException:
        print(daemon.log.read_text()[-6000:] if daemon.log.exists() else "(no daemon log)")
        raise
    finally:
        for phone in phones:
            await phone.stop()
        await daemon.stop()
        await modem.stop()


async def answered_call_with_audio_both_ways(daemon: Daemon, modem, anna: Baresip) -> None:
    number = "+79161234567"
    started = time.monotonic()
    assert (await modem.command(f"call {number}")).startswith("ok")
    row = await wait_for(lambda: (r := daemon.query(
        "SELECT * FROM calls WHERE caller_number = ? AND answered_at IS NOT NULL", (number,)))
        and r[0], 30, "Anna answering the call")
    # audio through the box both ways: the phone's tone reaches the GSM caller...
    await wait_for(lambda: _louder(heard(modem, PHONE_TONE), -25), 15,
                   "Anna's 440 Hz at the GSM caller")
    assert (await modem.command("hangup")).startswith("ok")
    done = await wait_for(lambda: (r := daemon.query(
        "SELECT * FROM calls WHERE id = ? AND ended_at IS NOT NULL", (row["id"],))) and r[0],
        15, "the call record completed")
    took = time.monotonic() - started
    assert done["queue"] == "support" and done["operator"] == "Anna"
    assert done["line"] == "gsm1" and done["direction"] == "inbound"
    assert done["hangup_by"] == "caller" and done["hangup_cause"] == 16
    assert done["started_at"] <= done["queued_at"] <= done["answered_at"] <= done["ended_at"]
    assert 3.5 <= done["wait_seconds"] <= 15  # Boris rang 4 s for nothing first
    assert 0 < done["talk_seconds"] <= took
    assert abs(done["talk_seconds"] - (done["ended_at"] - done["answered_at"])) < 0.01
    await wait_for(lambda: daemon.events(row["id"])[-1:] == ["COMPLETECALLER"], 10,
                   "the queue log")
    assert daemon.events(row["id"]) == ["ENTERQUEUE", "RINGNOANSWER", "CONNECT",
                                        "COMPLETECALLER"]
    ring = daemon.query("SELECT operator FROM call_events WHERE call_id = ? AND "
                        "event = 'RINGNOANSWER'", (row["id"],))
    assert ring == [{"operator": "Boris"}]


def caller_was_heard_by_the_phone(anna: Baresip) -> None:
    """The caller's 1 kHz reached Anna's phone: baresip's own recording of the first call
    (read after baresip has exited: it writes its recordings out when it closes them)."""
    recordings = anna.received_recordings()
    assert recordings, "baresip recorded nothing"
    pcm = wav_pcm(recordings[0])
    # baresip's sndfile keeps about the first half second of a call's decoded audio
    assert len(pcm) >= 8000, "baresip recorded less than half a second"
    middle = pcm[len(pcm) // 4: len(pcm) * 3 // 4]
    assert tone_share(middle, GSM_TONE) > 0.5
    assert tone_share(middle, PHONE_TONE) < 0.1


async def _louder(level_coro, threshold: float) -> bool:
    return (await level_coro) > threshold


async def caller_who_hangs_up_while_waiting(daemon: Daemon, modem) -> None:
    number = "+79160000002"
    assert (await modem.command(f"call {number}")).startswith("ok")
    row = await wait_for(lambda: (r := daemon.query(
        "SELECT * FROM calls WHERE caller_number = ? AND queued_at IS NOT NULL", (number,)))
        and r[0], 20, "the caller queued")
    assert (await modem.command("hangup")).startswith("ok")  # before Anna's tier opens
    await wait_for(lambda: daemon.events(row["id"])[-1:] == ["ABANDON"], 15, "ABANDON")
    assert daemon.events(row["id"]) == ["ENTERQUEUE", "ABANDON"]
    done = daemon.query("SELECT * FROM calls WHERE id = ?", (row["id"],))[0]
    assert done["answered_at"] is None and done["hangup_by"] == "caller"


async def modem_unplugged_mid_call(daemon: Daemon, modem) -> None:
    number = "+79160000003"
    await wait_for(lambda: daemon.line_state("gsm1") == "up", 20, "the line idle again")
    assert (await modem.command(f"call {number}")).startswith("ok")
    row = await wait_for(lambda: (r := daemon.query(
        "SELECT * FROM calls WHERE caller_number = ? AND answered_at IS NOT NULL", (number,)))
        and r[0], 30, "the third call answered")
    assert (await modem.command("replug")).startswith("ok")  # USB re-enumeration
    done = await wait_for(lambda: (r := daemon.query(
        "SELECT * FROM calls WHERE id = ? AND ended_at IS NOT NULL", (row["id"],))) and r[0],
        20, "the call ended by the lost modem")
    assert done["hangup_cause"] not in (None, 16)  # a cause that says the line failed
    assert done["operator"] == "Anna"
    await wait_for(lambda: daemon.line_state("gsm1") == "up", 30, "the line back up")


def call_is_on_the_web_call_log(port: int, number: str) -> None:
    with admin_page(port) as page:
        page.goto(f"http://127.0.0.1:{port}/calls")
        page.wait_for_selector(f"text={number}")
        assert page.locator(f"text={number}").count() >= 1
