"""Consistency checks over the ACD's whole state (for tests and a debug endpoint).

``check(acd)`` returns a list of violations in words (empty when all is well).  It walks
everything, so it is for tests and diagnostics, never for the decision path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .entries import Stage
from .operators import Activity

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Acd


def check(acd: Acd) -> list[str]:
    problems: list[str] = []
    problems += _operators(acd)
    problems += _entries(acd)
    problems += _queues(acd)
    problems += _work_conserving(acd)
    return problems


def _operators(acd: Acd) -> list[str]:
    out = []
    for op in acd.ops.values():
        entry = acd.calls.get(op.call_id) if op.call_id else None
        if op.activity is Activity.RINGING and (
                entry is None or entry.stage is not Stage.RINGING or op.name not in entry.rings):
            out.append(f"{op.name} rings for {op.call_id!r}, which does not ring them")
        if op.activity is Activity.ON_CALL and (
                entry is None or entry.stage is not Stage.CONNECTED
                or entry.operator != op.name):
            out.append(f"{op.name} is on call {op.call_id!r}, which is not connected to them")
        if op.activity is Activity.WRAPUP and op.wrapup_timer is None:
            out.append(f"{op.name} is in wrap-up with no timer to end it")
        if op.activity is Activity.IDLE and op.call_id:
            out.append(f"{op.name} is idle but still holds call {op.call_id!r}")
        if op.paused and not op.logged_in:
            out.append(f"{op.name} is paused while logged out")
    return out


def _entries(acd: Acd) -> list[str]:
    out = []
    for call_id, entry in acd.calls.items():
        q = acd.queues.get(entry.queue)
        if entry.stage is Stage.CONNECTED:
            op = acd.ops.get(entry.operator)
            if entry.rings:
                out.append(f"{call_id} is connected but still rings {list(entry.rings)}")
            if op is not None and op.call_id != call_id:
                out.append(f"{call_id} is connected to {op.name}, who has {op.call_id!r}")
            continue
        if q is None:
            out.append(f"{call_id} waits in a queue that does not exist")
            continue
        if entry.key not in q.line.order:
            out.append(f"{call_id} waits but is not in {q.name}'s line")
        if entry.stage is Stage.RINGING:
            if not entry.rings:
                out.append(f"{call_id} is ringing nobody")
            for name in entry.rings:
                op = acd.ops.get(name)
                if op is None or op.activity is not Activity.RINGING or op.call_id != call_id:
                    out.append(f"{call_id} rings {name}, whose phone is not ringing for it")
            if entry.ready:
                out.append(f"{call_id} is ringing and ready at once")
        else:
            if entry.rings:
                out.append(f"{call_id} is waiting with rings {list(entry.rings)}")
            resting = "retry" in entry.timers or entry.held_for
            if entry.ready == bool(resting):
                out.append(f"{call_id}: ready={entry.ready} but held/resting={bool(resting)}")
    return out


def _queues(acd: Acd) -> list[str]:
    out = []
    for q in acd.queues.values():
        members = [acd.ops[n] for n in q.members if n in acd.ops]
        want_available = {op.name for op in members if op.available}
        if set(q.available) != want_available:
            out.append(f"{q.name}: available index {sorted(q.available)} "
                       f"!= {sorted(want_available)}")
        logged_in = sum(1 for op in members if op.logged_in)
        if q.logged_in_count != logged_in:
            out.append(f"{q.name}: logged-in count {q.logged_in_count} != {logged_in}")
        staffed = sum(1 for op in members if op.logged_in and not op.paused)
        if q.staffed != staffed:
            out.append(f"{q.name}: staffed count {q.staffed} != {staffed}")
        if q.line.order != sorted(q.line.order) or q.line.ready != sorted(q.line.ready):
            out.append(f"{q.name}: line out of order")
        for key in q.line.order:
            entry = key[3]
            if acd.calls.get(entry.call_id) is not entry:
                out.append(f"{q.name}: {entry.call_id} is in line but gone from the ACD")
        if {k[3].call_id for k in q.line.ready} - {k[3].call_id for k in q.line.order}:
            out.append(f"{q.name}: a ready caller is not in line")
    return out


def _work_conserving(acd: Acd) -> list[str]:
    """After a pass, no ready caller may have an available operator inside its tier."""
    out = []
    for q in acd.queues.values():
        seen: set[int] = set()
        for key in q.line.ready:
            entry = key[3]
            if entry.priority in seen:
                continue
            seen.add(entry.priority)
            candidates = acd._candidates(q, entry)
            if candidates:
                out.append(f"{q.name}: {entry.call_id} waits while "
                           f"{[op.name for op in candidates]} are available to take it")
    for op in acd.ops.values():
        if op.available and op.held:
            out.append(f"{op.name} is available while callers are held for them")
    return out
