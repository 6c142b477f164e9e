"""The ACD on the virtual clock, logging into a real store, read back by the reports."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from appliance.acd import Acd
from appliance.acd.config import QueueConfig
from appliance.acd.queuelog import StoreQueueLog
from appliance.clock import VirtualClock
from appliance.reports import report
from appliance.store import connect, open_store

from .conftest import FakeSwitchboard


def test_a_morning_of_traffic_reads_back_as_the_expected_kpis(tmp_path: Path):
    clock = VirtualClock()  # 2026-01-01T00:00Z at virtual second 0
    clock.advance(9 * 3600)
    store = open_store(tmp_path)
    sb = FakeSwitchboard(clock=clock)
    acd = Acd(clock, sb, StoreQueueLog(store.writer, clock), rng=random.Random(1))
    acd.configure_queue(QueueConfig(name="sales", strategy="linear", wrapup_seconds=10,
                                    max_wait=0, autopause_after=0))
    acd.configure_operator("alice", {"sales": 0})
    acd.login("alice")
    # c1 answered at once, 100 s talk; c2 waits 110 s (talk + wrap-up), talks 50 s;
    # c3 gives up after 30 s; c4 hangs up after 2 s (short abandon)
    acd.enqueue("c1", "sales", "+1")
    sb.answered("c1", "alice")
    acd.ring_answered("c1", "alice")
    acd.enqueue("c2", "sales", "+2")
    clock.advance(30)
    acd.enqueue("c3", "sales", "+3")
    clock.advance(30)
    acd.caller_hangup("c3")
    clock.advance(40)
    acd.call_ended("c1", by="caller")  # t=100
    acd.enqueue("c4", "sales", "+4")
    clock.advance(2)
    acd.caller_hangup("c4")
    clock.advance(8)  # wrap-up over at t=110: alice rings for c2
    assert sb.ringing == {("c2", "alice")}
    sb.answered("c2", "alice")
    acd.ring_answered("c2", "alice")
    clock.advance(50)
    acd.call_ended("c2", by="operator")
    clock.advance(30)
    acd.logout("alice")
    store.writer.flush(5)
    store.close()

    conn = connect(tmp_path / "callbox.db", readonly=True)
    try:
        start = clock.time() - clock.monotonic()
        result = report(conn, start, start + 86_400)
    finally:
        conn.close()
    sales = result.queues["sales"]
    assert (sales.offered, sales.answered, sales.abandoned, sales.short_abandoned) == (3, 2, 1, 1)
    assert sales.answered_within_sl == 1  # c1 at 0 s; c2 waited 110 s
    assert sales.service_level == pytest.approx(1 / 3)
    assert sales.asa == pytest.approx((0 + 110) / 2)
    assert sales.aht == pytest.approx(((100 + 10) + (50 + 10)) / 2)
    alice = result.operators["alice"]
    assert alice.staffed == pytest.approx(190)  # logged in 09:00:00 to 09:03:10
    assert alice.occupancy == pytest.approx((100 + 10 + 50 + 10) / 190)
    assert result.hours[9].answered == 2


def test_a_non_finite_number_does_not_lose_the_event(tmp_path: Path):
    from appliance.acd.api import QueueEvent

    store = open_store(tmp_path)
    clock = VirtualClock()
    try:
        StoreQueueLog(store.writer, clock)(QueueEvent.CALLBACK, call_id="c1", queue="q",
                                           position=1, estimate=float("inf"))
        store.writer.flush(5)
        [(event, data)] = store.db.execute("SELECT event, data FROM call_events").fetchall()
    finally:
        store.close()
    assert event == "CALLBACK"
    assert json.loads(data) == {"position": 1, "estimate": None}
