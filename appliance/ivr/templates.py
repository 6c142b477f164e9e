"""Ready-made flows for the setup wizard: the installer fills in hours and a queue, and
gets a flow that already passes the validator and can be edited later."""

from __future__ import annotations

from typing import Any

from .phrases import language_or_default

WELCOME = {"en": "Hello, thank you for calling. Please hold, an operator will answer shortly.",
           "ru": "Здравствуйте, спасибо за звонок. Оставайтесь на линии, оператор скоро ответит."}
CLOSED = {"en": "Thank you for calling. We are closed now. {opens_at} "
                "Please leave a message after the tone and we will call you back.",
          "ru": "Спасибо за звонок. Сейчас мы не работаем. {opens_at} "
                "Оставьте сообщение после сигнала, и мы вам перезвоним."}


def starter_flow(queue: str, hours: dict[str, list[str]], *, timezone: str = "UTC",
                 language: str = "en", holidays: list[str] | None = None) -> dict[str, Any]:
    """Open: greeting, then the queue (overflowing to voicemail).  Closed: when we open
    again, then voicemail, which becomes a callback task for the queue."""
    language = language_or_default(language)
    return {
        "start": "hours", "language": language, "timezone": timezone, "operator": "queue",
        "nodes": {
            "hours": {"type": "time", "hours": hours, "holidays": list(holidays or []),
                      "open": "welcome", "closed": "closed"},
            "welcome": {"type": "play", "text": WELCOME[language], "next": "queue"},
            "queue": {"type": "queue", "queue": queue, "overflow": "voicemail"},
            "voicemail": {"type": "voicemail", "queue": queue, "max_seconds": 120},
            "closed": {"type": "play", "text": CLOSED[language], "next": "closed_voicemail"},
            # the closed message already asks for a message: straight to the beep
            "closed_voicemail": {"type": "voicemail", "queue": queue, "max_seconds": 120,
                                 "intro": False},
        },
    }
