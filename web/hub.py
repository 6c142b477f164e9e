"""Live views: the bus's events become HTML fragments pushed to the browsers watching.

One hub per application.  An event marks views dirty; one flush per loop turn (at most
every ``MIN_INTERVAL``) renders each dirty view once per language and sends it to every
socket watching it, so 50 wallboards cost one render, and a burst of 20 events one
flush.  The screen pop (``operator.offer``) is rendered from the event itself and sent
only to that operator's panels at once.

A message is JSON: ``{"target": element id, "html": fragment}``, plus ``"pop": true`` for
a screen pop.  The browser puts ``html`` into the element; it never builds HTML itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from appliance.events import Event

log = logging.getLogger(__name__)

MIN_INTERVAL = 0.1  # seconds between flushes under an event storm; far below the 1 s goal

# Which views an event kind makes stale.
STALE = {
    "call.": ("wallboard", "panel"),
    "queue.": ("wallboard", "panel"),
    "operator.state": ("wallboard", "panel"),
    "config.changed": ("wallboard", "panel"),
    # a message is saved after its call ended, as a callback task on the operators' list
    "voicemail.": ("panel",),
    "line.state": ("hardware",),
    "hardware.changed": ("hardware",),  # a modem plugged in or out, not yet a line
    "phone.registration": ("phones",),
}


class Client(Protocol):
    view: str
    operator: str
    locale_code: str

    def send(self, target: str, message: str) -> None:
        """Queue ``message`` for the element ``target``; a newer message for the same
        target may replace one not yet sent (each carries the whole fragment)."""


# render(view, operator, locale_code) -> (target, html)
Renderer = Callable[[str, str, str], tuple[str, str]]
# render_pop(event data, locale_code) -> html
PopRenderer = Callable[[dict[str, Any], str], str]


class LiveHub:
    def __init__(self, bus, render: Renderer, render_pop: PopRenderer) -> None:
        self._render = render
        self._render_pop = render_pop
        self.clients: set[Client] = set()
        self._dirty: set[str] = set()
        self._scheduled = False
        self._last_flush = 0.0
        self.last_offer: dict[str, dict[str, Any]] = {}  # operator -> their current pop
        self._unsubscribe = bus.subscribe(self.on_event)
        try:  # the loop the app was made on; events are published on it
            self._home_loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._home_loop = asyncio.get_event_loop_policy().get_event_loop()

    def _soon(self, callback, *args) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # published while the loop is between turns (sync tests)
            loop = self._home_loop
        loop.call_soon(callback, *args)

    def close(self) -> None:
        self._unsubscribe()

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)

    # -- events ----------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        # The card reads the caller's history from the database: render it on the next
        # loop turn, so that publish() returns to the switchboard at once.
        if event.kind == "operator.offer":
            self.last_offer[event.data.get("operator", "")] = event.data
            self._soon(self._pop, event.data)
            self._mark("panel")
            return
        if event.kind == "sms.received":  # a card showing this number gets the new SMS
            number = event.data.get("number")
            for offer in list(self.last_offer.values()):
                if number and offer.get("caller_number") == number:
                    self._soon(self._pop, offer, False)
            return
        for prefix, views in STALE.items():
            if event.kind.startswith(prefix):
                for view in views:
                    self._mark(view)

    def forget_offer(self, operator: str, call_id: str) -> None:
        """The operator set the call's disposition: the card is done."""
        offer = self.last_offer.get(operator)
        if offer and offer.get("call_id") == call_id:
            del self.last_offer[operator]

    def _mark(self, view: str) -> None:
        if not any(c.view == view for c in self.clients):
            return
        self._dirty.add(view)
        if self._scheduled:
            return
        self._scheduled = True
        wait = self._last_flush + MIN_INTERVAL - time.monotonic()
        if wait > 0:
            self._home_loop.call_later(wait, self._flush)
        else:
            self._soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        self._last_flush = time.monotonic()
        dirty, self._dirty = self._dirty, set()
        rendered: dict[tuple[str, str, str], tuple[str, str] | None] = {}
        for client in list(self.clients):
            if client.view not in dirty:
                continue
            # The panel differs per operator; every other view is the same for all.
            key = (client.view, client.operator if client.view == "panel" else "",
                   client.locale_code)
            if key not in rendered:
                try:
                    target, html = self._render(client.view, key[1], client.locale_code)
                except Exception:  # a template bug must not stop the other views
                    log.exception("rendering live view %s failed", client.view)
                    rendered[key] = None
                    continue
                rendered[key] = (target, json.dumps({"target": target, "html": html}))
            if rendered[key] is not None:
                client.send(*rendered[key])

    def _pop(self, data: dict[str, Any], pop: bool = True) -> None:
        operator = data.get("operator", "")
        by_locale: dict[str, str] = {}
        for client in list(self.clients):
            if client.view != "panel" or client.operator != operator:
                continue
            if client.locale_code not in by_locale:
                try:
                    html = self._render_pop(data, client.locale_code)
                except Exception:
                    log.exception("rendering the caller card failed for %s",
                                  data.get("call_id"))
                    return
                by_locale[client.locale_code] = json.dumps(
                    {"target": "caller-card", "html": html, "pop": pop})
            client.send("caller-card", by_locale[client.locale_code])
