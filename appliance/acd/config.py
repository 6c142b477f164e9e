"""Queue options: one dataclass, shared by the ACD, the CLI, the web forms and the store.

Each field carries a one-line explanation (``help``) that the web page shows next to
the field, and a default that suits a small office.  ``validate`` returns messages per
field, so a form can show them next to the right input and save nothing.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

STRATEGIES = (
    "ring-all",
    "longest-idle",
    "round-robin",
    "fewest-calls",
    "least-talk-time",
    "random",
    "weighted-random",
    "linear",
    "ring-progressively",
)

OVERFLOW_KINDS = ("", "queue", "voicemail", "callback", "hangup")


def _opt(default: Any, help: str, **limits: Any) -> Any:
    return field(default=default, metadata={"help": help, **limits})


@dataclass
class QueueConfig:
    name: str = _opt("", "Name shown on the wallboard and in reports.")
    strategy: str = _opt(
        "longest-idle", "Who rings first when a caller waits.", choices=STRATEGIES
    )
    ring_timeout: int = _opt(15, "Seconds an operator's phone rings before trying another.",
                             min=3, max=300)
    retry_delay: int = _opt(2, "Seconds to wait after nobody answered before ringing again.",
                            min=0, max=300)
    wrapup_seconds: int = _opt(10, "Seconds after a call before the operator gets the next one.",
                               min=0, max=3600)
    autopause_after: int = _opt(3, "Pause an operator after this many missed rings in a row "
                                "(0 = never).", min=0, max=100)
    join_empty: bool = _opt(False, "Let callers wait when no operator is logged in.")
    leave_when_empty: bool = _opt(True, "Send waiting callers to overflow when the last "
                                  "operator logs out.")
    max_wait: int = _opt(300, "Seconds a caller may wait before overflow (0 = no limit).",
                         min=0, max=86400)
    max_length: int = _opt(0, "Most callers that may wait at once (0 = no limit).",
                           min=0, max=10000)
    overflow: str = _opt("voicemail", "Where callers go on overflow: queue:NAME, voicemail, "
                         "callback or hangup.")
    penalty_step_seconds: int = _opt(30, "Every this many seconds of waiting, operators one "
                                     "penalty tier further away are rung too (0 = never).",
                                     min=0, max=3600)
    progressive_step_seconds: int = _opt(5, "ring-progressively: seconds before the next "
                                         "operator is added to those ringing.", min=1, max=120)
    service_level_seconds: int = _opt(20, "A call answered within this many seconds meets the "
                                      "service level.", min=1, max=3600)
    short_abandon_seconds: int = _opt(5, "Callers who hang up sooner are not counted as "
                                      "abandoned.", min=0, max=120)
    sticky_days: int = _opt(30, "Prefer the operator who last served this number within this "
                            "many days (0 = off).", min=0, max=3650)
    sticky_seconds: int = _opt(20, "How long to hold the call for that operator before "
                               "anyone else may take it.", min=0, max=600)
    callback_enabled: bool = _opt(True, "Offer callers a callback that keeps their place.")
    weight: int = _opt(0, "When an operator is in several queues, calls from the queue with "
                       "the higher weight go first.", min=0, max=100)

    def validate(self) -> dict[str, str]:
        """Messages keyed by field name; empty when the configuration is good."""
        errors: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if "choices" in meta and value not in meta["choices"]:
                errors[f.name] = f"must be one of: {', '.join(meta['choices'])}"
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            if "min" in meta and value < meta["min"]:
                errors[f.name] = f"must be at least {meta['min']}"
            elif "max" in meta and value > meta["max"]:
                errors[f.name] = f"must be at most {meta['max']}"
        if not self.name.strip():
            errors["name"] = "a queue needs a name"
        elif len(self.name) > 64 or any(c in self.name for c in ":/\\\n\r\t"):
            errors["name"] = "use up to 64 characters, without : / \\ or line breaks"
        kind = self.overflow.split(":", 1)[0]
        if kind not in OVERFLOW_KINDS:
            errors["overflow"] = "must be queue:NAME, voicemail, callback or hangup"
        elif kind == "queue":
            target = self.overflow.split(":", 1)[1] if ":" in self.overflow else ""
            if not target:
                errors["overflow"] = "name the queue: queue:NAME"
            elif target == self.name:
                errors["overflow"] = "a queue cannot overflow into itself"
        return errors

    def options(self) -> dict[str, Any]:
        """Everything except the name and strategy, as stored in ``queues.options``."""
        data = asdict(self)
        data.pop("name")
        data.pop("strategy")
        return data

    @classmethod
    def from_row(cls, name: str, strategy: str, options: dict[str, Any]) -> QueueConfig:
        known = {f.name for f in fields(cls)}
        return cls(name=name, strategy=strategy,
                   **{k: v for k, v in options.items() if k in known})

    @classmethod
    def coerce(cls, raw: dict[str, str]) -> tuple[QueueConfig, dict[str, str]]:
        """Build from text values (form fields, CLI flags); bad numbers become messages."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            text = str(raw[f.name]).strip()
            default = f.default if f.default is not MISSING else None
            if isinstance(default, bool):
                values[f.name] = text.lower() in ("1", "true", "yes", "on")
            elif isinstance(default, int):
                try:
                    values[f.name] = int(text)
                except ValueError:
                    errors[f.name] = "must be a whole number"
            else:
                values[f.name] = text
        config = cls(**values)
        errors = {**config.validate(), **errors}
        return config, errors


def field_help() -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in fields(QueueConfig)}
