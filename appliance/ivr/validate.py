"""The flow validator: what would hurt a caller, keyed by node, before a flow goes live.

Errors block activation (unknown targets, dead ends, loops a caller cannot leave, bad
fields); warnings are shown but allowed (nodes nobody reaches, menus deeper than three
levels, prompts not recorded yet).  Each message names its node and field, so the web
editor can put it next to the node, and renders itself in English or Russian.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .flow import DTMF_KEYS, NODE_TYPES, OPERATOR_KEY, Flow, Node
from .hours import HoursError, OpeningHours
from .phrases import LANGUAGES, text

Severity = Literal["error", "warning"]
MAX_MENU_DEPTH = 3


@dataclass(frozen=True)
class Message:
    node: str | None  # None: about the flow as a whole
    severity: Severity
    code: str
    field: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def text(self, language: str = "en") -> str:
        return text(self.code, language, field=self.field, **self.params)

    def as_dict(self, language: str = "en") -> dict[str, Any]:
        return {"node": self.node, "severity": self.severity, "code": self.code,
                "field": self.field, "text": self.text(language)}


def errors(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m.severity == "error"]


def operator_target(flow: Flow, node: Node) -> str:
    return str(node.get("operator") or flow.operator)


def links(flow: Flow, node: Node) -> Iterator[str]:
    """Every node a caller can go to from ``node``, the implicit "0 = operator" included."""
    for _field, target in node.edges():
        yield target
    if NODE_TYPES.get(node.type, NODE_TYPES["hangup"]).interactive:
        target = operator_target(flow, node)
        if target:
            yield target


TEXT_FIELDS = ("text", "prompt", "invalid_text", "invalid_prompt", "no_input_text",
               "no_input_prompt", "confirm_text", "confirm_prompt", "thanks_text",
               "thanks_prompt", "name", "label", "queue", "extension", "number", "line",
               "check", "terminator", "timezone")
FLAG_FIELDS = ("sensitive", "interruptible", "intro")
COUNT_FIELDS = ("min_length", "max_length", "priority")
SECONDS_FIELDS = ("timeout", "retries", "max_seconds", "inter_digit_timeout")


def _bad(node: Node, name: str, value: Any) -> Message:
    return Message(node.id, "error", "v_bad_value", name, {"value": repr(value)[:40]})


def _check_types(node: Node) -> Iterator[Message]:
    """Wrong kinds of values (a number where a name belongs...) from a hand-edited graph."""
    kind = NODE_TYPES[node.type]
    for name in (*TEXT_FIELDS, *kind.targets):
        if name in node.data and not isinstance(node.get(name), str):
            yield _bad(node, name, node.get(name))
    for name in FLAG_FIELDS:
        if name in node.data and not isinstance(node.get(name), bool):
            yield _bad(node, name, node.get(name))
    for name in COUNT_FIELDS:
        value = node.get(name)
        if name in node.data and (isinstance(value, bool) or not isinstance(value, int)):
            yield _bad(node, name, value)
    for name in SECONDS_FIELDS:
        value = node.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not 0 <= value <= 3600):
            yield _bad(node, name, value)
    if "choices" in node.data and not isinstance(node.get("choices"), dict):
        yield _bad(node, "choices", node.get("choices"))


def _check_fields(flow: Flow, node: Node, prompts: Collection[str] | None,
                  queues: Collection[str] | None) -> Iterator[Message]:
    kind = NODE_TYPES[node.type]
    for name in kind.required:
        value = node.get(name)
        if name in kind.targets:
            if not value:
                yield Message(node.id, "error", "v_dead_end", name)
        elif value is None or value == "" or value == {}:
            yield Message(node.id, "error", "v_missing", name)
    for name, target in node.edges():
        if target not in flow.nodes:
            yield Message(node.id, "error", "v_unknown_target", name, {"target": target})
    for prefix in ("", "invalid_", "no_input_"):
        name = node.get(f"{prefix}prompt")
        if name and prompts is not None and name not in prompts:
            yield Message(node.id, "warning", "v_unknown_prompt", f"{prefix}prompt",
                          {"value": name})
    problems = list(_check_types(node))
    yield from problems
    if not problems:  # the type's own checks may trust the kinds of values
        yield from _TYPE_CHECKS.get(node.type, lambda *_: iter(()))(flow, node, queues)


def _check_time(flow: Flow, node: Node, _queues: Any) -> Iterator[Message]:
    try:
        OpeningHours.from_dict(node.data, flow.timezone)
    except HoursError as exc:
        yield Message(node.id, "error", "v_bad_value", exc.field, {"value": exc.message})


def _needs_prompt(node: Node) -> Iterator[Message]:
    if not (node.get("prompt") or node.get("text")):
        yield Message(node.id, "error", "v_missing", "prompt")


def _check_play(flow: Flow, node: Node, _queues: Any) -> Iterator[Message]:
    yield from _needs_prompt(node)


def _check_menu(flow: Flow, node: Node, _queues: Any) -> Iterator[Message]:
    yield from _needs_prompt(node)
    if not operator_target(flow, node):
        yield Message(node.id, "error", "v_no_operator", "operator")
    for key, choice in node.choices().items():
        where = f"choices.{key}"
        if key == OPERATOR_KEY:
            yield Message(node.id, "error", "v_zero_taken", where)
        elif len(key) != 1 or key not in DTMF_KEYS:
            yield Message(node.id, "error", "v_bad_value", where, {"value": key})
        if not choice.get("next"):
            yield Message(node.id, "error", "v_dead_end", where)
        elif not isinstance(choice.get("next"), str):
            yield _bad(node, where, choice.get("next"))
        if not isinstance(choice.get("label", ""), str):
            yield _bad(node, f"{where}.label", choice.get("label"))
        if choice.get("language", "en") not in LANGUAGES:
            yield _bad(node, f"{where}.language", choice.get("language"))


def _check_collect(flow: Flow, node: Node, _queues: Any) -> Iterator[Message]:
    yield from _needs_prompt(node)
    lengths = [node.get("min_length", 1), node.get("max_length", 20)]
    if not all(isinstance(v, int) and 1 <= v <= 32 for v in lengths) or lengths[0] > lengths[1]:
        yield Message(node.id, "error", "v_bad_value", "min_length",
                      {"value": f"{lengths[0]}..{lengths[1]}"})
    terminator = node.get("terminator", "#")
    if terminator not in ("", "#", "*"):
        yield _bad(node, "terminator", terminator)
    check = node.get("check") or ""
    if check and check != "luhn":
        if not check.startswith("regex:"):
            yield Message(node.id, "error", "v_bad_value", "check", {"value": check})
        else:
            try:
                re.compile(check[len("regex:"):])
            except re.error as exc:
                yield Message(node.id, "error", "v_bad_value", "check", {"value": str(exc)})


def _check_queue(flow: Flow, node: Node, queues: Collection[str] | None) -> Iterator[Message]:
    name = node.get("queue")
    if name and queues is not None and name not in queues:
        yield Message(node.id, "error", "v_unknown_queue", "queue", {"value": name})


def _check_callback(flow: Flow, node: Node, queues: Collection[str] | None) -> Iterator[Message]:
    yield from _check_queue(flow, node, queues)


def _check_transfer(flow: Flow, node: Node, _queues: Any) -> Iterator[Message]:
    if bool(node.get("extension")) == bool(node.get("number")):
        yield Message(node.id, "error", "v_missing", "extension")


_TYPE_CHECKS = {"time": _check_time, "play": _check_play, "menu": _check_menu,
                "collect": _check_collect, "queue": _check_queue, "callback": _check_callback,
                "voicemail": _check_queue, "transfer": _check_transfer}


def _reachable(flow: Flow, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in links(flow, flow.nodes[todo.pop()]):
            if target in flow.nodes and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def silent_links(flow: Flow, node: Node) -> Iterator[str]:
    """Where a caller who presses nothing goes next (rotary phones, keys that do not get
    through a GSM network): timeouts, retries used up, both branches of a time node."""
    if node.type == "time":
        yield from (t for t in (node.get("open"), node.get("closed")) if isinstance(t, str))
    elif node.type == "play" and isinstance(node.get("next"), str):
        yield node.get("next")
    elif node.type in ("menu", "collect"):
        target = node.get("on_fail") or operator_target(flow, node)
        if isinstance(target, str) and target:
            yield target
    elif node.type == "callback" and isinstance(node.get("declined"), str):
        yield node.get("declined")


def _components(flow: Flow, follow: Callable[[Flow, Node], Iterable[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative: no recursion limit to hit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    for root in flow.nodes:
        if root in index:
            continue
        work = [(root, iter([t for t in follow(flow, flow.nodes[root]) if t in flow.nodes]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node_id, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node_id])
                if low[node_id] == index[node_id]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node_id:
                            break
                    result.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter([t for t in follow(flow, flow.nodes[child])
                                          if t in flow.nodes])))
            elif child in on_stack:
                low[node_id] = min(low[node_id], index[child])
    return result


def _reaches_terminal(flow: Flow) -> set[str]:
    back: dict[str, set[str]] = {n: set() for n in flow.nodes}
    for node in flow.nodes.values():
        for target in links(flow, node):
            if target in back:
                back[target].add(node.id)
    done = {n.id for n in flow.nodes.values() if n.type in NODE_TYPES
            and NODE_TYPES[n.type].terminal}
    todo = list(done)
    while todo:
        for source in back[todo.pop()]:
            if source not in done:
                done.add(source)
                todo.append(source)
    return done


def _looped(flow: Flow, component: list[str],
            follow: Callable[[Flow, Node], Iterable[str]]) -> bool:
    return len(component) > 1 or component[0] in follow(flow, flow.nodes[component[0]])


def _check_loops(flow: Flow) -> Iterator[Message]:
    exits = _reaches_terminal(flow)
    flagged: set[str] = set()
    for component in _components(flow, links):
        if _looped(flow, component, links) and not any(n in exits for n in component):
            flagged.update(component)
            yield from (Message(n, "error", "v_loop") for n in sorted(component))
    # a caller who never presses a key must still get out: no loop on the silent path
    for component in _components(flow, silent_links):
        if _looped(flow, component, silent_links) and not flagged.intersection(component):
            yield from (Message(n, "error", "v_silent_loop") for n in sorted(component))


def _check_depth(flow: Flow) -> Iterator[Message]:
    """Menus on the shortest way in from the start (0-1 BFS: a menu costs one level)."""
    depth = {flow.start: 1 if flow.nodes[flow.start].type == "menu" else 0}
    todo = deque([flow.start])
    while todo:
        node_id = todo.popleft()
        for target in links(flow, flow.nodes[node_id]):
            if target not in flow.nodes:
                continue
            step = 1 if flow.nodes[target].type == "menu" else 0
            if depth[node_id] + step < depth.get(target, 1 << 30):
                depth[target] = depth[node_id] + step
                (todo.appendleft if step == 0 else todo.append)(target)
    for node_id, level in sorted(depth.items()):
        if flow.nodes[node_id].type == "menu" and level > MAX_MENU_DEPTH:
            yield Message(node_id, "warning", "v_deep_menu", params={"depth": level})


def validate(flow: Flow, *, prompts: Collection[str] | None = None,
             queues: Collection[str] | None = None) -> list[Message]:
    """All problems in ``flow``.  ``prompts``/``queues``: names that exist (None = unchecked)."""
    if not flow.nodes:
        return [Message(None, "error", "v_no_nodes")]
    messages: list[Message] = []
    if flow.start not in flow.nodes:
        messages.append(Message(None, "error", "v_no_start", "start", {"target": flow.start}))
    if flow.operator and flow.operator not in flow.nodes:
        messages.append(Message(None, "error", "v_unknown_target", "operator",
                                {"target": flow.operator}))
    for node in flow.nodes.values():
        if node.type not in NODE_TYPES:
            messages.append(Message(node.id, "error", "v_bad_type", "type", {"value": node.type}))
            continue
        messages.extend(_check_fields(flow, node, prompts, queues))
    if flow.start in flow.nodes:
        reachable = _reachable(flow, flow.start)
        messages.extend(Message(n, "warning", "v_unreachable") for n in flow.nodes
                        if n not in reachable)
        messages.extend(_check_depth(flow))
    messages.extend(_check_loops(flow))
    return messages
