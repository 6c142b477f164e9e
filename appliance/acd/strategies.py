"""Ring strategies: who rings first when a caller waits.

Each strategy is a small function in a registry.  It gets the operators that may take
this caller right now (available, members of the queue, inside the caller's penalty
tier; in the order they became available) and returns them in the order they should ring.  How many
of that order ring at once is the strategy's ``mode``:

* ``one``: only the first rings; after a miss the engine asks again (``retry_delay``).
* ``all``: every one rings together; the first to answer gets the caller.
* ``progressive``: the first rings, then one more every ``progressive_step_seconds``
  while the earlier ones keep ringing (FreeSWITCH mod_callcenter's ring-progressively).

Strategies read counters the engine keeps; they never change state, so each stays a
few lines and a decision costs one pass over the available operators, never over the
waiting callers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .operators import Operator
    from .queues import QueueState

Order = Callable[["list[Operator]", "QueueState", random.Random], "list[Operator]"]


@dataclass(frozen=True)
class Strategy:
    name: str
    order: Order
    mode: str  # one, all, progressive
    tiers: bool = True  # False: every available member is a candidate from the first second


STRATEGIES: dict[str, Strategy] = {}


def strategy(name: str, mode: str = "one", tiers: bool = True) -> Callable[[Order], Order]:
    def register(fn: Order) -> Order:
        STRATEGIES[name] = Strategy(name, fn, mode, tiers)
        return fn

    return register


def get(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}") from None


def _penalty(q: QueueState, op: Operator) -> int:
    return q.members[op.name]


@strategy("ring-all", mode="all")
def ring_all(cands: list[Operator], q: QueueState, rng: random.Random) -> list[Operator]:
    return list(cands)


@strategy("linear")
def linear(cands: list[Operator], q: QueueState, rng: random.Random) -> list[Operator]:
    # Member order (the order operators joined the queue), lowest penalty first.
    return sorted(cands, key=lambda op: (_penalty(q, op), q.member_index[op.name]))


@strategy("ring-progressively", mode="progressive")
def ring_progressively(
    cands: list[Operator], q: QueueState, rng: random.Random
) -> list[Operator]:
    return linear(cands, q, rng)


@strategy("longest-idle")
def longest_idle(cands: list[Operator], q: QueueState, rng: random.Random) -> list[Operator]:
    # idle_since is when the operator last finished a call (or logged in).
    best = min(cands, key=lambda op: (_penalty(q, op), op.idle_since))
    return [best]


@strategy("round-robin")
def round_robin(cands: list[Operator], q: QueueState, rng: random.Random) -> list[Operator]:
    """rrmemory: the next member after the one rung last, wrapping around."""
    low = min(_penalty(q, op) for op in cands)
    tier = [op for op in cands if _penalty(q, op) == low]
    last = q.last_rung_index
    after = [op for op in tier if q.member_index[op.name] > last]
    pool = after or tier
    return [min(pool, key=lambda op: q.member_index[op.name])]


@strategy("fewest-calls")
def fewest_calls(cands: list[Operator], q: QueueState, rng: random.Random) -> list[Operator]:
    best = min(cands, key=lambda op: (_penalty(q, op), op.calls_in.get(q.name, 0)))
    return [best]


@strategy("least-talk-time")
def least_talk_time(
    cands: list[Operator], q: QueueState, rng: random.Random
) -> list[Operator]:
    best = min(cands, key=lambda op: (_penalty(q, op), op.talk_in.get(q.name, 0.0)))
    return [best]


@strategy("random")
def random_choice(cands: list[Operator], q: QueueState, rng: random.Random) -> list[Operator]:
    return [rng.choice(cands)]


@strategy("weighted-random", tiers=False)
def weighted_random(
    cands: list[Operator], q: QueueState, rng: random.Random
) -> list[Operator]:
    """Penalty as weight, not as tier (Asterisk's wrandom): every available member may be
    picked at once, one with penalty p with weight 1/(1+p)."""
    weights = [1.0 / (1 + _penalty(q, op)) for op in cands]
    return rng.choices(cands, weights=weights, k=1)
