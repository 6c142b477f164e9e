"""Callers' journeys: answers, hang-ups, callbacks, transfers, sticky operators, and
operators who serve several queues."""

from __future__ import annotations

import math

import pytest

from appliance.acd.api import QueueEvent
from appliance.acd.invariants import check
from appliance.clock import VirtualClock

from .conftest import Harness, History


def test_a_call_from_arrival_to_completion_is_logged_with_durations(h: Harness):
    h.queue(wrapup_seconds=5)
    h.operators("alice")
    h.acd.enqueue("busy", "sales", "+0")
    h.answer("busy", "alice")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.acd.position("c1") == 1
    h.clock.advance(40)
    h.acd.call_ended("busy", by="operator")
    h.clock.advance(5)  # wrap-up, then alice rings for c1
    h.clock.advance(2)
    assert h.answer("c1", "alice")
    h.clock.advance(90)
    h.acd.call_ended("c1", by="caller", hold_seconds=15)
    assert h.log.names("c1") == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    enter, connect, done = (e for e in h.log.events if e.call_id == "c1"
                            and e.event is not QueueEvent.WRAPUPEND)
    assert enter.data["position"] == 1 and enter.data["caller"] == "+1"
    assert (connect.data["waited"], connect.data["ring"]) == (47, 2)
    assert (done.data["talk"], done.data["hold"], done.data["wrapup"]) == (75, 15, 5)
    assert enter.ts + connect.data["waited"] == connect.ts
    assert connect.ts + done.data["talk"] + done.data["hold"] == done.ts


def test_caller_hangs_up_while_ringing_is_abandon(h: Harness):
    h.queue(strategy="ring-all")
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(8)
    h.acd.caller_hangup("c1")
    assert h.ringing() == set()
    [a] = h.log.of(QueueEvent.ABANDON)
    assert (a.data["waited"], a.data["position"]) == (8, 1)
    assert h.status("alice") == h.status("bob") == "available"
    assert h.acd.waiting() == [] and check(h.acd) == []
    h.acd.caller_hangup("c1")  # a second report changes nothing
    assert len(h.log.of(QueueEvent.ABANDON)) == 1


def test_caller_hangs_up_after_connect_is_completecaller(h: Harness):
    h.queue()
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.clock.advance(30)
    h.acd.caller_hangup("c1")
    assert h.log.names("c1") == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert h.status("alice") == "available"


def test_an_answer_for_a_caller_who_left_is_refused(h: Harness):
    h.queue()
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.acd.caller_hangup("c1")
    assert h.acd.ring_answered("c1", "alice") is False
    assert h.sb.log[-1] == ("stop", "c1", "alice")
    assert h.status("alice") == "available"


def test_positions_and_estimated_wait(h: Harness):
    h.queue(join_empty=True, leave_when_empty=False)
    h.operators("alice", "bob")
    for call_id in ("a", "b"):  # both operators busy
        h.acd.enqueue(call_id, "sales", "+0")
        h.answer(call_id, next(op for c, op in h.ringing() if c == call_id))
    for i in range(4):
        h.acd.enqueue(f"w{i}", "sales", "+1")
    # no call handled yet: 180 s per call, two operators staffed
    assert [h.acd.position(f"w{i}") for i in range(4)] == [1, 2, 3, 4]
    assert h.acd.estimated_wait("w3") == pytest.approx(4 * 180 / 2)
    h.clock.advance(80)
    h.acd.call_ended("a")  # handled in 80 s: the average moves 20 % of the way
    assert h.acd.position("w3") == 4  # w0 rings but still waits
    h.answer("w0", "alice" if ("w0", "alice") in h.ringing() else "bob")
    assert h.acd.position("w3") == 3
    assert h.acd.estimated_wait("w3") == pytest.approx(3 * (180 + 0.2 * (80 - 180)) / 2)
    h.acd.logout("alice")
    h.acd.logout("bob")
    assert h.acd.estimated_wait("w3") == math.inf
    assert h.acd.estimated_wait("nobody") == 0.0


def test_sticky_operator_gets_the_caller_first(clock: VirtualClock):
    h = Harness(clock, History({"+7": "bob"}))
    h.queue(sticky_days=30, sticky_seconds=20)
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+7")
    assert h.ringing() == {("c1", "bob")}
    assert h.history.asked == [("+7", 30)]


def test_sticky_caller_is_held_while_the_operator_is_busy_then_anyone(clock: VirtualClock):
    h = Harness(clock, History({"+7": "bob"}))
    h.queue(sticky_days=30, sticky_seconds=20, strategy="linear")
    h.operators("bob", "alice")
    h.acd.enqueue("x", "sales", "+0")
    h.answer("x", "bob")
    h.acd.enqueue("c1", "sales", "+7")
    h.acd.enqueue("c2", "sales", "+8")
    # c1 is held for bob; c2 (not sticky) goes to alice meanwhile
    assert h.ringing() == {("c2", "alice")}
    assert h.acd.position("c1") == 1
    assert check(h.acd) == []
    h.clock.advance(19.9)
    assert ("c1", "alice") not in h.ringing()
    h.acd.call_ended("c2")  # alice is free again but c1 is still bob's
    h.clock.advance(0.1)
    assert h.ringing() == {("c1", "alice")}


def test_sticky_hold_ends_when_the_operator_comes_free(clock: VirtualClock):
    h = Harness(clock, History({"+7": "bob"}))
    h.queue(sticky_days=30, sticky_seconds=20)
    h.operators("bob", "alice")
    h.acd.enqueue("x", "sales", "+0")
    h.answer("x", "bob" if ("x", "bob") in h.ringing() else "alice")
    # whoever is free, c1 waits for bob
    h.acd.enqueue("c1", "sales", "+7")
    if h.status("bob") == "on_call":
        h.clock.advance(5)
        h.acd.call_ended("x")
    assert ("c1", "bob") in h.ringing()


@pytest.mark.parametrize("case", ["not-a-member", "logged-out", "off"])
def test_sticky_is_ignored_when_it_cannot_apply(clock: VirtualClock, case: str):
    h = Harness(clock, History({"+7": "bob"}))
    h.queue(sticky_days=0 if case == "off" else 30, sticky_seconds=20)
    h.operators("alice")
    if case == "not-a-member":
        h.operators("bob", queue="other")
    elif case == "logged-out":
        h.operators("bob", login=False)
    h.acd.enqueue("c1", "sales", "+7")
    assert h.ringing() == {("c1", "alice")}


def test_sticky_operator_who_misses_releases_the_caller(clock: VirtualClock):
    h = Harness(clock, History({"+7": "bob"}))
    h.queue(sticky_days=30, sticky_seconds=60, ring_timeout=10, retry_delay=1,
            strategy="linear")
    h.operators("alice", "bob")
    h.acd.pause("alice", "x")
    h.acd.enqueue("c1", "sales", "+7")
    assert h.ringing() == {("c1", "bob")}
    h.acd.unpause("alice")
    h.clock.advance(10)
    h.clock.advance(1)
    assert h.ringing() == {("c1", "alice")}


def test_queue_weight_decides_for_an_operator_in_two_queues(h: Harness):
    h.queue("low", weight=0, join_empty=True, leave_when_empty=False)
    h.queue("high", weight=10, join_empty=True, leave_when_empty=False)
    h.acd.enqueue("old", "low", "+1")
    h.clock.advance(60)
    h.acd.enqueue("new", "high", "+2")
    h.acd.configure_operator("alice", {"low": 0, "high": 0})
    h.acd.login("alice")
    assert h.ringing() == {("new", "alice")}


def test_operator_in_several_queues_gets_the_oldest_caller(h: Harness):
    h.queue("a", join_empty=True, leave_when_empty=False)
    h.queue("b", join_empty=True, leave_when_empty=False)
    h.acd.enqueue("b1", "b", "+1")
    h.clock.advance(1)
    h.acd.enqueue("a1", "a", "+2")
    h.acd.enqueue("a2", "a", "+3", priority=1)
    h.acd.configure_operator("alice", {"a": 0, "b": 0})
    h.acd.login("alice")
    order = []
    for _ in range(3):
        [(call_id, op)] = h.ringing()
        order.append(call_id)
        h.answer(call_id, op)
        h.acd.call_ended(call_id)
    assert order == ["a2", "b1", "a1"]  # priority first, then the longest wait


def test_callback_keeps_the_place_and_rings_with_callback_flag(h: Harness):
    h.queue(max_wait=100, join_empty=True, leave_when_empty=False)
    h.acd.enqueue("c1", "sales", "+1")
    h.acd.enqueue("c2", "sales", "+2")
    h.clock.advance(10)
    assert h.acd.request_callback("c1")
    [cb] = h.log.of(QueueEvent.CALLBACK)
    assert (cb.data["position"], cb.data["waited"]) == (1, 10)
    h.acd.caller_hangup("c1")  # the caller's leg goes away; the place is kept
    h.clock.advance(200)  # max_wait no longer applies to a kept place
    assert [w.call_id for w in h.acd.waiting()] == ["c1"]  # c2 timed out
    assert h.acd.waiting()[0].callback
    h.operators("alice")
    assert h.sb.log[-1] == ("ring", "c1", "alice", True)
    assert h.answer("c1", "alice")
    assert h.sb.callbacks == [("c1", "alice", "+1")]
    [cc] = h.log.of(QueueEvent.CALLBACKCONNECT)
    assert cc.operator == "alice" and cc.data["waited"] == 210
    assert h.log.of(QueueEvent.CONNECT, "c1") == []
    h.clock.advance(50)
    h.acd.call_ended("c1", by="operator")
    assert h.log.names("c1") == ["ENTERQUEUE", "CALLBACK", "CALLBACKCONNECT", "COMPLETEAGENT"]


def test_callback_while_ringing_stops_the_ring_and_rerings_as_callback(h: Harness):
    h.queue()
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.acd.request_callback("c1")
    assert ("stop", "c1", "alice") in h.sb.log
    assert h.sb.log[-1] == ("ring", "c1", "alice", True)
    assert h.acd.operator("alice").missed_in_row == 0


def test_callback_refused_when_disabled_or_connected(h: Harness):
    h.queue(callback_enabled=False)
    h.queue("b")
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.acd.request_callback("c1") is False
    h.answer("c1", "alice")
    assert h.acd.request_callback("c1") is False
    assert h.acd.request_callback("nobody") is False
    assert h.log.of(QueueEvent.CALLBACK) == []


def test_transfer_of_a_waiting_caller_keeps_the_original_wait_start(h: Harness):
    h.queue("sales", join_empty=True, leave_when_empty=False)
    h.queue("support", join_empty=True, leave_when_empty=False)
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(30)
    h.acd.enqueue("s1", "support", "+2")
    h.clock.advance(30)
    result = h.acd.transfer("c1", "support")
    assert result.joined and result.position == 1  # waited since t=0, ahead of s1
    [t] = h.log.of(QueueEvent.TRANSFER)
    assert (t.queue, t.data["to"], t.data["connected"], t.data["waited"]) == (
        "sales", "support", False, 60)
    assert h.log.names("c1") == ["ENTERQUEUE", "TRANSFER", "ENTERQUEUE"]
    assert h.acd.waiting("sales") == []


def test_transfer_of_a_connected_call_frees_the_operator(h: Harness):
    h.queue("sales", wrapup_seconds=3)
    h.queue("support", join_empty=True)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.clock.advance(20)
    assert h.acd.transfer("c1", "support").joined
    [t] = h.log.of(QueueEvent.TRANSFER)
    assert (t.operator, t.data["talk"], t.data["connected"]) == ("alice", 20, True)
    assert h.status("alice") == "wrapup"
    assert h.acd.position("c1") == 1
    assert h.acd.transfer("c1", "nowhere").reason == "no-such-queue"
    assert h.acd.transfer("c1", "support").reason == "same-queue"
    assert h.acd.transfer("zz", "sales").reason == "no-such-call"


def test_login_logout_are_logged_with_reason_and_session_length(h: Harness):
    h.queue()
    h.acd.configure_operator("alice", {"sales": 0})
    h.acd.login("alice", "phone")
    h.acd.login("alice")  # already logged in: nothing new
    h.clock.advance(3600)
    h.acd.logout("alice", "web")
    assert [(e.event.value, e.reason) for e in h.log.events] == [
        ("LOGIN", "phone"), ("LOGOUT", "web")]
    assert h.log.events[-1].data["session"] == 3600
    assert h.status("alice") == "logged_out"


def test_logout_while_ringing_passes_the_caller_on(h: Harness):
    h.queue(strategy="linear")
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+1")
    h.acd.logout("alice")
    assert h.ringing() == {("c1", "bob")}
    assert check(h.acd) == []


def test_logout_while_on_call_keeps_the_call_then_no_wrapup(h: Harness):
    h.queue(wrapup_seconds=30)
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.acd.logout("alice")
    assert h.status("alice") == "on_call"
    h.acd.call_ended("c1")
    assert h.status("alice") == "logged_out"
    assert check(h.acd) == []


def test_unknown_operator_is_an_error_in_words(h: Harness):
    with pytest.raises(ValueError, match="unknown operator"):
        h.acd.login("ghost")
    h.queue()
    h.operators("alice", login=False)
    with pytest.raises(ValueError, match="not logged in"):
        h.acd.pause("alice", "x")


def test_configure_operator_keeps_state_and_moves_queues(h: Harness):
    h.queue("sales")
    h.queue("support", join_empty=True, leave_when_empty=False)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.acd.configure_operator("alice", {"support": 2})
    view = h.acd.operator("alice")
    assert view.status.value == "on_call" and view.queues == {"support": 2}
    h.acd.enqueue("s1", "support", "+2")
    h.acd.call_ended("c1")
    assert h.ringing() == {("s1", "alice")}
    assert check(h.acd) == []


def test_remove_queue_sends_its_callers_away(h: Harness):
    h.queue("sales", join_empty=True, overflow="hangup")
    h.acd.enqueue("c1", "sales", "+1")
    h.acd.remove_queue("sales")
    assert h.sb.overflows == [("c1", "hangup", "empty")]
    assert h.log.of(QueueEvent.EXITEMPTY)[0].reason == "removed"
    assert h.acd.waiting() == []


def test_remove_operator_during_a_call(h: Harness):
    h.queue()
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.acd.remove_operator("alice")
    assert [o.name for o in h.acd.operators()] == []
    h.acd.call_ended("c1")
    assert h.log.names("c1") == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert check(h.acd) == []


def test_waiting_view_shows_who_rings(h: Harness):
    h.queue(strategy="ring-all")
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+1", priority=2)
    h.clock.advance(4)
    [w] = h.acd.waiting()
    assert (w.call_id, w.queue, w.caller_number, w.position, w.waited, w.priority) == (
        "c1", "sales", "+1", 1, 4, 2)
    assert sorted(w.ringing) == ["alice", "bob"]


def test_sticky_hold_ends_when_the_operator_leaves_the_queue(clock: VirtualClock):
    h = Harness(clock, History({"+7": "bob"}))
    h.queue(sticky_days=30, sticky_seconds=60)
    h.operators("bob", "alice")
    h.acd.pause("alice", "x")
    h.acd.enqueue("x", "sales", "+0")
    h.answer("x", "bob")
    h.acd.enqueue("c1", "sales", "+7")
    h.acd.unpause("alice")
    assert h.ringing() == set()  # held for bob
    h.acd.configure_operator("bob", {"other": 0})
    assert h.ringing() == {("c1", "alice")}
    assert check(h.acd) == []


def test_the_invariant_checker_sees_a_broken_state(h: Harness):
    """check() is what the property tests lean on: it must notice real damage."""
    h.queue(strategy="ring-all")
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+1")
    assert check(h.acd) == []
    h.acd.calls["c1"].rings.pop("bob")  # forget a ring the operator still believes in
    h.acd.queues["sales"].available["carol"] = None
    problems = " ".join(check(h.acd))
    assert "bob rings for 'c1'" in problems
    assert "available index" in problems


def test_a_queue_removed_and_added_again_counts_its_members_once(h: Harness):
    h.queue("sales")
    h.operators("alice", "bob")
    h.acd.remove_queue("sales")
    h.queue("sales", join_empty=False)
    assert check(h.acd) == []
    assert h.acd.queues["sales"].logged_in_count == 2
    h.acd.enqueue("c1", "sales", "+1")
    assert len(h.ringing()) == 1


def test_an_operator_removed_during_a_call_and_added_back_is_still_on_it(h: Harness):
    h.queue(wrapup_seconds=5)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.acd.remove_operator("alice")
    with pytest.raises(ValueError):
        h.acd.operator("alice")
    h.acd.configure_operator("alice", {"sales": 0})  # the installer changes their mind
    h.acd.login("alice")
    h.acd.enqueue("c2", "sales", "+2")
    assert h.status("alice") == "on_call" and h.ringing() == set()  # her phone is busy
    assert check(h.acd) == []
    h.acd.call_ended("c1")
    h.clock.advance(5)
    assert h.ringing() == {("c2", "alice")}


def test_an_operator_removed_during_a_call_goes_when_it_ends(h: Harness):
    h.queue(wrapup_seconds=5)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.acd.remove_operator("alice")  # logged out, so no wrap-up follows the call
    assert "alice" in h.acd.ops and h.acd.operators() == []
    h.acd.call_ended("c1")
    assert "alice" not in h.acd.ops
    assert h.log.names("c1") == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert check(h.acd) == []
