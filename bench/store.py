"""Store figures: call records committed per second through the one writer, and KPI
report time over a queue log of 1,000,000 calls.  Prints JSON.

1. ``open_store`` in a temporary directory; submit full ``calls`` rows through
   ``Store.writer`` as fast as the loop can, and count how many are durable (future
   resolved after the group commit, ``synchronous=FULL``) per second.
2. Fill ``call_events`` with the queue log of 1,000,000 calls over 30 days (events in
   the form the ACD logs them, day by day in time order, as a real log grows), then time
   ``appliance.reports.report`` for one day and for the whole month.

Run: ``python bench/store.py [calls]`` (default 1,000,000).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.reports import report  # noqa: E402
from appliance.store import connect, open_store  # noqa: E402

START = 1_767_225_600.0  # 2026-01-01T00:00Z
DAYS = 30
QUEUES = ("sales", "support", "billing", "vip")
OPERATORS = [f"op{i:03d}" for i in range(200)]
INSERTS = 20_000


def call_row(i: int, now: float) -> tuple:
    return (f"bench-{i}", f"bench-{i}", "inbound", "gsm1", f"+7900{i:07d}", "Caller",
            "", QUEUES[i % 4], OPERATORS[i % len(OPERATORS)], now, now + 1, now + 20, now + 200,
            19.0, 180.0, 0.0, 10.0, "sale", 16, "caller", "", "", "{}")


INSERT_CALL = ("INSERT INTO calls (id, linked_id, direction, line, caller_number, "
               "caller_name, dialled, queue, operator, started_at, queued_at, answered_at, "
               "ended_at, wait_seconds, talk_seconds, hold_seconds, wrapup_seconds, "
               "disposition, hangup_cause, hangup_by, recording, note, data) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


def bench_inserts(data_dir: Path) -> dict:
    store = open_store(data_dir)
    try:
        now = time.time()
        started = time.perf_counter()
        futures = [store.writer.execute(INSERT_CALL, call_row(i, now)) for i in range(INSERTS)]
        for future in futures:
            future.result()
        seconds = time.perf_counter() - started
        count = store.query("SELECT COUNT(*) AS n FROM calls")[0]["n"]
        return {"rows": INSERTS, "committed": count, "seconds": round(seconds, 3),
                "committed_per_s": round(count / seconds), "batches": store.writer.batches,
                "synchronous": "FULL", "journal": "WAL"}
    finally:
        store.close()


# One day's callers, generated inside SQLite (a Python tuple per row would cost more than
# the insert).  u1..u4 are cheap deterministic pseudo-random numbers in [0, 1) per call.
DAY_SQL = """
WITH RECURSIVE n(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM n WHERE i < :last - 1),
u AS MATERIALIZED (
  SELECT i,
         ((i * 1103515245 + 12345) % 2147483647) / 2147483647.0 AS u1,
         ((i * 2654435761 + 11) % 2147483647) / 2147483647.0 AS u2,
         ((i * 2246822519 + 5) % 2147483647) / 2147483647.0 AS u3,
         ((i * 3266489917 + 3) % 2147483647) / 2147483647.0 AS u4
  FROM n),
c AS MATERIALIZED (
  SELECT 'c' || i AS call_id,
         CASE i % 4 WHEN 0 THEN 'sales' WHEN 1 THEN 'support' WHEN 2 THEN 'billing'
                    ELSE 'vip' END AS queue,
         :base + 28800 + u1 * 36000 AS t,
         round(60 * u2 * u2, 3) AS waited,
         round(360 * u3 * u3 + 20, 3) AS talk,
         u4 AS fate,
         printf('op%03d', (i * 7) % :operators) AS op,
         printf('op%03d', (i * 7 + 1) % :operators) AS other
  FROM u)
INSERT INTO call_events (ts, call_id, queue, operator, event, reason, data)
SELECT * FROM (
  SELECT t, call_id, queue, '', 'ENTERQUEUE', '', '{"position":1,"priority":0}' FROM c
  UNION ALL
  SELECT t + waited / 2, call_id, queue, other, 'RINGNOANSWER', 'timeout', '{"ring":15}'
  FROM c WHERE fate < 0.1
  UNION ALL
  SELECT t + waited, call_id, queue, op, 'CONNECT', '',
         printf('{"position":1,"waited":%.3f,"ring":3}', waited)
  FROM c WHERE fate < 0.85
  UNION ALL
  SELECT t + waited + talk, call_id, queue, op,
         CASE WHEN fate < 0.6 THEN 'COMPLETECALLER' ELSE 'COMPLETEAGENT' END, '',
         printf('{"waited":%.3f,"talk":%.3f,"hold":0,"wrapup":10}', waited, talk)
  FROM c WHERE fate < 0.85
  UNION ALL
  SELECT t + waited, call_id, queue, '', 'ABANDON', 'caller',
         printf('{"position":2,"waited":%.3f}', waited)
  FROM c WHERE fate >= 0.85 AND fate < 0.97
  UNION ALL
  SELECT t + 300, call_id, queue, '', 'EXITWITHTIMEOUT', 'timeout',
         '{"position":1,"waited":300}'
  FROM c WHERE fate >= 0.97
) ORDER BY 1
"""


def shifts(day: int) -> list[tuple]:
    """Every operator works 08:00-18:00 with a half-hour lunch pause."""
    base = START + day * 86_400
    rows = []
    for op in OPERATORS:
        rows += [(base + 8 * 3600, op, "LOGIN", "", "{}"),
                 (base + 12 * 3600, op, "PAUSE", "lunch", "{}"),
                 (base + 12.5 * 3600, op, "UNPAUSE", "lunch", '{"paused":1800}'),
                 (base + 18 * 3600, op, "LOGOUT", "", '{"session":36000}')]
    return rows


def fill_queue_log(path: Path, calls: int) -> dict:
    conn = connect(path)
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                           "AND tbl_name = 'call_events' AND sql IS NOT NULL").fetchall()
    started = time.perf_counter()
    for name, _sql in indexes:  # bulk load, then index once: far faster than row by row
        conn.execute(f"DROP INDEX {name}")
    conn.execute("PRAGMA synchronous = OFF")
    per_day = calls // DAYS
    for day in range(DAYS):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO call_events (ts, operator, event, reason, data) "
                         "VALUES (?,?,?,?,?)", shifts(day))
        conn.execute(DAY_SQL, {"first": day * per_day, "last": (day + 1) * per_day,
                               "base": START + day * 86_400, "operators": len(OPERATORS)})
        conn.execute("COMMIT")
    loaded = time.perf_counter() - started
    for _name, sql in indexes:
        conn.execute(sql)
    # no ANALYZE: a box in the field has no statistics either, and the plans must hold
    events = conn.execute("SELECT COUNT(*) FROM call_events").fetchone()[0]
    conn.close()
    return {"calls": per_day * DAYS, "events": events, "operators": len(OPERATORS),
            "load_seconds": round(loaded, 1),
            "fill_seconds": round(time.perf_counter() - started, 1)}


def time_report(path: Path, since: float, until: float, runs: int) -> dict:
    conn = connect(path, readonly=True)
    try:
        times, cpu = [], []
        for _ in range(runs):
            started, own = time.perf_counter(), time.process_time()
            result = report(conn, since, until, utc_offset=3 * 3600)
            cpu.append(time.process_time() - own)
            times.append(time.perf_counter() - started)
        total = result.total
        return {"ms_best": round(min(times) * 1000, 1),
                "ms_median": round(sorted(times)[len(times) // 2] * 1000, 1),
                "cpu_ms_best": round(min(cpu) * 1000, 1),
                "offered": total.offered, "answered": total.answered,
                "service_level": round(total.service_level or 0, 4),
                "occupancy": round(total.occupancy or 0, 4)}
    finally:
        conn.close()


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="callbox-bench-") as tmp:
        inserts = bench_inserts(Path(tmp) / "inserts")
        data = Path(tmp) / "reports"
        open_store(data).close()
        path = data / "callbox.db"
        fill = fill_queue_log(path, calls)
        day = START + 14 * 86_400
        out = {
            "bench": "store",
            "call_record_inserts": inserts,
            "queue_log": fill,
            "report_one_day": time_report(path, day, day + 86_400, runs=5),
            "report_month": time_report(path, START, START + DAYS * 86_400, runs=1),
            "sqlite": sqlite3.sqlite_version,
            "seconds": round(time.perf_counter() - started, 1),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
