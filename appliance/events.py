"""In-process event bus: the core publishes what happened, the web hub and loggers listen.

Events are plain ``Event(kind, data)`` records.  Kinds are dotted names from the field:
``call.incoming``, ``call.answered``, ``call.ended``, ``queue.join``, ``queue.leave``,
``operator.state``, ``line.state``, ``phone.registration``, ``sms.received`` ...
A subscriber that raises is logged and dropped from nothing: one bad listener must not
stop a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Subscriber]] = []

    def subscribe(self, callback: Subscriber, prefix: str = "") -> Callable[[], None]:
        """Call ``callback`` for every event whose kind starts with ``prefix``.

        Returns a function that unsubscribes.
        """
        entry = (prefix, callback)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, kind: str, **data: Any) -> Event:
        event = Event(kind, data)
        for prefix, callback in list(self._subscribers):
            if kind.startswith(prefix):
                try:
                    callback(event)
                except Exception:  # a listener's bug must not break the caller's call
                    log.exception("event subscriber failed on %s", kind)
        return event
