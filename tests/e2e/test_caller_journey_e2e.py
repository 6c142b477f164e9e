"""The caller's journey end to end (issue #10), every piece a separate real process: the
daemon (``callbox run``), two simulated GSM modems on ptys as the callers' network (a
Quectel EC25, which reports the caller's keys with +QTONEDET, and a Huawei E1550, which
reports nothing, so the box finds the keys in the audio with its Q.24 detector), a
baresip softphone as the support operator's phone (answering by itself and saying back
what it hears), espeak-ng speaking the prompts, and headless Chromium playing the
voicemail in the web page.

Both GSM lines answer with the flow ``journey``: a time node (the box's zone is
Vladivostok, so "today" is not UTC's today for part of the day), then a menu "sales 1,
support 2" leading to two queues; closed, it asks for the customer number and goes to
voicemail for support.

1. Open (all week 00:00-24:00): the caller waits until the menu is being spoken, presses
   2 (the EC25 reports far-end keys with +QTONEDET), reaches queue ``support`` and Anna's
   phone, which answers by itself.  Audio both ways: the box's call recording has the
   caller's 1 kHz coming back from the phone's RTP (so the phone got it), and the caller
   hears it back (so the phone's audio reaches the caller).  The call record keeps the
   choice, and the sales queue never saw the call.
2. Closed (a new version of the flow, saved while the box runs: one-off exceptions close
   today and tomorrow): a caller on the E1550 line types their customer number and #,
   hears the intro and the beep, speaks (a 600 Hz tone) for two seconds of their own
   audio clock and presses #; the message is on disk and in the database with the
   number they typed and a callback task for support.  Another caller (EC25) hangs up
   instead of pressing #: their message is kept too.
3. In the browser (a supervisor): Anna's card shows the first caller's choice and her
   list the voicemail's callback task; both call records show what the callers gave;
   the message is listed with the customer number, and plays.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
import wave
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.ivr.hours import WEEKDAYS
from drivers.sim.process import SimModemProcess
from tests.conftest import require_tool

from .peers import (
    Baresip,
    Daemon,
    admin_page,
    callbox,
    heard,
    heard_pure,
    loudness,
    tone_share,
    wait_for,
    wav_pcm,
)

pytestmark = pytest.mark.peers

ZONE = "Asia/Vladivostok"
CALLER_TONE = 1000.0  # the simulated caller's voice
MESSAGE_TONE = 600.0  # what the caller says into voicemail
BEEP_TONE = 1000.0  # the box's "speak after the tone"
ANNA = ("101", "anna-secret-101")
ACCOUNT = "4711"  # the customer number the after-hours caller types
SPEECH_DBFS = -45.0  # espeak's prompts are far above this; the box's silence far below


def journey(hours: dict) -> dict:
    """The flow under test, with the time node's hours, holidays and exceptions."""
    return {
        "start": "hours", "language": "en", "operator": "support",
        "nodes": {
            "hours": {"type": "time", **hours, "open": "menu", "closed": "closed"},
            "closed": {"type": "collect", "name": "account", "label": "Customer number",
                       "text": "We are closed. Please type your customer number, then hash.",
                       "min_length": 3, "max_length": 8, "timeout": 15, "next": "vm"},
            "menu": {"type": "menu", "text": "For sales, press 1. For support, press 2.",
                     "timeout": 15,
                     "choices": {"1": {"label": "Sales", "next": "sales"},
                                 "2": {"label": "Support", "next": "support"}}},
            "sales": {"type": "queue", "queue": "sales"},
            "support": {"type": "queue", "queue": "support"},
            "vm": {"type": "voicemail", "queue": "support", "max_seconds": 30},
        },
    }


ALL_WEEK = {"hours": {day: ["00:00-24:00"] for day in WEEKDAYS}}


def closed_today() -> dict:
    """Open all week except one-off exceptions closing today and tomorrow in the box's zone
    (tomorrow too, so a run that crosses midnight there is still closed)."""
    today = dt.datetime.now(ZoneInfo(ZONE)).date()
    days = [today, today + dt.timedelta(days=1)]
    return {**ALL_WEEK, "exceptions": [{"date": d.isoformat(), "hours": []} for d in days]}


async def save_flow(data: Path, graph: dict) -> int:
    """Save and activate a version of ``journey`` with the call the web editor's save
    makes (FlowStore.save, validated); done from this process while the daemon runs, the
    new version must reach the next caller with no restart."""
    from appliance.ivr.flowstore import FlowStore
    from appliance.store import open_store

    store = open_store(data)
    try:
        return await FlowStore(store).save("journey", graph, queues={"sales", "support"})
    finally:
        store.close()


@pytest.fixture
def journey_site(site):
    require_tool("espeak-ng")  # the prompts are typed text spoken by the box
    return site


def test_caller_journey_menu_queue_phone_and_after_hours_voicemail(journey_site):
    baresip_bin, data, tmp = journey_site
    asyncio.run(scenario(baresip_bin, data, tmp))


async def scenario(baresip_bin: str, data: Path, tmp: Path) -> None:
    modems: dict[str, SimModemProcess] = {}
    daemon = Daemon(data)
    anna: Baresip | None = None
    try:
        ec25, e1550 = await asyncio.gather(
            SimModemProcess.start("ec25", tmp / "ec25", sim_busy=0.5),
            SimModemProcess.start("e1550", tmp / "e1550", sim_busy=0.5))
        modems.update(gsm1=ec25, gsm2=e1550)
        # the installer's part, with the admin CLI, before the box runs
        from appliance.store import open_store

        open_store(data).close()
        for queue in ("sales", "support"):
            callbox(data, "queue", "add", queue, "--strategy", "ring-all", "--ring-timeout",
                    "20", "--retry-delay", "0", "--autopause-after", "0",
                    "--wrapup-seconds", "1", "--sticky-days", "0")
        callbox(data, "phone", "add", ANNA[0], "--password", ANNA[1])
        callbox(data, "operator", "add", "Anna", "--ext", ANNA[0], "--queue", "support:0")
        callbox(data, "setting", "set", "login_on_registration", "true")
        callbox(data, "setting", "set", "timezone", ZONE)
        callbox(data, "setting", "set", "record_calls", "true")
        assert await save_flow(data, journey(ALL_WEEK)) == 1
        for line, modem in modems.items():
            settings = modem.line_settings()
            callbox(data, "line", "add", "gsm", "--name", line, "--at", settings["at"],
                    "--audio", settings["audio"], "--model", modem.model, "--destination",
                    "flow:journey")
        await daemon.start()
        await wait_for(lambda: all(daemon.line_state(line) == "up" for line in modems), 30,
                       "both GSM lines up")
        anna = Baresip(baresip_bin, tmp / "anna", *ANNA, daemon.sip_port, tone_hz=None)
        await anna.start()
        await wait_for(lambda: daemon.query(
            "SELECT 1 FROM call_events WHERE event = 'LOGIN' AND operator = 'Anna'"),
            20, "Anna logged in by her phone registering")

        answered = await open_hours_menu_to_support(daemon, ec25)

        assert await save_flow(data, journey(closed_today())) == 2  # no restart
        number, message = await after_hours_voicemail(daemon, e1550)
        await caller_hangs_up_mid_message(daemon, ec25)
        await asyncio.to_thread(seen_in_the_browser, daemon.web_port, answered, number,
                                message)
    except BaseException:
        print(daemon.log.read_text()[-8000:] if daemon.log.exists() else "(no daemon log)")
        raise
    finally:
        if anna is not None:
            await anna.stop()
        await daemon.stop()
        for modem in modems.values():
            await modem.stop()


async def call_row(daemon: Daemon, number: str, condition: str, what: str) -> dict:
    return await wait_for(lambda: (r := daemon.query(
        f"SELECT * FROM calls WHERE caller_number = ? AND {condition}", (number,))) and r[0],
        30, what)


async def speaking(modem: SimModemProcess) -> bool:
    return (await loudness(modem)).level_dbfs > SPEECH_DBFS


async def open_hours_menu_to_support(daemon: Daemon, modem: SimModemProcess) -> str:
    number = "+79161110001"
    assert (await modem.command(f"call {number}")).startswith("ok")
    row = await call_row(daemon, number, "1", "the call on the record")
    await wait_for(lambda: speaking(modem), 20, "the menu spoken to the caller")
    # the flow is waiting on the caller: nobody queued or rang yet
    assert daemon.events(row["id"]) == []
    assert (await modem.command("dtmf 2")).startswith("ok")
    await call_row(daemon, number, "answered_at IS NOT NULL", "Anna answering")
    # the phone says back what it hears: the caller's own voice, for three whole seconds
    await wait_for(lambda: _louder(heard(modem, CALLER_TONE, 3), -25), 15,
                   "the caller's 1 kHz back from Anna's phone")
    assert (await modem.command("hangup")).startswith("ok")
    done = await call_row(daemon, number, "ended_at IS NOT NULL", "the call record completed")
    assert done["queue"] == "support" and done["operator"] == "Anna"
    assert done["line"] == "gsm1" and done["hangup_by"] == "caller"
    flow = json.loads(done["data"])["flow"]
    assert flow["flow"] == "journey" and flow["version"] == 1
    assert flow["path"] == ["hours", "menu", "support"]
    assert flow["choices"] == [{"node": "menu", "key": "2", "label": "Support"}]
    assert flow["exit"]["kind"] == "queue" and flow["exit"]["target"] == "support"
    await wait_for(lambda: daemon.events(row["id"])[-1:] == ["COMPLETECALLER"], 10,
                   "the queue log")
    assert daemon.events(row["id"]) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    queues = daemon.query("SELECT DISTINCT queue FROM call_events WHERE call_id = ?",
                          (row["id"],))
    assert queues == [{"queue": "support"}]
    await wait_for(lambda: _complete_wav(done["recording"]), 10, "the call recording closed")
    caller, phone = stereo_channels(Path(done["recording"]))
    assert len(phone) >= 2 * 16000  # the bridge lasted while the caller listened
    assert tone_share(caller[len(caller) // 4:], CALLER_TONE) > 0.8
    # what came back over the phone's RTP is the caller's voice: the phone heard it
    assert tone_share(phone[len(phone) // 4: len(phone) * 3 // 4], CALLER_TONE) > 0.5
    return row["id"]


def _complete_wav(path: str) -> bool:
    """The recording's header counts every byte written (the writer patched it at close;
    before that it says 0 frames, or the count at its last patch, every 5 s)."""
    try:
        with wave.open(path, "rb") as wav:
            frames, channels = wav.getnframes(), wav.getnchannels()
        return frames > 0 and 44 + frames * channels * 2 == Path(path).stat().st_size
    except (OSError, EOFError, wave.Error):
        return False


def stereo_channels(path: Path) -> tuple[bytes, bytes]:
    """(caller, operator) from the box's stereo call recording (left = caller)."""
    from appliance.media._audioop import audioop

    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        frames = wav.readframes(wav.getnframes())
    return audioop.tomono(frames, 2, 1, 0), audioop.tomono(frames, 2, 0, 1)


async def after_hours_voicemail(daemon: Daemon, modem: SimModemProcess) -> tuple[str, dict]:
    number = "+79162220002"
    assert (await modem.command(f"voice {MESSAGE_TONE}")).startswith("ok")
    assert (await modem.command(f"call {number}")).startswith("ok")
    row = await call_row(daemon, number, "1", "the after-hours call on the record")
    await wait_for(lambda: speaking(modem), 20, "the box asking for the customer number")
    for key in ACCOUNT + "#":
        assert (await modem.command(f"dtmf {key}")).startswith("ok")
    keys_at = await loudness(modem)
    # after the beep the box sends nothing while it records, so the last tenth of a
    # second the caller heard stays the beep until the message is over
    await wait_for(lambda: heard_pure(modem, BEEP_TONE, 0.1), 20, "the beep")
    beep = await loudness(modem)
    # between the keys and the beep the box spoke the intro (seconds of speech); the
    # collect prompt stopped at the first key
    assert beep.heard_seconds - keys_at.heard_seconds > 1.5
    # the caller speaks for two seconds of the call's own audio, then presses #
    await wait_for(lambda: _after(loudness(modem), beep.said_seconds + 2.0), 10,
                   "two seconds spoken")
    assert (await modem.command("dtmf #")).startswith("ok")
    message = await wait_for(lambda: (r := daemon.query(
        "SELECT * FROM voicemail WHERE call_id = ?", (row["id"],))) and r[0], 20,
        "the voicemail saved")
    done = await call_row(daemon, number, "ended_at IS NOT NULL", "the box hanging up")
    assert done["answered_at"] is None and done["operator"] in ("", None)
    assert done["hangup_by"] == "system"  # the box, after thanking the caller
    flow = json.loads(done["data"])["flow"]
    assert flow["version"] == 2 and flow["path"] == ["hours", "closed", "vm"]
    assert flow["exit"] == {"kind": "voicemail", "node": "vm", "target": "support"}
    assert flow["digits"] == {"account": ACCOUNT}

    assert message["queue"] == "support" and message["caller_number"] == number
    assert message["line"] == "gsm2" and not message["heard"]
    assert json.loads(message["digits"])["digits"] == {"account": ACCOUNT}
    assert 1.8 <= message["duration"] <= 4.0
    path = Path(message["path"])
    assert path.is_file() and path.is_relative_to(daemon.data / "voicemail")
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert abs(wav.getnframes() / 8000 - message["duration"]) < 0.05
    pcm = wav_pcm(path)
    assert tone_share(pcm[len(pcm) // 4: len(pcm) * 3 // 4], MESSAGE_TONE) > 0.8
    tasks = daemon.query("SELECT * FROM callbacks WHERE call_id = ?", (row["id"],))
    assert len(tasks) == 1
    assert tasks[0]["queue"] == "support" and tasks[0]["number"] == number
    assert tasks[0]["status"] == "waiting" and str(message["id"]) in tasks[0]["note"]
    return number, message


async def caller_hangs_up_mid_message(daemon: Daemon, modem: SimModemProcess) -> None:
    """No # at the end: the caller just hangs up, and what they said is kept all the same."""
    number = "+79163330003"
    assert (await modem.command(f"call {number}")).startswith("ok")
    row = await call_row(daemon, number, "1", "the third call on the record")
    await wait_for(lambda: speaking(modem), 20, "the box asking for the customer number")
    for key in "8080#":
        assert (await modem.command(f"dtmf {key}")).startswith("ok")
    await wait_for(lambda: heard_pure(modem, BEEP_TONE, 0.1), 20, "the beep")
    beep = await loudness(modem)
    await wait_for(lambda: _after(loudness(modem), beep.said_seconds + 1.5), 10,
                   "a second and a half spoken")
    assert (await modem.command("hangup")).startswith("ok")
    done = await call_row(daemon, number, "ended_at IS NOT NULL", "the call ended")
    assert done["hangup_by"] == "caller"
    message = await wait_for(lambda: (r := daemon.query(
        "SELECT * FROM voicemail WHERE call_id = ?", (row["id"],))) and r[0], 20,
        "the message kept after the hang-up")
    assert message["line"] == "gsm1" and 1.3 <= message["duration"] <= 3.0
    assert json.loads(message["digits"])["digits"] == {"account": "8080"}
    pcm = wav_pcm(Path(message["path"]))
    assert tone_share(pcm[len(pcm) // 4: len(pcm) * 3 // 4], CALLER_TONE) > 0.8
    tasks = daemon.query("SELECT queue, number FROM callbacks WHERE call_id = ?", (row["id"],))
    assert tasks == [{"queue": "support", "number": number}]


def seen_in_the_browser(port: int, answered: str, number: str, message: dict) -> None:
    """The supervisor's browser: Anna's card shows the first caller's choice and her list
    the voicemail's callback task; both call records show what the callers gave; the
    message is listed with the customer number, and plays."""
    url = f"http://127.0.0.1:{port}"
    with admin_page(port) as page:
        page.goto(f"{url}/panel?operator=Anna")
        assert page.inner_text("#caller-entered") == "Support: 2"
        callbacks = page.inner_text("#callbacks")
        assert number in callbacks and "support" in callbacks
        page.goto(f"{url}/calls/{answered}")
        assert page.inner_text("#caller-entered") == "Support: 2"
        page.goto(f"{url}/calls/{message['call_id']}")
        assert page.inner_text("#caller-entered") == f"Customer number: {ACCOUNT}"

        page.goto(f"{url}/admin/voicemail")
        row = page.locator(f"#vm-{message['id']}")
        assert number in row.inner_text()
        assert row.locator(".entered").inner_text().strip() == f"Customer number: {ACCOUNT}"
        audio = row.locator("audio")
        audio.evaluate("a => a.load()")  # preload=none: nothing is fetched until asked
        page.wait_for_function("a => a.duration > 0", arg=audio.element_handle(), timeout=10000)
        duration = audio.evaluate("a => a.duration")
        assert abs(duration - message["duration"]) < 0.1
        audio.evaluate("a => a.play()")
        page.wait_for_function("a => a.currentTime > 0.3", arg=audio.element_handle(),
                               timeout=10000)
        src = audio.evaluate("a => a.currentSrc")
        fetched = page.evaluate("""async url => {
            const r = await fetch(url);
            const bytes = new Uint8Array(await r.arrayBuffer());
            let s = ""; for (const b of bytes) s += String.fromCharCode(b);
            return {status: r.status, type: r.headers.get("content-type"), body: btoa(s)};
        }""", src)
    assert fetched["status"] == 200 and fetched["type"] == "audio/wav"
    body = base64.b64decode(fetched["body"])
    assert body == Path(message["path"]).read_bytes()
    with wave.open(io.BytesIO(body), "rb") as wav:
        assert abs(wav.getnframes() / wav.getframerate() - message["duration"]) < 0.05


async def _louder(level_coro, threshold: float) -> bool:
    return (await level_coro) > threshold


async def _after(loudness_coro, seconds: float) -> bool:
    return (await loudness_coro).said_seconds >= seconds
