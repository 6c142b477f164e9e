"""Who rings whom, and what happens when a ring ends: the heart of the ACD.

A *serve pass* runs after anything that could let a caller reach an operator (a caller
arrives or comes back from a retry pause, an operator becomes available, a penalty
tier opens).  It only looks at the queues that changed ("dirty"), and in them only at
the head of each priority class of *ready* callers, merged across queues by
``(-queue weight, -priority, wait start)``: an operator in several queues gets the
heaviest queue's, then the highest-priority, then the longest-waiting caller.  When a
class's head has no operator inside its penalty tier, nobody behind it in that class
has one either (they waited less), so the whole class is skipped with one bisect and a
timer is set for the moment its tier widens.  The cost of a decision therefore grows
with the operators available and the log of the callers waiting, never with a walk
through the line.

Every state change happens before the switchboard is told (``actions``), so a
switchboard that reports back synchronously finds the ACD consistent; a pass that is
already running picks up whatever such a report made dirty.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from bisect import bisect_left, insort
from typing import Any

from .api import AcdActions, CallerHistory, QueueEvent, QueueLog
from .entries import Entry, Ring, Stage
from .operators import Activity, Operator
from .queues import QueueState

# A phone that refuses at once (busy, unreachable) must not make the ACD ring it again
# in the same instant forever: the next attempt waits at least this long.
MIN_RETRY_AFTER_REFUSAL = 1.0
EPSILON = 1e-9


class Dispatcher:
    def __init__(
        self,
        clock: Any,
        actions: AcdActions,
        log: QueueLog,
        history: CallerHistory | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.actions = actions
        self._log = log
        self.history = history
        self.rng = rng if rng is not None else random.Random()
        self.queues: dict[str, QueueState] = {}
        self.ops: dict[str, Operator] = {}
        self.calls: dict[str, Entry] = {}
        self._seq = itertools.count()
        self._dirty_queues: dict[str, None] = {}
        self._dirty_ops: dict[str, None] = {}
        self._running = False
        self._indexed: dict[str, tuple[bool, bool, bool]] = {}  # op -> what indexes hold

    def _now(self) -> float:
        return self.clock.monotonic()

    def log(self, event: QueueEvent, *, call_id: str = "", queue: str = "",
            operator: str = "", reason: str = "", **data: Any) -> None:
        data = {k: round(v, 3) if isinstance(v, float) else v for k, v in data.items()}
        self._log(event, call_id=call_id, queue=queue, operator=operator, reason=reason, **data)

    # -- indexes --------------------------------------------------------------------------
    def _sync(self, op: Operator) -> None:
        """Bring the queues' indexes in line with ``op``'s state (call after any change)."""
        old = self._indexed.get(op.name, (False, False, False))
        new = (op.logged_in, op.logged_in and not op.paused, op.available)
        if new != old:
            self._apply(op, old, new)
            self._indexed[op.name] = new
        if op.available:
            for name in op.queues:
                if name in self.queues:
                    self._dirty_queues[name] = None
            if op.held:
                self._dirty_ops[op.name] = None

    def _unindex(self, op: Operator) -> None:
        old = self._indexed.pop(op.name, (False, False, False))
        self._apply(op, old, (False, False, False))

    def _forget_if_retired(self, op: Operator) -> None:
        """An operator removed during a call is dropped once the call and wrap-up end."""
        if op.retired and op.activity is Activity.IDLE and self.ops.get(op.name) is op:
            self._unindex(op)
            del self.ops[op.name]

    def _apply(self, op: Operator, old: tuple, new: tuple) -> None:
        for qname, penalty in op.queues.items():
            q = self.queues.get(qname)
            if q is None:
                continue
            if old[0] != new[0]:
                q.count_login(penalty, 1 if new[0] else -1)
                self._dirty_queues[qname] = None  # tiers may have moved
            if old[1] != new[1]:
                q.staffed += 1 if new[1] else -1
            if old[2] != new[2]:
                if new[2]:
                    q.available[op.name] = None
                else:
                    q.available.pop(op.name, None)

    # -- the serve pass -------------------------------------------------------------------
    def _run(self) -> None:
        if self._running:
            return  # the pass in progress will see what was made dirty
        self._running = True
        try:
            while self._dirty_ops or self._dirty_queues:
                if self._dirty_ops:
                    names = list(self._dirty_ops)
                    self._dirty_ops.clear()
                    for name in names:
                        self._serve_held(name)
                    continue
                names = list(self._dirty_queues)
                self._dirty_queues.clear()
                self._serve(names)
        finally:
            self._running = False

    def _serve_held(self, name: str) -> None:
        """A sticky operator became available: offer the first caller held for them."""
        op = self.ops.get(name)
        if op is None or not op.available or not op.held:
            return
        entry: Entry = op.held[0][3]
        self._unhold(entry)
        self._ring(entry, self.queues[entry.queue], [op])

    def _serve(self, names: list[str]) -> None:
        heap: list[tuple] = []
        skip: dict[str, set[int]] = {}

        def push(q: QueueState) -> None:
            if q.available:
                entry = q.line.first_ready(skip.setdefault(q.name, set()))
                if entry is not None:
                    heapq.heappush(heap, (-q.cfg.weight, entry.key, q.name))

        for name in names:
            if name in self.queues:
                push(self.queues[name])
        while heap:
            _, key, qname = heapq.heappop(heap)
            q = self.queues.get(qname)
            entry: Entry = key[3]
            if q is None:
                continue
            if entry.ready and entry.queue == qname and q.available:
                candidates = self._candidates(q, entry)
                if candidates:
                    self._offer(q, entry, candidates)
                else:
                    skip[qname].add(entry.priority)
                    self._schedule_wake(q, entry)
            push(q)

    def _candidates(self, q: QueueState, entry: Entry) -> list[Operator]:
        limit = q.tier_limit(self._now() - entry.entered)
        ops = self.ops
        if limit == math.inf:
            return [ops[name] for name in q.available]
        members = q.members
        return [ops[name] for name in q.available if members[name] <= limit]

    def _offer(self, q: QueueState, entry: Entry, candidates: list[Operator]) -> None:
        order = q.strategy.order(candidates, q, self.rng)
        mode = q.strategy.mode
        if mode == "all":
            self._ring(entry, q, order)
        elif mode == "progressive":
            entry.progressive = [op.name for op in order[1:]]
            self._ring(entry, q, order[:1])
            self._schedule_step(entry, q)
        else:
            self._ring(entry, q, order[:1])

    def _schedule_wake(self, q: QueueState, entry: Entry) -> None:
        now = self._now()
        when = q.next_widening(entry.entered, now)
        if when is None or when <= now or when >= q.wake_at:
            return
        if q.wake is not None:
            q.wake.cancel()
        q.wake_at = when
        q.wake = self.clock.call_later(when - now, self._wake, q)

    def _wake(self, q: QueueState) -> None:
        q.wake, q.wake_at = None, math.inf
        if self.queues.get(q.name) is q:
            self._dirty_queues[q.name] = None
            self._run()

    # -- ringing --------------------------------------------------------------------------
    def _ring(self, entry: Entry, q: QueueState, ops: list[Operator]) -> None:
        now = self._now()
        q.line.set_ready(entry, False)
        entry.stage = Stage.RINGING
        started: list[tuple[Operator, Ring]] = []
        for op in ops:
            op.start_ring(entry.call_id, now)
            ring = Ring(op.name, now)
            ring.timer = self.clock.call_later(q.cfg.ring_timeout, self._ring_timeout,
                                               entry, op.name, ring)
            entry.rings[op.name] = ring
            q.last_rung_index = q.member_index.get(op.name, q.last_rung_index)
            self._sync(op)
            started.append((op, ring))
        for op, ring in started:
            if entry.rings.get(op.name) is ring:  # not already answered or cancelled
                self.actions.ring(entry.call_id, op.name, callback=entry.callback)

    def _schedule_step(self, entry: Entry, q: QueueState) -> None:
        if entry.progressive:
            entry.timers["step"] = self.clock.call_later(
                q.cfg.progressive_step_seconds, self._step, entry)

    def _step(self, entry: Entry) -> None:
        entry.timers.pop("step", None)
        if entry.stage is Stage.RINGING and self.calls.get(entry.call_id) is entry:
            self._progress(entry)
            self._run()

    def _progress(self, entry: Entry) -> None:
        """ring-progressively: add the next operator still available to the ring."""
        q = self.queues[entry.queue]
        while entry.progressive:
            op = self.ops.get(entry.progressive.pop(0))
            if op is not None and op.available and op.name in q.members:
                self._ring(entry, q, [op])
                break
        self._schedule_step(entry, q)

    def _ring_timeout(self, entry: Entry, name: str, ring: Ring) -> None:
        if entry.rings.get(name) is not ring:
            return
        self._missed(entry, name, "timeout")
        self.actions.stop_ringing(entry.call_id, name)
        self._run()

    def _missed(self, entry: Entry, name: str, reason: str) -> None:
        """A ring ended without an answer: count it against the operator, maybe pause
        them, and when nobody rings any more give the caller a rest before the next
        round."""
        ring = entry.rings.pop(name)
        ring.timer.cancel()
        now = self._now()
        ring_seconds = now - ring.started
        q = self.queues[entry.queue]
        self.log(QueueEvent.RINGNOANSWER, call_id=entry.call_id, queue=entry.queue,
                 operator=name, reason=reason, ring=ring_seconds)
        op = self.ops.get(name)
        if op is not None:
            op.end_ring(now, missed=True)
            limit = q.cfg.autopause_after
            if limit and op.missed_in_row >= limit and op.logged_in:
                op.pause("autopause", now)
                self.log(QueueEvent.PAUSE, operator=name, reason="autopause",
                         missed=op.missed_in_row)
            self._sync(op)
        if not entry.rings and entry.progressive:
            entry.cancel("step")
            self._progress(entry)
        if not entry.rings:
            entry.cancel("step")
            entry.stage = Stage.WAITING
            delay = float(q.cfg.retry_delay)
            if ring_seconds <= EPSILON:
                delay = max(delay, MIN_RETRY_AFTER_REFUSAL)
            entry.timers["retry"] = self.clock.call_later(delay, self._retry, entry)

    def _retry(self, entry: Entry) -> None:
        entry.timers.pop("retry", None)
        if self.calls.get(entry.call_id) is entry and entry.stage is Stage.WAITING:
            self._make_ready(entry)
            self._run()

    def _stop_rings(self, entry: Entry) -> None:
        """Cancel every ring of ``entry``; not counted as missed."""
        entry.progressive.clear()
        entry.cancel("step")
        now = self._now()
        stopped = []
        for name in list(entry.rings):
            ring = entry.rings.pop(name)
            ring.timer.cancel()
            op = self.ops.get(name)
            if op is not None:
                op.end_ring(now, missed=False)
                self._sync(op)
            stopped.append(name)
        for name in stopped:
            self.actions.stop_ringing(entry.call_id, name)

    # -- waiting-line helpers -------------------------------------------------------------
    def _make_ready(self, entry: Entry) -> None:
        self.queues[entry.queue].line.set_ready(entry, True)
        self._dirty_queues[entry.queue] = None

    def _hold(self, entry: Entry, op: Operator, seconds: float) -> None:
        entry.held_for = op.name
        insort(op.held, entry.key)
        entry.timers["hold"] = self.clock.call_later(seconds, self._hold_over, entry)
        if op.available:
            self._dirty_ops[op.name] = None

    def _unhold(self, entry: Entry) -> None:
        op = self.ops.get(entry.held_for)
        if op is not None:
            i = bisect_left(op.held, entry.key)
            if i < len(op.held) and op.held[i][3] is entry:
                del op.held[i]
        entry.held_for = ""
        entry.cancel("hold")

    def _hold_over(self, entry: Entry) -> None:
        entry.timers.pop("hold", None)
        if self.calls.get(entry.call_id) is entry and entry.held_for:
            self._unhold(entry)
            self._make_ready(entry)
            self._run()

    def _release_holds(self, op: Operator) -> None:
        for key in list(op.held):
            entry: Entry = key[3]
            self._unhold(entry)
            if entry.stage is Stage.WAITING and "retry" not in entry.timers:
                self._make_ready(entry)

    def _leave(self, entry: Entry, event: QueueEvent, reason: str = "",
               overflow: str = "", **data: Any) -> None:
        """Take a caller out of the line for good, with its one terminal event."""
        q = self.queues[entry.queue]
        position = q.line.position(entry)
        self._stop_rings(entry)
        if entry.held_for:
            self._unhold(entry)
        entry.cancel()
        q.line.remove(entry)
        del self.calls[entry.call_id]
        self.log(event, call_id=entry.call_id, queue=entry.queue, reason=reason,
                 position=position, origposition=entry.orig_position,
                 waited=self._now() - entry.entered, callback=entry.callback, **data)
        if overflow:
            self.actions.overflow(entry.call_id, q.cfg.overflow, overflow)
