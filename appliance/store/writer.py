"""The one writer: every database write goes through here, off the event loop.

A thread owns the only writing connection.  It takes whatever writes are queued,
runs them in one transaction (each inside its own SAVEPOINT, so one bad write fails
alone), commits once, and only then resolves the writes' futures: group commit.
With ``synchronous=FULL`` in WAL mode the commit's fsync of the WAL is what makes a
resolved write survive a power cut, and one fsync is shared by the whole batch, so
the cost per write falls as load rises.  The event loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

WriteOp = Callable[[sqlite3.Connection], Any]

_STOP = object()
MAX_BATCH = 500


class WriterClosed(Exception):
    """A write after ``close()``: the daemon is stopping."""


class Writer:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._closed = False
        self.batches = 0
        self.writes = 0
        self._thread.start()

    # -- API ----------------------------------------------------------------------------
    def submit(self, op: WriteOp) -> concurrent.futures.Future:
        """Queue ``op(conn)``; the future resolves with its result once committed."""
        if self._closed:
            raise WriterClosed("the store is closed")
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((op, future))
        return future

    def execute(self, sql: str, params: Any = ()) -> concurrent.futures.Future:
        return self.submit(lambda conn: conn.execute(sql, params).lastrowid)

    async def awrite(self, op: WriteOp) -> Any:
        return await asyncio.wrap_future(self.submit(op))

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued so far is committed (for shutdown and tests)."""
        self.submit(lambda conn: None).result(timeout)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        conn = self._connect()
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                stop_after = False
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop_after = True
                        break
                    batch.append(item)
                self._commit(conn, batch)
                if stop_after:
                    return
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list) -> None:
        results: list[tuple[concurrent.futures.Future, bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, future in batch:
                conn.execute("SAVEPOINT op")
                try:
                    value = op(conn)
                    conn.execute("RELEASE op")
                    results.append((future, True, value))
                except Exception as exc:  # this write alone is undone
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((future, False, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # disk full, I/O error: nothing of the batch is durable
            log.exception("store commit failed; %d writes lost", len(batch))
            # a failed COMMIT may already have ended the transaction
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            for _op, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.writes += len(batch)
        for future, ok, value in results:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
