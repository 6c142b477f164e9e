"""Test doubles for the ACD's seams and a small harness around the engine.

``FakeSwitchboard`` stands in for the switchboard: it records what the ACD asked for
(rings, stopped rings, overflows, dialled callbacks) and keeps the set of phones that
are ringing right now, so a test can check the ACD never leaves a phone ringing for a
caller it gave up on.  ``QueueLogRecorder`` keeps every queue-log event in order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from appliance.acd import Acd
from appliance.acd.api import QueueEvent
from appliance.acd.config import QueueConfig
from appliance.clock import VirtualClock


@dataclass
class Logged:
    ts: float
    event: QueueEvent
    call_id: str
    queue: str
    operator: str
    reason: str
    data: dict[str, Any]


class QueueLogRecorder:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.events: list[Logged] = []

    def __call__(self, event: QueueEvent, *, call_id: str = "", queue: str = "",
                 operator: str = "", reason: str = "", **data: Any) -> None:
        self.events.append(Logged(self.clock.monotonic(), event, call_id, queue, operator,
                                  reason, data))

    def of(self, event: QueueEvent, call_id: str | None = None) -> list[Logged]:
        return [e for e in self.events
                if e.event is event and (call_id is None or e.call_id == call_id)]

    def names(self, call_id: str) -> list[str]:
        return [e.event.value for e in self.events if e.call_id == call_id]


@dataclass
class FakeSwitchboard:
    log: list[tuple] = field(default_factory=list)
    ringing: set[tuple[str, str]] = field(default_factory=set)  # (call_id, operator)
    overflows: list[tuple[str, str, str]] = field(default_factory=list)
    callbacks: list[tuple[str, str, str]] = field(default_factory=list)
    clock: VirtualClock | None = None
    ring_times: list[tuple[float, int, str, str]] = field(default_factory=list)
    events: list = field(default_factory=list)  # the queue log, to place rings among events

    def ring(self, call_id: str, operator: str, *, callback: bool = False) -> None:
        assert (call_id, operator) not in self.ringing, "rang a phone that already rings"
        self.ringing.add((call_id, operator))
        self.log.append(("ring", call_id, operator, callback))
        if self.clock is not None:
            self.ring_times.append((self.clock.monotonic(), len(self.events), call_id,
                                    operator))

    def stop_ringing(self, call_id: str, operator: str) -> None:
        self.ringing.discard((call_id, operator))
        self.log.append(("stop", call_id, operator))

    def overflow(self, call_id: str, destination: str, reason: str) -> None:
        self.overflows.append((call_id, destination, reason))

    def dial_callback(self, call_id: str, operator: str, number: str) -> None:
        self.callbacks.append((call_id, operator, number))

    def rings(self, call_id: str | None = None) -> list[tuple[str, str]]:
        """(call_id, operator) of every ring asked for, in order."""
        return [(c, o) for kind, c, o, *_ in self.log
                if kind == "ring" and (call_id is None or c == call_id)]

    def answered(self, call_id: str, operator: str) -> None:
        self.ringing.discard((call_id, operator))

    def failed(self, call_id: str, operator: str) -> None:
        self.ringing.discard((call_id, operator))


class History:
    def __init__(self, last: dict[str, str] | None = None) -> None:
        self.last = dict(last or {})
        self.asked: list[tuple[str, int]] = []

    def last_operator(self, number: str, within_days: int) -> str | None:
        self.asked.append((number, within_days))
        return self.last.get(number)


class Harness:
    """An Acd on a virtual clock with a fake switchboard, plus shortcuts for tests."""

    def __init__(self, clock: VirtualClock, history: History | None = None,
                 seed: int = 7) -> None:
        self.clock = clock
        self.sb = FakeSwitchboard(clock=clock)
        self.log = QueueLogRecorder(clock)
        self.sb.events = self.log.events
        self.history = history
        self.acd = Acd(clock, self.sb, self.log, history, rng=random.Random(seed))

    def queue(self, name: str = "sales", **options: Any) -> QueueConfig:
        options.setdefault("max_wait", 0)
        options.setdefault("wrapup_seconds", 0)
        options.setdefault("autopause_after", 0)
        cfg = QueueConfig(name=name, **options)
        self.acd.configure_queue(cfg)
        return cfg

    def operators(self, *names: str, queue: str = "sales", penalty: int = 0,
                  login: bool = True) -> None:
        for name in names:
            self.acd.configure_operator(name, {queue: penalty})
            if login:
                self.acd.login(name)

    def answer(self, call_id: str, operator: str) -> bool:
        self.sb.answered(call_id, operator)
        return self.acd.ring_answered(call_id, operator)

    def fail(self, call_id: str, operator: str, reason: str = "noanswer") -> None:
        self.sb.failed(call_id, operator)
        self.acd.ring_failed(call_id, operator, reason)

    def ringing(self) -> set[tuple[str, str]]:
        return set(self.sb.ringing)

    def status(self, operator: str) -> str:
        return self.acd.operator(operator).status.value


@pytest.fixture
def h(clock: VirtualClock) -> Harness:
    return Harness(clock)
