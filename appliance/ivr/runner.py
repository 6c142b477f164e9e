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
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from appliance.clock import Clock, Timer
from drivers.base import CallerId

from .flow import DTMF_KEYS, OPERATOR_KEY, Flow, Node, PromptRef
from .hours import OpeningHours
from .phrases import LANGUAGES, language_or_default, opens_sentence, text
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


ExitKind = Literal["queue", "voicemail", "callback", "transfer", "hangup", "abandoned"]


@dataclass
class Exit:
    kind: ExitKind
    node: str
    target: str = ""  # queue name, extension or number


@dataclass
class _Ask:
    max_digits: int
    terminator: str
    timeout: float
    inter_digit: float
    on_done: Callable[[str], None]
    buffer: str = ""
    listening: bool = False  # the prompt is over; the timeout runs


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
        # (hour, minute, days ahead, weekday): set by a time node that found us closed
        self.opens_at: tuple[int, int, int, int] | None = None

    # -- events in ------------------------------------------------------------------------
    def start(self) -> None:
        self._goto(self.flow.start)

    def dtmf(self, digit: str) -> None:
        if self.ended or len(digit) != 1 or digit not in DTMF_KEYS:
            return
        if self._ask is not None:
            self._ask_digit(digit)
        elif self.exit is not None and self.exit.kind == "voicemail":
            if digit == "#":
                self.io.stop_recording()
        elif self.exit is None and len(self._typeahead) < MAX_TYPEAHEAD:
            self._typeahead += digit  # a caller who knows the menu may type ahead
            node = self.node
            if node is not None and node.type == "play" and node.get("interruptible", True):
                self._stop_play()
                self._goto(node.get("next"))

    def caller_hangup(self) -> None:
        if self.ended:
            return
        self._cancel_timer()
        self._token += 1
        self._ask = None
        if self.exit is None:
            self.exit = Exit("abandoned", self.node.id if self.node else "")
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
        self._goto(target)
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
        lines = []
        for entry in self.collected:
            if entry["kind"] == "choice":
                lines.append((entry["label"], entry["key"]))
            elif entry["kind"] == "digits":
                lines.append((entry["label"], entry["shown"]))
            elif entry["kind"] == "callback":
                lines.append((entry["label"], entry["number"]))
        return lines

    # -- moving on ---------------------------------------------------------------------------
    def _goto(self, node_id: Any) -> None:
        if self.ended:
            return
        now = self.clock.monotonic()
        self._hops = self._hops + 1 if now == self._hop_time else 1
        self._hop_time = now
        node = self.flow.nodes.get(node_id) if isinstance(node_id, str) else None
        if node is None or node.type not in _HANDLERS or self._hops > MAX_INSTANT_HOPS:
            log.error("call %s: flow %s cannot go on at %r (hops %d); hanging up",
                      self.call_id, self.flow.name, node_id, self._hops)
            self._end("hangup", str(node_id))
            self.io.hangup()
            return
        if len(self.path) < MAX_PATH:
            self.path.append(node.id)
        self.node = node
        self._tries = 0
        _HANDLERS[node.type](self, node)

    def _end(self, kind: ExitKind, node_id: str, target: str = "") -> None:
        self._cancel_timer()
        self.exit = Exit(kind, node_id, target)
        self.ended = True

    def _say(self, code: str) -> PromptRef:
        return PromptRef(language=self.language, text=text(code, self.language))

    def _prompt(self, node: Node, prefix: str = "", default: str = "") -> PromptRef:
        ref = node.prompt(self.language, prefix)
        if OPENS_AT in ref.text:
            # "We are closed. {opens_at}" -> "... We open at nine o'clock." (or nothing)
            when = self.opens_at
            spoken = opens_sentence(when[0], when[1], self.language, when[2], when[3]) \
                if when else ""
            ref = PromptRef(ref.language, ref.name, ref.text.replace(OPENS_AT, spoken).strip())
        return ref if ref or not default else self._say(default)

    def _retry(self, node: Node, got: str, ask_again: Callable[[list[PromptRef]], None],
               give_up: Callable[[], None], invalid_code: str) -> None:
        self._tries += 1
        if self._tries > int(node.number("retries", 2)):
            give_up()
            return
        if got:
            ask_again([self._prompt(node, "invalid_", invalid_code)])
        else:
            ask_again([self._prompt(node, "no_input_", "no_input")])

    def _to_operator(self, node: Node) -> None:
        self._goto(node.get("on_fail") or operator_target(self.flow, node))

    def _choice(self, node: Node, key: str, label: str) -> None:
        self.collected.append({"kind": "choice", "node": node.id, "key": key, "label": label})

    # -- playing ----------------------------------------------------------------------------
    def _play_seq(self, prompts: list[PromptRef], then: Callable[[], None]) -> None:
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

        step(0)

    def _stop_play(self) -> None:
        self._token += 1
        if self._playing:
            self._playing = False
            self.io.stop_playback()

    # -- asking for keys ----------------------------------------------------------------------
    def _ask_for(self, prompts: list[PromptRef], on_done: Callable[[str], None], *,
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
            self._play_seq(prompts, self._listen)

    def _listen(self) -> None:
        ask = self._ask
        if ask is None:
            return
        ask.listening = True
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


# -- node handlers ---------------------------------------------------------------------------

def _time(run: FlowRun, node: Node) -> None:
    key = f"hours:{node.id}"
    hours = run.flow.cache.get(key)
    if hours is None:
        hours = run.flow.cache[key] = OpeningHours.from_dict(node.data, run.flow.timezone)
    is_open = hours.is_open(run.clock.time())
    if not is_open:
        opening = hours.next_opening(run.clock.time())
        if opening is None:
            run.opens_at = None
        else:
            days = (opening.date() - hours.local(run.clock.time()).date()).days
            run.opens_at = (opening.hour, opening.minute, days, opening.weekday())
    run._goto(node.get("open") if is_open else node.get("closed"))


def _play(run: FlowRun, node: Node) -> None:
    run._play_seq([run._prompt(node)], lambda: run._goto(node.get("next")))


def _menu(run: FlowRun, node: Node, preface: list[PromptRef] | None = None) -> None:
    run._ask_for([*(preface or []), run._prompt(node)], lambda got: _menu_answer(run, node, got),
                 timeout=node.number("timeout", 5))


def _menu_answer(run: FlowRun, node: Node, got: str) -> None:
    choices = node.choices()
    if got == OPERATOR_KEY:
        run._choice(node, got, text("operator_choice", run.language))
        run._goto(operator_target(run.flow, node))
    elif got in choices:
        choice = choices[got]
        run._choice(node, got, str(choice.get("label") or got))
        if choice.get("language") in LANGUAGES:
            run.language = choice["language"]
        run._goto(choice.get("next"))
    else:
        def give_up() -> None:
            run._choice(node, "", text("no_choice", run.language))
            run._to_operator(node)

        run._retry(node, got, lambda pre: _menu(run, node, pre), give_up, "invalid_choice")


def luhn_ok(digits: str) -> bool:
    """ISO/IEC 7812 check digit (card numbers, many account numbers)."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def digits_ok(node: Node, got: str) -> bool:
    if not int(node.get("min_length", 1)) <= len(got) <= int(node.get("max_length", 20)):
        return False
    check = str(node.get("check") or "")
    if check == "luhn":
        return luhn_ok(got)
    if check.startswith("regex:"):
        return re.fullmatch(check[len("regex:"):], got) is not None
    return True


def _mask(digits: str) -> str:
    return "•" * max(0, len(digits) - 4) + digits[-4:]


def _collect(run: FlowRun, node: Node, preface: list[PromptRef] | None = None) -> None:
    run._ask_for([*(preface or []), run._prompt(node)],
                 lambda got: _collect_answer(run, node, got),
                 max_digits=int(node.get("max_length", 20)),
                 terminator=str(node.get("terminator", "#")),
                 timeout=node.number("timeout", 8),
                 inter_digit=node.number("inter_digit_timeout", 4))


def _collect_answer(run: FlowRun, node: Node, got: str) -> None:
    if got and digits_ok(node, got):
        name = str(node.get("name"))
        run.values[name] = got
        run.collected.append({"kind": "digits", "node": node.id, "name": name,
                              "label": str(node.get("label") or name),
                              "shown": _mask(got) if node.get("sensitive") else got})
        run._goto(node.get("next"))
        return
    run._retry(node, got, lambda pre: _collect(run, node, pre), lambda: run._to_operator(node),
               "invalid_digits")


def _callback(run: FlowRun, node: Node, preface: list[PromptRef] | None = None) -> None:
    run._ask_for([*(preface or []), run._prompt(node, default="callback_offer")],
                 lambda got: _callback_answer(run, node, got), timeout=node.number("timeout", 6))


def _callback_answer(run: FlowRun, node: Node, got: str) -> None:
    if got == OPERATOR_KEY:
        run._choice(node, got, text("operator_choice", run.language))
        run._goto(operator_target(run.flow, node))
    elif got == "1":
        number = run.caller.number if run.caller.presentation == "allowed" else ""
        if number:
            _callback_accept(run, node, number)
        else:
            _callback_ask_number(run, node)
    elif got == "2":
        run.collected.append({"kind": "callback_declined", "node": node.id})
        run._goto(node.get("declined"))
    else:
        run._retry(node, got, lambda pre: _callback(run, node, pre),
                   lambda: run._goto(node.get("declined")), "invalid_choice")


def _callback_ask_number(run: FlowRun, node: Node) -> None:
    def answer(got: str) -> None:
        if 5 <= len(got) <= 15 and got.isdigit():
            _callback_accept(run, node, got)
        else:
            run._retry(node, got, lambda pre: _callback(run, node, pre),
                       lambda: run._goto(node.get("declined")), "invalid_digits")

    run._ask_for([run._say("callback_ask_number")], answer, max_digits=15, terminator="#",
                 timeout=node.number("timeout", 10), inter_digit=5)


def _callback_accept(run: FlowRun, node: Node, number: str) -> None:
    queue = str(node.get("queue"))
    run.collected.append({"kind": "callback", "node": node.id, "number": number,
                          "label": text("callback_label", run.language)})
    run.exit = Exit("callback", node.id, queue)
    run.io.request_callback(queue, number)
    run._play_seq([run._prompt(node, "confirm_", "callback_confirmed")], lambda: _hang(run))


def _hang(run: FlowRun) -> None:
    run.ended = True
    run.io.hangup()


def _then(run: FlowRun, node: Node, action: Callable[[], None], default: str = "") -> None:
    """Play the node's optional prompt, then act (terminal nodes)."""
    run._play_seq([run._prompt(node, default=default)], action)


def _queue(run: FlowRun, node: Node) -> None:
    def join() -> None:
        run.exit = Exit("queue", node.id, str(node.get("queue")))
        run.io.enqueue(str(node.get("queue")), int(node.get("priority", 0) or 0))

    _then(run, node, join)


def _voicemail(run: FlowRun, node: Node) -> None:
    queue = str(node.get("queue") or "")

    def record() -> None:
        run.exit = Exit("voicemail", node.id, queue)
        run.io.record_voicemail(queue, node.number("max_seconds", 120), recorded)

    def recorded() -> None:
        if not run.ended:
            run._play_seq([run._prompt(node, "thanks_", "voicemail_thanks")], lambda: _hang(run))

    _then(run, node, record, default="voicemail_intro" if node.get("intro", True) else "")


def _transfer(run: FlowRun, node: Node) -> None:
    extension, number = str(node.get("extension") or ""), str(node.get("number") or "")

    def go() -> None:
        run._end("transfer", node.id, extension or number)
        run.io.transfer(extension, number, str(node.get("line") or ""))

    _then(run, node, go)


def _hangup(run: FlowRun, node: Node) -> None:
    def go() -> None:
        run._end("hangup", node.id)
        run.io.hangup()

    _then(run, node, go, default="goodbye")


_HANDLERS: dict[str, Callable[[FlowRun, Node], None]] = {
    "time": _time, "play": _play, "menu": _menu, "collect": _collect, "queue": _queue,
    "voicemail": _voicemail, "callback": _callback, "transfer": _transfer, "hangup": _hangup,
}
