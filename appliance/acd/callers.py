"""What happens to callers: joining, being answered, hanging up, asking for a callback,
being transferred, and how long they may still wait.
"""

from __future__ import annotations

from .api import JoinResult, QueueEvent, WaitingCaller
from .dispatch import Dispatcher
from .entries import Entry, Stage
from .operators import Activity, Operator
from .queues import QueueState


class CallerSide(Dispatcher):
    # -- joining --------------------------------------------------------------------------
    def enqueue(self, call_id: str, queue: str, caller_number: str,
                priority: int = 0) -> JoinResult:
        if call_id in self.calls:
            raise ValueError(f"call {call_id!r} is already in queue {self.calls[call_id].queue}")
        q = self.queues.get(queue)
        if q is None:
            return JoinResult(False, reason="no-such-queue")
        result = self._join(q, call_id, caller_number, priority, self._now())
        self._run()
        return result

    def _join(self, q: QueueState, call_id: str, number: str, priority: int,
              wait_start: float, callback: bool = False) -> JoinResult:
        cfg = q.cfg
        if not cfg.join_empty and q.logged_in_count == 0:
            self.log(QueueEvent.EXITEMPTY, call_id=call_id, queue=q.name, reason="joinempty",
                     position=0, waited=0.0)
            return JoinResult(False, reason="empty")
        if cfg.max_length and len(q.line) >= cfg.max_length:
            self.log(QueueEvent.EXITFULL, call_id=call_id, queue=q.name, reason="full",
                     position=0, waited=0.0, max_length=cfg.max_length)
            return JoinResult(False, reason="full")
        now = self._now()
        entry = Entry(call_id, q.name, number, priority, wait_start, now, next(self._seq),
                      callback=callback)
        q.line.add(entry)
        self.calls[call_id] = entry
        entry.orig_position = position = q.line.position(entry)
        self.log(QueueEvent.ENTERQUEUE, call_id=call_id, queue=q.name, position=position,
                 caller=number, priority=priority, callback=callback)
        if cfg.max_wait and not callback:
            entry.timers["max_wait"] = self.clock.call_later(cfg.max_wait, self._timeout, entry)
        sticky = self._sticky_operator(q, number)
        if sticky is not None:
            self._hold(entry, sticky, cfg.sticky_seconds)
        else:
            self._make_ready(entry)
        return JoinResult(True, position=position)

    def _sticky_operator(self, q: QueueState, number: str) -> Operator | None:
        cfg = q.cfg
        if self.history is None or not (cfg.sticky_days and cfg.sticky_seconds and number):
            return None
        name = self.history.last_operator(number, cfg.sticky_days)
        op = self.ops.get(name) if name else None
        if op is None or op.name not in q.members or not op.logged_in:
            return None
        return op

    def _timeout(self, entry: Entry) -> None:
        entry.timers.pop("max_wait", None)
        if self.calls.get(entry.call_id) is entry and entry.stage is not Stage.CONNECTED:
            self._leave(entry, QueueEvent.EXITWITHTIMEOUT, reason="timeout", overflow="timeout")
            self._run()

    # -- rings ----------------------------------------------------------------------------
    def ring_answered(self, call_id: str, operator: str) -> bool:
        """The operator picked up.  False when the caller is no longer theirs to take
        (someone else answered first, the caller left): the switchboard is then told
        ``stop_ringing`` for that leg and must drop it."""
        entry = self.calls.get(call_id)
        if entry is None or operator not in entry.rings:
            self.actions.stop_ringing(call_id, operator)
            return False
        now = self._now()
        q = self.queues[entry.queue]
        position = q.line.position(entry)
        ring = entry.rings.pop(operator)
        ring.timer.cancel()
        self._stop_rings(entry)
        if entry.held_for:
            self._unhold(entry)
        entry.cancel()
        q.line.remove(entry)
        entry.stage, entry.operator, entry.connected_at = Stage.CONNECTED, operator, now
        op = self.ops[operator]
        op.connect(q.name, now)
        self._sync(op)
        event = QueueEvent.CALLBACKCONNECT if entry.callback else QueueEvent.CONNECT
        self.log(event, call_id=call_id, queue=q.name, operator=operator, position=position,
                 origposition=entry.orig_position, waited=now - entry.entered,
                 waited_total=now - entry.wait_start, ring=now - ring.started)
        if entry.callback:
            self.actions.dial_callback(call_id, operator, entry.caller_number)
        self._run()
        return True

    def ring_failed(self, call_id: str, operator: str, reason: str = "noanswer") -> None:
        """The phone declined, was busy or unreachable (reason) before the ring timeout."""
        entry = self.calls.get(call_id)
        if entry is None or operator not in entry.rings:
            return
        self._missed(entry, operator, reason)
        self._run()

    # -- endings --------------------------------------------------------------------------
    def caller_hangup(self, call_id: str) -> None:
        entry = self.calls.get(call_id)
        if entry is None:
            return
        if entry.stage is Stage.CONNECTED:
            self.call_ended(call_id, by="caller")
            return
        if entry.callback:
            return  # the caller left long ago; the kept place stays
        self._leave(entry, QueueEvent.ABANDON, reason="caller")
        self._run()

    def call_ended(self, call_id: str, by: str = "caller", hold_seconds: float = 0.0) -> None:
        """The bridged call is over; ``hold_seconds`` of it the caller spent on hold."""
        entry = self.calls.get(call_id)
        if entry is None:
            return
        if entry.stage is not Stage.CONNECTED:
            if by == "caller":
                self.caller_hangup(call_id)
            return
        event = QueueEvent.COMPLETEAGENT if by == "operator" else QueueEvent.COMPLETECALLER
        self._finish(entry, event, hold_seconds)
        self._run()

    def _finish(self, entry: Entry, event: QueueEvent, hold_seconds: float,
                reason: str = "", **data: object) -> None:
        now = self._now()
        q = self.queues.get(entry.queue)
        op = self.ops.get(entry.operator)
        connected = now - entry.connected_at
        hold = min(max(hold_seconds, 0.0), connected)
        wrapup = q.cfg.wrapup_seconds if q is not None and op is not None and op.logged_in else 0
        del self.calls[entry.call_id]
        self.log(event, call_id=entry.call_id, queue=entry.queue, operator=entry.operator,
                 reason=reason, waited=entry.connected_at - entry.entered,
                 talk=connected - hold, hold=hold, wrapup=wrapup, callback=entry.callback,
                 origposition=entry.orig_position, **data)
        if q is not None:
            q.note_handled(connected + wrapup)
        if op is None or op.activity is not Activity.ON_CALL or op.call_id != entry.call_id:
            return
        op.hang_up(entry.queue, connected, wrapup > 0, now)
        if op.activity is Activity.WRAPUP:
            op.wrapup_timer = self.clock.call_later(wrapup, self._wrapup_over, op,
                                                    entry.call_id)
        else:
            self._pending_pause(op)
        self._sync(op)
        self._forget_if_retired(op)

    def _wrapup_over(self, op: Operator, call_id: str) -> None:
        if self.ops.get(op.name) is not op or op.activity is not Activity.WRAPUP:
            return
        if op.call_id != call_id:
            return
        now = self._now()
        wrapped = now - op.activity_at
        op.end_wrapup(now)
        self.log(QueueEvent.WRAPUPEND, call_id=call_id, operator=op.name, wrapup=wrapped)
        self._pending_pause(op)
        self._sync(op)
        self._forget_if_retired(op)
        self._run()

    def _pending_pause(self, op: Operator) -> None:
        if op.pending_pause is not None and op.logged_in and op.activity is Activity.IDLE:
            reason = op.pending_pause
            op.pause(reason, self._now())
            self.log(QueueEvent.PAUSE, operator=op.name, reason=reason)

    # -- callback and transfer ------------------------------------------------------------
    def request_callback(self, call_id: str) -> bool:
        """The caller hangs up but keeps the place; False if that is not possible."""
        entry = self.calls.get(call_id)
        if entry is None or entry.stage is Stage.CONNECTED or entry.callback:
            return False
        q = self.queues[entry.queue]
        if not q.cfg.callback_enabled:
            return False
        self._stop_rings(entry)
        entry.callback = True
        entry.cancel("max_wait")
        if entry.stage is Stage.RINGING:
            entry.stage = Stage.WAITING
            self._make_ready(entry)
        self.log(QueueEvent.CALLBACK, call_id=call_id, queue=q.name,
                 position=q.line.position(entry), waited=self._now() - entry.entered)
        self._run()
        return True

    def transfer(self, call_id: str, queue: str) -> JoinResult:
        """Move a waiting or connected caller to ``queue``; they keep their wait start."""
        entry = self.calls.get(call_id)
        target = self.queues.get(queue)
        if entry is None:
            return JoinResult(False, reason="no-such-call")
        if target is None:
            return JoinResult(False, reason="no-such-queue")
        if queue == entry.queue:
            return JoinResult(False, reason="same-queue")
        if entry.stage is Stage.CONNECTED:
            self._finish(entry, QueueEvent.TRANSFER, 0.0, reason="transfer", to=queue,
                         connected=True)
        else:
            self._leave(entry, QueueEvent.TRANSFER, reason="transfer", to=queue,
                        connected=False)
        result = self._join(target, call_id, entry.caller_number, entry.priority,
                            entry.wait_start, callback=entry.callback)
        self._run()
        return result

    # -- what callers and supervisors see -------------------------------------------------
    def position(self, call_id: str) -> int:
        """1 = next to be served; 0 when not waiting (connected or unknown)."""
        entry = self.calls.get(call_id)
        if entry is None or entry.stage is Stage.CONNECTED:
            return 0
        return self.queues[entry.queue].line.position(entry)

    def estimated_wait(self, call_id: str) -> float:
        """Seconds: position x the queue's average handle time (EWMA of talk + wrap-up,
        180 s until a call was handled) / operators logged in and not paused.  0 when
        not waiting; ``math.inf`` when nobody is staffed."""
        position = self.position(call_id)
        if position == 0:
            return 0.0
        return self.queues[self.calls[call_id].queue].estimated_wait(position)

    def waiting(self, queue: str | None = None) -> list[WaitingCaller]:
        names = [queue] if queue is not None else list(self.queues)
        now = self._now()
        out = []
        for name in names:
            q = self.queues.get(name)
            if q is None:
                continue
            for i, entry in enumerate(q.line.entries(), start=1):
                out.append(WaitingCaller(
                    call_id=entry.call_id, queue=name, caller_number=entry.caller_number,
                    position=i, waited=now - entry.wait_start, priority=entry.priority,
                    callback=entry.callback, ringing=list(entry.rings)))
        return out
