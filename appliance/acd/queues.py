"""One queue's live state: its options, members, who is available, who waits.

Indexes are kept up to date as operators change state, so a decision reads them
instead of scanning: ``available`` (members that may be rung now, in member order),
``staffed`` / ``logged_in`` counts, and the distinct penalties of logged-in members
(the tiers that open one by one as a caller waits).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from .config import QueueConfig
from .entries import WaitingLine
from .strategies import Strategy, get

DEFAULT_HANDLE_SECONDS = 180.0  # estimate until the queue has seen a call
HANDLE_EWMA_ALPHA = 0.2
# Float rounding: entered + 30 - entered may be 29.999999999999996.  A tier counts as
# open from TIER_EPSILON before its instant, and the wake-up comes half of that before,
# so whenever the rule says "open" a serve pass has already looked.
TIER_EPSILON = 1e-6


class QueueState:
    def __init__(self, cfg: QueueConfig) -> None:
        self.cfg = cfg
        self.strategy: Strategy = get(cfg.strategy)
        self.members: dict[str, int] = {}  # operator -> penalty
        self.member_index: dict[str, int] = {}  # operator -> join order (linear, rrmemory)
        self._next_index = 0
        self.available: dict[str, None] = {}  # ordered set: members that may be rung now
        self.logged_in: Counter[int] = Counter()  # penalty -> logged-in members
        self.staffed = 0  # logged in and not paused: who will eventually answer
        self._tiers: list[int] | None = None
        self.line = WaitingLine()
        self.last_rung_index = -1  # round-robin memory
        self.handle_ewma = DEFAULT_HANDLE_SECONDS
        self.wake: Any = None  # timer: the next moment a tier opens for a blocked caller
        self.wake_at = math.inf

    @property
    def name(self) -> str:
        return self.cfg.name

    def reconfigure(self, cfg: QueueConfig) -> None:
        self.strategy = get(cfg.strategy)
        self.cfg = cfg

    # -- membership -----------------------------------------------------------------------
    def add_member(self, op: str, penalty: int) -> None:
        if op not in self.member_index:
            self.member_index[op] = self._next_index
            self._next_index += 1
        self.members[op] = penalty

    def remove_member(self, op: str) -> None:
        self.members.pop(op, None)
        self.member_index.pop(op, None)
        self.available.pop(op, None)

    # -- presence counts (the engine calls these on every change) -------------------------
    def count_login(self, penalty: int, delta: int) -> None:
        self.logged_in[penalty] += delta
        if self.logged_in[penalty] <= 0:
            del self.logged_in[penalty]
        self._tiers = None

    @property
    def logged_in_count(self) -> int:
        return sum(self.logged_in.values())

    def tiers(self) -> list[int]:
        if self._tiers is None:
            self._tiers = sorted(self.logged_in)
        return self._tiers

    def tier_limit(self, waited: float) -> float:
        """Highest penalty that may ring for a caller who has waited ``waited`` s here.

        The lowest tier among logged-in members rings first; every
        ``penalty_step_seconds`` the next tier joins.  Strategies that use penalty
        as a weight instead (weighted-random) open every tier at once.
        """
        tiers = self.tiers()
        if not tiers or not self.strategy.tiers:
            return math.inf
        step = self.cfg.penalty_step_seconds
        opened = int((waited + TIER_EPSILON) // step) if step > 0 else 0
        return tiers[min(opened, len(tiers) - 1)]

    def next_widening(self, entered: float, now: float) -> float | None:
        """When to look again for a caller who entered at ``entered``: just before the
        next tier opens (see TIER_EPSILON), or None if no tier is left to open."""
        step = self.cfg.penalty_step_seconds
        tiers = self.tiers()
        if step <= 0 or not self.strategy.tiers:
            return None
        # the same rounding guard as tier_limit, so that at the wake-up this already
        # names the next tier (never "now" again)
        opened = int((now - entered + TIER_EPSILON) // step)
        if opened >= len(tiers) - 1:
            return None
        return entered + (opened + 1) * step - TIER_EPSILON / 2

    # -- estimates ------------------------------------------------------------------------
    def note_handled(self, seconds: float) -> None:
        self.handle_ewma += HANDLE_EWMA_ALPHA * (seconds - self.handle_ewma)

    def estimated_wait(self, position: int) -> float:
        """position x average handle time / operators staffed (inf when none is)."""
        if self.staffed <= 0:
            return math.inf
        return position * self.handle_ewma / self.staffed
