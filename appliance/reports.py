"""Call-centre KPIs from the queue log (``call_events``), for a period ``[since, until)``.

Every figure comes from the events the ACD logs (see ``appliance.acd.engine``), so a
report needs no other table and can run on a read-only connection on a reader thread
(``Store.read(lambda conn: report(conn, since, until))``).

Attribution: a call counts in the period (and the hour of day) in which its queue
outcome was logged: CONNECT or CALLBACKCONNECT (answered), ABANDON, EXITWITHTIMEOUT,
EXITEMPTY, EXITFULL, TRANSFER.  Handle time counts when the call ended (COMPLETECALLER,
COMPLETEAGENT, or TRANSFER of a connected call).  A report for a period that is over is
therefore final; callers still waiting at ``until`` are in the next period.

Definitions (per queue, per operator, per hour of day and in total):

* ``answered``: CONNECT + CALLBACKCONNECT.
* ``abandoned``: ABANDON after waiting at least ``short_abandon_seconds``;
  ``short_abandoned``: those who hung up sooner (wrong numbers, impatient redials).
  Short abandons are reported apart and left out of every other figure.
* ``timed_out`` (EXITWITHTIMEOUT), ``exited_empty`` (EXITEMPTY after joining),
  ``refused`` (EXITFULL, or EXITEMPTY when joining an empty queue),
  ``transferred`` (left by TRANSFER before an operator answered).
* ``offered`` = answered + abandoned + timed_out + exited_empty + refused + transferred.
* ``service_level`` = answered within ``service_level_seconds`` (waited <= threshold) /
  (answered + abandoned); the usual target is 80/20.  Callers who timed out, left an
  empty queue or were refused are outside it (they are their own lines).  ``None``
  when nobody was answered or abandoned.
* ``asa`` (average speed of answer) = total wait of answered calls / answered.
* ``aht`` (average handle time) = (talk + hold + wrap-up) / handled, where handled
  counts calls that ended after an operator took them.
* ``abandon_rate`` = abandoned / offered.
* ``occupancy`` = handle time / staffed time, where staffed time is time logged in and
  not paused (from LOGIN, LOGOUT, PAUSE, UNPAUSE).  It is an operator measure:
  reported per operator, per hour and in total; a queue's share of an operator who
  serves several queues is not defined, so per queue it is ``None``.

Hour of day is local time given as a fixed ``utc_offset`` in seconds (the caller passes
the offset in force; a period that spans a DST change is off by that hour on one side).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

DAY = 86_400.0
HOUR = 3_600.0

PRESENCE_EVENTS = ("LOGIN", "LOGOUT", "PAUSE", "UNPAUSE")
# RINGNOANSWER reasons that are not the operator's miss: the ACD withdrew the ring
WITHDRAWN = ("logout", "paused", "removed")


@dataclass
class Kpi:
    offered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timed_out: int = 0
    exited_empty: int = 0
    refused: int = 0
    transferred: int = 0
    handled: int = 0
    missed_rings: int = 0
    wait_answered: float = 0.0
    longest_wait: float = 0.0
    talk: float = 0.0
    hold: float = 0.0
    wrapup: float = 0.0
    staffed: float | None = None  # seconds logged in and not paused (operators, hours)
    paused: float | None = None

    @property
    def service_level(self) -> float | None:
        base = self.answered + self.abandoned
        return self.answered_within_sl / base if base else None

    @property
    def asa(self) -> float | None:
        return self.wait_answered / self.answered if self.answered else None

    @property
    def aht(self) -> float | None:
        return self.handle_time / self.handled if self.handled else None

    @property
    def handle_time(self) -> float:
        return self.talk + self.hold + self.wrapup

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def occupancy(self) -> float | None:
        if not self.staffed:
            return None
        return min(1.0, self.handle_time / self.staffed)

    def as_dict(self) -> dict:
        out = asdict(self)
        for name in ("service_level", "asa", "aht", "abandon_rate", "occupancy"):
            out[name] = getattr(self, name)
        return out


@dataclass
class Report:
    since: float
    until: float
    total: Kpi = field(default_factory=Kpi)
    queues: dict[str, Kpi] = field(default_factory=dict)
    operators: dict[str, Kpi] = field(default_factory=dict)
    hours: dict[int, Kpi] = field(default_factory=dict)  # 0..23, local time

    def as_dict(self) -> dict:
        return {
            "since": self.since, "until": self.until, "total": self.total.as_dict(),
            "queues": {k: v.as_dict() for k, v in sorted(self.queues.items())},
            "operators": {k: v.as_dict() for k, v in sorted(self.operators.items())},
            "hours": {k: v.as_dict() for k, v in sorted(self.hours.items())},
        }


def _threshold_sql(per_queue: dict[str, int], default: int, params: list) -> str:
    """A CASE over the queue name for per-queue thresholds (bound, never formatted)."""
    parts = []
    for queue, value in per_queue.items():
        parts.append("WHEN ? THEN ?")
        params.extend((queue, value))
    params.append(default)
    return f"CASE queue {' '.join(parts)} ELSE ? END" if parts else "?"


# Must match the WHERE of the partial index call_events_kpi (schema migration 2), or
# SQLite will not use it.
KPI_EVENTS = ("event IN ('CONNECT', 'CALLBACKCONNECT', 'ABANDON', 'EXITWITHTIMEOUT', "
              "'EXITEMPTY', 'EXITFULL', 'TRANSFER', 'COMPLETECALLER', 'COMPLETEAGENT', "
              "'RINGNOANSWER')")
PRESENCE = "event IN ('LOGIN', 'LOGOUT', 'PAUSE', 'UNPAUSE')"  # call_events_presence

# Each cube row (one hour x queue x operator x event x reason) says what it adds to a Kpi.
_CONTRIBUTION = {
    "answered": "CASE WHEN event IN ('CONNECT', 'CALLBACKCONNECT') THEN n ELSE 0 END",
    "answered_within_sl": "CASE WHEN event IN ('CONNECT', 'CALLBACKCONNECT') THEN within "
                          "ELSE 0 END",
    "wait_answered": "CASE WHEN event IN ('CONNECT', 'CALLBACKCONNECT') THEN waited "
                     "ELSE 0 END",
    "abandoned": "CASE WHEN event = 'ABANDON' THEN n - short ELSE 0 END",
    "short_abandoned": "CASE WHEN event = 'ABANDON' THEN short ELSE 0 END",
    "timed_out": "CASE WHEN event = 'EXITWITHTIMEOUT' THEN n ELSE 0 END",
    "exited_empty": "CASE WHEN event = 'EXITEMPTY' AND reason != 'joinempty' THEN n "
                    "ELSE 0 END",
    "refused": "CASE WHEN event = 'EXITFULL' OR (event = 'EXITEMPTY' AND reason = "
               "'joinempty') THEN n ELSE 0 END",
    # a TRANSFER after an operator answered was handled, not lost (it has talk time)
    "transferred": "CASE WHEN event = 'TRANSFER' THEN n - connected ELSE 0 END",
    "handled": "CASE WHEN event IN ('COMPLETECALLER', 'COMPLETEAGENT') THEN n "
               "WHEN event = 'TRANSFER' THEN connected ELSE 0 END",
    "missed_rings": "CASE WHEN event = 'RINGNOANSWER' AND reason NOT IN "
                    f"({', '.join(repr(r) for r in WITHDRAWN)}) THEN n ELSE 0 END",
    "talk": "CASE WHEN event IN ('COMPLETECALLER', 'COMPLETEAGENT', 'TRANSFER') THEN talk "
            "ELSE 0 END",
    "hold": "CASE WHEN event IN ('COMPLETECALLER', 'COMPLETEAGENT', 'TRANSFER') THEN hold "
            "ELSE 0 END",
    "wrapup": "CASE WHEN event IN ('COMPLETECALLER', 'COMPLETEAGENT', 'TRANSFER') THEN wrapup "
              "ELSE 0 END",
    "longest_wait": "CASE WHEN event IN ('CONNECT', 'CALLBACKCONNECT', 'ABANDON', "
                    "'EXITWITHTIMEOUT', 'TRANSFER') OR (event = 'EXITEMPTY' AND reason != "
                    "'joinempty') THEN longest ELSE 0 END",
}
_COUNTS = {"answered", "answered_within_sl", "abandoned", "short_abandoned", "timed_out",
           "exited_empty", "refused", "transferred", "handled", "missed_rings"}


def _parts(since: float, until: float, utc_offset: float) -> list[tuple[str, tuple, str, str]]:
    """(where, bounds, hour-of-day expression, group key) pieces covering the period.

    Whole UTC hours use the covering index in its own order (no sort, no JSON); the
    ragged ends, or everything when the offset is not whole hours, group by the local
    hour computed from ``ts`` (sorted in memory, a day at a time).
    """
    parts = []
    ragged = [(since, until)]
    if utc_offset % HOUR == 0:
        first, last = math.ceil(since / HOUR), math.floor(until / HOUR)
        if first < last:
            shift = int(utc_offset // HOUR)
            parts.append(("kpi_hour >= ? AND kpi_hour < ?", (first, last),
                          f"((kpi_hour + {shift}) % 24 + 24) % 24", "kpi_hour"))
            ragged = [(since, first * HOUR), (last * HOUR, until)]
    local = f"CAST((ts + {float(utc_offset)!r}) / 3600 AS INTEGER)"
    for start, end in ragged:
        while start < end:
            stop = min(end, start + DAY)
            parts.append(("ts >= ? AND ts < ?", (start, stop), f"{local} % 24", local))
            start = stop
    return parts


def _rollup(conn: sqlite3.Connection, since: float, until: float, utc_offset: float,
            thresholds: tuple) -> list[tuple]:
    """One statement: the period's cube, then its totals per queue, operator and hour."""
    sl_by_queue, sl_default, short_by_queue, short_default = thresholds
    params: list = []
    selects = []
    for where, bounds, hour, group in _parts(since, until, utc_offset):
        sl = _threshold_sql(sl_by_queue, sl_default, params)
        short = _threshold_sql(short_by_queue, short_default, params)
        params.extend(bounds)
        selects.append(f"""
            SELECT {hour} AS hour, queue, operator, event, reason, COUNT(*) AS n,
                   TOTAL(waited) AS waited, MAX(waited) AS longest,
                   TOTAL(waited <= {sl}) AS within, TOTAL(waited < {short}) AS short,
                   TOTAL(talk) AS talk, TOTAL(hold) AS hold, TOTAL(wrapup) AS wrapup,
                   TOTAL(talk IS NOT NULL) AS connected
            FROM call_events WHERE {where} AND {KPI_EVENTS}
            GROUP BY {group}, queue, operator, event, reason""")
    columns = ", ".join(f"{sql} AS {name}" for name, sql in _CONTRIBUTION.items())
    sums = ", ".join(f"MAX({name})" if name == "longest_wait" else f"TOTAL({name})"
                     for name in _CONTRIBUTION)
    sql = f"""
        WITH cube AS MATERIALIZED ({" UNION ALL ".join(selects)}),
        k AS (SELECT hour, queue, operator, {columns} FROM cube)
        SELECT 'total', NULL, {sums} FROM k
        UNION ALL SELECT 'queue', queue, {sums} FROM k WHERE queue != '' GROUP BY queue
        UNION ALL SELECT 'operator', operator, {sums} FROM k WHERE operator != ''
            GROUP BY operator
        UNION ALL SELECT 'hour', hour, {sums} FROM k GROUP BY hour
    """
    return conn.execute(sql, params).fetchall()


def _kpi(values: tuple) -> Kpi:
    kpi = Kpi()
    for name, value in zip(_CONTRIBUTION, values, strict=True):
        setattr(kpi, name, int(value or 0) if name in _COUNTS else float(value or 0.0))
    kpi.offered = (kpi.answered + kpi.abandoned + kpi.timed_out + kpi.exited_empty
                   + kpi.refused + kpi.transferred)
    return kpi


def _hours_of(start: float, end: float, utc_offset: float) -> Iterable[tuple[int, float]]:
    """Split ``[start, end)`` at local hour boundaries: (hour of day, seconds) pieces."""
    while start < end:
        local = start + utc_offset
        boundary = (local // HOUR + 1) * HOUR - utc_offset
        piece = min(end, boundary) - start
        yield int(local % DAY // HOUR), piece
        start += piece


def _presence(conn: sqlite3.Connection, since: float, until: float,
              names: set[str]) -> dict[str, list[tuple[float, float, bool]]]:
    """Per operator, the stretches of ``[since, until)`` they were logged in, as
    (start, end, paused).  Reads only the small call_events_presence index."""
    stretches: dict[str, list[tuple[float, float, bool]]] = {}
    for name in sorted(names):
        last = conn.execute(
            f"SELECT event FROM call_events WHERE operator = ? AND ts < ? AND {PRESENCE} "
            "ORDER BY ts DESC LIMIT 1", (name, since)).fetchone()
        event = last[0] if last else "LOGOUT"
        logged_in, paused, start = event != "LOGOUT", event == "PAUSE", since
        pieces = []
        for event, ts in conn.execute(
                f"SELECT event, ts FROM call_events WHERE operator = ? AND ts >= ? "
                f"AND ts < ? AND {PRESENCE} ORDER BY ts", (name, since, until)):
            if logged_in and ts > start:
                pieces.append((start, ts, paused))
            start = ts
            if event == "LOGIN":
                logged_in, paused = True, False
            elif event == "LOGOUT":
                logged_in, paused = False, False
            else:
                logged_in, paused = True, event == "PAUSE"
        if logged_in and until > start:
            pieces.append((start, until, paused))
        stretches[name] = pieces
    return stretches


def report(conn: sqlite3.Connection, since: float, until: float, *, utc_offset: float = 0.0,
           service_level_seconds: int = 20, short_abandon_seconds: int = 5,
           queue_thresholds: dict[str, tuple[int, int]] | None = None) -> Report:
    """KPIs for ``[since, until)`` (UTC epoch seconds) per queue, operator, hour, total.

    ``queue_thresholds`` maps a queue to its own (service_level_seconds,
    short_abandon_seconds), e.g. from :func:`thresholds_from_configs`.
    """
    per_queue = queue_thresholds or {}
    thresholds = ({q: t[0] for q, t in per_queue.items()}, service_level_seconds,
                  {q: t[1] for q, t in per_queue.items()}, short_abandon_seconds)
    out = Report(since, until)
    for dimension, key, *values in _rollup(conn, since, until, utc_offset, thresholds):
        kpi = _kpi(values)
        if dimension == "total":
            out.total = kpi
        elif dimension == "queue":
            out.queues[key] = kpi
        elif dimension == "operator":
            out.operators[key] = kpi
        else:
            out.hours[int(key)] = kpi
    known = {row[0] for row in conn.execute("SELECT name FROM operators")}
    stretches = _presence(conn, since, until, known | set(out.operators))
    total_staffed = total_paused = 0.0
    for name, pieces in stretches.items():
        if not pieces and name not in out.operators:
            continue
        kpi = out.operators.setdefault(name, Kpi())
        kpi.staffed = sum(end - start for start, end, paused in pieces if not paused)
        kpi.paused = sum(end - start for start, end, paused in pieces if paused)
        total_staffed += kpi.staffed
        total_paused += kpi.paused
        for start, end, paused in pieces:
            if paused:
                continue
            for hour, seconds in _hours_of(start, end, utc_offset):
                bucket = out.hours.setdefault(hour, Kpi())
                bucket.staffed = (bucket.staffed or 0.0) + seconds
    out.total.staffed, out.total.paused = total_staffed, total_paused
    return out


def queue_report(conn: sqlite3.Connection, since: float, until: float,
                 **options) -> dict[str, Kpi]:
    return report(conn, since, until, **options).queues


def operator_report(conn: sqlite3.Connection, since: float, until: float,
                    **options) -> dict[str, Kpi]:
    return report(conn, since, until, **options).operators


def hourly_report(conn: sqlite3.Connection, since: float, until: float,
                  **options) -> dict[int, Kpi]:
    return report(conn, since, until, **options).hours


def thresholds_from_configs(configs: Iterable) -> dict[str, tuple[int, int]]:
    """Per-queue thresholds from ``QueueConfig`` objects."""
    return {c.name: (c.service_level_seconds, c.short_abandon_seconds) for c in configs}
