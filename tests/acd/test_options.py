"""Queue options on the virtual clock: timers, tiers, limits, overflow, priority."""

from __future__ import annotations

import pytest

from appliance.acd.api import QueueEvent
from appliance.acd.invariants import check
from appliance.clock import VirtualClock

from .conftest import Harness


def test_ring_timeout_stops_the_ring_and_logs_ringnoanswer(h: Harness):
    h.queue(ring_timeout=15, retry_delay=2)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(14.9)
    assert h.ringing() == {("c1", "alice")}
    h.clock.advance(0.1)
    assert ("stop", "c1", "alice") in h.sb.log
    assert h.ringing() == set()
    [miss] = h.log.of(QueueEvent.RINGNOANSWER)
    assert (miss.operator, miss.reason, miss.data["ring"], miss.ts) == ("alice", "timeout", 15, 15)
    assert h.status("alice") == "available"
    assert h.acd.operator("alice").missed_in_row == 1
    assert check(h.acd) == []


def test_retry_delay_rests_the_caller_between_attempts(h: Harness):
    h.queue(ring_timeout=10, retry_delay=4)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(10)
    h.clock.advance(3.9)
    assert h.ringing() == set()
    assert check(h.acd) == []
    h.clock.advance(0.1)
    assert h.ringing() == {("c1", "alice")}
    assert h.sb.rings("c1") == [("c1", "alice"), ("c1", "alice")]


def test_a_phone_that_refuses_at_once_is_not_rung_again_in_the_same_instant(h: Harness):
    h.queue(retry_delay=0)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.fail("c1", "alice", "busy")
    assert h.ringing() == set()
    assert h.log.of(QueueEvent.RINGNOANSWER)[0].reason == "busy"
    h.clock.advance(1.0)
    assert h.ringing() == {("c1", "alice")}


def test_wrapup_never_ends_early(h: Harness):
    h.queue(wrapup_seconds=10)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.clock.advance(60)
    h.acd.call_ended("c1", by="operator")
    assert h.status("alice") == "wrapup"
    h.acd.enqueue("c2", "sales", "+2")
    # log out and back in, pause and unpause: none of it shortens the wrap-up
    h.acd.pause("alice", "coffee")
    h.acd.unpause("alice")
    h.clock.advance(9.99)
    assert h.status("alice") == "wrapup" and h.ringing() == set()
    h.clock.advance(0.01)
    assert h.ringing() == {("c2", "alice")}
    [end] = h.log.of(QueueEvent.WRAPUPEND)
    assert (end.call_id, end.operator, end.data["wrapup"], end.ts) == ("c1", "alice", 10, 70)
    [done] = h.log.of(QueueEvent.COMPLETEAGENT)
    assert done.data["talk"] == 60 and done.data["wrapup"] == 10


def test_wrapup_survives_logout_and_login(h: Harness):
    h.queue(wrapup_seconds=10)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.acd.call_ended("c1")
    h.acd.logout("alice")
    h.acd.login("alice")
    h.acd.enqueue("c2", "sales", "+2")
    assert h.status("alice") == "wrapup" and h.ringing() == set()
    h.clock.advance(10)
    assert h.ringing() == {("c2", "alice")}


def test_autopause_after_missed_rings_in_a_row(h: Harness):
    h.queue(autopause_after=2, ring_timeout=10, retry_delay=1)
    h.operators("alice", "bob", queue="sales")
    h.acd.pause("bob", "training")
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(10)  # miss 1
    assert h.acd.operator("alice").missed_in_row == 1
    h.clock.advance(1)
    h.clock.advance(10)  # miss 2 -> autopause
    pauses = [e for e in h.log.of(QueueEvent.PAUSE) if e.operator == "alice"]
    assert [(p.reason, p.data["missed"]) for p in pauses] == [("autopause", 2)]
    view = h.acd.operator("alice")
    assert view.status.value == "paused" and view.reason == "autopause"
    h.clock.advance(60)
    assert h.ringing() == set()
    h.acd.unpause("alice")
    assert h.acd.operator("alice").missed_in_row == 0
    assert h.ringing() == {("c1", "alice")}


def test_an_answered_call_resets_the_missed_count(h: Harness):
    h.queue(autopause_after=2, ring_timeout=10, retry_delay=1)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(11)
    h.answer("c1", "alice")
    assert h.acd.operator("alice").missed_in_row == 0


def test_autopause_off_when_zero(h: Harness):
    h.queue(autopause_after=0, ring_timeout=5, retry_delay=0)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(100)
    assert h.log.of(QueueEvent.PAUSE) == []
    assert h.acd.operator("alice").missed_in_row >= 10


def test_penalty_tiers_widen_with_the_wait(h: Harness):
    h.queue(penalty_step_seconds=30)
    h.operators("first", penalty=0)
    h.operators("second", penalty=5)
    h.operators("third", penalty=9)
    h.acd.enqueue("busy", "sales", "+0")
    h.answer("busy", "first")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.ringing() == set()  # only tier 0 may ring, and it is busy
    h.clock.advance(29.9)
    assert h.ringing() == set()
    assert check(h.acd) == []
    h.clock.advance(0.1)
    assert h.ringing() == {("c1", "second")}


def test_penalty_tiers_count_only_logged_in_members(h: Harness):
    h.queue(penalty_step_seconds=30)
    h.operators("first", penalty=0, login=False)
    h.operators("backup", penalty=5)
    h.acd.enqueue("c1", "sales", "+1")
    assert h.ringing() == {("c1", "backup")}


def test_penalty_step_zero_never_widens(h: Harness):
    h.queue(penalty_step_seconds=0)
    h.operators("first", penalty=0)
    h.operators("second", penalty=1)
    h.acd.enqueue("busy", "sales", "+0")
    h.answer("busy", "first")
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(3600)
    assert h.ringing() == set()


def test_pause_with_reason_codes(h: Harness):
    h.queue()
    h.operators("alice")
    h.acd.pause("alice", "lunch")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.ringing() == set()
    assert h.acd.operator("alice").reason == "lunch"
    h.clock.advance(1800)
    h.acd.unpause("alice")
    [p] = h.log.of(QueueEvent.PAUSE)
    [u] = h.log.of(QueueEvent.UNPAUSE)
    assert (p.reason, u.reason, u.data["paused"]) == ("lunch", "lunch", 1800)
    assert h.ringing() == {("c1", "alice")}


def test_pause_during_a_call_takes_effect_after_wrapup(h: Harness):
    h.queue(wrapup_seconds=5)
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.answer("c1", "alice")
    h.acd.pause("alice", "break")
    assert h.acd.operator("alice").status.value == "on_call"
    assert h.acd.operator("alice").reason == "break"  # shown as pending
    assert h.log.of(QueueEvent.PAUSE) == []
    h.acd.call_ended("c1")
    h.clock.advance(5)
    assert h.acd.operator("alice").status.value == "paused"
    [p] = h.log.of(QueueEvent.PAUSE)
    assert p.ts == 5 and p.reason == "break"


def test_pause_while_ringing_moves_the_caller_on(h: Harness):
    h.queue(strategy="linear")
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+1")
    h.acd.pause("alice", "toilet")
    assert h.ringing() == {("c1", "bob")}
    assert h.acd.operator("alice").missed_in_row == 0
    assert h.log.of(QueueEvent.RINGNOANSWER)[0].reason == "paused"


def test_join_empty_refuses_when_nobody_is_logged_in(h: Harness):
    h.queue(join_empty=False)
    h.operators("alice", login=False)
    result = h.acd.enqueue("c1", "sales", "+1")
    assert (result.joined, result.reason) == (False, "empty")
    [e] = h.log.of(QueueEvent.EXITEMPTY)
    assert e.reason == "joinempty"
    assert h.log.of(QueueEvent.ENTERQUEUE) == []
    assert h.acd.position("c1") == 0


def test_join_empty_lets_callers_wait(h: Harness):
    h.queue(join_empty=True, leave_when_empty=False)
    result = h.acd.enqueue("c1", "sales", "+1")
    assert result.joined and result.position == 1
    h.operators("alice")
    assert h.ringing() == {("c1", "alice")}


def test_a_paused_operator_keeps_the_queue_open(h: Harness):
    h.queue(join_empty=False)
    h.operators("alice")
    h.acd.pause("alice", "lunch")
    assert h.acd.enqueue("c1", "sales", "+1").joined


def test_leave_when_empty_sends_live_callers_to_overflow(h: Harness):
    h.queue(leave_when_empty=True, overflow="voicemail")
    h.operators("alice")
    h.acd.enqueue("busy", "sales", "+0")
    h.answer("busy", "alice")
    h.acd.enqueue("c1", "sales", "+1")
    h.acd.enqueue("c2", "sales", "+2")
    h.acd.request_callback("c2")
    h.clock.advance(7)
    h.acd.logout("alice", "end of shift")
    assert h.sb.overflows == [("c1", "voicemail", "empty")]
    [e] = h.log.of(QueueEvent.EXITEMPTY)
    assert (e.call_id, e.reason, e.data["waited"], e.data["position"]) == ("c1", "empty", 7, 1)
    # the kept callback place stays; the call in progress goes on
    assert [w.call_id for w in h.acd.waiting()] == ["c2"]
    assert h.status("alice") == "on_call"
    assert check(h.acd) == []


def test_max_wait_overflows_with_timeout(h: Harness):
    h.queue(max_wait=120, overflow="queue:support", ring_timeout=200)
    h.queue("support")
    h.operators("alice")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.ringing() == {("c1", "alice")}
    h.clock.advance(120)
    assert h.sb.overflows == [("c1", "queue:support", "timeout")]
    assert ("stop", "c1", "alice") in h.sb.log
    assert h.status("alice") == "available"
    [e] = h.log.of(QueueEvent.EXITWITHTIMEOUT)
    assert e.data["waited"] == 120
    assert h.acd.position("c1") == 0 and check(h.acd) == []


def test_max_length_refuses_at_the_door(h: Harness):
    h.queue(max_length=2, join_empty=True, leave_when_empty=False)
    assert h.acd.enqueue("c1", "sales", "+1").joined
    assert h.acd.enqueue("c2", "sales", "+2").position == 2
    result = h.acd.enqueue("c3", "sales", "+3")
    assert (result.joined, result.reason) == (False, "full")
    [e] = h.log.of(QueueEvent.EXITFULL)
    assert e.call_id == "c3" and e.data["max_length"] == 2
    h.acd.caller_hangup("c1")
    assert h.acd.enqueue("c3", "sales", "+3").joined


def test_priority_first_then_first_come(h: Harness):
    h.queue(join_empty=True, leave_when_empty=False)
    h.acd.enqueue("old", "sales", "+1")
    h.clock.advance(1)
    h.acd.enqueue("vip", "sales", "+2", priority=5)
    h.clock.advance(1)
    h.acd.enqueue("new", "sales", "+3")
    h.acd.enqueue("vip2", "sales", "+4", priority=5)
    assert [w.call_id for w in h.acd.waiting("sales")] == ["vip", "vip2", "old", "new"]
    assert h.acd.position("old") == 3
    h.operators("alice")
    served = []
    for _ in range(4):
        [(call_id, op)] = h.ringing()
        served.append(call_id)
        h.answer(call_id, op)
        h.acd.call_ended(call_id)
    assert served == ["vip", "vip2", "old", "new"]


def test_enqueue_into_an_unknown_queue(h: Harness):
    result = h.acd.enqueue("c1", "nowhere", "+1")
    assert (result.joined, result.reason) == (False, "no-such-queue")


def test_a_call_id_can_wait_only_once(h: Harness):
    h.queue(join_empty=True)
    h.acd.enqueue("c1", "sales", "+1")
    with pytest.raises(ValueError):
        h.acd.enqueue("c1", "sales", "+1")


def test_bad_queue_config_is_refused_in_words(h: Harness):
    from appliance.acd.config import QueueConfig

    with pytest.raises(ValueError, match="strategy"):
        h.acd.configure_queue(QueueConfig(name="x", strategy="loudest"))
    assert h.acd.waiting("x") == []


class BoundedClock(VirtualClock):
    """A virtual clock that fails loudly instead of spinning on timers at one instant."""

    def call_later(self, delay, callback, *args):
        self.scheduled = getattr(self, "scheduled", 0) + 1
        assert self.scheduled < 1000, "timers keep being scheduled: a busy loop"
        return super().call_later(delay, callback, *args)


def test_tiers_open_on_time_when_the_wait_started_at_an_odd_instant():
    """2.3000000000000003 + 30 - 2.3000000000000003 == 29.999999999999996: the tier must
    still open at that instant, and the next wake-up must be the next tier, not the same
    instant again (which would spin the loop)."""
    h = Harness(BoundedClock())
    h.queue(penalty_step_seconds=30)
    h.operators("first", penalty=0)
    h.operators("second", penalty=1)
    h.operators("third", penalty=2)
    h.acd.enqueue("b1", "sales", "+0")
    h.answer("b1", "first")
    h.acd.enqueue("b2", "sales", "+0")
    h.clock.advance(23 * 0.1)
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(30 - 23 * 0.1)
    h.answer("b2", "second")  # tiers 0 and 1 busy; "third" is free but two tiers away
    h.clock.advance(23 * 0.1)  # c1's tier 1 opens: nobody free there
    assert h.ringing() == set()
    h.clock.advance(29.99)
    assert h.ringing() == set()
    h.clock.advance(0.02)  # tier 2 opens (at 62.3, give or take the float sums above)
    assert h.ringing() == {("c1", "third")}


def test_a_tier_opens_even_when_the_clock_lands_a_hair_before_it(h: Harness):
    """2.3 + 9.9 + 0.1 == 12.299999999999999: ten seconds after 2.3 in every sense that
    matters.  The tier is open then, and a serve pass has looked."""
    h.queue(penalty_step_seconds=10, strategy="ring-all")
    h.operators("first", penalty=0)
    h.operators("second", penalty=1)
    h.acd.enqueue("busy", "sales", "+0")
    h.answer("busy", "first")
    h.clock.advance(2.3)
    h.acd.enqueue("c1", "sales", "+1")
    h.clock.advance(9.9)
    assert h.ringing() == set() and check(h.acd) == []
    h.clock.advance(0.1)
    assert h.clock.monotonic() < 12.3
    assert h.ringing() == {("c1", "second")}
    assert check(h.acd) == []
