"""SQLite is the record and the settings (DESIGN.md principle 5).

One file, WAL mode.  Reads use :attr:`Store.db` (a sqlite-utils ``Database``) on the
calling thread: they are short and WAL readers never wait for the writer.  Long reads
(reports, exports) go through :meth:`Store.read` on a reader thread.  Writes go only
through :attr:`Store.writer` (see ``writer.py``).

Durability choice: ``journal_mode=WAL`` with ``synchronous=FULL``.  In WAL mode
``NORMAL`` survives a process crash but may lose the last commits on power loss;
``FULL`` fsyncs the WAL at every commit, and group commit in the writer makes that one
fsync per batch, not per call.  Checkpoints stay automatic (every 1000 pages) and run
on the writer thread, so the event loop never waits for them; ``journal_size_limit``
keeps the WAL file from growing without bound on the SD card.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .schema import SchemaTooNew, current_version, latest_version, migrate
from .writer import Writer

__all__ = ["Store", "StoreError", "SchemaTooNew", "open_store"]

BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """The database cannot be used: missing directory, locked, not a database."""


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA synchronous = FULL")
    return conn


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn = connect(self.path)
        self._db = None
        self._reader_lock = threading.Lock()
        self.writer = Writer(lambda: connect(self.path))

    @property
    def conn(self) -> sqlite3.Connection:
        """The loop's read connection (short reads only)."""
        return self._conn

    @property
    def db(self):
        """A sqlite-utils ``Database`` on the read connection, for ad-hoc reads and
        tools.  Made on first use: the daemon itself never needs it, and leaving
        sqlite-utils unloaded keeps about 8 MB off every idle box."""
        if self._db is None:
            from ._sqlite_utils import sqlite_utils

            self._db = sqlite_utils.Database(self._conn)
        return self._db

    # -- settings --------------------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._conn.execute("SELECT key, value FROM settings")}

    def set_setting(self, key: str, value: Any):
        """Returns the writer's future (resolved when durable)."""
        payload = json.dumps(value, ensure_ascii=False)
        return self.writer.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, payload),
        )

    # -- reads off the loop ----------------------------------------------------------------
    async def read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run a long read (report, export page) on a thread with its own connection."""

        def work() -> Any:
            conn = connect(self.path, readonly=True)
            try:
                return fn(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(work)

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cur = self._conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        self.writer.close()
        self._conn.close()


def open_store(data_dir: Path | str, *, create: bool = True) -> Store:
    """Open (and migrate) ``DATA_DIR/callbox.db``.  Raises :class:`StoreError` in words."""
    data_dir = Path(data_dir)
    path = data_dir / "callbox.db"
    if not data_dir.is_dir():
        if not create:
            raise StoreError(f"data directory {data_dir} does not exist")
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create data directory {data_dir}: {exc.strerror}") from exc
    if not create and not path.exists():
        raise StoreError(f"no database at {path} (run 'callbox run' once, or check --data)")
    try:
        conn = connect(path)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{path}: cannot switch to WAL mode (got {mode})")
            conn.execute("PRAGMA journal_size_limit = 16777216")
            if current_version(conn) != latest_version():
                migrate(conn)  # refuses a schema newer than this code
        finally:
            conn.close()
        return Store(path)
    except SchemaTooNew as exc:
        raise StoreError(str(exc)) from exc
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreError(f"{path} is locked by another process") from exc
        raise StoreError(f"{path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a callbox database: {exc}") from exc
