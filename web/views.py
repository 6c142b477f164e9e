"""The live fragments: what each view shows, rendered the same way for the first page
load (a handler includes the fragment) and for every update the hub pushes."""

from __future__ import annotations

import time
from typing import Any

import tornado.template

from appliance import calllog
from appliance.ivr.runner import summary_lines

from . import forms, i18n


class Views:
    def __init__(self, box: Any, loader: tornado.template.BaseLoader) -> None:
        self.box = box
        self.loader = loader

    # -- what each view needs --------------------------------------------------------------
    def wallboard(self) -> dict[str, Any]:
        return {"board": self.box.wallboard()}

    def panel(self, operator: str) -> dict[str, Any]:
        board = self.box.wallboard()
        me = next((o for o in board["operators"] if o["name"] == operator), None)
        queues = list((self.box.admin.operator(operator) or {}).get("queues", {}))
        conn = self.box.store.conn
        callbacks = calllog.callbacks_for(conn, operator, queues)
        recent = calllog.recent_for(conn, operator, time.time() - 86400)
        return {"me": me, "operator": operator, "callbacks": callbacks, "recent": recent,
                "waiting": [q for q in board["queues"] if q["name"] in queues]}

    def hardware(self) -> dict[str, Any]:
        return {"lines": self.box.lines_status()}

    def phones(self) -> dict[str, Any]:
        return {"phones": self.box.admin.phone_rows(), "status": self.box.phones_status()}

    def offer_of_call(self, call_id: str, operator: str) -> dict[str, Any] | None:
        """A card for one of the operator's own earlier calls (its pop is gone)."""
        rows = self.box.store.query(
            "SELECT id, caller_number, caller_name, queue, data FROM calls "
            "WHERE id = ? AND operator = ?", (call_id, operator))
        if not rows:
            return None
        row = rows[0]
        return {"operator": operator, "call_id": row["id"], "queue": row["queue"],
                "caller_number": row["caller_number"], "caller_name": row["caller_name"],
                "collected": calllog._json(row["data"])}

    def caller_card(self, offer: dict[str, Any]) -> dict[str, Any]:
        number = str(offer.get("caller_number", ""))
        history = calllog.caller_history(self.box.store.conn, number) if number else {
            "number": "", "contact": None, "calls": [], "sms": []}
        # ``collected`` is the call's data; what the caller chose and entered in the flow
        # is its summary under "flow" (the rest is the switchboard's bookkeeping)
        collected = offer.get("collected")
        entered = summary_lines(collected.get("flow")) if isinstance(collected, dict) else []
        return {"offer": offer, "history": history, "entered": entered,
                "dispositions": self.box.store.setting("dispositions",
                                                       forms.DEFAULT_DISPOSITIONS)}

    # -- rendering -------------------------------------------------------------------------
    TARGETS = {"wallboard": "wallboard", "panel": "panel-status", "hardware": "hardware",
               "phones": "phones-table"}

    def namespace(self, locale_code: str) -> dict[str, Any]:
        locale = i18n.get(locale_code)
        tz = i18n.zone(self.box.store.setting("timezone", "UTC"))
        return {"_": locale.translate, "locale": locale, "fmt": i18n.Formatter(locale, tz),
                "tmsg": lambda m: i18n.translate_message(locale, m),
                # pushed fragments carry no token; the page's script adds its own
                "xsrf_html": ""}

    def render(self, view: str, operator: str, locale_code: str) -> tuple[str, str]:
        context = self.panel(operator) if view == "panel" else getattr(self, view)()
        html = self.loader.load(f"fragments/{view}.html").generate(
            **self.namespace(locale_code), **context)
        return self.TARGETS[view], html.decode()

    def render_pop(self, offer: dict[str, Any], locale_code: str) -> str:
        html = self.loader.load("fragments/caller_card.html").generate(
            **self.namespace(locale_code), **self.caller_card(offer))
        return html.decode()
