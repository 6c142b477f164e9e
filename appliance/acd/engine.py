"""The ACD's public face: configuration, operators' presence, and what the switchboard
reports about calls.  Decisions live in :mod:`.dispatch`; this module turns each report
into state changes, queue-log events and, at the end, one serve pass.

Every call that joins a queue ends there with exactly one terminal event:
COMPLETECALLER, COMPLETEAGENT (after CONNECT or CALLBACKCONNECT), ABANDON,
EXITWITHTIMEOUT, EXITEMPTY, or TRANSFER (which leaves the old queue; the new queue
then logs its own ENTERQUEUE).  A caller refused at the door logs EXITFULL or
EXITEMPTY (reason ``joinempty``) without ENTERQUEUE.
"""

from __future__ import annotations

import random
from typing import Any

from .api import AcdActions, CallerHistory, OperatorView, QueueEvent, QueueLog
from .callers import CallerSide
from .config import QueueConfig
from .entries import Stage
from .operators import Activity, Operator
from .queues import QueueState


class Acd(CallerSide):
    def __init__(self, clock: Any, actions: AcdActions, log: QueueLog,
                 history: CallerHistory | None = None, *,
                 rng: random.Random | None = None) -> None:
        super().__init__(clock, actions, log, history, rng)

    # -- configuration --------------------------------------------------------------------
    def configure_queue(self, cfg: QueueConfig) -> None:
        errors = cfg.validate()
        if errors:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in sorted(errors.items())))
        q = self.queues.get(cfg.name)
        if q is not None:
            q.reconfigure(cfg)
            self._dirty_queues[cfg.name] = None
            self._run()
            return
        # memberships may name a queue before it exists: take those operators out of the
        # indexes first, so the new queue is counted once, when they are put back
        members = [op for op in self.ops.values() if cfg.name in op.queues]
        for op in members:
            self._unindex(op)
        q = QueueState(cfg)
        self.queues[cfg.name] = q
        for op in members:
            q.add_member(op.name, op.queues[cfg.name])
            self._sync(op)
        self._run()

    def remove_queue(self, name: str) -> None:
        q = self.queues.get(name)
        if q is None:
            return
        for entry in q.line.entries():
            self._leave(entry, QueueEvent.EXITEMPTY, reason="removed", overflow="empty")
        for op in self.ops.values():
            if name in op.queues:
                self._unindex(op)
        if q.wake is not None:
            q.wake.cancel()
        del self.queues[name]
        for op in self.ops.values():
            if name in op.queues:
                self._sync(op)
        self._run()

    def configure_operator(self, name: str, queues: dict[str, int]) -> None:
        """Create the operator or change their queues (queue -> penalty); state is kept."""
        op = self.ops.get(name)
        if op is None:
            op = self.ops[name] = Operator(name, since=self._now())
        op.retired = False
        self._unindex(op)
        for qname in op.queues:
            if qname not in queues and qname in self.queues:
                self.queues[qname].remove_member(name)
        if any(key[3].queue not in queues for key in op.held):
            self._release_holds(op)  # no longer theirs to wait for
        op.queues = dict(queues)
        for qname, penalty in op.queues.items():
            if qname in self.queues:
                self.queues[qname].add_member(name, penalty)
        self._sync(op)
        for qname in self.queues:
            self._check_empty(self.queues[qname])
        self._run()

    def remove_operator(self, name: str) -> None:
        """Log them out and take them out of every queue.  A call in progress (and its
        wrap-up) runs to its end first: until then the operator is *retired*, invisible
        in the views, and configuring the same name again brings them back as they are."""
        op = self.ops.get(name)
        if op is None or op.retired:
            return
        if op.logged_in:
            self.logout(name, "removed")
        self._unindex(op)
        for qname in op.queues:
            if qname in self.queues:
                self.queues[qname].remove_member(name)
        self._release_holds(op)
        op.queues = {}
        op.retired = True
        self._forget_if_retired(op)
        self._run()

    # -- presence -------------------------------------------------------------------------
    def _op(self, name: str) -> Operator:
        op = self.ops.get(name)
        if op is None or op.retired:
            raise ValueError(f"unknown operator {name!r}")
        return op

    def login(self, name: str, reason: str = "") -> None:
        op = self._op(name)
        if op.logged_in:
            return
        op.login(self._now())
        self.log(QueueEvent.LOGIN, operator=name, reason=reason)
        self._sync(op)
        self._run()

    def logout(self, name: str, reason: str = "") -> None:
        op = self._op(name)
        if not op.logged_in:
            return
        self._cancel_ring_of(op, "logout")
        now = self._now()
        self._end_pause_log(op, now)
        op.logout(now)
        self.log(QueueEvent.LOGOUT, operator=name, reason=reason,
                 session=now - op.logged_in_at)
        self._release_holds(op)
        self._sync(op)
        for qname in op.queues:
            if qname in self.queues:
                self._check_empty(self.queues[qname])
        self._run()

    def pause(self, name: str, reason: str) -> None:
        """Pause now, or after the current call and its wrap-up if busy."""
        op = self._op(name)
        if not op.logged_in:
            raise ValueError(f"operator {name!r} is not logged in")
        self._cancel_ring_of(op, "paused")
        if op.activity is not Activity.IDLE:
            op.pending_pause = reason
            return
        if op.paused and op.reason == reason:
            return
        op.pause(reason, self._now())
        self.log(QueueEvent.PAUSE, operator=name, reason=reason)
        self._sync(op)
        self._run()

    def unpause(self, name: str) -> None:
        op = self._op(name)
        if op.pending_pause is not None:
            op.pending_pause = None
        if not op.paused:
            return
        now = self._now()
        self._end_pause_log(op, now)
        op.unpause(now)
        self._sync(op)
        self._run()

    def _end_pause_log(self, op: Operator, now: float) -> None:
        if op.paused:
            self.log(QueueEvent.UNPAUSE, operator=op.name, reason=op.reason,
                     paused=now - op.paused_at)

    def _cancel_ring_of(self, op: Operator, reason: str) -> None:
        """The operator leaves or pauses while their phone rings: the ring stops, and the
        caller goes on to someone else (not counted as a miss)."""
        if op.activity is not Activity.RINGING:
            return
        entry = self.calls[op.call_id]
        ring = entry.rings[op.name]
        self.log(QueueEvent.RINGNOANSWER, call_id=entry.call_id, queue=entry.queue,
                 operator=op.name, reason=reason, ring=self._now() - ring.started)
        entry.rings.pop(op.name)
        ring.timer.cancel()
        op.end_ring(self._now(), missed=False)
        self._sync(op)
        if not entry.rings:
            entry.progressive.clear()
            entry.cancel("step")
            entry.stage = Stage.WAITING
            self._make_ready(entry)
        self.actions.stop_ringing(entry.call_id, op.name)

    def _check_empty(self, q: QueueState) -> None:
        """leave_when_empty: the last operator left, so live callers go to overflow."""
        if not q.cfg.leave_when_empty or q.logged_in_count > 0:
            return
        for entry in q.line.entries():
            if not entry.callback:
                self._leave(entry, QueueEvent.EXITEMPTY, reason="empty", overflow="empty")

    # -- views ----------------------------------------------------------------------------
    def operators(self) -> list[OperatorView]:
        return [op.view() for op in self.ops.values() if not op.retired]

    def operator(self, name: str) -> OperatorView:
        return self._op(name).view()
