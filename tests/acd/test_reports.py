"""KPI reports against a small queue log whose figures are worked out by hand below."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from appliance.reports import Kpi, hourly_report, operator_report, queue_report, report
from appliance.store import Store, connect, open_store

T0 = 1_767_225_600.0  # 2026-01-01T00:00Z, the day reported
H = 3600.0


def at(hours: float, minutes: float = 0, seconds: float = 0) -> float:
    return T0 + hours * H + minutes * 60 + seconds


# (ts, call_id, queue, operator, event, reason, data)
EVENTS = [
    # before the period: must not count
    (at(-1, 1), "c0", "sales", "", "ENTERQUEUE", "", {}),
    (at(-1, 1, 30), "c0", "sales", "alice", "CONNECT", "", {"waited": 30}),
    # presence: bob logged in the evening before and stays; alice works 08-17 with lunch
    (at(-4), "", "", "bob", "LOGIN", "", {}),
    (at(8), "", "", "alice", "LOGIN", "", {}),
    (at(10), "", "", "carol", "LOGIN", "", {}),
    (at(12), "", "", "carol", "LOGOUT", "", {}),
    (at(12, 30), "", "", "alice", "PAUSE", "lunch", {}),
    (at(13), "", "", "alice", "UNPAUSE", "lunch", {}),
    (at(17), "", "", "alice", "LOGOUT", "", {}),
    # frank was paused since the evening before, works 10-11, then leaves
    (at(-10), "", "", "frank", "LOGIN", "", {}),
    (at(-5), "", "", "frank", "PAUSE", "meeting", {}),
    (at(10), "", "", "frank", "UNPAUSE", "meeting", {}),
    (at(11), "", "", "frank", "LOGOUT", "", {}),
    # c1: answered in 10 s by alice, 280 s talk + 20 s hold, 10 s wrap-up
    (at(9), "c1", "sales", "", "ENTERQUEUE", "", {"position": 1}),
    (at(9, 0, 10), "c1", "sales", "alice", "CONNECT", "", {"waited": 10, "ring": 2}),
    (at(9, 5, 10), "c1", "sales", "alice", "COMPLETECALLER", "",
     {"waited": 10, "talk": 280, "hold": 20, "wrapup": 10}),
    # c2: answered in 30 s by bob, 120 s talk, 10 s wrap-up
    (at(9, 10), "c2", "sales", "", "ENTERQUEUE", "", {}),
    (at(9, 10, 30), "c2", "sales", "bob", "CONNECT", "", {"waited": 30}),
    (at(9, 12, 30), "c2", "sales", "bob", "COMPLETEAGENT", "",
     {"waited": 30, "talk": 120, "hold": 0, "wrapup": 10}),
    # c3: hung up after 3 s: a short abandon
    (at(9, 20), "c3", "sales", "", "ENTERQUEUE", "", {}),
    (at(9, 20, 3), "c3", "sales", "", "ABANDON", "caller", {"waited": 3}),
    # c4: abandoned after 40 s
    (at(10), "c4", "sales", "", "ENTERQUEUE", "", {}),
    (at(10, 0, 40), "c4", "sales", "", "ABANDON", "caller", {"waited": 40}),
    # c5: timed out after 300 s; c6: refused, the queue was full
    (at(10, 30), "c5", "sales", "", "ENTERQUEUE", "", {}),
    (at(10, 35), "c5", "sales", "", "EXITWITHTIMEOUT", "timeout", {"waited": 300}),
    (at(10, 40), "c6", "sales", "", "EXITFULL", "full", {"waited": 0}),
    # c7: alice misses, bob's ring is withdrawn (he logged out), carol answers at 25 s and
    # transfers after 120 s; support's dave answers in 5 s and talks 120 s, no wrap-up
    (at(11), "c7", "sales", "", "ENTERQUEUE", "", {}),
    (at(11, 0, 15), "c7", "sales", "alice", "RINGNOANSWER", "timeout", {"ring": 15}),
    (at(11, 0, 20), "c7", "sales", "bob", "RINGNOANSWER", "logout", {"ring": 5}),
    (at(11, 0, 25), "c7", "sales", "carol", "CONNECT", "", {"waited": 25}),
    (at(11, 2, 25), "c7", "sales", "carol", "TRANSFER", "transfer",
     {"waited": 25, "talk": 120, "hold": 0, "wrapup": 10, "connected": True, "to": "support"}),
    (at(11, 2, 25), "c7", "support", "", "ENTERQUEUE", "", {}),
    (at(11, 2, 30), "c7", "support", "dave", "CONNECT", "", {"waited": 5}),
    (at(11, 4, 30), "c7", "support", "dave", "COMPLETECALLER", "",
     {"waited": 5, "talk": 120, "hold": 0, "wrapup": 0}),
    # c8: moved to support unanswered after 50 s, then hangs up there after 10 s
    (at(11, 30), "c8", "sales", "", "ENTERQUEUE", "", {}),
    (at(11, 30, 50), "c8", "sales", "", "TRANSFER", "transfer",
     {"waited": 50, "connected": False, "to": "support"}),
    (at(11, 30, 50), "c8", "support", "", "ENTERQUEUE", "", {}),
    (at(11, 31), "c8", "support", "", "ABANDON", "caller", {"waited": 10}),
    # c9: asks for a callback; alice takes the kept place after 600 s, talks 300 s
    (at(12), "c9", "sales", "", "ENTERQUEUE", "", {}),
    (at(12, 0, 30), "c9", "sales", "", "CALLBACK", "", {"waited": 30}),
    (at(12, 10), "c9", "sales", "alice", "CALLBACKCONNECT", "", {"waited": 600}),
    (at(12, 15), "c9", "sales", "alice", "COMPLETEAGENT", "",
     {"waited": 600, "talk": 300, "hold": 0, "wrapup": 10}),
    # c10: support empty at the door; c11: left support when it emptied after 60 s
    (at(13), "c10", "support", "", "EXITEMPTY", "joinempty", {"waited": 0}),
    (at(13, 10), "c11", "support", "", "ENTERQUEUE", "", {}),
    (at(13, 11), "c11", "support", "", "EXITEMPTY", "empty", {"waited": 60}),
    # at `until` exactly: outside the period
    (at(24), "c12", "sales", "", "ENTERQUEUE", "", {}),
    (at(24), "c12", "sales", "", "ABANDON", "caller", {"waited": 0}),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    store = open_store(tmp_path)
    try:
        def write(conn):
            conn.executemany(
                "INSERT INTO call_events (ts, call_id, queue, operator, event, reason, data) "
                "VALUES (?,?,?,?,?,?,?)",
                [(*row[:6], json.dumps(row[6])) for row in EVENTS])
            conn.executemany("INSERT INTO operators (name, created_at) VALUES (?, ?)",
                             [(n, T0) for n in ("alice", "bob", "carol", "dave", "erin",
                                                "frank")])
        store.writer.submit(write).result(5)
    finally:
        store.close()
    return tmp_path / "callbox.db"


@pytest.fixture
def conn(db: Path):
    c = connect(db, readonly=True)
    yield c
    c.close()


def test_per_queue_figures(conn):
    queues = queue_report(conn, T0, T0 + 24 * H)
    sales, support = queues["sales"], queues["support"]
    # sales: answered c1 c2 c7 c9; within 20 s only c1; abandoned c4 (c3 is short);
    # timed out c5; refused c6; transferred unanswered c8
    assert (sales.answered, sales.answered_within_sl) == (4, 1)
    assert (sales.abandoned, sales.short_abandoned) == (1, 1)
    assert (sales.timed_out, sales.refused, sales.transferred, sales.exited_empty) == (1, 1, 1, 0)
    assert sales.offered == 4 + 1 + 1 + 1 + 1  # short abandon left out
    assert sales.service_level == pytest.approx(1 / (4 + 1))
    assert sales.asa == pytest.approx((10 + 30 + 25 + 600) / 4)
    # handled: c1 (280+20+10), c2 (120+10), c7 transferred after talk (120+10), c9 (300+10)
    assert sales.handled == 4
    assert (sales.talk, sales.hold, sales.wrapup) == (820, 20, 40)
    assert sales.aht == pytest.approx((820 + 20 + 40) / 4)
    assert sales.abandon_rate == pytest.approx(1 / 8)
    assert sales.missed_rings == 1  # alice's timeout; bob's withdrawn ring is not a miss
    assert sales.longest_wait == 600
    assert sales.occupancy is None  # an operator measure
    # support: answered c7 in 5 s; abandoned c8 after 10 s; refused c10; c11 left empty
    assert (support.answered, support.answered_within_sl, support.abandoned) == (1, 1, 1)
    assert (support.refused, support.exited_empty, support.offered) == (1, 1, 4)
    assert support.service_level == pytest.approx(1 / 2)
    assert (support.asa, support.aht, support.abandon_rate) == (5, 120, 0.25)


def test_totals_and_operators(conn):
    result = report(conn, T0, T0 + 24 * H)
    total = result.total
    assert (total.offered, total.answered, total.abandoned, total.short_abandoned) == (
        12, 5, 2, 1)
    assert total.service_level == pytest.approx(2 / 7)
    ops = operator_report(conn, T0, T0 + 24 * H)
    assert set(ops) == {"alice", "bob", "carol", "dave", "frank"}  # erin did nothing
    alice, bob, carol, dave = (ops[n] for n in ("alice", "bob", "carol", "dave"))
    assert (alice.answered, alice.handled, alice.missed_rings) == (2, 2, 1)
    assert alice.aht == pytest.approx((580 + 20 + 20) / 2)
    # alice: 08:00-12:30 and 13:00-17:00 staffed, 30 min paused
    assert (alice.staffed, alice.paused) == (8.5 * H, 0.5 * H)
    assert alice.occupancy == pytest.approx(620 / (8.5 * H))
    assert bob.staffed == 24 * H  # logged in before the period, never out
    assert bob.occupancy == pytest.approx(130 / (24 * H))
    assert carol.staffed == 2 * H and carol.aht == 130
    assert dave.staffed == 0 and dave.occupancy is None
    frank = ops["frank"]  # paused from 00:00 (carried over) to 10:00, staffed 10-11
    assert (frank.staffed, frank.paused, frank.occupancy) == (H, 10 * H, 0.0)
    assert frank.answered == 0 and frank.aht is None
    assert total.staffed == (8.5 + 24 + 2 + 1) * H
    assert total.paused == (0.5 + 10) * H
    assert total.occupancy == pytest.approx((880 + 120) / ((8.5 + 24 + 2 + 1) * H))


def test_per_hour_of_day(conn):
    hours = hourly_report(conn, T0, T0 + 24 * H)
    offered = {h: k.offered for h, k in hours.items() if k.offered}
    assert offered == {9: 2, 10: 3, 11: 4, 12: 1, 13: 2}
    assert (hours[9].answered, hours[9].short_abandoned, hours[9].handled) == (2, 1, 2)
    assert (hours[11].answered, hours[11].transferred, hours[11].abandoned) == (2, 1, 1)
    # staffed seconds per hour: 09 alice+bob, 10 alice+bob+carol+frank,
    # 12 alice half + bob, 23 bob
    assert hours[9].staffed == 2 * H
    assert hours[10].staffed == 4 * H
    assert hours[12].staffed == 1.5 * H
    assert hours[23].staffed == H


def test_local_hours_with_a_whole_hour_offset(conn):
    # the local day starts at 21:00 UTC the day before, which brings in c0's answer
    # (23:01:30 UTC = 02:01:30 local)
    hours = report(conn, T0 - 3 * H, T0 + 21 * H, utc_offset=3 * H).hours
    assert {h: k.offered for h, k in hours.items() if k.offered} == {
        2: 1, 12: 2, 13: 3, 14: 4, 15: 1, 16: 2}


def test_half_hour_offset_takes_the_slow_path_with_the_same_figures(conn):
    fast = report(conn, T0, T0 + 24 * H)
    slow = report(conn, T0, T0 + 24 * H, utc_offset=5.5 * H)
    assert slow.total.as_dict() == fast.total.as_dict()
    # outcomes in local time: c1 14:30, c2 14:40 | c4 15:30 | c5 16:05, c6 16:10,
    # c7 16:30 and 16:32 | c8 17:00:50 and 17:01, c9 17:40 | c10 18:30, c11 18:41
    assert {h: k.offered for h, k in slow.hours.items() if k.offered} == {
        14: 2, 15: 1, 16: 4, 17: 3, 18: 2}


def test_ragged_period_edges_are_counted_exactly(conn):
    # 09:05:05 is not on an hour: c1's CONNECT (09:00:10) is out, its COMPLETE (09:05:10)
    # in; 13:10:30 cuts c11 (13:11) off
    result = report(conn, at(9, 5, 5), at(13, 10, 30))
    assert result.total.answered == 4  # c2, c7 twice, c9
    assert result.total.handled == 5  # c1, c2, c7 transfer, c7 support, c9
    assert result.total.exited_empty == 0 and result.total.refused == 2


def test_per_queue_thresholds(conn):
    q = queue_report(conn, T0, T0 + 24 * H,
                     queue_thresholds={"sales": (30, 5), "support": (20, 15)})
    assert q["sales"].answered_within_sl == 3  # 10, 30 and 25 s
    assert q["sales"].service_level == pytest.approx(3 / 5)
    assert (q["support"].abandoned, q["support"].short_abandoned) == (0, 1)
    assert q["support"].offered == 3


def test_an_empty_period(conn):
    result = report(conn, T0 + 30 * 24 * H, T0 + 31 * 24 * H)
    assert result.total.offered == 0
    assert result.total.service_level is None and result.total.asa is None
    assert result.queues == {}


def test_garbage_data_is_counted_not_fatal(tmp_path: Path):
    store = open_store(tmp_path)
    try:
        store.writer.execute(
            "INSERT INTO call_events (ts, call_id, queue, event, data) VALUES (?,?,?,?,?)",
            (T0 + 60, "x", "sales", "ABANDON", "{not json")).result(5)
    finally:
        store.close()
    c = connect(tmp_path / "callbox.db", readonly=True)
    try:
        kpi = queue_report(c, T0, T0 + H)["sales"]
    finally:
        c.close()
    assert (kpi.abandoned, kpi.offered) == (1, 1)


def test_the_day_report_reads_the_index_in_order(conn):
    from appliance.reports import _parts

    where, bounds, hour, group = _parts(T0, T0 + 24 * H, 0)[0]
    plan = " ".join(str(row) for row in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT {hour}, queue, operator, event, reason, COUNT(*), "
        f"TOTAL(waited), TOTAL(talk) FROM call_events WHERE {where} AND "
        f"event IN ('CONNECT', 'CALLBACKCONNECT', 'ABANDON', 'EXITWITHTIMEOUT', "
        f"'EXITEMPTY', 'EXITFULL', 'TRANSFER', 'COMPLETECALLER', 'COMPLETEAGENT', "
        f"'RINGNOANSWER') GROUP BY {group}, queue, operator, event, reason", bounds))
    assert "call_events_kpi" in plan
    assert "TEMP B-TREE" not in plan


def test_runs_on_the_stores_reader_thread(db: Path):
    store = Store(db)
    try:
        result = asyncio.run(store.read(lambda c: report(c, T0, T0 + 24 * H)))
    finally:
        store.close()
    assert result.total.offered == 12
    data = result.as_dict()
    assert data["queues"]["sales"]["service_level"] == pytest.approx(0.2)
    json.dumps(data)  # the web sends it as is


def test_kpi_ratios_are_none_without_a_base():
    kpi = Kpi()
    assert (kpi.service_level, kpi.asa, kpi.aht, kpi.abandon_rate, kpi.occupancy) == (
        None, None, None, None, None)
