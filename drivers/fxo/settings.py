"""An analog line's settings as the installer gives them (CLI and web: strings), checked
in words, and the facts ``callbox line list`` shows for it."""

from __future__ import annotations

from typing import Any

from . import models


def _flag(value: Any) -> bool:
    """Settings come from the CLI and the web as strings: "false", "no", "0" are off."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def validate_settings(settings: dict[str, Any]) -> list[str]:
    """What is wrong with an FXO line's settings, in words for the installer ([] = fine)."""
    problems = []
    if not str(settings.get("port", "")).strip():
        problems.append("port: the modem's serial port is required (e.g. /dev/ttyACM0)")
    model = settings.get("model")
    if model and model not in models.BY_KEY:
        known = ", ".join(sorted(models.BY_KEY))
        problems.append(f"model: unknown {model!r} (known: {known})")
    for key in ("silence_hangup_seconds", "ring_timeout_seconds", "no_answer_seconds"):
        if key in settings:
            try:
                if float(settings[key]) < 0:
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(f"{key}: a number of seconds, 0 or more")
    if settings.get("duplex") not in (None, "full", "half"):
        problems.append("duplex: 'full' or 'half'")
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
