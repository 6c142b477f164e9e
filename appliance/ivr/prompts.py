"""Prompts: typed text spoken by espeak-ng on the box, or uploaded WAV files.

Whatever comes in ends up as the one internal format, 8 kHz mono signed 16-bit WAV,
under ``DATA_DIR/prompts/<language>/<name>.wav``.  The TTS and sox run as child
processes and the Python conversion runs on a thread, so the event loop never waits
for them.  sox is preferred for resampling (it low-pass filters before decimating);
without it ``audioop.ratecv`` does, which is audibly fine for speech prompts.

Text prompts used directly in flows (``"text": ...``) are spoken once and cached by
the hash of their text and language (``speak``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
import warnings
import wave
from pathlib import Path
from typing import Any

from appliance.clock import Clock
from appliance.store import Store

from .flow import PromptRef
from .phrases import LANGUAGES

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # deprecated since 3.11 but shipped with it (Debian bookworm's Python)

log = logging.getLogger(__name__)

RATE = 8000
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
VOICES = {"en": "en-us", "ru": "ru"}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 600
TTS_TIMEOUT = 60.0
MAX_TEXT = 2000


class PromptError(ValueError):
    """A prompt cannot be made from this input; the message says why, for the user."""


def check_name(name: str, language: str) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PromptError("a prompt name uses a-z, 0-9, '-' and '_' (up to 64 characters)")
    if language not in LANGUAGES:
        raise PromptError(f"language must be one of: {', '.join(LANGUAGES)}")


def convert_wav(data: bytes) -> bytes:
    """Any PCM WAV (8/16/24/32-bit, mono or stereo, any rate) -> 8 kHz mono 16-bit WAV."""
    try:
        with wave.open(io.BytesIO(data)) as src:
            channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
            frames = src.getnframes()
            if not (1 <= channels <= 2 and width in (1, 2, 3, 4) and 1000 <= rate <= 192000):
                raise PromptError("unsupported WAV layout")
            if frames / rate > MAX_SECONDS:
                raise PromptError(f"the recording is longer than {MAX_SECONDS // 60} minutes")
            pcm = src.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise PromptError(f"not a PCM WAV file ({exc})") from None
    if width == 1:
        pcm = audioop.bias(pcm, 1, -128)  # WAV stores 8-bit samples unsigned
    pcm = audioop.lin2lin(pcm, width, 2)
    if channels == 2:
        pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
    if rate != RATE:
        pcm, _state = audioop.ratecv(pcm, 2, 1, rate, RATE, None)
    return wav_bytes(pcm)


def wav_bytes(pcm: bytes, rate: int = RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(rate)
        dst.writeframes(pcm)
    return out.getvalue()


def read_pcm(path: Path) -> bytes:
    """The samples of one of our prompt files (8 kHz mono 16-bit), for players and tests."""
    with wave.open(str(path)) as src:
        if (src.getnchannels(), src.getsampwidth(), src.getframerate()) != (1, 2, RATE):
            raise PromptError(f"{path.name} is not 8 kHz mono 16-bit")
        return src.readframes(src.getnframes())


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def _run(*argv: str, stdin: bytes = b"") -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        _out, err = await asyncio.wait_for(proc.communicate(stdin), TTS_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PromptError(f"{Path(argv[0]).name} took longer than {TTS_TIMEOUT:.0f} s") from None
    except asyncio.CancelledError:
        # the daemon is stopping (or the caller left) mid-synthesis: no orphan espeak-ng,
        # and the process is reaped while the loop still runs
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip()[:200]
        raise PromptError(f"{Path(argv[0]).name} failed: {message or proc.returncode}")


class PromptLibrary:
    def __init__(self, store: Store, data_dir: Path | str, *, clock: Clock | None = None,
                 espeak: str | None = None, sox: str | None = "auto") -> None:
        self.store = store
        self.root = Path(data_dir) / "prompts"
        self.clock = clock
        self.espeak = espeak or shutil.which("espeak-ng") or "espeak-ng"
        self.sox = shutil.which("sox") if sox == "auto" else sox
        self._in_flight: dict[Path, asyncio.Future] = {}

    def _now(self) -> float:
        return self.clock.time() if self.clock else time.time()

    def file_for(self, name: str, language: str) -> Path:
        return self.root / language / f"{name}.wav"

    async def synthesize(self, text: str, language: str, out: Path) -> None:
        """Speak ``text`` into ``out`` as 8 kHz mono 16-bit WAV.  Callers asking for the
        same file at once share one synthesis."""
        text = " ".join(str(text).split())
        if not text:
            raise PromptError("there is no text to speak")
        if len(text) > MAX_TEXT:
            raise PromptError(f"the text is longer than {MAX_TEXT} characters")
        if language not in VOICES:
            raise PromptError(f"language must be one of: {', '.join(VOICES)}")
        pending = self._in_flight.get(out)
        if pending is None:
            pending = asyncio.ensure_future(self._synthesize(text, language, out))
            self._in_flight[out] = pending
            pending.add_done_callback(lambda _f: self._in_flight.pop(out, None))
        await asyncio.shield(pending)

    async def _synthesize(self, text: str, language: str, out: Path) -> None:
        await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
        tmp = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=out.parent))
        try:
            raw, converted = tmp / "tts.wav", tmp / "8k.wav"
            # text on stdin: a text starting with '-' must not become an option
            await _run(self.espeak, "-v", VOICES[language], "-b", "1", "-w", str(raw),
                       "--stdin", stdin=text.encode())
            await self._convert_file(raw, converted)
            await asyncio.to_thread(os.replace, converted, out)
        finally:
            await asyncio.to_thread(shutil.rmtree, tmp, True)

    async def _convert_file(self, src: Path, out: Path) -> None:
        if self.sox:
            await _run(self.sox, "-q", str(src), "-r", str(RATE), "-c", "1", "-b", "16",
                       "-e", "signed-integer", str(out))
            return
        data = await asyncio.to_thread(src.read_bytes)
        converted = await asyncio.to_thread(convert_wav, data)
        await asyncio.to_thread(write_atomically, out, converted)

    async def generate(self, name: str, language: str, text: str) -> dict[str, Any]:
        """Type the text, get a voice: store prompt ``name`` spoken by the TTS."""
        check_name(name, language)
        path = self.file_for(name, language)
        await self.synthesize(text, language, path)
        return await self._record(name, language, " ".join(str(text).split()), path, "tts")

    async def upload(self, name: str, language: str, data: bytes) -> dict[str, Any]:
        check_name(name, language)
        if len(data) > MAX_UPLOAD_BYTES:
            raise PromptError(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
        converted = await asyncio.to_thread(convert_wav, data)
        path = self.file_for(name, language)
        await asyncio.to_thread(write_atomically, path, converted)
        return await self._record(name, language, "", path, "upload")

    async def _record(self, name: str, language: str, text: str, path: Path,
                      source: str) -> dict[str, Any]:
        row = {"name": name, "language": language, "text": text, "path": str(path),
               "source": source, "created_at": self._now()}

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO prompts(name, language, text, path, source, created_at) "
                "VALUES (:name, :language, :text, :path, :source, :created_at) "
                "ON CONFLICT(name, language) DO UPDATE SET text = excluded.text, "
                "path = excluded.path, source = excluded.source, "
                "created_at = excluded.created_at", row)

        await self.store.writer.awrite(op)
        return row

    async def delete(self, name: str, language: str) -> None:
        await self.store.writer.awrite(lambda conn: conn.execute(
            "DELETE FROM prompts WHERE name = ? AND language = ?", (name, language)))
        await asyncio.to_thread(self.file_for(name, language).unlink, True)

    async def speak(self, text: str, language: str) -> Path:
        """The cached TTS file for a flow's inline text, made on first use."""
        key = hashlib.sha1(f"{language}\n{text}".encode()).hexdigest()[:20]
        path = self.root / "tts-cache" / f"{key}.wav"
        if not path.exists():
            await self.synthesize(text, language, path)
        return path

    def list(self) -> list[dict[str, Any]]:
        return self.store.query("SELECT * FROM prompts ORDER BY name, language")

    def names(self) -> set[str]:
        return {r["name"] for r in self.store.query("SELECT DISTINCT name FROM prompts")}

    def path(self, name: str, language: str) -> Path | None:
        """The stored file for ``name``: in ``language``, else in any other language."""
        rows = self.store.query(
            "SELECT path FROM prompts WHERE name = ? ORDER BY language = ? DESC", (name, language))
        return Path(rows[0]["path"]) if rows else None

    async def resolve(self, prompt: PromptRef) -> Path | None:
        """What the switchboard's player opens for a run's ``play()``."""
        if prompt.name:
            return self.path(prompt.name, prompt.language)
        if prompt.text:
            return await self.speak(prompt.text, prompt.language)
        return None
