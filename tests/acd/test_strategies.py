"""Each ring strategy, driven on the virtual clock."""

from __future__ import annotations

from collections import Counter

import pytest

from appliance.acd.api import QueueEvent
from appliance.acd.invariants import check
from appliance.acd.strategies import STRATEGIES
from appliance.clock import VirtualClock

from .conftest import Harness


def serve(h: Harness, call_id: str, talk: float = 10.0) -> str:
    """Enqueue a caller, let the one ringing operator answer, talk, hang up; who took it."""
    h.acd.enqueue(call_id, "sales", "+1" + call_id)
    rung = [op for c, op in h.ringing() if c == call_id]
    assert len(rung) == 1, rung
    assert h.answer(call_id, rung[0])
    h.clock.advance(talk)
    h.acd.call_ended(call_id, by="caller")
    return rung[0]


def test_every_configurable_strategy_is_registered():
    from appliance.acd.config import STRATEGIES as CONFIGURABLE

    assert set(CONFIGURABLE) == set(STRATEGIES)


def test_ring_all_rings_everyone_and_connects_only_the_first(h: Harness):
    h.queue(strategy="ring-all")
    h.operators("alice", "bob", "carol")
    h.acd.enqueue("c1", "sales", "+100")
    assert h.ringing() == {("c1", "alice"), ("c1", "bob"), ("c1", "carol")}
    h.clock.advance(3)
    assert h.answer("c1", "bob")
    # the others stop ringing and are free again, without a miss counted against them
    assert h.ringing() == set()
    assert h.status("alice") == "available" and h.status("carol") == "available"
    assert h.acd.operator("alice").missed_in_row == 0
    # a late answer from alice (her phone raced the cancel) must not connect a second time
    assert h.acd.ring_answered("c1", "alice") is False
    assert h.sb.log[-1] == ("stop", "c1", "alice")
    assert len(h.log.of(QueueEvent.CONNECT)) == 1
    assert h.log.of(QueueEvent.CONNECT)[0].data["ring"] == 3.0
    assert h.status("bob") == "on_call" and h.status("alice") == "available"
    assert check(h.acd) == []


def test_linear_always_tries_members_in_order(h: Harness):
    h.queue(strategy="linear")
    h.operators("alice", "bob", "carol")
    assert serve(h, "c1") == "alice"
    assert serve(h, "c2") == "alice"
    # alice busy: bob is next in member order
    h.acd.enqueue("c3", "sales", "+3")
    h.answer("c3", "alice")
    h.acd.enqueue("c4", "sales", "+4")
    assert ("c4", "bob") in h.ringing()


def test_round_robin_remembers_who_was_rung_last(h: Harness):
    h.queue(strategy="round-robin")
    h.operators("alice", "bob", "carol")
    taken = [serve(h, f"c{i}") for i in range(5)]
    assert taken == ["alice", "bob", "carol", "alice", "bob"]


def test_round_robin_moves_on_after_a_miss(h: Harness):
    h.queue(strategy="round-robin", ring_timeout=10, retry_delay=2)
    h.operators("alice", "bob")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.ringing() == {("c1", "alice")}
    h.clock.advance(10)  # alice does not answer
    h.clock.advance(2)
    assert h.ringing() == {("c1", "bob")}


def test_longest_idle_picks_who_finished_a_call_longest_ago(h: Harness):
    h.queue(strategy="longest-idle")
    h.operators("alice", "bob", "carol")  # all logged in at t=0
    h.clock.advance(5)
    # alice, then bob, then carol take and finish a call; carol finishes last
    for op in ("alice", "bob", "carol"):
        h.acd.enqueue("x" + op, "sales", "+9")
        rung = next(o for c, o in h.ringing() if c == "x" + op)
        assert rung == op  # ties broken by availability order, and each was idle since 0
        h.answer("x" + op, op)
        h.clock.advance(10)
        h.acd.call_ended("x" + op)
    # alice finished at 15, bob at 25, carol at 35: alice has been idle longest
    assert serve(h, "c1") == "alice"
    assert serve(h, "c2") == "bob"


def test_fewest_calls_picks_who_took_the_fewest_calls_in_this_queue(h: Harness):
    h.queue(strategy="fewest-calls")
    h.operators("alice", "bob")
    taken = [serve(h, f"c{i}") for i in range(4)]
    assert Counter(taken) == {"alice": 2, "bob": 2}
    assert taken[0] != taken[1] and taken[2] != taken[3]


def test_least_talk_time_picks_who_talked_least(h: Harness):
    h.queue(strategy="least-talk-time")
    h.operators("alice", "bob")
    assert serve(h, "c1", talk=100) == "alice"
    assert serve(h, "c2", talk=30) == "bob"
    assert serve(h, "c3", talk=30) == "bob"  # bob 30 s < alice 100 s
    assert serve(h, "c4", talk=30) == "bob"  # 60 < 100
    assert serve(h, "c5", talk=30) == "bob"  # 90 < 100
    assert serve(h, "c6", talk=30) == "alice"  # 120 > 100


def choices(seed: int, n: int, strategy: str = "random") -> list[str]:
    h = Harness(VirtualClock(), seed=seed)
    h.queue(strategy=strategy)
    h.operators("alice", "bob", "carol")
    return [serve(h, f"c{i}") for i in range(n)]


def test_random_is_reproducible_with_a_seed_and_spreads_calls():
    first = choices(seed=1, n=150)
    assert first == choices(seed=1, n=150)
    assert first != choices(seed=2, n=150)
    counts = Counter(first)
    assert set(counts) == {"alice", "bob", "carol"}
    assert min(counts.values()) >= 25  # 50 expected each; far from one favourite


def test_weighted_random_uses_penalty_as_weight_not_as_tier(clock: VirtualClock):
    h = Harness(clock, seed=3)
    h.queue(strategy="weighted-random", penalty_step_seconds=0)
    h.operators("near", penalty=0)
    h.operators("far", penalty=3)
    # weights 1 and 1/4: far gets about 20 %; with tiers "far" would never ring at all
    taken = Counter(serve(h, f"c{i}") for i in range(400))
    assert 40 <= taken["far"] <= 125
    assert taken["near"] + taken["far"] == 400


def test_ring_progressively_adds_one_operator_per_step(h: Harness):
    h.queue(strategy="ring-progressively", progressive_step_seconds=5, ring_timeout=12)
    h.operators("alice", "bob", "carol")
    h.acd.enqueue("c1", "sales", "+1")
    assert h.ringing() == {("c1", "alice")}
    h.clock.advance(4.9)
    assert h.ringing() == {("c1", "alice")}
    h.clock.advance(0.1)
    assert h.ringing() == {("c1", "alice"), ("c1", "bob")}
    h.clock.advance(5)
    assert h.ringing() == {("c1", "alice"), ("c1", "bob"), ("c1", "carol")}
    h.clock.advance(2)  # t=12: alice's own ring timeout; the others keep ringing
    assert h.ringing() == {("c1", "bob"), ("c1", "carol")}
    assert [e.operator for e in h.log.of(QueueEvent.RINGNOANSWER)] == ["alice"]
    assert h.answer("c1", "carol")
    assert h.ringing() == set()
    assert h.status("bob") == "available"
    assert check(h.acd) == []


def test_ring_progressively_skips_operators_who_became_busy(h: Harness):
    h.queue(strategy="ring-progressively", progressive_step_seconds=5, ring_timeout=30)
    h.operators("alice", "bob", "carol")
    h.acd.enqueue("c1", "sales", "+1")
    h.acd.pause("bob", "lunch")
    h.clock.advance(5)
    assert h.ringing() == {("c1", "alice"), ("c1", "carol")}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_no_strategy_rings_a_busy_or_paused_operator(clock: VirtualClock, name: str):
    h = Harness(clock)
    h.queue(strategy=name, progressive_step_seconds=1)
    h.operators("alice", "bob", "carol", "dave")
    h.acd.enqueue("busy", "sales", "+0")
    first = next(op for c, op in h.ringing() if c == "busy")
    h.answer("busy", first)
    h.acd.pause("dave" if first != "dave" else "carol", "meeting")
    for i in range(5):
        h.acd.enqueue(f"c{i}", "sales", "+1")
        h.clock.advance(3)
        for call_id, op in h.ringing():
            assert h.status(op) == "ringing"
            assert h.acd.operator(op).call_id == call_id
        assert check(h.acd) == []
