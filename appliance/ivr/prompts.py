"""Prompts: typed text spoken by espeak-ng on the box, or uploaded WAV/MP3 recordings.

Whatever comes in ends up as the one internal format, 8 kHz mono signed 16-bit WAV,
under ``DATA_DIR/prompts/<language>/<name>.wav`` (``audioin`` decodes uploads).  The TTS
and sox run as child processes and the Python conversion runs on a thread, so the event
loop never waits for them.  sox is preferred for resampling (it low-pass filters before
decimating); without it ``audioop.ratecv`` does, which is audibly fine for speech prompts.
Every prompt keeps its text: what the TTS spoke, or what the installer says a recording
says.

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

from .audioin import MAX_SECONDS, MAX_UPLOAD_BYTES, PromptError, decode_upload, run_tool
from .flow import PromptRef
from .phrases import LANGUAGES

__all__ = ["MAX_SECONDS", "MAX_UPLOAD_BYTES", "PromptError", "PromptLibrary", "check_name",
           "convert_wav", "read_pcm", "wav_bytes", "write_atomically"]

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # deprecated since 3.11 but shipped with it (Debian bookworm's Python)

log = logging.getLogger(__name__)

RATE = 8000
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
VOICES = {"en": "en-us", "ru": "ru"}
MAX_TEXT = 2000


def check_name(name: str, language: str) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PromptError("bad_name")
    if language not in LANGUAGES:
        raise PromptError("bad_language", languages=", ".join(LANGUAGES))


def clean_text(text: str) -> str:
    """What a prompt says, on one line (the TTS reads it so, the page shows it so)."""
    text = " ".join(str(text).split())
    if len(text) > MAX_TEXT:
        raise PromptError("text_too_long", limit=MAX_TEXT)
    return text


def convert_wav(data: bytes) -> bytes:
    """Any PCM WAV (8/16/24/32-bit, mono or stereo, any rate) -> 8 kHz mono 16-bit WAV."""
    try:
        with wave.open(io.BytesIO(data)) as src:
            channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
            frames = src.getnframes()
            if not (1 <= channels <= 2 and width in (1, 2, 3, 4) and 1000 <= rate <= 192000):
                raise PromptError("bad_wav", reason="unsupported WAV layout")
            if frames / rate > MAX_SECONDS:
                raise PromptError("too_long", minutes=MAX_SECONDS // 60)
            pcm = src.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise PromptError("bad_wav", reason=str(exc)) from None
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
            raise PromptError("bad_wav", reason=f"{path.name} is not 8 kHz mono 16-bit")
        return src.readframes(src.getnframes())


def wav_seconds(path: Path) -> float | None:
    """The length of a WAV file from its header; None if it is missing or not a WAV."""
    try:
        with wave.open(str(path)) as src:
            return src.getnframes() / src.getframerate()
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
        return None


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


class PromptLibrary:
    def __init__(self, store: Store, data_dir: Path | str, *, clock: Clock | None = None,
                 espeak: str | None = None, sox: str | None = "auto") -> None:
        self.store = store
        self.root = Path(data_dir) / "prompts"
        self.clock = clock
        self.espeak = espeak or shutil.which("espeak-ng") or "espeak-ng"
        self.sox = shutil.which("sox") if sox == "auto" else sox
        self._in_flight: dict[tuple[Path, str, str], asyncio.Future] = {}

    def _now(self) -> float:
        return self.clock.time() if self.clock else time.time()

    def file_for(self, name: str, language: str) -> Path:
        return self.root / language / f"{name}.wav"

    async def synthesize(self, text: str, language: str, out: Path) -> None:
        """Speak ``text`` into ``out`` as 8 kHz mono 16-bit WAV.  Callers asking for the
        same file at once share one synthesis."""
        text = clean_text(text)
        if not text:
            raise PromptError("no_text")
        if language not in VOICES:
            raise PromptError("bad_language", languages=", ".join(VOICES))
        # shared only when it is the same words: a prompt typed again differently while
        # the first version is still being spoken must get its own synthesis
        key = (out, language, text)
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._synthesize(text, language, out))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda _f: self._in_flight.pop(key, None))
        await asyncio.shield(pending)

    async def _synthesize(self, text: str, language: str, out: Path) -> None:
        await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
        tmp = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=out.parent))
        try:
            raw, converted = tmp / "tts.wav", tmp / "8k.wav"
            # text on stdin: a text starting with '-' must not become an option
            await run_tool(self.espeak, "-v", VOICES[language], "-b", "1", "-w", str(raw),
                       "--stdin", stdin=text.encode())
            await self._convert_file(raw, converted)
            await asyncio.to_thread(os.replace, converted, out)
        finally:
            await asyncio.to_thread(shutil.rmtree, tmp, True)

    async def _convert_file(self, src: Path, out: Path) -> None:
        if self.sox:
            await run_tool(self.sox, "-q", str(src), "-r", str(RATE), "-c", "1", "-b", "16",
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
        return await self._record(name, language, clean_text(text), path, "tts")

    async def upload(self, name: str, language: str, data: bytes,
                     text: str = "") -> dict[str, Any]:
        """Store a recording (WAV or MP3, see ``audioin``) as prompt ``name``; ``text`` is
        what it says.  A file that cannot be used changes nothing."""
        check_name(name, language)
        text = clean_text(text)
        pcm = await decode_upload(data, self.sox)
        path = self.file_for(name, language)
        await asyncio.to_thread(write_atomically, path, wav_bytes(pcm))
        return await self._record(name, language, text, path, "upload")

    async def set_text(self, name: str, language: str, text: str) -> bool:
        """Change what a stored prompt says it says (the sound stays); False if none."""
        check_name(name, language)
        text = clean_text(text)
        return bool(await self.store.writer.awrite(lambda conn: conn.execute(
            "UPDATE prompts SET text = ? WHERE name = ? AND language = ?",
            (text, name, language)).rowcount))

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

    def get(self, name: str, language: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM prompts WHERE name = ? AND language = ?",
                                (name, language))
        return rows[0] if rows else None

    def audio_file(self, name: str, language: str) -> Path | None:
        """The prompt's WAV for a browser: only a stored prompt's own file inside
        ``prompts/<language>/`` (the name and language are checked, the path is never
        taken from a row or a URL), and only if it is there."""
        try:
            check_name(name, language)
        except PromptError:
            return None
        if self.get(name, language) is None:
            return None
        root = self.root.resolve()
        path = self.file_for(name, language).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path

    async def details(self) -> list[dict[str, Any]]:
        """``list()`` with each file's length in seconds (None if it is missing or
        unreadable); the headers are read on a thread."""
        rows = self.list()
        paths = [self.file_for(r["name"], r["language"]) for r in rows]
        seconds = await asyncio.to_thread(lambda: [wav_seconds(p) for p in paths])
        return [{**row, "duration": s} for row, s in zip(rows, seconds, strict=True)]

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
