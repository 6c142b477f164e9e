"""What each node type does to a run: one handler per type, looked up by ``node.type``.

Handlers use the run's node API (``goto``, ``ask``, ``play_then``, ``prompt``, ``retry``,
``choose``, ``end``); the run owns timers, playback and the caller's keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .flow import OPERATOR_KEY, Exit, Node, PromptRef
from .hours import OpeningHours
from .phrases import LANGUAGES, text
from .validate import operator_target

if TYPE_CHECKING:
    from .runner import FlowRun

def _time(run: FlowRun, node: Node) -> None:
    key = f"hours:{node.id}:{run.flow.timezone}"
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
    run.goto(node.get("open") if is_open else node.get("closed"))


def _play(run: FlowRun, node: Node) -> None:
    run.play_then([run.prompt(node)], lambda: run.goto(node.get("next")))


def _menu(run: FlowRun, node: Node, preface: list[PromptRef] | None = None) -> None:
    run.ask([*(preface or []), run.prompt(node)], lambda got: _menu_answer(run, node, got),
            timeout=node.number("timeout", 5))


def _menu_answer(run: FlowRun, node: Node, got: str) -> None:
    choices = node.choices()
    if got == OPERATOR_KEY:
        run.choose(node, got, text("operator_choice", run.language))
        run.goto(operator_target(run.flow, node))
    elif got in choices:
        choice = choices[got]
        run.choose(node, got, str(choice.get("label") or got))
        if choice.get("language") in LANGUAGES:
            run.language = choice["language"]
        run.goto(choice.get("next"))
    else:
        def give_up() -> None:
            run.choose(node, "", text("no_choice", run.language))
            run.to_operator(node)

        run.retry(node, got, lambda pre: _menu(run, node, pre), give_up, "invalid_choice")


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
    run.ask([*(preface or []), run.prompt(node)],
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
        run.goto(node.get("next"))
        return
    run.retry(node, got, lambda pre: _collect(run, node, pre), lambda: run.to_operator(node),
              "invalid_digits")


def _callback(run: FlowRun, node: Node, preface: list[PromptRef] | None = None) -> None:
    run.ask([*(preface or []), run.prompt(node, default="callback_offer")],
            lambda got: _callback_answer(run, node, got), timeout=node.number("timeout", 6))


def _callback_answer(run: FlowRun, node: Node, got: str) -> None:
    if got == OPERATOR_KEY:
        run.choose(node, got, text("operator_choice", run.language))
        run.goto(operator_target(run.flow, node))
    elif got == "1":
        number = run.caller.number if run.caller.presentation == "allowed" else ""
        if number:
            _callback_accept(run, node, number)
        else:
            _callback_ask_number(run, node)
    elif got == "2":
        run.collected.append({"kind": "callback_declined", "node": node.id})
        run.goto(node.get("declined"))
    else:
        run.retry(node, got, lambda pre: _callback(run, node, pre),
                  lambda: run.goto(node.get("declined")), "invalid_choice")


def _callback_ask_number(run: FlowRun, node: Node) -> None:
    def answer(got: str) -> None:
        if 5 <= len(got) <= 15 and got.isdigit():
            _callback_accept(run, node, got)
        else:
            run.retry(node, got, lambda pre: _callback(run, node, pre),
                      lambda: run.goto(node.get("declined")), "invalid_digits")

    run.ask([run.say("callback_ask_number")], answer, max_digits=15, terminator="#",
            timeout=node.number("timeout", 10), inter_digit=5)


def _callback_accept(run: FlowRun, node: Node, number: str) -> None:
    queue = str(node.get("queue"))
    run.collected.append({"kind": "callback", "node": node.id, "number": number,
                          "label": text("callback_label", run.language)})
    run.exit = Exit("callback", node.id, queue)
    run.io.request_callback(queue, number)
    run.play_then([run.prompt(node, "confirm_", "callback_confirmed")], lambda: _hang(run))


def _hang(run: FlowRun) -> None:
    run.ended = True
    run.io.hangup()


def _then(run: FlowRun, node: Node, action: Callable[[], None], default: str = "") -> None:
    """Play the node's optional prompt, then act (terminal nodes)."""
    run.play_then([run.prompt(node, default=default)], action)


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
            run.play_then([run.prompt(node, "thanks_", "voicemail_thanks")], lambda: _hang(run))

    _then(run, node, record, default="voicemail_intro" if node.get("intro", True) else "")


def _transfer(run: FlowRun, node: Node) -> None:
    extension, number = str(node.get("extension") or ""), str(node.get("number") or "")

    def go() -> None:
        run.end("transfer", node.id, extension or number)
        run.io.transfer(extension, number, str(node.get("line") or ""))

    _then(run, node, go)


def _hangup(run: FlowRun, node: Node) -> None:
    def go() -> None:
        run.end("hangup", node.id)
        run.io.hangup()

    _then(run, node, go, default="goodbye")


HANDLERS: dict[str, Callable[[FlowRun, Node], None]] = {
    "time": _time, "play": _play, "menu": _menu, "collect": _collect, "queue": _queue,
    "voicemail": _voicemail, "callback": _callback, "transfer": _transfer, "hangup": _hangup,
}
