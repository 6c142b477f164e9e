"""What a waiting caller is told, and when: position, expected wait, the callback offer.

Pure policy on the injected clock.  The switchboard gives it a way to read the caller's
place (from the ACD) and a sink for events; it plays :class:`Announcement` and
:class:`CallbackOffer` prompts over the music on hold, forwards the caller's keys to
``dtmf()``, and on :class:`CallbackAccepted` asks the ACD to keep the place as a
callback (``request_callback``) and plays the confirmation.

Why the rules: hearing "you are third" every 30 seconds while nothing moves annoys
more than it comforts, so by default a periodic announcement is skipped unless the
position or the rounded wait changed, and two are never closer than ``min_gap``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.clock import Clock, Timer

from .flow import PromptRef
from .phrases import position_sentence, text, wait_sentence

OFFER_SPACING = 8.0  # seconds kept between an announcement and a callback offer


@dataclass
class AnnouncePolicy:
    on_entry: bool = True
    every_seconds: float = 60.0  # 0 = only on entry
    min_gap_seconds: float = 30.0
    only_when_changed: bool = True
    say_position: bool = True
    say_wait: bool = True
    callback_first_after: float = 45.0  # 0 = never offer a callback while waiting
    callback_every_seconds: float = 120.0  # repeat the offer (0 = offer once)


@dataclass(frozen=True)
class QueueStatus:
    position: int  # 1 = next to be answered
    wait_seconds: float | None = None  # estimate; None = not known, say nothing


@dataclass(frozen=True)
class Announcement:
    prompts: tuple[PromptRef, ...]
    status: QueueStatus


@dataclass(frozen=True)
class CallbackOffer:
    prompt: PromptRef


@dataclass(frozen=True)
class CallbackAccepted:
    position: int


AnnounceEvent = Announcement | CallbackOffer | CallbackAccepted


def estimate_wait(position: int, handle_seconds: float, operators: int) -> float:
    """Expected wait: callers ahead, shared among the operators serving the queue.  The
    caller in front is on average half-way through being served, hence the half."""
    return max(0.0, (position - 0.5) * handle_seconds / max(1, operators))


@dataclass
class QueueAnnouncer:
    clock: Clock
    policy: AnnouncePolicy
    language: str
    status: Callable[[], QueueStatus | None]
    emit: Callable[[AnnounceEvent], None]
    callback_allowed: bool = True
    _timers: dict[str, Timer] = field(default_factory=dict)  # one per job: tick, offer
    _last_spoken: float = -math.inf
    _last_said: tuple[int, int] | None = None
    _offered: bool = False
    _stopped: bool = False

    def start(self) -> None:
        if self.policy.on_entry:
            self._announce(force=True)
        if self.policy.every_seconds > 0:
            self._later("tick", self.policy.every_seconds, self._tick)
        if self.callback_allowed and self.policy.callback_first_after > 0:
            self._later("offer", self.policy.callback_first_after, self._offer)

    def stop(self) -> None:
        self._stopped = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def dtmf(self, digit: str) -> bool:
        """True when the key was the caller taking the callback offer."""
        if self._stopped or digit != "1" or not self._offered:
            return False
        current = self.status()
        self.stop()
        self.emit(CallbackAccepted(current.position if current else 0))
        return True

    # -- timers ------------------------------------------------------------------------------
    def _later(self, job: str, delay: float, callback: Callable[[], None]) -> None:
        self._timers[job] = self.clock.call_later(delay, callback)

    def _tick(self) -> None:
        if self._stopped:
            return
        self._announce(force=False)
        self._later("tick", self.policy.every_seconds, self._tick)

    def _offer(self) -> None:
        if self._stopped:
            return
        since = self.clock.monotonic() - self._last_spoken
        if since < OFFER_SPACING:
            self._later("offer", OFFER_SPACING - since, self._offer)
            return
        self._offered = True
        self._last_spoken = self.clock.monotonic()
        self.emit(CallbackOffer(PromptRef(self.language,
                                          text=text("callback_in_queue", self.language))))
        if self.policy.callback_every_seconds > 0:
            self._later("offer", self.policy.callback_every_seconds, self._offer)

    def _announce(self, force: bool) -> None:
        current = self.status()
        if current is None or current.position < 1:
            return
        minutes = -1 if current.wait_seconds is None else math.ceil(current.wait_seconds / 60)
        said = (current.position, minutes)
        now = self.clock.monotonic()
        if not force:
            if now - self._last_spoken < self.policy.min_gap_seconds:
                return
            if self.policy.only_when_changed and said == self._last_said:
                return
        prompts = []
        if self.policy.say_position:
            prompts.append(position_sentence(current.position, self.language))
        if self.policy.say_wait and current.wait_seconds is not None:
            prompts.append(wait_sentence(current.wait_seconds, self.language))
        if not prompts:
            return
        self._last_said, self._last_spoken = said, now
        self.emit(Announcement(tuple(PromptRef(self.language, text=p) for p in prompts),
                               current))


def announcement_texts(language: str, max_position: int = 20,
                       max_minutes: int = 30) -> list[str]:
    """Every sentence an announcer says within these bounds, for the switchboard to have
    spoken by the TTS at start-up (``PromptLibrary.speak``): no caller waits for espeak."""
    texts = [position_sentence(n, language) for n in range(1, max_position + 1)]
    texts.append(wait_sentence(0, language))
    texts += [wait_sentence(minutes * 60, language) for minutes in range(1, max_minutes + 1)]
    texts.append(text("callback_in_queue", language))
    return texts
