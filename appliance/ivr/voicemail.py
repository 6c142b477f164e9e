"""Voicemail: each message is kept, and becomes a callback task for its queue.

A caller who left a message wants to be called back, so the message row and a
``callbacks`` row (status ``waiting``) are written in one transaction: there is never a
message nobody is asked to return, nor a task without its message.  A withheld number
gets no task (there is nobody to dial); the message is still kept.  E-mail and webhook
notifications go out afterwards in the background; their failure is logged and
loses nothing, because the message is already on the record.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from appliance.clock import Clock
from appliance.store import Store
from drivers.base import FRAME_BYTES, FRAME_MS

from .prompts import wav_bytes, write_atomically

log = logging.getLogger(__name__)


@dataclass
class VoicemailMessage:
    call_id: str
    line: str
    queue: str
    caller_number: str
    path: str
    duration: float
    digits: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    id: int = 0
    callback_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Notify = Callable[[VoicemailMessage], Awaitable[Any]]
CallbackHook = Callable[[VoicemailMessage], None]


class VoicemailBox:
    def __init__(self, store: Store, data_dir: Path | str, *, clock: Clock | None = None,
                 notify: Notify | None = None, on_callback: CallbackHook | None = None) -> None:
        self.store = store
        self.root = Path(data_dir) / "voicemail"
        self.clock = clock
        self.notify = notify
        self.on_callback = on_callback  # tells a running ACD about the new task
        self._tasks: set[asyncio.Task] = set()

    def _now(self) -> float:
        return self.clock.time() if self.clock else time.time()

    def path_for(self, call_id: str) -> Path:
        """Where the switchboard records this call's message (a month per folder)."""
        month = dt.datetime.fromtimestamp(self._now(), dt.UTC).strftime("%Y-%m")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", call_id)[:80] or uuid.uuid4().hex
        return self.root / month / f"{safe}.wav"

    async def deposit(self, *, call_id: str, line: str, queue: str, caller_number: str,
                      path: Path | str, duration: float,
                      digits: dict[str, Any] | None = None) -> VoicemailMessage:
        """Record a message left by a caller (``digits``: the run's ``summary()``)."""
        message = VoicemailMessage(call_id=call_id, line=line, queue=queue,
                                   caller_number=caller_number, path=str(path),
                                   duration=round(float(duration), 2), digits=digits or {},
                                   created_at=self._now())

        def op(conn: sqlite3.Connection) -> tuple[int, int | None]:
            cur = conn.execute(
                "INSERT INTO voicemail(call_id, line, queue, caller_number, digits, path, "
                "duration, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (message.call_id, message.line, message.queue, message.caller_number,
                 json.dumps(message.digits, ensure_ascii=False), message.path,
                 message.duration, message.created_at))
            voicemail_id = cur.lastrowid
            callback_id = None
            if message.caller_number:
                callback_id = conn.execute(
                    "INSERT INTO callbacks(call_id, queue, number, requested_at, note) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (message.call_id, message.queue, message.caller_number, message.created_at,
                     f"voicemail #{voicemail_id}")).lastrowid
            return voicemail_id, callback_id

        message.id, message.callback_id = await self.store.writer.awrite(op)
        log.info("call %s: voicemail #%d for queue %s (%.1f s)", call_id, message.id, queue,
                 message.duration)
        if message.callback_id is not None and self.on_callback is not None:
            self.on_callback(message)
        if self.notify is not None:
            task = asyncio.create_task(self._notify(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return message

    async def _notify(self, message: VoicemailMessage) -> None:
        try:
            await self.notify(message)
        except Exception:  # a mail server being down must not touch the call or the record
            log.exception("voicemail #%d: notification failed", message.id)

    async def drain(self) -> None:
        """Wait for notifications in flight (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def list(self, *, queue: str | None = None, heard: bool | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
        where, params = [], []
        if queue is not None:
            where.append("queue = ?")
            params.append(queue)
        if heard is not None:
            where.append("heard = ?")
            params.append(int(heard))
        sql = "SELECT * FROM voicemail" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.store.query(sql + " ORDER BY created_at DESC, id DESC LIMIT ?",
                                (*params, limit))
        for row in rows:
            row["digits"] = json.loads(row["digits"] or "{}")
        return rows

    def audio_path(self, voicemail_id: int) -> Path | None:
        """The message's WAV file, or None when there is none, it is gone, or the row points
        outside ``voicemail/`` (a row is data: never serve a file just because it says so)."""
        rows = self.store.query("SELECT path FROM voicemail WHERE id = ?", (voicemail_id,))
        if not rows or not rows[0]["path"]:
            return None
        root = self.root.resolve()
        path = Path(rows[0]["path"])
        path = (path if path.is_absolute() else root / path).resolve()
        if not path.is_relative_to(root) or path.suffix.lower() != ".wav" or not path.is_file():
            return None
        return path

    async def mark_heard(self, voicemail_id: int, heard: bool = True) -> bool:
        def op(conn: sqlite3.Connection) -> int:
            return conn.execute("UPDATE voicemail SET heard = ? WHERE id = ?",
                                (int(heard), voicemail_id)).rowcount

        return bool(await self.store.writer.awrite(op))


class MessageRecorder:
    """A message's frames in memory (two minutes is under 2 MB), written once, off the loop.

    Keeping it in memory means a slow SD card never stalls the frame path, and a
    caller who hangs up mid-message still leaves everything said up to then."""

    def __init__(self, max_seconds: float) -> None:
        self.max_frames = int(max_seconds * 1000 / FRAME_MS)
        self._frames: list[bytes] = []

    def add(self, frame: bytes) -> bool:
        """Keep one 20 ms frame; False once the message is full (stop recording then)."""
        if len(self._frames) >= self.max_frames:
            return False
        self._frames.append(frame if len(frame) == FRAME_BYTES else
                            frame[:FRAME_BYTES].ljust(FRAME_BYTES, b"\0"))
        return len(self._frames) < self.max_frames

    @property
    def duration(self) -> float:
        return len(self._frames) * FRAME_MS / 1000

    async def save(self, path: Path) -> float:
        data = wav_bytes(b"".join(self._frames))
        await asyncio.to_thread(write_atomically, path, data)
        return self.duration
