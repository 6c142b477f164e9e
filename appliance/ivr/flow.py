"""A call flow: the caller's journey as a graph of nodes, kept as JSON in the database.

The graph::

    {"start": "hours", "language": "ru", "operator": "main_queue",
     "nodes": {"hours": {"type": "time", "hours": {"mon": ["09:00-18:00"]},
                         "open": "menu", "closed": "vm"},
               "menu":  {"type": "menu", "text": "Sales, press 1.",
                         "choices": {"1": {"label": "Sales", "next": "sales"}}},
               "sales": {"type": "queue", "queue": "sales"},
               "vm":    {"type": "voicemail", "queue": "sales"},
               "main_queue": {"type": "queue", "queue": "main"}}}

``NODE_TYPES`` says, per type, which fields name other nodes and which must be there;
the validator and the web editor both read it, so a new node type is one entry here
and one handler in the runner.  Prompts are either a recorded/generated prompt by
name (``"prompt": "welcome"``) or text spoken by the box's TTS (``"text": ...``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


class FlowError(ValueError):
    """The graph is not even shaped like a flow (not JSON, no nodes map)."""


@dataclass(frozen=True)
class NodeType:
    targets: tuple[str, ...] = ()  # fields holding one node id
    required: tuple[str, ...] = ()  # fields that must be present and non-empty
    terminal: bool = False  # the flow hands the call over here and ends
    interactive: bool = False  # waits for the caller's keys


NODE_TYPES: dict[str, NodeType] = {
    "time": NodeType(targets=("open", "closed"), required=("open", "closed")),
    "play": NodeType(targets=("next",), required=("next",)),
    "menu": NodeType(targets=("on_fail", "operator"), required=("choices",), interactive=True),
    "collect": NodeType(targets=("next", "on_fail", "operator"), required=("next", "name"),
                        interactive=True),
    "queue": NodeType(targets=("overflow",), required=("queue",), terminal=True),
    "voicemail": NodeType(terminal=True),
    "callback": NodeType(targets=("declined", "operator"), required=("queue", "declined"),
                         terminal=True, interactive=True),
    "transfer": NodeType(terminal=True),
    "hangup": NodeType(terminal=True),
}

DTMF_KEYS = "0123456789*#"
OPERATOR_KEY = "0"  # "0 = operator" works in every menu (callers expect it)


ExitKind = Literal["queue", "voicemail", "callback", "transfer", "hangup", "abandoned"]


@dataclass
class Exit:
    """Where a run handed the caller over (or where the caller hung up: ``abandoned``)."""

    kind: ExitKind
    node: str
    target: str = ""  # queue name, extension or number


@dataclass(frozen=True)
class PromptRef:
    """What to play: a stored prompt by name, or text for the TTS, in a language."""

    language: str
    name: str = ""
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.text)


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    data: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else default

    def prompt(self, language: str, prefix: str = "") -> PromptRef:
        """The prompt in ``prefix``prompt / ``prefix``text (e.g. invalid_prompt)."""
        return PromptRef(language=language, name=str(self.data.get(f"{prefix}prompt") or ""),
                         text=str(self.data.get(f"{prefix}text") or ""))

    def choices(self) -> dict[str, Mapping[str, Any]]:
        raw = self.data.get("choices")
        if not isinstance(raw, Mapping):
            return {}
        return {str(k): (v if isinstance(v, Mapping) else {"next": v}) for k, v in raw.items()}

    def edges(self) -> Iterator[tuple[str, str]]:
        """(field, target) for every link out of this node, menu choices included."""
        kind = NODE_TYPES.get(self.type)
        if kind is None:
            return
        for name in kind.targets:
            target = self.data.get(name)
            if isinstance(target, str) and target:
                yield name, target
        for key, choice in self.choices().items():
            target = choice.get("next")
            if isinstance(target, str) and target:
                yield f"choices.{key}", target


@dataclass
class Flow:
    name: str
    graph: dict[str, Any]
    version: int = 0
    nodes: dict[str, Node] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    box_timezone: str = "UTC"  # the box's own zone, for flows that do not name one

    @classmethod
    def from_graph(cls, name: str, graph: Any, version: int = 0) -> Flow:
        if isinstance(graph, str | bytes):
            try:
                graph = json.loads(graph)
            except json.JSONDecodeError as exc:
                raise FlowError(f"flow {name!r} is not valid JSON: {exc.msg}") from None
        if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), dict):
            raise FlowError(f"flow {name!r} needs a 'nodes' object")
        nodes = {}
        for node_id, data in graph["nodes"].items():
            if not isinstance(data, dict):
                raise FlowError(f"node {node_id!r} must be an object")
            nodes[str(node_id)] = Node(str(node_id), str(data.get("type", "")), data)
        return cls(name=name, graph=graph, version=version, nodes=nodes)

    @property
    def start(self) -> str:
        return str(self.graph.get("start") or "")

    @property
    def language(self) -> str:
        return str(self.graph.get("language") or "en")

    @property
    def operator(self) -> str:
        """Where "0" leads when a menu does not say: usually the main queue's node."""
        return str(self.graph.get("operator") or "")

    @property
    def timezone(self) -> str:
        return str(self.graph.get("timezone") or self.box_timezone)

    def to_json(self) -> str:
        return json.dumps(self.graph, ensure_ascii=False, sort_keys=True)
