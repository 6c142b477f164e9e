"""Flows in SQLite: versions, activation without restart, restore, routing."""

from __future__ import annotations

import asyncio
import copy
import sqlite3
import time

import pytest

from appliance.clock import VirtualClock
from appliance.ivr.flow import FlowError
from appliance.ivr.flowstore import FlowInvalid, FlowStore
from appliance.ivr.runner import FlowRun
from appliance.store import open_store

from .conftest import RecordingIO
from .test_runner import FLOW


@pytest.fixture
def store(tmp_path):
    store = open_store(tmp_path)
    yield store
    store.close()


def run(coro):
    return asyncio.run(coro)


def test_versions_activate_and_restore(store) -> None:
    flows = FlowStore(store)
    assert run(flows.save("main", FLOW)) == 1
    assert flows.active("main").version == 1
    other_process = FlowStore(store)  # e.g. the web's instance: sees the same active version
    v2 = copy.deepcopy(FLOW)
    v2["nodes"]["welcome"]["text"] = "Hello again."
    assert run(other_process.save("main", v2, note="new greeting")) == 2
    active = flows.active("main")
    assert active.version == 2 and active.nodes["welcome"].get("text") == "Hello again."
    assert run(flows.restore("main", 1)) == 3
    active = flows.active("main")
    assert active.version == 3 and active.graph == FLOW
    listed = flows.versions("main")
    assert [(r["version"], r["active"]) for r in listed] == [(3, 1), (2, 0), (1, 0)]
    assert listed[0]["note"] == "restored from version 1"
    run(flows.activate("main", 2))
    assert flows.active("main").version == 2
    assert flows.names() == ["main"]


def test_flow_with_errors_is_never_activated(store) -> None:
    flows = FlowStore(store)
    run(flows.save("main", FLOW))
    broken = copy.deepcopy(FLOW)
    broken["nodes"]["welcome"]["next"] = "nowhere"
    with pytest.raises(FlowInvalid) as info:
        run(flows.save("main", broken))
    assert {m.node for m in info.value.messages if m.severity == "error"} == {"welcome"}
    assert [r["version"] for r in flows.versions("main")] == [1]  # nothing saved
    assert run(flows.save("main", broken, activate=False)) == 2  # a draft is fine
    assert flows.active("main").version == 1
    with pytest.raises(FlowInvalid):
        run(flows.activate("main", 2))
    with pytest.raises(LookupError):
        run(flows.activate("main", 9))


@pytest.mark.parametrize("bad", ["{not json", {"nodes": "x"}, None])
def test_garbage_is_refused_with_a_flow_error(store, bad) -> None:
    with pytest.raises(FlowError):
        run(FlowStore(store).save("main", bad))


@pytest.mark.parametrize("name", ["", "a:b", "x" * 65, "a/b"])
def test_bad_names(store, name) -> None:
    with pytest.raises(FlowError):
        run(FlowStore(store).save(name, FLOW))


def test_only_one_active_version_per_name(store) -> None:
    run(FlowStore(store).save("main", FLOW))
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO flows(name, version, graph, created_at, active) "
                     "VALUES ('main', 7, '{}', 0, 1)")
    conn.close()


def test_routing_by_dialled_number_then_line(store) -> None:
    flows = FlowStore(store)
    run(flows.save("main", FLOW))
    store.writer.execute("INSERT INTO lines(name, kind, destination, created_at) VALUES "
                         "('gsm1', 'gsm', 'flow:main', ?), ('fxo1', 'fxo', 'queue:sales', ?), "
                         "('sip1', 'sip-trunk', 'flow:ghost', ?)",
                         (time.time(),) * 3).result()
    store.set_setting("ivr.numbers", {"+74950000001": "queue:vip"}).result()
    dest = flows.route("gsm1")
    assert (dest.kind, dest.name, dest.flow.version) == ("flow", "main", 1)
    assert (flows.route("fxo1").kind, flows.route("fxo1").name) == ("queue", "sales")
    assert flows.route("sip1").kind == ""  # the flow has no active version
    assert flows.route("nope").kind == ""
    dest = flows.route("sip1", "+74950000001")
    assert (dest.kind, dest.name) == ("queue", "vip")
    run(flows.deactivate("main"))
    assert flows.route("gsm1").kind == ""


def test_flows_without_a_zone_follow_the_box_zone(store) -> None:
    graph = {"start": "t", "nodes": {
        "t": {"type": "time", "hours": {"mon": ["09:00-18:00"]}, "open": "q", "closed": "h"},
        "q": {"type": "queue", "queue": "q"}, "h": {"type": "hangup"}}}
    flows = FlowStore(store)
    run(flows.save("zoned", graph))
    # Monday 2026-01-05 07:00 UTC
    clock = VirtualClock(start=1_767_596_400.0)

    def outcome() -> list:
        io = RecordingIO(clock)
        FlowRun(flows.active("zoned"), clock, io).start()
        clock.advance(10)
        return io.commands()

    assert outcome() == [("hangup", None)]  # no zone set: UTC, 07:00, closed
    store.set_setting("timezone", "Europe/Moscow").result()
    assert flows.active("zoned").timezone == "Europe/Moscow"
    assert outcome() == [("enqueue", "q")]  # 10:00 in Moscow
    store.set_setting("timezone", "America/New_York").result()
    assert outcome() == [("hangup", None)]  # 02:00 in New York
