"""The flow runner: one caller's walk through a flow, on the injected clock.

It never touches a leg or a sound file.  It asks :class:`FlowIO` (the switchboard) to
play, stop, record, enqueue, transfer or hang up, and hears back through ``dtmf()``,
``caller_hangup()`` and ``overflow()``.  Timeouts come from the clock, so a test walks
a whole menu tree with retries in microseconds of virtual time.

What the caller entered and chose is kept in ``collected`` (and ``summary()`` for the
call record), so the operator who answers sees it and never asks again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.clock import Clock, Timer
from drivers.base import CallerId

from .flow import DTMF_KEYS, Exit, ExitKind, Flow, Node, PromptRef
from .nodes import HANDLERS
from .phrases import language_or_default, opens_sentence, text
from .validate import operator_target

log = logging.getLogger(__name__)

MAX_INSTANT_HOPS = 64  # nodes visited without time passing: a loop the validator missed
MAX_PATH = 200
MAX_TYPEAHEAD = 32
OPENS_AT = "{opens_at}"  # placeholder in a prompt's text: when the time node opens next


class FlowIO(Protocol):
    """What a run asks of the switchboard.  Every method returns at once."""

    def play(self, prompt: PromptRef, on_done: Callable[[], None]) -> None:
        """Play a prompt; call ``on_done`` when it has been heard to the end.  After
        ``stop_playback`` the pending ``on_done`` may be dropped (the run ignores it)."""

    def stop_playback(self) -> None: ...

    def enqueue(self, queue: str, priority: int) -> None:
        """Hand the caller to the ACD.  If the ACD refuses or later overflows the caller,
        call ``run.overflow(reason)``; when it returns False, apply the queue's own overflow."""

    def record_voicemail(self, queue: str, max_seconds: float,
                         on_done: Callable[[], None]) -> None:
        """Beep, record the caller, store it (``VoicemailBox.deposit`` with ``run.summary()``),
        and call ``on_done`` when recording stopped (time up, '#', ``stop_recording``)."""

    def stop_recording(self) -> None: ...

    def request_callback(self, queue: str, number: str) -> None:
        """The caller chose a callback: create the task in ``queue`` for ``number``."""

    def transfer(self, extension: str, number: str, line: str) -> None:
        """Connect the caller to a phone extension, or dial ``number`` out (on ``line``)."""

    def hangup(self) -> None: ...


_SHOWN = {"choice": "key", "digits": "shown", "callback": "number"}  # kind -> value field


def collected_lines(collected: Any) -> list[tuple[str, str]]:
    """(label, value) lines of what a caller gave, in order: menu choices, digits (masked
    when the flow said so) and callback numbers.  Reads a run's ``collected`` or the one
    in a stored ``summary()`` (a voicemail's or call's record), so entries not shaped
    like the runner's are skipped rather than trusted."""
    lines = []
    for entry in collected if isinstance(collected, list) else []:
        field = _SHOWN.get(entry.get("kind")) if isinstance(entry, dict) else None
        if field is not None:
            lines.append((str(entry.get("label", "")), str(entry.get(field, ""))))
    return lines


def summary_lines(summary: Any) -> list[tuple[str, str]]:
    """``collected_lines`` of a stored ``summary()``: a call's ``data["flow"]`` (the
    operator's card, the call record) or a voicemail's ``digits``."""
    return collected_lines(summary.get("collected")) if isinstance(summary, dict) else []


@dataclass
class _Ask:
    max_digits: int
    terminator: str
    timeout: float
    inter_digit: float
    on_done: Callable[[str], None]
    buffer: str = ""


@dataclass
class FlowRun:
    flow: Flow
    clock: Clock
    io: FlowIO
    caller: CallerId = field(default_factory=CallerId)
    call_id: str = ""
    line: str = ""
    language: str = ""
    collected: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # digits by name, never masked
    path: list[str] = field(default_factory=list)
    exit: Exit | None = None
    ended: bool = False

    def __post_init__(self) -> None:
        self.language = language_or_default(self.language or self.flow.language)
        self.node: Node | None = None
        self._ask: _Ask | None = None
        self._timer: Timer | None = None
        self._token = 0
        self._playing = False
        self._typeahead = ""
        self._tries = 0
        self._hops = 0
        self._hop_time = -1.0
        self._after_play: Callable[[], None] | None = None  # what follows the prompt playing
        # (hour, minute, days ahead, weekday): set by a time node that found us closed
        self.opens_at: tuple[int, int, int, int] | None = None

    # -- events in ------------------------------------------------------------------------
    def start(self) -> None:
        self.goto(self.flow.start)

    def dtmf(self, digit: str) -> None:
        if self.ended or len(digit) != 1 or digit not in DTMF_KEYS:
            return
        if self._ask is not None:
            self._ask_digit(digit)
        elif self.exit is not None and self.exit.kind == "voicemail":
            if digit == "#":
                self.io.stop_recording()
        elif digit == "#" and self.node is not None and self.node.type == "voicemail" \
                and self.skip_play():
            return  # '#' skips the greeting straight to the beep, as voicemail does
        elif self.exit is None and len(self._typeahead) < MAX_TYPEAHEAD:
            self._typeahead += digit  # a caller who knows the menu may type ahead
            node = self.node
            if node is not None and node.type == "play" and node.get("interruptible", True):
                self._stop_play()
                self.goto(node.get("next"))

    def caller_hangup(self) -> None:
        if self.ended:
            return
        self._cancel_timer()
        self._token += 1
        self._ask = None
        if self.exit is None:
            node = self.node
            # hanging up during the goodbye is the end the flow meant, not an abandon
            kind: ExitKind = "hangup" if node is not None and node.type == "hangup" \
                else "abandoned"
            self.exit = Exit(kind, node.id if node else "")
        self.ended = True

    def overflow(self, reason: str) -> bool:
        """The queue refused or gave up on the caller: continue at the node's ``overflow``."""
        node = self.node
        if self.ended or self.exit is None or self.exit.kind != "queue" or node is None:
            return False
        target = node.get("overflow")
        if not target:
            return False
        self.collected.append({"kind": "overflow", "node": node.id, "queue": self.exit.target,
                               "reason": reason})
        self.exit = None
        self.goto(target)
        return True

    # -- what the operator and the call record see -----------------------------------------
    def summary(self) -> dict[str, Any]:
        digits = {e["name"]: e["shown"] for e in self.collected if e["kind"] == "digits"}
        choices = [{"node": e["node"], "key": e["key"], "label": e["label"]}
                   for e in self.collected if e["kind"] == "choice"]
        return {"flow": self.flow.name, "version": self.flow.version, "language": self.language,
                "path": list(self.path), "choices": choices, "digits": digits,
                "collected": list(self.collected),
                "exit": vars(self.exit).copy() if self.exit else None}

    def screen_pop(self) -> list[tuple[str, str]]:
        """(label, value) lines for the operator's card, in the order the caller gave them."""
        return collected_lines(self.collected)

    # -- the node API (nodes.py): moving on, saying, asking -------------------------------
    def goto(self, node_id: Any) -> None:
        if self.ended:
            return
        now = self.clock.monotonic()
        self._hops = self._hops + 1 if now == self._hop_time else 1
        self._hop_time = now
        node = self.flow.nodes.get(node_id) if isinstance(node_id, str) else None
        if node is None or node.type not in HANDLERS or self._hops > MAX_INSTANT_HOPS:
            log.error("call %s: flow %s cannot go on at %r (hops %d); hanging up",
                      self.call_id, self.flow.name, node_id, self._hops)
            self.end("hangup", str(node_id))
            self.io.hangup()
            return
        if len(self.path) < MAX_PATH:
            self.path.append(node.id)
        self.node = node
        self._tries = 0
        HANDLERS[node.type](self, node)

    def end(self, kind: ExitKind, node_id: str, target: str = "") -> None:
        self._cancel_timer()
        self.exit = Exit(kind, node_id, target)
        self.ended = True

    def say(self, code: str) -> PromptRef:
        return PromptRef(language=self.language, text=text(code, self.language))

    def prompt(self, node: Node, prefix: str = "", default: str = "") -> PromptRef:
        ref = node.prompt(self.language, prefix)
        if OPENS_AT in ref.text:
            # "We are closed. {opens_at}" -> "... We open at nine o'clock." (or nothing)
            when = self.opens_at
            spoken = opens_sentence(when[0], when[1], self.language, when[2], when[3]) \
                if when else ""
            ref = PromptRef(ref.language, ref.name, ref.text.replace(OPENS_AT, spoken).strip())
        return ref if ref or not default else self.say(default)

    def retry(self, node: Node, got: str, ask_again: Callable[[list[PromptRef]], None],
              give_up: Callable[[], None], invalid_code: str) -> None:
        self._tries += 1
        if self._tries > int(node.number("retries", 2)):
            give_up()
            return
        if got:
            ask_again([self.prompt(node, "invalid_", invalid_code)])
        else:
            ask_again([self.prompt(node, "no_input_", "no_input")])

    def to_operator(self, node: Node) -> None:
        self.goto(node.get("on_fail") or operator_target(self.flow, node))

    def choose(self, node: Node, key: str, label: str) -> None:
        self.collected.append({"kind": "choice", "node": node.id, "key": key, "label": label})

    # -- playing ----------------------------------------------------------------------------
    def play_then(self, prompts: list[PromptRef], then: Callable[[], None]) -> None:
        queue = [p for p in prompts if p]
        self._token += 1
        token = self._token

        def step(index: int) -> None:
            if token != self._token or self.ended:
                return  # stopped, or the caller moved on
            if index == len(queue):
                self._playing = False
                then()
                return
            self._playing = True
            self.io.play(queue[index], lambda: step(index + 1))

        self._after_play = then
        step(0)

    def skip_play(self) -> bool:
        """The caller pressed # during a terminal node's prompt (the voicemail intro):
        stop it and do what comes after it at once."""
        then = self._after_play
        if not self._playing or then is None:
            return False
        self._after_play = None
        self._stop_play()
        then()
        return True

    def _stop_play(self) -> None:
        self._token += 1
        if self._playing:
            self._playing = False
            self.io.stop_playback()

    # -- asking for keys ----------------------------------------------------------------------
    def ask(self, prompts: list[PromptRef], on_done: Callable[[str], None], *,
            max_digits: int = 1, terminator: str = "", timeout: float = 5.0,
            inter_digit: float = 4.0) -> None:
        ask = self._ask = _Ask(max_digits, terminator, timeout, inter_digit, on_done)
        while self._typeahead and self._ask is ask:
            # one key at a time: what is left stays for the next question
            digit, self._typeahead = self._typeahead[0], self._typeahead[1:]
            self._ask_digit(digit)
        if self._ask is not ask:
            return  # answered from the type-ahead
        if ask.buffer:
            self._listen()
        else:
            self.play_then(prompts, self._listen)

    def _listen(self) -> None:
        ask = self._ask
        if ask is None:
            return
        self._start_timer(ask.inter_digit if ask.buffer else ask.timeout, self._ask_finish)

    def _ask_digit(self, digit: str) -> None:
        ask = self._ask
        assert ask is not None
        self._stop_play()
        self._cancel_timer()
        if ask.terminator and digit == ask.terminator:
            self._ask_finish()
            return
        ask.buffer += digit
        if len(ask.buffer) >= ask.max_digits:
            self._ask_finish()
        else:
            self._listen()

    def _ask_finish(self) -> None:
        ask, self._ask = self._ask, None
        self._cancel_timer()
        if ask is not None:
            ask.on_done(ask.buffer)

    def _start_timer(self, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = self.clock.call_later(delay, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
