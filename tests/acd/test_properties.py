"""Property tests: random traffic (arrivals, answers, misses, hang-ups, pauses, logouts,
callbacks, transfers, time passing) against the ACD's invariants.

ACD_PROPERTY_TRACE=1 prints each example's steps (with -s).

After every step the whole state must be consistent (``invariants.check``) and the
phones the fake switchboard has ringing must be exactly the rings the ACD believes in.
At the end everything still open is closed, and the queue log must tell each caller's
story exactly once: every queue visit ends in exactly one terminal event, nothing is
connected twice, and the durations in the events add up to the clock.
"""

from __future__ import annotations

import os
from collections import defaultdict

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from appliance.acd.api import QueueEvent
from appliance.acd.config import STRATEGIES
from appliance.acd.entries import Stage
from appliance.acd.invariants import check
from appliance.clock import VirtualClock

from .conftest import Harness, History

OPERATORS = ["ann", "ben", "cat", "dan"]
QUEUES = ["q0", "q1"]
TERMINAL = {QueueEvent.COMPLETECALLER, QueueEvent.COMPLETEAGENT, QueueEvent.ABANDON,
            QueueEvent.EXITWITHTIMEOUT, QueueEvent.EXITEMPTY, QueueEvent.TRANSFER}
REFUSED = {QueueEvent.EXITFULL, QueueEvent.EXITEMPTY}

queue_options = st.fixed_dictionaries({
    "strategy": st.sampled_from(STRATEGIES),
    "ring_timeout": st.sampled_from([3, 10, 15]),
    "retry_delay": st.sampled_from([0, 2, 5]),
    "wrapup_seconds": st.sampled_from([0, 5, 30]),
    "autopause_after": st.sampled_from([0, 1, 3]),
    "join_empty": st.booleans(),
    "leave_when_empty": st.booleans(),
    "max_wait": st.sampled_from([0, 30, 120]),
    "max_length": st.sampled_from([0, 3]),
    "penalty_step_seconds": st.sampled_from([0, 10]),
    "progressive_step_seconds": st.sampled_from([1, 5]),
    "sticky_days": st.sampled_from([0, 30]),
    "sticky_seconds": st.sampled_from([0, 15]),
    "weight": st.sampled_from([0, 5]),
})


memberships = st.dictionaries(st.sampled_from(QUEUES), st.integers(0, 2), min_size=1)
ARGS = {
    "arrive": st.tuples(st.sampled_from(QUEUES), st.integers(0, 2), st.integers(0, 4)),
    "answer": st.tuples(st.integers(0, 20)),
    "fail": st.tuples(st.integers(0, 20), st.sampled_from(["noanswer", "busy", "unreachable"])),
    "hangup": st.tuples(st.integers(0, 20)),
    "end": st.tuples(st.integers(0, 20), st.sampled_from(["caller", "operator"])),
    "callback": st.tuples(st.integers(0, 20)),
    "transfer": st.tuples(st.integers(0, 20), st.sampled_from(QUEUES)),
    "pause": st.tuples(st.sampled_from(OPERATORS), st.sampled_from(["lunch", "meeting"])),
    "unpause": st.tuples(st.sampled_from(OPERATORS)),
    "login": st.tuples(st.sampled_from(OPERATORS)),
    "logout": st.tuples(st.sampled_from(OPERATORS)),
    "late": st.tuples(st.integers(0, 20), st.sampled_from(OPERATORS)),
    "advance": st.tuples(st.sampled_from([0.1, 0.5, 1, 2.3, 3, 7, 9.9, 20, 60])),
    "move": st.tuples(st.sampled_from(OPERATORS), memberships),
    "rebuild": st.tuples(st.sampled_from(QUEUES)),  # the installer removes and re-adds a queue
    "recreate": st.tuples(st.sampled_from(OPERATORS), memberships),  # same for an operator
}
# Arrivals, answers, call ends and time are drawn more often, so calls get far enough.
KINDS = ["arrive"] * 5 + ["answer"] * 4 + ["end"] * 3 + ["advance"] * 4 + [
    k for k in ARGS if k not in ("arrive", "answer", "end", "advance")]
step = st.sampled_from(KINDS).flatmap(lambda kind: ARGS[kind].map(lambda a: (kind, *a)))


class SpinGuardClock(VirtualClock):
    """Fails instead of hanging if timers keep re-arming at one instant."""

    def call_later(self, delay, callback, *args):
        if delay <= 0:
            self.zero_delay = getattr(self, "zero_delay", 0) + 1
            assert self.zero_delay < 10_000, "timers re-armed at the same instant"
        return super().call_later(delay, callback, *args)


class Traffic:
    def __init__(self, options: list[dict], members: list[dict], seed: int) -> None:
        self.clock = SpinGuardClock()
        self.h = Harness(self.clock, History({"+0": "ann", "+1": "ben"}), seed=seed)
        self.acd = self.h.acd
        self.wrapup = {}
        self.options = dict(zip(QUEUES, options, strict=True))
        for name, opts in zip(QUEUES, options, strict=True):
            self.h.queue(name, **opts)
            self.wrapup[name] = opts["wrapup_seconds"]
        for name, queues in zip(OPERATORS, members, strict=True):
            self.acd.configure_operator(name, queues)
            self.acd.login(name)
        self.next_call = 0
        self.hung_up: set[str] = set()

    def live(self) -> list[str]:
        return sorted(self.acd.calls)

    def pick(self, items: list, k: int):
        return items[k % len(items)] if items else None

    def run(self, action: tuple) -> None:
        kind, *args = action
        acd = self.acd
        if kind == "arrive":
            queue, priority, number = args
            call_id = f"c{self.next_call}"
            self.next_call += 1
            acd.enqueue(call_id, queue, f"+{number}", priority)
        elif kind == "answer":
            pair = self.pick(sorted(self.h.sb.ringing), args[0])
            if pair:
                assert self.h.answer(*pair)
        elif kind == "fail":
            pair = self.pick(sorted(self.h.sb.ringing), args[0])
            if pair:
                self.h.fail(*pair, reason=args[1])
        elif kind == "hangup":
            call_id = self.pick(self.live(), args[0])
            if call_id and not acd.calls[call_id].callback:
                self.hung_up.add(call_id)
                acd.caller_hangup(call_id)
                assert call_id not in acd.calls
        elif kind == "end":
            connected = [c for c in self.live() if acd.calls[c].stage is Stage.CONNECTED]
            call_id = self.pick(connected, args[0])
            if call_id:
                acd.call_ended(call_id, by=args[1])
        elif kind == "callback":
            call_id = self.pick(self.live(), args[0])
            if call_id:
                acd.request_callback(call_id)
        elif kind == "transfer":
            call_id = self.pick(self.live(), args[0])
            if call_id:
                acd.transfer(call_id, args[1])
        elif kind == "pause":
            if acd.operator(args[0]).status.value != "logged_out" and acd.ops[args[0]].logged_in:
                acd.pause(args[0], args[1])
        elif kind == "unpause":
            acd.unpause(args[0])
        elif kind == "login":
            acd.login(args[0])
        elif kind == "logout":
            acd.logout(args[0])
        elif kind == "late":
            call_id = self.pick(self.live(), args[0])
            if call_id and call_id not in {c for c, _ in self.h.sb.ringing if _ == args[1]}:
                assert acd.ring_answered(call_id, args[1]) is False
        elif kind == "advance":
            self.clock.advance(args[0])
        elif kind == "move":
            acd.configure_operator(args[0], args[1])
        elif kind == "recreate":
            acd.remove_operator(args[0])
            acd.configure_operator(args[0], args[1])
        elif kind == "rebuild":
            acd.remove_queue(args[0])
            self.h.queue(args[0], **self.options[args[0]])

    def assert_consistent(self) -> None:
        assert check(self.acd) == []
        believed = {(e.call_id, op) for e in self.acd.calls.values() for op in e.rings}
        assert believed == self.h.sb.ringing
        for call_id in self.hung_up:
            entry = self.acd.calls.get(call_id)
            assert entry is None or entry.callback, f"{call_id} still queued after hang-up"

    def close_everything(self) -> None:
        acd = self.acd
        for call_id in self.live():
            entry = acd.calls[call_id]
            if entry.stage is Stage.CONNECTED:
                acd.call_ended(call_id)
            elif not entry.callback:
                acd.caller_hangup(call_id)
        for name in QUEUES:  # kept callback places leave with the queue
            acd.remove_queue(name)
        self.clock.advance(3600)
        assert acd.calls == {}
        assert self.h.sb.ringing == set()
        for view in acd.operators():
            assert view.status.value not in ("ringing", "on_call", "wrapup"), view


def assert_each_visit_ends_once(events: list, wrapup: dict[str, int], ring_times) -> None:
    visits: dict[str, list] = defaultdict(list)  # call_id -> events of its current visit
    for e in events:
        if not e.call_id or e.event is QueueEvent.WRAPUPEND:  # the operator's, after the call
            continue
        visit = visits[e.call_id]
        if e.event is QueueEvent.ENTERQUEUE:
            assert not visit, f"{e.call_id} entered {e.queue} before leaving {visit[0].queue}"
            visit.append(e)
            continue
        if not visit:
            assert e.event in REFUSED, f"{e.call_id}: {e.event} outside any visit"
            continue
        assert e.queue == visit[0].queue
        enter = visit[0]
        connects = [v for v in visit if v.event in (QueueEvent.CONNECT,
                                                    QueueEvent.CALLBACKCONNECT)]
        if e.event in (QueueEvent.CONNECT, QueueEvent.CALLBACKCONNECT):
            assert not connects, f"{e.call_id} connected twice"
            assert abs(enter.ts + e.data["waited"] - e.ts) < 1e-6
        if e.event in (QueueEvent.COMPLETECALLER, QueueEvent.COMPLETEAGENT):
            assert len(connects) == 1, f"{e.call_id} completed without a connect"
            talk = e.data["talk"] + e.data["hold"]
            assert abs(connects[0].ts + talk - e.ts) < 1e-6
            assert e.data["wrapup"] in (0, wrapup[e.queue])
        if e.event in (QueueEvent.ABANDON, QueueEvent.EXITWITHTIMEOUT, QueueEvent.EXITEMPTY):
            assert not connects, f"{e.call_id}: {e.event} after it was connected"
            assert abs(enter.ts + e.data["waited"] - e.ts) < 1e-6
        if e.event in TERMINAL:
            visit.clear()
        else:
            visit.append(e)
    open_visits = {c: v[0].queue for c, v in visits.items() if v}
    assert open_visits == {}, f"visits without a terminal event: {open_visits}"


def assert_ring_seconds_add_up(events: list, ring_times) -> None:
    """A RINGNOANSWER's ring seconds run from the moment that phone was rung."""
    for i, e in enumerate(events):
        if e.event is QueueEvent.RINGNOANSWER:
            started = [t for t, seq, c, op in ring_times
                       if c == e.call_id and op == e.operator and seq <= i]
            assert started, f"{e.operator} missed {e.call_id} without being rung"
            assert abs(e.ts - started[-1] - e.data["ring"]) < 1e-6
        if e.event in (QueueEvent.CONNECT, QueueEvent.CALLBACKCONNECT):
            started = [t for t, seq, c, op in ring_times
                       if c == e.call_id and op == e.operator and seq <= i]
            assert abs(e.ts - started[-1] - e.data["ring"]) < 1e-6


def assert_wrapup_never_cut(events: list, ring_times) -> None:
    """No operator is rung between a completed call and the end of its wrap-up."""
    for i, e in enumerate(events):
        if e.event in (QueueEvent.COMPLETECALLER, QueueEvent.COMPLETEAGENT,
                       QueueEvent.TRANSFER) and e.operator and e.data.get("wrapup"):
            until = e.ts + e.data["wrapup"]
            early = [t for t, seq, _c, op in ring_times
                     if op == e.operator and seq > i and t < until]
            assert early == [], f"{e.operator} rung during wrap-up at {early}"
    for i, e in enumerate(events):
        if e.event is QueueEvent.WRAPUPEND:  # the same call may be handled twice (transfer)
            done = next(x for x in reversed(events[:i]) if x.call_id == e.call_id
                        and x.operator == e.operator and x.data.get("wrapup"))
            assert abs(e.data["wrapup"] - done.data["wrapup"]) < 1e-6


# ACD_PROPERTY_EXAMPLES=5000 for a deep run; the default keeps CI quick.
@settings(max_examples=int(os.environ.get("ACD_PROPERTY_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    options=st.lists(queue_options, min_size=2, max_size=2),
    members=st.lists(memberships, min_size=4, max_size=4),
    steps=st.lists(step, min_size=10, max_size=120),
    seed=st.integers(0, 1000),
)
def test_random_traffic_keeps_every_invariant(options, members, steps, seed):
    traffic = Traffic(options, members, seed)
    if os.environ.get("ACD_PROPERTY_TRACE"):
        print("EXAMPLE")
    for action in steps:
        if os.environ.get("ACD_PROPERTY_TRACE"):
            print("STEP", traffic.clock.monotonic(), action)
        traffic.run(action)
        traffic.assert_consistent()
    traffic.close_everything()
    events = traffic.h.log.events
    for kind in {e.event.value for e in events}:
        event(kind)  # shown by --hypothesis-show-statistics: what the traffic exercised
    assert_each_visit_ends_once(events, traffic.wrapup, traffic.h.sb.ring_times)
    # no call lost: every arrival either joined or was refused, in words, in the log
    first = {}
    for e in events:
        first.setdefault(e.call_id, e.event)
    first.pop("", None)
    assert set(first) == {f"c{i}" for i in range(traffic.next_call)}
    assert set(first.values()) <= {QueueEvent.ENTERQUEUE, *REFUSED}
    assert_wrapup_never_cut(events, traffic.h.sb.ring_times)
    assert_ring_seconds_add_up(events, traffic.h.sb.ring_times)
    connects = [e for e in events if e.event in (QueueEvent.CONNECT,
                                                 QueueEvent.CALLBACKCONNECT)]
    dialled = [(c, op) for c, op, _n in traffic.h.sb.callbacks]
    assert dialled == [(e.call_id, e.operator) for e in connects
                       if e.event is QueueEvent.CALLBACKCONNECT]
