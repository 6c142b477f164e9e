"""The call flows page: the flows, their versions, and the editor with the validator.

The form's one real field is the graph as JSON; the visual editor (web/static/flow-*.js,
fed by ``flow_schema.editor_schema``) draws it as cards and writes it back, and without
a script the page is the JSON form.  "Check" shows the validator's messages next to each
node (the script asks ``flow_editor.FlowCheckHandler`` instead, without a reload); "save
and activate" stores a new version only when the flow has no errors (warnings are
allowed); "restore" makes an old version the newest, active one.  Bad JSON or a graph not
shaped like a flow is refused with a message next to the field, and nothing is saved.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import tornado.escape
import tornado.web

from appliance.ivr.flow import Flow, FlowError
from appliance.ivr.flowstore import FlowInvalid, FlowStore, check_name
from appliance.ivr.prompts import PromptLibrary
from appliance.ivr.templates import starter_flow
from appliance.ivr.validate import Message, validate

from .base import BaseHandler
from .flow_schema import editor_schema

DEFAULT_HOURS = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def starter_graph(store: Any, queues: list[str]) -> dict[str, Any]:
    """What a new flow starts from: the site's hours, zone and language, the first queue."""
    saved = store.setting("business_hours") or {}
    hours = {day: [f"{a}-{b}" for a, b in spans] for day, spans in saved.items()
             if isinstance(spans, list)} or DEFAULT_HOURS
    return starter_flow(queues[0] if queues else "main", hours,
                        timezone=str(store.setting("timezone", "UTC") or "UTC"),
                        language=str(store.setting("language", "en") or "en")[:2])


class FlowsHandler(BaseHandler):
    role = "admin"

    @functools.cached_property
    def flows(self) -> FlowStore:
        return FlowStore(self.box.store)

    def queue_names(self) -> list[str]:
        return [q.name for q in self.box.admin.queues()]

    def prompt_names(self) -> set[str]:
        # the database lives in DATA_DIR/callbox.db; names() only reads the prompts table
        return PromptLibrary(self.box.store, self.box.store.path.parent).names()

    def get(self) -> None:
        name = self.get_query_argument("name", "").strip()
        version = self.get_query_argument("version", "")
        flow = None
        if name:
            flow = self.flows.get(name, int(version)) if version.isdigit() else None
            flow = flow or self.flows.active(name) or self._latest(name)
        graph = flow.graph if flow else starter_graph(self.box.store, self.queue_names())
        self._show(name, json.dumps(graph, ensure_ascii=False, indent=2), {}, None)

    def _latest(self, name: str) -> Flow | None:
        versions = self.flows.versions(name)
        return self.flows.get(name, versions[0]["version"]) if versions else None

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        name = self.get_body_argument("name", "").strip()
        if action == "restore":
            version = self.get_body_argument("version", "")
            if not version.isdigit():
                raise tornado.web.HTTPError(400)
            try:
                await self.flows.restore(name, int(version))
            except LookupError:
                raise tornado.web.HTTPError(404) from None
            except FlowInvalid as exc:  # an old version the validator now refuses
                self.set_status(400)
                self._show(name, json.dumps(self.flows.get(name, int(version)).graph,
                                            ensure_ascii=False, indent=2), {}, exc.messages)
                return
            self.redirect(self.reverse_url("flows") + "?name=" + tornado.escape.url_escape(name))
            return
        if action not in ("check", "save"):
            raise tornado.web.HTTPError(400)
        text = self.get_body_argument("graph", "")
        errors, flow = self._parse(name, text)
        if errors:
            self.set_status(400)
            self._show(name, text, errors, None)
            return
        queues, prompts = self.queue_names(), self.prompt_names()
        messages = validate(flow, prompts=prompts, queues=queues)
        if action == "save":
            try:
                await self.flows.save(name, flow.graph, activate=True, prompts=prompts,
                                      queues=queues)
            except FlowInvalid as exc:
                messages = exc.messages
                self.set_status(400)
            else:
                self.redirect(self.reverse_url("flows") + "?name="
                              + tornado.escape.url_escape(name) + "&saved=1")
                return
        self._show(name, text, {}, messages)

    def _parse(self, name: str, text: str) -> tuple[dict[str, str], Flow | None]:
        errors: dict[str, str] = {}
        try:
            check_name(name)
        except FlowError:
            errors["name"] = self.locale.translate(
                "A flow needs a name of up to 64 characters, without : / \\")
        try:
            graph = json.loads(text)
        except ValueError as exc:
            line, col = getattr(exc, "lineno", 0), getattr(exc, "colno", 0)
            errors["graph"] = self.locale.translate(
                "This is not valid JSON (line %(line)s, column %(col)s).") % {
                    "line": line, "col": col}
            return errors, None
        try:
            flow = Flow.from_graph(name or "flow", graph)
        except FlowError:
            errors["graph"] = self.locale.translate(
                'This is not a call flow: it needs a "nodes" object of objects.')
            return errors, None
        return errors, flow

    def registered_phones(self) -> list[str]:
        status = self.box.phones_status()
        return sorted((ext for ext, s in status.items() if s.get("registered")),
                      key=lambda e: (len(e), e))

    def _show(self, name: str, text: str, errors: dict[str, str],
              messages: list[Message] | None, test: dict[str, Any] | None = None) -> None:
        lang = self.locale.code[:2]
        shown = [m.as_dict(lang) for m in messages] if messages is not None else None
        node_ids: list[str] = []
        if shown is not None:
            try:
                node_ids = list(json.loads(text).get("nodes", {}))
            except (ValueError, AttributeError):
                node_ids = []
        flows = [{"name": n, "active": self.flows.active(n)} for n in self.flows.names()]
        versions = self.flows.versions(name) if name else []
        queues = self.queue_names()
        # what the visual editor's script reads; the textarea stays the form's real field
        editor = {"schema": editor_schema(self.locale.translate, queues), "queues": queues,
                  "prompts": sorted(self.prompt_names()), "messages": shown or [],
                  "name": name, "check_url": self.reverse_url("flow_check")}
        self.render("admin/flows.html", flows=flows, name=name, text=text, errors=errors,
                    messages=shown, node_ids=node_ids, versions=versions, editor=editor,
                    phones=self.registered_phones(), test=test or {},
                    saved=self.get_query_argument("saved", "") == "1")
