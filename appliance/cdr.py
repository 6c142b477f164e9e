"""Writing the record: call detail rows, the queue log and operator sessions.

Everything goes through the store's single writer and never waits on the loop.  The
futures are kept until resolved so a failed write is logged with its call id, and
``flush()`` lets shutdown and tests wait until everything is durable.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from typing import Any

from .acd.api import QueueEvent
from .calls import Call
from .clock import Clock
from .store import Store

log = logging.getLogger(__name__)

_CALL_COLUMNS = (
    "id, linked_id, direction, line, caller_number, caller_name, dialled, queue, operator, "
    "started_at, queued_at, answered_at, ended_at, wait_seconds, talk_seconds, hold_seconds, "
    "wrapup_seconds, disposition, hangup_cause, hangup_by, recording, note, data"
)
_CALL_UPSERT = (
    f"INSERT INTO calls ({_CALL_COLUMNS}) VALUES ("
    + ", ".join(":" + c.strip() for c in _CALL_COLUMNS.split(","))
    + ") ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in _CALL_COLUMNS.split(",")[1:])
)


class Recorder:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.failures = 0

    def _submit(self, op, what: str) -> Future:
        future = self.store.writer.submit(op)
        future.add_done_callback(lambda f: self._check(f, what))
        return future

    def _check(self, future: Future, what: str) -> None:
        if future.exception() is not None:
            self.failures += 1
            log.error("store write failed (%s): %s", what, future.exception())

    def save_call(self, call: Call) -> Future:
        """Insert or update the call's record (at start, at answer, at end)."""
        row = call.record()
        return self._submit(lambda c: c.execute(_CALL_UPSERT, row), f"call {call.id}")

    def update_call(self, call_id: str, **fields: Any) -> Future:
        allowed = {"disposition", "note", "wrapup_seconds", "recording", "data"}
        fields = {k: v for k, v in fields.items() if k in allowed}
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        params = {**fields, "id": call_id}
        return self._submit(
            lambda c: c.execute(f"UPDATE calls SET {sets} WHERE id = :id", params).rowcount,
            f"call {call_id}",
        )

    def queue_event(self, event: QueueEvent | str, *, call_id: str = "", queue: str = "",
                    operator: str = "", reason: str = "", **data: Any) -> Future:
        row = (self.clock.time(), call_id, queue, operator, str(getattr(event, "value", event)),
               reason, json.dumps(data, ensure_ascii=False, default=str))
        return self._submit(
            lambda c: c.execute(
                "INSERT INTO call_events(ts, call_id, queue, operator, event, reason, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", row),
            f"event {row[4]} {call_id}",
        )

    def session_login(self, operator: str, reason: str = "") -> Future:
        now = self.clock.time()
        return self._submit(
            lambda c: c.execute(
                "INSERT INTO operator_sessions(operator, login_at, reason) VALUES (?, ?, ?)",
                (operator, now, reason)),
            f"login {operator}",
        )

    def session_logout(self, operator: str, reason: str = "") -> Future:
        now = self.clock.time()
        return self._submit(
            lambda c: c.execute(
                "UPDATE operator_sessions SET logout_at = ?, reason = ? WHERE id = ("
                "SELECT id FROM operator_sessions WHERE operator = ? AND logout_at IS NULL "
                "ORDER BY login_at DESC LIMIT 1)", (now, reason, operator)),
            f"logout {operator}",
        )

    def callback_request(self, call: Call) -> Future:
        row = (call.id, call.queue, call.caller_number, self.clock.time())
        return self._submit(
            lambda c: c.execute(
                "INSERT INTO callbacks(call_id, queue, number, requested_at) VALUES (?, ?, ?, ?)",
                row).lastrowid,
            f"callback {call.id}",
        )

    def callback_status(self, call_id: str, status: str, operator: str = "") -> Future:
        return self._submit(
            lambda c: c.execute(
                "UPDATE callbacks SET status = ?, operator = CASE WHEN ? != '' THEN ? "
                "ELSE operator END, attempts = attempts + (? = 'dialling') WHERE call_id = ?",
                (status, operator, operator, status, call_id)),
            f"callback status {call_id}",
        )

    def flush(self, timeout: float | None = 10.0) -> None:
        self.store.writer.flush(timeout)
