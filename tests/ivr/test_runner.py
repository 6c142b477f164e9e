"""The flow runner on the virtual clock: menus, retries, digits, callbacks, voicemail."""

from __future__ import annotations

import copy
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from appliance.clock import VirtualClock
from appliance.ivr.flow import Flow
from appliance.ivr.nodes import luhn_ok
from appliance.ivr.runner import FlowRun, collected_lines
from drivers.base import CallerId

from .conftest import PROMPT_SECONDS, Harness, RecordingIO

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def berlin(*args: int) -> float:
    return dt.datetime(*args, tzinfo=BERLIN).timestamp()


MONDAY_10 = berlin(2026, 1, 5, 10, 0)  # 2026-01-05 is a Monday
SUNDAY_10 = berlin(2026, 1, 4, 10, 0)

FLOW = {
    "start": "hours", "language": "en", "timezone": "Europe/Berlin", "operator": "main",
    "nodes": {
        "hours": {"type": "time", "hours": {d: ["09:00-18:00"] for d in WEEKDAYS},
                  "open": "welcome", "closed": "closed"},
        "welcome": {"type": "play", "text": "Welcome.", "next": "menu"},
        "menu": {"type": "menu", "text": "MENU", "timeout": 5, "retries": 2,
                 "choices": {"1": {"label": "Sales", "next": "sales"},
                             "2": {"label": "Support", "next": "support"},
                             "3": {"label": "Card question", "next": "card"},
                             "4": {"label": "Call me back", "next": "cb"}}},
        "card": {"type": "collect", "text": "CARD", "name": "card", "label": "Card",
                 "min_length": 16, "max_length": 16, "check": "luhn", "sensitive": True,
                 "retries": 1, "next": "support"},
        "sales": {"type": "queue", "queue": "sales", "overflow": "vm"},
        "support": {"type": "queue", "queue": "support"},
        "main": {"type": "queue", "queue": "main"},
        "cb": {"type": "callback", "queue": "sales", "declined": "sales"},
        "vm": {"type": "voicemail", "queue": "sales", "max_seconds": 60},
        "closed": {"type": "play", "text": "We are closed.", "next": "vm"},
    },
}

GOOD_CARD = "4111111111111111"
BAD_CARD = "4111111111111112"


def at(epoch: float) -> VirtualClock:
    return VirtualClock(start=epoch)


def open_call(caller: CallerId | None = None) -> Harness:
    return Harness(at(MONDAY_10), FLOW, caller).start()


def test_open_hours_menu_choice_goes_to_queue_and_is_remembered() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)  # welcome, then the menu prompt
    h.keys("1")
    assert h.io.heard() == ["Welcome.", "MENU"]
    assert h.io.commands() == [("enqueue", "sales")]
    summary = h.run.summary()
    assert summary["choices"] == [{"node": "menu", "key": "1", "label": "Sales"}]
    assert summary["path"] == ["hours", "welcome", "menu", "sales"]
    assert h.run.exit is not None and (h.run.exit.kind, h.run.exit.target) == ("queue", "sales")
    assert h.run.screen_pop() == [("Sales", "1")]


def test_closed_goes_to_voicemail_and_hash_ends_recording() -> None:
    h = Harness(at(SUNDAY_10), FLOW).start()
    h.wait(PROMPT_SECONDS * 2)  # "closed", then the voicemail intro
    assert h.io.commands() == [("record", "sales")]
    h.wait(10)
    h.keys("#")
    h.wait(PROMPT_SECONDS)
    assert h.io.heard() == ["We are closed.", "Please leave a message after the tone.",
                            "Thank you, your message has been recorded."]
    assert h.io.commands()[-3:] == [("stop_recording", None), ("recorded", None),
                                    ("hangup", None)]
    assert h.run.exit.kind == "voicemail" and h.run.ended


def test_hash_during_the_voicemail_greeting_skips_to_the_beep() -> None:
    h = Harness(at(SUNDAY_10), FLOW).start()
    h.wait(PROMPT_SECONDS * 1.5)  # "closed" heard, the voicemail intro half spoken
    assert h.io.commands() == []
    h.keys("#")
    assert h.io.commands() == [("record", "sales")]  # recording at once, not after the intro
    h.wait(5)
    h.keys("#")  # the second # ends the message as usual
    assert h.io.commands()[1:3] == [("stop_recording", None), ("recorded", None)]


def test_hash_in_a_plain_prompt_is_typeahead_not_a_skip_to_voicemail() -> None:
    h = Harness(at(SUNDAY_10), FLOW).start()
    h.wait(PROMPT_SECONDS * 0.5)  # "We are closed." playing (a play node)
    h.keys("#")
    assert h.io.commands() == []  # a play node takes it as type-ahead; no recording yet


def test_menu_timeout_retries_then_operator() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2 + 4.9)
    assert h.io.commands() == []  # 5 s timeout not over yet
    h.wait(0.2)
    assert h.io.heard()[-1] == "Sorry, we did not hear your choice."
    h.wait(100)
    menus = [p for p in h.io.heard() if p == "MENU"]
    assert len(menus) == 3  # first try + 2 retries
    assert h.io.commands() == [("enqueue", "main")]
    assert h.run.summary()["choices"] == [{"node": "menu", "key": "", "label": "No choice made"}]


def test_invalid_input_retries_then_operator_and_a_good_key_recovers() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    h.keys("7")
    assert h.io.heard()[-1] == "Sorry, that is not a valid choice."
    h.wait(PROMPT_SECONDS * 2)
    h.keys("2")
    assert h.io.commands() == [("enqueue", "support")]

    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    for _ in range(3):
        h.keys("9")
        h.wait(PROMPT_SECONDS * 2)
    assert h.io.commands() == [("enqueue", "main")]


def test_zero_reaches_the_operator_from_any_menu() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    h.keys("0")
    assert h.io.commands() == [("enqueue", "main")]
    assert h.run.screen_pop() == [("Operator", "0")]


def test_key_during_menu_prompt_cuts_it_short() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS + 0.5)  # half-way through the menu prompt
    h.keys("2")
    assert ("stop", None) in h.io.log
    assert h.io.commands() == [("enqueue", "support")]
    assert h.clock.monotonic() < PROMPT_SECONDS * 2


def test_type_ahead_skips_welcome_and_answers_the_menu() -> None:
    h = open_call()
    h.wait(0.5)
    h.keys("1")
    assert h.io.heard() == ["Welcome."]  # the menu prompt never played
    assert h.io.commands() == [("enqueue", "sales")]


def test_collect_card_with_luhn_check_masks_it_for_the_record() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    h.keys("3")
    h.wait(PROMPT_SECONDS)
    h.keys(BAD_CARD)
    assert h.io.heard()[-1] == "Sorry, that number is not valid. Please try again."
    h.wait(PROMPT_SECONDS * 2)
    h.keys(GOOD_CARD)
    assert h.io.commands() == [("enqueue", "support")]
    assert h.run.values == {"card": GOOD_CARD}
    assert h.run.summary()["digits"] == {"card": "••••••••••••1111"}
    assert h.run.screen_pop() == [("Card question", "3"), ("Card", "••••••••••••1111")]
    # the same lines from the summary as stored (JSON) on a call or voicemail record
    stored = json.loads(json.dumps(h.run.summary()))
    assert collected_lines(stored["collected"]) == h.run.screen_pop()
    assert GOOD_CARD not in json.dumps(stored)


def test_collect_gives_up_after_retries_to_the_operator() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    h.keys("3")
    h.wait(PROMPT_SECONDS)
    h.keys("1234")  # too short: waits for more, then the inter-digit timeout ends it
    h.wait(5)
    h.wait(PROMPT_SECONDS * 2)
    h.keys(BAD_CARD)
    assert h.io.commands() == [("enqueue", "main")]
    assert "card" not in h.run.values


def test_collect_with_terminator_and_regex() -> None:
    graph = {"start": "ask", "operator": "op", "nodes": {
        "ask": {"type": "collect", "text": "ORDER", "name": "order", "min_length": 3,
                "max_length": 10, "check": r"regex:[1-9]\d*", "next": "q"},
        "q": {"type": "queue", "queue": "orders"},
        "op": {"type": "queue", "queue": "main"}}}
    h = Harness(VirtualClock(), graph).start()
    h.wait(PROMPT_SECONDS)
    h.keys("0123#")  # a leading zero fails the pattern
    h.wait(PROMPT_SECONDS * 2)
    h.keys("4567#")
    assert h.io.commands() == [("enqueue", "orders")]
    assert h.run.values == {"order": "4567"}


def test_callback_offer_uses_the_caller_number() -> None:
    h = open_call(CallerId("+79161234567"))
    h.wait(PROMPT_SECONDS * 2)
    h.keys("4")
    h.wait(PROMPT_SECONDS)
    h.keys("1")
    h.wait(PROMPT_SECONDS)
    assert h.io.commands() == [("callback", ("sales", "+79161234567")), ("hangup", None)]
    assert h.run.exit.kind == "callback"
    assert ("Call back on", "+79161234567") in h.run.screen_pop()


def test_callback_for_a_withheld_number_asks_for_one() -> None:
    h = open_call(CallerId("", presentation="restricted"))
    h.wait(PROMPT_SECONDS * 2)
    h.keys("4")
    h.wait(PROMPT_SECONDS)
    h.keys("1")
    h.wait(PROMPT_SECONDS)
    h.keys("84951234567#")
    assert h.io.commands()[0] == ("callback", ("sales", "84951234567"))


def test_callback_declined_keeps_waiting_in_queue() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    h.keys("4")
    h.wait(PROMPT_SECONDS)
    h.keys("2")
    assert h.io.commands() == [("enqueue", "sales")]


def test_overflow_continues_in_the_flow_only_where_the_flow_says() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    h.keys("1")
    assert h.run.overflow("timeout") is True
    h.wait(PROMPT_SECONDS)
    assert h.io.commands() == [("enqueue", "sales"), ("record", "sales")]
    assert h.run.collected[-1] == {"kind": "overflow", "node": "sales", "queue": "sales",
                                   "reason": "timeout"}

    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    h.keys("2")
    assert h.run.overflow("full") is False  # support has no overflow: the queue's own applies


def test_caller_hangup_stops_everything() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2 + 1)
    h.run.caller_hangup()
    before = list(h.io.log)
    h.wait(600)
    h.run.dtmf("1")
    assert h.io.log == before
    assert h.run.exit.kind == "abandoned" and h.run.exit.node == "menu"


def test_bad_keys_are_ignored() -> None:
    h = open_call()
    h.wait(PROMPT_SECONDS * 2)
    for junk in ("", "12", "A", "x", "\x00"):
        h.run.dtmf(junk)
    assert h.io.commands() == []
    h.keys("1")
    assert h.io.commands() == [("enqueue", "sales")]


def test_loop_of_instant_nodes_hangs_up_instead_of_spinning() -> None:
    graph = {"start": "a", "nodes": {
        "a": {"type": "time", "hours": {}, "open": "b", "closed": "b"},
        "b": {"type": "time", "hours": {}, "open": "a", "closed": "a"}}}
    h = Harness(VirtualClock(), graph).start()
    assert h.io.commands() == [("hangup", None)]
    assert h.run.ended


def test_opening_hours_change_between_two_callers_across_midnight() -> None:
    graph = {"start": "t", "timezone": "Europe/Berlin", "nodes": {
        "t": {"type": "time", "hours": {"fri": ["08:00-24:00"]}, "open": "q", "closed": "h"},
        "q": {"type": "queue", "queue": "late"},
        "h": {"type": "hangup"}}}
    clock = at(berlin(2026, 1, 9, 23, 59))  # Friday 23:59
    first = Harness(clock, graph).start()
    clock.advance(120)  # Saturday 00:01
    second = Harness(clock, graph).start()
    clock.advance(PROMPT_SECONDS)
    assert first.io.commands() == [("enqueue", "late")]
    assert second.io.commands() == [("hangup", None)]


def test_menu_choice_can_switch_language() -> None:
    graph = {"start": "lang", "operator": "q", "nodes": {
        "lang": {"type": "menu", "text": "LANG", "choices": {
            "1": {"label": "Русский", "language": "ru", "next": "m"},
            "2": {"label": "English", "language": "en", "next": "m"}}},
        "m": {"type": "menu", "text": "M", "choices": {"1": {"label": "x", "next": "q"}}},
        "q": {"type": "queue", "queue": "q"}}}
    h = Harness(VirtualClock(), graph).start()
    h.keys("1")
    h.wait(PROMPT_SECONDS)
    h.keys("5")
    assert h.run.language == "ru"
    assert h.io.heard()[-1] == "Извините, такого варианта нет."


@pytest.mark.parametrize(("number", "ok"), [
    ("4111111111111111", True), ("79927398713", True), ("79927398710", False),
    ("0", True), ("", False), ("12a4", False),
])
def test_luhn(number: str, ok: bool) -> None:
    assert luhn_ok(number) is ok


@pytest.mark.parametrize(("when", "language", "expected"), [
    (SUNDAY_10, "en", "We are closed. We open tomorrow at nine o'clock."),
    (SUNDAY_10, "ru", "Мы закрыты. Мы открываемся завтра в девять часов."),
    (berlin(2026, 1, 3, 12, 0), "en", "We are closed. We open on Monday at nine o'clock."),
    (berlin(2026, 1, 3, 12, 0), "ru", "Мы закрыты. Мы открываемся в понедельник в девять часов."),
    (berlin(2026, 1, 6, 7, 30), "en", "We are closed. We open at nine o'clock."),
    (berlin(2026, 1, 6, 7, 30), "ru", "Мы закрыты. Мы открываемся в девять часов."),
])
def test_closed_message_says_when_we_open(when: float, language: str, expected: str) -> None:
    graph = copy.deepcopy(FLOW)
    graph["language"] = language
    graph["nodes"]["closed"]["text"] = {"en": "We are closed. {opens_at}",
                                        "ru": "Мы закрыты. {opens_at}"}[language]
    h = Harness(at(when), graph).start()
    assert h.io.heard() == [expected]


def test_closed_with_no_opening_in_sight_says_nothing_about_it() -> None:
    graph = copy.deepcopy(FLOW)
    graph["nodes"]["hours"]["hours"] = {}
    graph["nodes"]["closed"]["text"] = "We are closed. {opens_at}"
    h = Harness(at(MONDAY_10), graph).start()
    assert h.io.heard() == ["We are closed."]


def test_flow_on_the_morning_clocks_go_forward() -> None:
    graph = {"start": "t", "timezone": "Europe/Berlin", "nodes": {
        "t": {"type": "time", "hours": {"sun": ["08:00-17:00"]}, "open": "q", "closed": "h"},
        "q": {"type": "queue", "queue": "day"},
        "h": {"type": "hangup"}}}
    # 05:59 UTC on 2026-03-29 is 07:59 CEST (it would be 06:59 without the change)
    clock = at(dt.datetime(2026, 3, 29, 5, 59, tzinfo=dt.UTC).timestamp())
    early = Harness(clock, graph).start()
    clock.advance(60)
    on_time = Harness(clock, graph).start()
    clock.advance(PROMPT_SECONDS)
    assert early.io.commands() == [("hangup", None)]
    assert on_time.io.commands() == [("enqueue", "day")]


def test_hanging_up_during_the_goodbye_is_not_an_abandon() -> None:
    graph = {"start": "bye", "nodes": {"bye": {"type": "hangup"}}}
    h = Harness(VirtualClock(), graph).start()
    h.wait(0.5)
    h.run.caller_hangup()
    assert h.io.heard() == ["Goodbye."]
    assert (h.run.exit.kind, h.run.exit.node) == ("hangup", "bye")


class InstantIO(RecordingIO):
    """A switchboard whose prompts end at once (a missing file is reported done)."""

    def play(self, prompt, on_done) -> None:
        self.log.append(("play", prompt.name or prompt.text))
        on_done()


def test_prompts_that_end_at_once_still_wait_for_the_caller() -> None:
    clock = VirtualClock(MONDAY_10)
    io = InstantIO(clock)
    run = FlowRun(Flow.from_graph("f", FLOW), clock, io, CallerId("1"))
    run.start()
    assert io.commands() == []  # waiting in the menu, not spinning
    clock.advance(4)
    run.dtmf("2")
    assert io.commands() == [("enqueue", "support")]
