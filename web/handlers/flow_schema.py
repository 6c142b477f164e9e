"""What the visual flow editor needs to know about node types, in the reader's language.

The branches of each type (which fields lead to another node) and its required fields
come from ``appliance.ivr.flow.NODE_TYPES``, so a new node type shows up in the editor
with its branches as soon as it is one entry there.  This module only adds what a
person needs: a label and an icon per type, a label per branch, and which form control
edits each of the type's other fields.  A type missing from ``FIELDS`` still gets a text
box for each of its required fields.

``_`` marks strings for the catalog (``python -m web.catalog``); they are translated when
the schema is built for one request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.ivr.flow import DTMF_KEYS, NODE_TYPES, OPERATOR_KEY


def _(text: str) -> str:
    return text


TYPE_LABELS: dict[str, tuple[str, str]] = {  # type: (icon, label)
    "time": ("\u25F7", _("Opening hours")),
    "play": ("\u266A", _("Play a message")),
    "menu": ("\u2630", _("Menu")),
    "collect": ("#", _("Collect digits")),
    "queue": ("\u260E", _("Queue")),
    "voicemail": ("\u2709", _("Voicemail")),
    "callback": ("\u21A9", _("Callback offer")),
    "transfer": ("\u21C4", _("Transfer")),
    "hangup": ("\u2716", _("Hang up")),
}

BRANCH_LABELS: dict[str, str] = {
    "open": _("open"), "closed": _("closed"), "next": _("then"),
    "on_fail": _("no valid choice"), "operator": _("operator (0)"),
    "overflow": _("overflow"), "declined": _("declined"),
}

# One row per field: (name, control, label, help).  Controls: say (a stored prompt or
# text for the TTS; the name is the prefix of prompt/text), text, int, seconds, bool,
# queue, hours, dates, exceptions, choices, check, terminator.
Field = tuple[str, str, str, str]

FIELDS: dict[str, list[Field]] = {
    "time": [
        ("hours", "hours", _("Opening hours per weekday"),
         _("No hours: closed that day. An end before the start runs past midnight.")),
        ("holidays", "dates", _("Holidays (closed)"),
         _("One per line: 2026-12-31, or 01-01 for every year.")),
        ("exceptions", "exceptions", _("One-off days"),
         _("A date and its own hours (empty: closed all day).")),
        ("timezone", "text", _("Time zone"), _("Empty: the box's time zone.")),
    ],
    "play": [
        ("", "say", _("Message"), ""),
        ("interruptible", "bool", _("A key press skips the message"), ""),
    ],
    "menu": [
        ("", "say", _("Menu message"), _("Say every choice, e.g. For sales press 1.")),
        ("choices", "choices", _("Choices"), _("0 always reaches the operator.")),
        ("timeout", "seconds", _("Seconds to wait for a key"), ""),
        ("retries", "int", _("Retries"), ""),
        ("invalid_", "say", _("Message after a wrong key"), ""),
        ("no_input_", "say", _("Message when no key is pressed"), ""),
    ],
    "collect": [
        ("", "say", _("Message"), _("e.g. Enter your order number, then press hash.")),
        ("name", "text", _("Name of the digits"), _("Kept on the call, e.g. order.")),
        ("label", "text", _("Shown to the operator as"), ""),
        ("min_length", "int", _("Fewest digits"), ""),
        ("max_length", "int", _("Most digits"), ""),
        ("check", "check", _("Check"), ""),
        ("terminator", "terminator", _("Key that ends the input"), ""),
        ("timeout", "seconds", _("Seconds to wait for the first digit"), ""),
        ("inter_digit_timeout", "seconds", _("Seconds to wait between digits"), ""),
        ("retries", "int", _("Retries"), ""),
        ("sensitive", "bool", _("Hide all but the last 4 digits in records"), ""),
    ],
    "queue": [
        ("queue", "queue", _("Queue"), ""),
        ("priority", "int", _("Priority"), _("Higher is answered first.")),
        ("", "say", _("Message before queueing"), ""),
    ],
    "voicemail": [
        ("queue", "queue", _("Queue that calls back"), ""),
        ("max_seconds", "seconds", _("Longest message, seconds"), ""),
        ("intro", "bool", _("Ask to leave a message after the tone"), ""),
        ("thanks_", "say", _("Message after recording"), ""),
    ],
    "callback": [
        ("queue", "queue", _("Queue that calls back"), ""),
        ("", "say", _("Offer message"),
         _("Empty: To be called back, press 1. To stay on the line, press 2.")),
        ("confirm_", "say", _("Confirmation message"), ""),
    ],
    "transfer": [
        ("extension", "text", _("Extension"), _("An extension, or else a number.")),
        ("number", "text", _("Outside number"), ""),
        ("line", "text", _("Line for the outside number"), _("Empty: any free line.")),
    ],
    "hangup": [
        ("", "say", _("Message"), _("Empty: Goodbye.")),
    ],
}

# What the runner uses when a number is left empty (shown greyed in the empty box).
PLACEHOLDERS: dict[tuple[str, str], str] = {
    ("menu", "timeout"): "5", ("menu", "retries"): "2", ("collect", "min_length"): "1",
    ("collect", "max_length"): "20", ("collect", "timeout"): "8",
    ("collect", "inter_digit_timeout"): "4", ("collect", "retries"): "2",
    ("queue", "priority"): "0", ("voicemail", "max_seconds"): "120",
}


# What a node of a type starts with when added in the editor (branches start empty).
def _defaults(node_type: str, queue: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "time": {"hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                 "holidays": []},
        "play": {"text": ""},
        "menu": {"text": "", "choices": {"1": {"label": "", "next": ""}}},
        "collect": {"text": "", "name": "digits", "min_length": 1, "max_length": 20},
        "queue": {"queue": queue},
        "voicemail": {"queue": queue},
        "callback": {"queue": queue},
        "transfer": {"extension": ""},
    }.get(node_type, {})
    return {"type": node_type, **base}


def editor_schema(translate: Callable[[str], str], queues: list[str]) -> dict[str, Any]:
    """Everything the editor's script reads about node types, translated."""
    types: dict[str, Any] = {}
    first_queue = queues[0] if queues else ""
    for name, kind in NODE_TYPES.items():
        icon, label = TYPE_LABELS.get(name, ("\u25A1", name))
        fields = FIELDS.get(name) or [(f, "text", f, "") for f in kind.required
                                      if f not in kind.targets]
        types[name] = {
            "icon": icon, "label": translate(label) if name in TYPE_LABELS else label,
            "targets": list(kind.targets), "required": list(kind.required),
            "terminal": kind.terminal, "interactive": kind.interactive,
            "fields": [{"name": f, "control": c, "label": translate(lab),
                        "help": translate(h) if h else "",
                        "placeholder": PLACEHOLDERS.get((name, f), "")}
                       for f, c, lab, h in fields],
            "defaults": _defaults(name, first_queue),
        }
    return {"types": types,
            "branches": {k: translate(v) for k, v in BRANCH_LABELS.items()},
            "keys": [k for k in DTMF_KEYS if k != OPERATOR_KEY],
            "operator_key": OPERATOR_KEY}
