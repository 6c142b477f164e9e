"""An analog line's settings as the installer gives them (CLI and web: strings), checked
in words, and the facts ``callbox line list`` shows for it."""

from __future__ import annotations

from typing import Any

from . import models, words


def _flag(value: Any) -> bool:
    """Settings come from the CLI and the web as strings: "false", "no", "0" are off."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def validate_settings(settings: dict[str, Any]) -> dict[str, str]:
    """What is wrong with an FXO line's settings: field -> message (a translation key,
    :mod:`.words`), shown next to the field.  Empty when all is well."""
    problems: dict[str, str] = {}
    if not str(settings.get("port", "")).strip():
        problems["port"] = words.PORT_REQUIRED
    model = settings.get("model")
    if model and model not in models.BY_KEY:
        problems["model"] = words.UNKNOWN_MODEL
    for key in ("silence_hangup_seconds", "ring_timeout_seconds", "no_answer_seconds"):
        if key in settings:
            try:
                if float(settings[key]) < 0:
                    raise ValueError
            except (TypeError, ValueError):
                problems[key] = words.BAD_SECONDS
    if settings.get("duplex") not in (None, "", "full", "half"):
        problems["duplex"] = words.BAD_DUPLEX
    return problems


def line_facts(status: dict[str, Any]) -> dict[str, Any]:
    """The columns of ``callbox line list`` for an analog line, from ``status()``."""
    return {
        "state": status.get("state", ""),
        "model": status.get("model_name") or status.get("model", ""),
        "caller_id": "yes" if status.get("caller_id") else "no",
        "duplex": status.get("duplex", ""),
        "codec": status.get("codec", ""),
        "port": status.get("port", ""),
    }
