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
    port = str(settings.get("port", "")).strip()
    if not port:
        problems["port"] = words.PORT_REQUIRED
    elif not port.startswith("/") or any(c.isspace() for c in port) or ".." in port.split("/"):
        # a relative name would be opened from the daemon's working directory and the line
        # would stay "modem not found" for ever: refuse it where the installer types it
        problems["port"] = words.PORT_NOT_ABSOLUTE
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


def line_facts(status: dict[str, Any], settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of ``callbox line list`` for an analog line: from ``status()`` while
    the daemon runs it, else what the settings say (a forced model and duplex) and
    ``?`` for what only the modem can tell."""
    settings = settings or {}
    model = models.BY_KEY.get(str(settings.get("model") or ""))
    if status:
        caller_id = "yes" if status.get("caller_id") else "no"
        duplex = status.get("duplex", "")
    else:
        caller_id = "yes" if model is not None and model is not models.GENERIC else "?"
        duplex = settings.get("duplex") or (
            ("full" if model.full_duplex else "half") if model is not None else "?")
    return {
        "state": status.get("state") or "not running",
        "model": status.get("model_name") or (model.name if model else "detect"),
        "caller_id": caller_id,
        "duplex": duplex,
        "codec": status.get("codec", ""),
        "port": status.get("port") or settings.get("port", ""),
    }
