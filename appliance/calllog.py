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

import datetime as dt
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

PAGE_SIZE = 50
EXPORT_CHUNK = 5000
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


# -- export -----------------------------------------------------------------------------
# SQLite writes each CSV line itself (C speed, on the reader thread) and the web gets
# finished text: building 21 Python objects per call was most of the cost of an export.
TIME_COLUMNS = ("started_at", "queued_at", "answered_at", "ended_at")
NUMBER_COLUMNS = ("caller_number", "dialled")
PLAIN_COLUMNS = ("wait_seconds", "talk_seconds", "hold_seconds", "wrapup_seconds",
                 "hangup_cause")
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = "('=', '+', '-', '@', char(9), char(13))"
MAX_FAST_SPAN = 30 * 86400  # a chunk longer than this may hide a DST change inside it


def _csv_text(expr: str) -> str:
    return f"'\"' || replace(ifnull({expr}, ''), '\"', '\"\"') || '\"'"


def _export_select(offset: int | None, suffix: str) -> str:
    """One SQL expression giving a call's CSV line (RFC 4180: text quoted, quotes doubled).
    With ``offset`` None the times stay raw numbers for Python to convert."""
    parts = []
    for column in COLUMNS:
        if column in TIME_COLUMNS and offset is not None:
            parts.append(f"CASE WHEN {column} IS NULL THEN '' ELSE strftime("
                         f"'%Y-%m-%dT%H:%M:%S', {column} + {offset}, 'unixepoch') || "
                         f"'{suffix}' END")
        elif column in TIME_COLUMNS:
            parts.append(f"'@' || ifnull({column}, '')")  # marked for _lines_one_by_one
        elif column in PLAIN_COLUMNS:
            parts.append(f"ifnull(CAST({column} AS TEXT), '')")
        elif column in NUMBER_COLUMNS:  # +7916... is a number, not a formula
            parts.append(_csv_text(
                f"CASE WHEN substr({column}, 1, 1) IN {FORMULA_START} AND "
                f"{column} GLOB '*[^0-9+*#]*' THEN char(39) || {column} ELSE {column} END"))
        else:
            parts.append(_csv_text(
                f"CASE WHEN substr({column}, 1, 1) IN {FORMULA_START} "
                f"THEN char(39) || {column} ELSE {column} END"))
    return " || ',' || ".join(parts)


def _suffix(offset: int) -> str:
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _offset_at(ts: float, tz: dt.tzinfo) -> int:
    ts = max(min(ts, 253402214400.0), 0.0)  # inside what datetime can represent
    return int(dt.datetime.fromtimestamp(ts, tz).utcoffset().total_seconds())


def export_chunk(conn: sqlite3.Connection, flt: CallFilter, after: Cursor | None,
                 tz: dt.tzinfo, chunk: int = EXPORT_CHUNK) -> tuple[str, Cursor | None]:
    """One chunk of an export, newest first: CSV lines (times in ISO 8601 in ``tz``,
    formula-looking text defused) and the cursor of the next chunk (None at the end).
    The web writes and flushes each chunk before asking for the next, so memory stays
    flat for a year of calls."""
    clauses, params = flt.where()
    if after is not None:
        clauses.append("started_at <= ? AND (started_at < ? OR id < ?)")
        params += [after[0], after[0], after[1]]
    where = "WHERE " + " AND ".join(clauses) if clauses else ""
    probe = after[0] if after else (flt.end or dt.datetime.now(dt.UTC).timestamp())
    offset = _offset_at(probe, tz)
    sql = ("SELECT started_at, id, {select} FROM calls " + where +
           " ORDER BY started_at DESC, id DESC LIMIT ?")
    rows = conn.execute(sql.format(select=_export_select(offset, _suffix(offset))),
                        [*params, chunk + 1]).fetchall()
    more = len(rows) > chunk
    rows = rows[:chunk]
    if not rows:
        return "", None
    newest, oldest = rows[0][0], rows[-1][0]
    if (newest - oldest > MAX_FAST_SPAN or _offset_at(newest, tz) != offset
            or _offset_at(oldest, tz) != offset):
        lines = _lines_one_by_one(conn, sql, [*params, chunk], tz)
    else:
        lines = [row[2] for row in rows]
    cursor = (rows[-1][0], rows[-1][1]) if more else None
    return "\r\n".join(lines) + "\r\n", cursor


_RAW_TIME = re.compile(r"(?<![^,])@([0-9.e+-]*)(?=,|$)")


def _lines_one_by_one(conn: sqlite3.Connection, sql: str, params: list,
                      tz: dt.tzinfo) -> list[str]:
    """The same chunk with each time converted on its own (a DST change inside it)."""

    def local(match: re.Match[str]) -> str:
        if not match[1]:
            return ""
        return dt.datetime.fromtimestamp(float(match[1]), tz).isoformat(timespec="seconds")

    return [_RAW_TIME.sub(local, row[2])
            for row in conn.execute(sql.format(select=_export_select(None, "")), params)]


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


def recent_for(conn: sqlite3.Connection, operator: str, since: float,
               limit: int = 10) -> list[dict[str, Any]]:
    """The operator's latest calls since ``since``, newest first (their panel lists them,
    so a call whose card was lost can still get its disposition)."""
    return _rows(conn.execute(
        "SELECT id, caller_number, caller_name, queue, started_at, answered_at, "
        "disposition, note FROM calls WHERE operator = ? AND started_at >= ? "
        "ORDER BY started_at DESC LIMIT ?", (operator, since, limit)))


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
