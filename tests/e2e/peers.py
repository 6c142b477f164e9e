"""Real processes for the end-to-end tests: the daemon (``callbox run``), a simulated
modem on ptys (``drivers.sim.gsm``), baresip as an operator's phone, and headless
Chromium signed in to the daemon's web page."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from drivers.sim.process import SimModemProcess

ROOT = Path(__file__).resolve().parents[2]


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_pair() -> int:
    """A port free for UDP and TCP with the next one free too (baresip's TLS takes it)."""
    while True:
        port = free_port()
        try:
            for p in (port, port + 1):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue


def tone_wav(path: Path, freq: float, seconds: float, amplitude: int = 8000) -> None:
    n = int(8000 * seconds)
    pcm = struct.pack(f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * freq * i / 8000))
                                  for i in range(n)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)


def callbox(data: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "appliance.cli", "--data", str(data), *args],
                            capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    if result.returncode != 0:
        raise AssertionError(f"callbox {' '.join(args)}: {result.stderr}")
    return result.stdout


async def wait_for(condition, timeout: float, what: str, step: float = 0.1) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(step)


class Daemon:
    """``callbox run`` as its own process."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.web_port = free_port(socket.SOCK_STREAM)
        self.sip_port = free_port()
        self.log = data / "daemon.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "appliance.cli", "run", "--data", str(self.data),
            "--web", f"127.0.0.1:{self.web_port}", "--sip", f"127.0.0.1:{self.sip_port}",
            "--log-level", "info", cwd=ROOT, env=env, stdout=self._log_file,
            stderr=self._log_file)
        await wait_for(self._web_up, 30, "the daemon's web page")

    async def _web_up(self) -> bool:
        if self.process.returncode is not None:
            raise AssertionError("daemon died:\n" + self.log.read_text()[-3000:])
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", self.web_port)
        except OSError:
            return False
        w.close()
        return True

    def query(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        conn = sqlite3.connect(f"file:{self.data / 'callbox.db'}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def events(self, call_id: str) -> list[str]:
        return [r["event"] for r in self.query(
            "SELECT event FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))]

    def line_state(self, name: str) -> str:
        rows = self.query("SELECT value FROM settings WHERE key = 'line_status'")
        return json.loads(rows[0]["value"]).get(name, {}).get("state", "") if rows else ""

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._log_file.close()


class Baresip:
    """baresip registered as an operator's phone (recipe: shared/notes/test-peers.md)."""

    def __init__(self, binary: str, workdir: Path, extension: str, password: str,
                 registrar_port: int, tone_hz: float | None, answer: bool = True) -> None:
        """``tone_hz`` is what the phone says; None makes it say back what it hears (its
        player bridged to its source), which also paces its recording of what it heard:
        with a tone source and no player nothing consumes the received audio, and
        baresip records only the first fraction of a second of it."""
        self.binary = binary
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        port = free_pair()
        if tone_hz is not None:
            tone_wav(self.dir / "send.wav", tone_hz, 300)
        source = f"aufile,{self.dir}/send.wav" if tone_hz is not None else "aubridge,x"
        tone_wav(self.dir / "alert.wav", 440, 0.2)
        (self.dir / "config").write_text(f"""poll_method epoll
sip_listen 127.0.0.1:{port}
audio_source {source}
audio_player aubridge,x
audio_alert aufile,{self.dir}/alert.wav
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
snd_path {self.dir}
module account.so
""")
        mode = "auto" if answer else "manual"
        (self.dir / "accounts").write_text(
            f'<sip:{extension}@127.0.0.1>;auth_pass={password};'
            f'outbound="sip:127.0.0.1:{registrar_port}";regint=600;'
            f"answermode={mode};audio_codecs=PCMU\n")
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            self.binary, "-n", "127.0.0.1", "-f", str(self.dir),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    def received_recordings(self) -> list[Path]:
        """What baresip heard, one WAV per call (its sndfile module)."""
        return sorted(self.dir.glob("dump-*-dec.wav"))

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def wav_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


def tone_share(pcm: bytes, freq: float) -> float:
    """How much of the PCM's power is the tone at ``freq`` (0..1)."""
    from appliance.media.goertzel import tone_fraction

    return tone_fraction(pcm, (freq,))


async def heard(modem: SimModemProcess, freq: float, seconds: float = 3) -> float:
    """The level of ``freq`` over the last seconds the GSM caller heard (the tone must
    fill the whole window to be loud, so this also proves the bridge lasted).  Until the
    caller has heard that long in all there is no full window: -200."""
    reply = json.loads((await modem.command(f"heard {freq} {seconds}"))[3:])
    if reply["level_dbfs"] is None or reply["heard_seconds"] < seconds:
        return -200.0
    return reply["level_dbfs"]


async def heard_pure(modem: SimModemProcess, freq: float, seconds: float) -> bool:
    """Whether the last ``seconds`` the GSM caller heard were a clear tone at ``freq`` (a
    beep): loud, and nearly all of the power, so speech with energy there does not count."""
    reply = json.loads((await modem.command(f"heard {freq} {seconds}"))[3:])
    return (reply["level_dbfs"] or -200.0) > -30 and (reply["share"] or 0.0) > 0.8


@dataclass(frozen=True)
class Loudness:
    level_dbfs: float  # RMS of the last window the GSM caller heard (-200: nothing yet)
    heard_seconds: float  # how long the box has sent audio to the caller in this call
    said_seconds: float  # how long the caller has talked: the call's own audio clock


async def loudness(modem: SimModemProcess, seconds: float = 0.5) -> Loudness:
    """What the GSM caller hears, overall: speech has no one frequency, so the level is
    how a test knows a prompt is playing; the seconds pace a test by the call's audio."""
    reply = json.loads((await modem.command(f"loudness {seconds}"))[3:])
    level = reply["level_dbfs"] if reply["level_dbfs"] is not None else -200.0
    return Loudness(level, reply["heard_seconds"], reply["said_seconds"])


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--autoplay-policy=no-user-gesture-required"]
ADMIN = ("admin", "e2e-admin-password")


@contextmanager
def admin_page(port: int) -> Iterator[Page]:
    """Headless Chromium on the daemon's web page, signed in as the admin: the first
    visit to a fresh box sets the admin password (first-run setup), later ones log in."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            if page.url.endswith("/setup"):
                page.fill("#username", ADMIN[0])
                page.fill("#password", ADMIN[1])
                page.fill("#password2", ADMIN[1])
                page.click("#setup-form button[type=submit]")
                page.wait_for_load_state()
                page.goto(f"http://127.0.0.1:{port}/")
            if "/login" in page.url:
                page.fill("#username", ADMIN[0])
                page.fill("#password", ADMIN[1])
                page.click("button[type=submit]")
                page.wait_for_load_state()
            assert "/login" not in page.url and "/setup" not in page.url, page.url
            yield page
        finally:
            browser.close()
