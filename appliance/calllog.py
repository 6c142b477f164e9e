"""The call log: search, keyset paging, export, one call's story, a caller's history.

Every function takes a ``sqlite3.Connection`` so that it can run on the store's reader
thread (``await store.read(lambda c: search(c, f))``): a search over a year of calls
must never hold the event loop.

Paging is by key, not offset: a page ends with the ``(started_at, id)`` of its last row
and the next page starts strictly after it.  ``OFFSET 500000`` would read half a million
rows to skip them; a key lookup reads one index entry, so page 10,000 costs what page 1
costs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PAGE_SIZE = 50
EXPORT_CHUNK = 2000
COLUMNS = ("id", "linked_id", "direction", "line", "caller_number", "caller_name",
           "dialled", "queue", "operator", "started_at", "queued_at", "answered_at",
           "ended_at", "wait_seconds", "talk_seconds", "hold_seconds", "wrapup_seconds",
           "disposition", "hangup_cause", "hangup_by", "note")


@dataclass(frozen=True)
class CallFilter:
    start: float | None = None      # UTC epoch, inclusive
    end: float | None = None        # UTC epoch, exclusive
    number: str = ""                # prefix of the caller's or the dialled number
    queue: str = ""
    operator: str = ""
    disposition: str = ""
    direction: str = ""

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.start is not None:
            clauses.append("started_at >= ?")
            params.append(self.start)
        if self.end is not None:
            clauses.append("started_at < ?")
            params.append(self.end)
        if self.number:
            # A range instead of LIKE so that the (caller_number) and (dialled) indexes serve it.
            upper = self.number + "\U0010ffff"
            clauses.append("((caller_number >= ? AND caller_number < ?) "
                           "OR (dialled >= ? AND dialled < ?))")
            params += [self.number, upper, self.number, upper]
        for column in ("queue", "operator", "disposition", "direction"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        return clauses, params


Cursor = tuple[float, str]


@dataclass
class Page:
    rows: list[dict[str, Any]]
    older: Cursor | None     # pass as ``after`` for the next (older) page
    newer: Cursor | None     # pass as ``before`` for the previous (newer) page


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def search(conn: sqlite3.Connection, flt: CallFilter, *, after: Cursor | None = None,
           before: Cursor | None = None, limit: int = PAGE_SIZE) -> Page:
    """Newest first.  ``after`` = the cursor of the last row seen (older page);
    ``before`` = the cursor of the first row seen (newer page)."""
    clauses, params = flt.where()
    ascending = before is not None and after is None
    if after is not None:
        clauses.append("started_at <= ? AND (started_at < ? OR id < ?)")
        params += [after[0], after[0], after[1]]
    elif before is not None:
        clauses.append("started_at >= ? AND (started_at > ? OR id > ?)")
        params += [before[0], before[0], before[1]]
    order = "ASC" if ascending else "DESC"
    sql = (f"SELECT {', '.join(COLUMNS)} FROM calls "
           f"{'WHERE ' + ' AND '.join(clauses) if clauses else ''} "
           f"ORDER BY started_at {order}, id {order} LIMIT ?")
    rows = _rows(conn.execute(sql, [*params, limit + 1]))
    more = len(rows) > limit
    rows = rows[:limit]
    if ascending:
        rows.reverse()
    if not rows:
        return Page([], None, None)
    first = (rows[0]["started_at"], rows[0]["id"])
    last = (rows[-1]["started_at"], rows[-1]["id"])
    if ascending:
        return Page(rows, older=last, newer=first if more else None)
    return Page(rows, older=last if more else None,
                newer=first if after is not None else None)


def export_chunks(conn: sqlite3.Connection, flt: CallFilter,
                  chunk: int = EXPORT_CHUNK) -> Iterator[list[dict[str, Any]]]:
    """Every matching call, newest first, ``chunk`` rows at a time (for streaming)."""
    after: Cursor | None = None
    while True:
        page = search(conn, flt, after=after, limit=chunk)
        if page.rows:
            yield page.rows
        if page.older is None:
            return
        after = page.older


def export_chunk(conn: sqlite3.Connection, flt: CallFilter, after: Cursor | None,
                 chunk: int = EXPORT_CHUNK) -> Page:
    """One chunk of an export: the web fetches each on the reader thread and flushes it
    to the client before asking for the next, so memory stays flat for a year of calls."""
    return search(conn, flt, after=after, limit=chunk)


def call(conn: sqlite3.Connection, call_id: str) -> dict[str, Any] | None:
    """One call with its queue-log timeline and the other records of the same journey."""
    rows = _rows(conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)))
    if not rows:
        return None
    record = rows[0]
    record["data"] = _json(record.get("data"))
    record["events"] = _rows(conn.execute(
        "SELECT ts, queue, operator, event, reason, data FROM call_events "
        "WHERE call_id = ? ORDER BY ts, id", (call_id,)))
    for event in record["events"]:
        event["data"] = _json(event["data"])
    record["journey"] = _rows(conn.execute(
        "SELECT id, direction, queue, operator, started_at, disposition FROM calls "
        "WHERE linked_id = ? AND id != ? ORDER BY started_at", (record["linked_id"], call_id)))
    return record


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def caller_history(conn: sqlite3.Connection, number: str, limit: int = 10) -> dict[str, Any]:
    """What the operator sees when ``number`` rings: contact, earlier calls, SMS."""
    contact = _rows(conn.execute("SELECT * FROM contacts WHERE number = ?", (number,)))
    calls = _rows(conn.execute(
        "SELECT id, direction, queue, operator, started_at, answered_at, talk_seconds, "
        "disposition, note FROM calls WHERE caller_number = ? OR dialled = ? "
        "ORDER BY started_at DESC LIMIT ?", (number, number, limit)))
    sms = _rows(conn.execute(
        "SELECT direction, text, ts, status FROM sms WHERE number = ? ORDER BY ts DESC LIMIT ?",
        (number, limit)))
    return {"number": number, "contact": contact[0] if contact else None,
            "calls": calls, "sms": sms}


def callbacks_for(conn: sqlite3.Connection, operator: str,
                  queues: list[str]) -> list[dict[str, Any]]:
    """Waiting callbacks meant for ``operator``, or for anyone in one of their queues."""
    marks = ",".join("?" * len(queues)) or "''"
    return _rows(conn.execute(
        "SELECT id, call_id, queue, number, operator, requested_at, attempts, note "
        f"FROM callbacks WHERE status = 'waiting' AND (operator = ? OR "
        f"(operator = '' AND queue IN ({marks}))) ORDER BY requested_at LIMIT 100",
        (operator, *queues)))


def abandoned(conn: sqlite3.Connection, start: float, end: float, queue: str = "",
              limit: int = 500) -> list[dict[str, Any]]:
    """Callers who hung up while waiting in a queue, with whether anyone reached them
    since (a later answered call with the same number) or a callback is already listed."""
    params: list[Any] = [start, end]
    extra = ""
    if queue:
        extra = "AND c.queue = ?"
        params.append(queue)
    return _rows(conn.execute(
        "SELECT c.id, c.caller_number, c.caller_name, c.queue, c.started_at, c.wait_seconds, "
        "EXISTS (SELECT 1 FROM calls r WHERE (r.caller_number = c.caller_number OR "
        "r.dialled = c.caller_number) AND r.started_at > c.started_at "
        "AND r.answered_at IS NOT NULL) AS reached, "
        "EXISTS (SELECT 1 FROM callbacks b WHERE b.call_id = c.id) AS callback_listed "
        "FROM calls c WHERE c.started_at >= ? AND c.started_at < ? AND c.queue != '' "
        f"AND c.answered_at IS NULL AND c.ended_at IS NOT NULL {extra} "
        "ORDER BY c.started_at DESC LIMIT ?", (*params, limit)))


def distinct_values(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Choices for the filter drop-downs (from configuration, not a scan of all calls)."""
    return {
        "queue": [r[0] for r in conn.execute("SELECT name FROM queues ORDER BY name")],
        "operator": [r[0] for r in conn.execute("SELECT name FROM operators ORDER BY name")],
    }
