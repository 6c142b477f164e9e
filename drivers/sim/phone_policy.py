"""How a simulated operator handles a ringing phone: pick up after a few seconds, talk a
while, sometimes let it ring out, sometimes be busy.

The policy is plain configuration; each phone draws its decisions from its own seeded
random generator, so a demo run with a seed plays out the same way every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Action = Literal["answer", "ring", "busy"]


@dataclass(frozen=True, slots=True)
class AnswerPolicy:
    """``answer_after`` and ``talk_seconds`` are (low, high) ranges drawn uniformly;
    ``None`` means "never by itself" (the test or the demo answers / hangs up)."""

    answer_after: tuple[float, float] | None = (2.0, 7.0)
    talk_seconds: tuple[float, float] | None = (20.0, 90.0)
    no_answer_ratio: float = 0.0  # calls left ringing until the caller gives up
    busy_ratio: float = 0.0  # calls refused with 486 Busy Here
    busy_when_in_call: bool = True  # a second call while talking gets 486 (no call waiting)
    seed: int | str | None = None

    def __post_init__(self) -> None:
        for name in ("answer_after", "talk_seconds"):
            span = getattr(self, name)
            if span is not None and not 0 <= span[0] <= span[1]:
                raise ValueError(f"{name} must be (low, high) with 0 <= low <= high")
        if not (0 <= self.no_answer_ratio <= 1 and 0 <= self.busy_ratio <= 1):
            raise ValueError("ratios must be between 0 and 1")
        if self.no_answer_ratio + self.busy_ratio > 1:
            raise ValueError("no_answer_ratio + busy_ratio must not exceed 1")

    def generator(self, extension: str) -> random.Random:
        """A generator of the phone's own: phones of one bank do not move in step."""
        if self.seed is None:
            return random.Random()
        return random.Random(f"{self.seed}:{extension}")


@dataclass(frozen=True, slots=True)
class RingDecision:
    action: Action
    answer_after: float | None  # seconds of ringing before the 200 OK
    talk_seconds: float | None  # seconds from answer to our BYE; None: wait for the far end


def decide(policy: AnswerPolicy, rng: random.Random) -> RingDecision:
    """What to do with one incoming call."""
    draw = rng.random()
    talk = _span(policy.talk_seconds, rng)
    if draw < policy.busy_ratio:
        return RingDecision("busy", None, None)
    if draw < policy.busy_ratio + policy.no_answer_ratio or policy.answer_after is None:
        return RingDecision("ring", None, talk)
    return RingDecision("answer", _span(policy.answer_after, rng), talk)


def talk_time(policy: AnswerPolicy, rng: random.Random) -> float | None:
    """How long to stay on a call this phone placed, once answered."""
    return _span(policy.talk_seconds, rng)


def _span(span: tuple[float, float] | None, rng: random.Random) -> float | None:
    if span is None:
        return None
    return rng.uniform(*span)
