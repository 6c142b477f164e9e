"""Callers for the demo: random arrivals, random numbers, some impatient, some asking
to be called back, some known customers (the demo's contacts), and on a line with a
voice menu every caller picks a key.  It knows nothing of drivers: ``place_call(number)``
returns a handle with ``hangup()`` and ``press(digit)``, and ``waiting(handle)`` says
whether that caller is still waiting in a queue.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.clock import Clock


@dataclass
class TrafficProfile:
    calls_per_minute: float = 4.0
    patience_mean: float = 90.0  # seconds a caller waits before hanging up (exponential)
    callback_ratio: float = 0.1  # of callers who, instead of waiting, press 1
    repeat_ratio: float = 0.2  # callers who called before (sticky operator shows)
    repeat_after: float = 300.0  # a caller calls again only after this many seconds
    max_calls: int = 0  # 0 = until stopped
    known_numbers: tuple[str, ...] = ()  # customers in the contacts list
    known_ratio: float = 0.25  # of new callers, how many are one of those
    menu_keys: str = ""  # a voice menu answers this line: each caller presses one of these
    menu_after: tuple[float, float] = (6.0, 10.0)  # seconds into the call (the menu is spoken)


class TrafficGenerator:
    def __init__(self, clock: Clock, place_call: Callable[[str], Any],
                 waiting: Callable[[Any], bool], profile: TrafficProfile | None = None,
                 seed: int | None = None) -> None:
        self.clock = clock
        self.place_call = place_call
        self.waiting = waiting
        self.profile = profile or TrafficProfile()
        self.random = random.Random(seed)
        self.placed = 0
        self.abandoned = 0
        self.callbacks = 0
        self.busy = 0
        self._known: list[tuple[float, str]] = []  # (when they may call again, number)
        self._timer = None
        self._running = False

    def start(self) -> None:
        self._running = True
        self._schedule()

    def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()

    def _schedule(self) -> None:
        rate = self.profile.calls_per_minute / 60.0
        self._timer = self.clock.call_later(self.random.expovariate(rate), self._arrival)

    def _number(self) -> str:
        now = self.clock.monotonic()
        again = [n for when, n in self._known if when <= now]
        if again and self.random.random() < self.profile.repeat_ratio:
            number = self.random.choice(again)
        elif self.profile.known_numbers and self.random.random() < self.profile.known_ratio:
            number = self.random.choice(self.profile.known_numbers)
        else:
            number = "+7" + self.random.choice(["916", "903", "495", "812"]) + \
                "".join(self.random.choice("0123456789") for _ in range(7))
        self._known = [(w, n) for w, n in self._known if n != number]
        self._known.append((now + self.profile.repeat_after, number))
        return number

    def _arrival(self) -> None:
        if not self._running:
            return
        handle = self.place_call(self._number())
        if handle is None:  # the line was busy: that caller heard a busy tone
            self.busy += 1
            if not self.profile.max_calls or self.placed < self.profile.max_calls:
                self._schedule()
            return
        self.placed += 1
        menu_time = 0.0
        if self.profile.menu_keys:
            menu_time = self.random.uniform(*self.profile.menu_after)
            self.clock.call_later(menu_time, handle.press,
                                  self.random.choice(self.profile.menu_keys))
        if self.random.random() < self.profile.callback_ratio:
            self.clock.call_later(menu_time + self.random.uniform(8, 20), self._ask_callback,
                                  handle)
        else:
            patience = self.random.expovariate(1 / self.profile.patience_mean)
            self.clock.call_later(menu_time + patience, self._impatient, handle)
        if not self.profile.max_calls or self.placed < self.profile.max_calls:
            self._schedule()

    def _impatient(self, handle: Any) -> None:
        if self.waiting(handle):
            self.abandoned += 1
            handle.hangup()

    def _ask_callback(self, handle: Any) -> None:
        if self.waiting(handle):
            self.callbacks += 1
            handle.press("1")
