"""The flow validator: each problem is reported on its node, with the right severity."""

from __future__ import annotations

import copy

import pytest

from appliance.ivr.flow import Flow, FlowError
from appliance.ivr.phrases import CATALOG, LANGUAGES
from appliance.ivr.validate import errors, validate

from .test_runner import FLOW


def check(graph: dict, **kwargs) -> set[tuple[str | None, str, str]]:
    return {(m.node, m.severity, m.code) for m in validate(Flow.from_graph("f", graph), **kwargs)}


def changed(**nodes: dict | None) -> dict:
    graph = copy.deepcopy(FLOW)
    for node_id, data in nodes.items():
        if data is None:
            del graph["nodes"][node_id]
        else:
            graph["nodes"][node_id] = data
    return graph


def test_the_reference_flow_is_clean() -> None:
    assert check(FLOW) == set()
    assert check(FLOW, prompts=set(), queues={"sales", "support", "main"}) == set()


def test_unknown_target() -> None:
    graph = changed(welcome={"type": "play", "text": "hi", "next": "menuu"})
    found = check(graph)
    assert ("welcome", "error", "v_unknown_target") in found
    assert ("menu", "warning", "v_unreachable") in found


def test_dead_end() -> None:
    found = check(changed(welcome={"type": "play", "text": "hi"}))
    assert ("welcome", "error", "v_dead_end") in found
    found = check(changed(menu={"type": "menu", "text": "m", "choices": {"1": {"label": "x"}}}))
    assert ("menu", "error", "v_dead_end") in found


def test_unreachable_is_a_warning() -> None:
    graph = changed(spare={"type": "hangup"})
    assert check(graph) == {("spare", "warning", "v_unreachable")}
    assert errors(validate(Flow.from_graph("f", graph))) == []


def test_loop_without_an_exit() -> None:
    graph = changed(closed={"type": "play", "text": "closed", "next": "again"},
                    again={"type": "play", "text": "still closed", "next": "closed"})
    found = check(graph)
    assert {("closed", "error", "v_loop"), ("again", "error", "v_loop")} <= found
    assert ("vm", "warning", "v_unreachable") not in found  # sales still overflows to it


def test_loop_through_time_condition_is_a_loop_even_with_an_exit_branch() -> None:
    # when closed the caller hears "closed" forever: the way out depends only on the clock
    graph = changed(closed={"type": "play", "text": "closed", "next": "hours"})
    assert {("closed", "error", "v_silent_loop"), ("hours", "error", "v_silent_loop")} <= \
        check(graph)


def test_a_caller_who_presses_nothing_must_get_out() -> None:
    # each menu gives up to the other: fine for callers with keys, a trap for a rotary phone
    graph = copy.deepcopy(FLOW)
    graph["nodes"]["menu"]["on_fail"] = "more"
    graph["nodes"]["more"] = {"type": "menu", "text": "more", "on_fail": "menu",
                              "choices": {"1": {"next": "sales"}}}
    assert check(graph) == {("menu", "error", "v_silent_loop"),
                            ("more", "error", "v_silent_loop")}
    graph["nodes"]["more"]["on_fail"] = "main"
    assert check(graph) == set()
    looping_offer = changed(cb={"type": "callback", "queue": "sales", "declined": "cb"})
    assert ("cb", "error", "v_silent_loop") in check(looping_offer)


def test_menu_that_repeats_itself_is_fine() -> None:
    graph = copy.deepcopy(FLOW)
    graph["nodes"]["menu"]["choices"]["9"] = {"label": "Repeat", "next": "menu"}
    assert check(graph) == set()


def test_menu_loop_without_any_exit_is_an_error() -> None:
    graph = {"start": "a", "nodes": {
        "a": {"type": "menu", "text": "A", "operator": "b", "on_fail": "b",
              "choices": {"1": {"next": "b"}}},
        "b": {"type": "menu", "text": "B", "operator": "a", "on_fail": "a",
              "choices": {"1": {"next": "a"}}}}}
    found = check(graph)
    assert {("a", "error", "v_loop"), ("b", "error", "v_loop")} <= found


def test_menus_deeper_than_three_levels_warn() -> None:
    nodes = {"q": {"type": "queue", "queue": "q"}}
    for level in range(1, 6):
        nxt = f"m{level + 1}" if level < 5 else "q"
        nodes[f"m{level}"] = {"type": "menu", "text": f"level {level}",
                              "choices": {"1": {"next": nxt}}}
    graph = {"start": "m1", "operator": "q", "nodes": nodes}
    found = check(graph)
    assert found == {("m4", "warning", "v_deep_menu"), ("m5", "warning", "v_deep_menu")}
    message = next(m for m in validate(Flow.from_graph("f", graph)) if m.node == "m4")
    assert "4" in message.text("en") and "4" in message.text("ru")


def test_depth_counts_the_shortest_way_in() -> None:
    graph = {"start": "m1", "operator": "q", "nodes": {
        "m1": {"type": "menu", "text": "1", "choices": {"1": {"next": "m2"}, "2": {"next": "m4"}}},
        "m2": {"type": "menu", "text": "2", "choices": {"1": {"next": "m3"}}},
        "m3": {"type": "menu", "text": "3", "choices": {"1": {"next": "m4"}}},
        "m4": {"type": "menu", "text": "4", "choices": {"1": {"next": "q"}}},
        "q": {"type": "queue", "queue": "q"}}}
    assert check(graph) == set()


def test_operator_key_rules() -> None:
    graph = copy.deepcopy(FLOW)
    del graph["operator"]
    assert ("menu", "error", "v_no_operator") in check(graph)
    graph = copy.deepcopy(FLOW)
    graph["nodes"]["menu"]["choices"]["0"] = {"label": "Sales", "next": "sales"}
    assert ("menu", "error", "v_zero_taken") in check(graph)


@pytest.mark.parametrize(("node", "code"), [
    ({"type": "teleport"}, "v_bad_type"),
    ({"type": "play", "next": "menu"}, "v_missing"),
    ({"type": "time", "hours": {"mon": ["9 to 5"]}, "open": "menu", "closed": "menu"},
     "v_bad_value"),
    ({"type": "time", "timezone": "Nowhere/City", "open": "menu", "closed": "menu"},
     "v_bad_value"),
    ({"type": "menu", "text": "m", "choices": {"12": {"next": "sales"}}}, "v_bad_value"),
    ({"type": "menu", "text": "m", "timeout": "soon", "choices": {"1": {"next": "sales"}}},
     "v_bad_value"),
    ({"type": "collect", "text": "c", "name": "n", "next": "sales", "check": "regex:[0-9"},
     "v_bad_value"),
    ({"type": "collect", "text": "c", "name": "n", "next": "sales", "check": "md5"},
     "v_bad_value"),
    ({"type": "collect", "text": "c", "name": "n", "next": "sales", "min_length": 9,
      "max_length": 4}, "v_bad_value"),
    ({"type": "collect", "text": "c", "next": "sales"}, "v_missing"),
    ({"type": "transfer"}, "v_missing"),
    ({"type": "transfer", "extension": "201", "number": "+7495"}, "v_missing"),
    ({"type": "queue"}, "v_missing"),
    ({"type": "queue", "queue": False}, "v_bad_value"),
    ({"type": "play", "text": "x", "next": 5}, "v_bad_value"),
    ({"type": "play", "text": ["x"], "next": "menu"}, "v_bad_value"),
    ({"type": "play", "text": "x", "next": "menu", "interruptible": "no"}, "v_bad_value"),
    ({"type": "menu", "text": "m", "choices": ["1", "2"]}, "v_bad_value"),
    ({"type": "menu", "text": "m", "choices": {"1": {"next": 7}}}, "v_bad_value"),
    ({"type": "menu", "text": "m", "choices": {"1": {"next": "sales", "language": "de"}}},
     "v_bad_value"),
    ({"type": "collect", "text": "c", "name": "n", "next": "sales", "check": True},
     "v_bad_value"),
    ({"type": "collect", "text": "c", "name": "n", "next": "sales", "terminator": "5"},
     "v_bad_value"),
    ({"type": "collect", "text": "c", "name": "n", "next": "sales", "max_length": "9"},
     "v_bad_value"),
    ({"type": "menu", "text": "m", "timeout": float("nan"), "choices": {"1": {"next": "sales"}}},
     "v_bad_value"),
])
def test_bad_fields(node: dict, code: str) -> None:
    graph = changed(welcome=node)
    assert ("welcome", "error", code) in check(graph)


def test_unknown_queue_and_prompt_when_the_lists_are_given() -> None:
    graph = changed(welcome={"type": "play", "prompt": "hello", "next": "menu"})
    found = check(graph, prompts={"bye"}, queues={"sales", "main"})
    assert ("welcome", "warning", "v_unknown_prompt") in found
    assert ("support", "error", "v_unknown_queue") in found


def test_flow_level_problems() -> None:
    assert check({"start": "x", "nodes": {}}) == {(None, "error", "v_no_nodes")}
    graph = copy.deepcopy(FLOW)
    graph["start"] = "nowhere"
    assert (None, "error", "v_no_start") in check(graph)
    graph = copy.deepcopy(FLOW)
    graph["operator"] = "nobody"
    assert (None, "error", "v_unknown_target") in check(graph)


@pytest.mark.parametrize("raw", ["not json", "[]", '{"nodes": []}', '{"nodes": {"a": 1}}', 7])
def test_garbage_graph_is_a_flow_error(raw) -> None:
    with pytest.raises(FlowError):
        Flow.from_graph("f", raw)


def test_messages_render_in_both_languages() -> None:
    for code, entry in CATALOG.items():
        assert set(entry) == set(LANGUAGES), code
    graph = changed(welcome={"type": "play", "text": "hi", "next": "menuu"})
    for message in validate(Flow.from_graph("f", graph)):
        en, ru = message.text("en"), message.text("ru")
        assert en and ru and en != ru
        assert message.as_dict("ru")["node"] == message.node
