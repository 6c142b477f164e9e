"""The visual flow editor's two requests that do not reload the page.

``POST /admin/flows/check`` runs the same validator as "Save and activate" on the graph
the editor holds and answers with its messages (``Message.as_dict`` in the reader's
language), so the server stays the only judge of a flow.  ``POST /admin/flows/test``
rings a phone and plays the flow's *active* version to it ("test this flow").  Both
need the admin role and the XSRF token (the script sends it as ``X-XSRFToken``); both
answer JSON to the script, and the test also works as a plain form without a script.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from appliance.admin import ValidationError
from appliance.ivr.flowstore import check_name
from appliance.ivr.validate import validate

from .flows import FlowsHandler

log = logging.getLogger(__name__)

EXTENSION = re.compile(r"^[0-9]{2,8}$")


class FlowCheckHandler(FlowsHandler):
    """The validator's messages for a graph, as JSON; nothing is saved."""

    def _wants_json(self) -> bool:
        return True

    def get(self) -> None:  # the page's GET belongs to /admin/flows
        self.send_error(405)

    def post(self) -> None:
        text = self.get_body_argument("graph", "")
        errors, flow = self._parse("check", text)  # the name does not matter to a check
        if flow is None:
            self.set_status(400)
            self.finish({"errors": errors, "messages": []})
            return
        lang = self.locale.code[:2]
        messages = validate(flow, prompts=self.prompt_names(), queues=self.queue_names())
        shown = [m.as_dict(lang) for m in messages]
        self.finish({"errors": {}, "messages": shown,
                     "error_count": sum(m["severity"] == "error" for m in shown),
                     "warning_count": sum(m["severity"] == "warning" for m in shown)})


class FlowTestHandler(FlowsHandler):
    """Ring a phone and play the active version of a flow to it."""

    def _wants_json(self) -> bool:
        return "application/json" in self.request.headers.get("Accept", "")

    def get(self) -> None:
        self.send_error(405)

    async def post(self) -> None:
        name = self.get_body_argument("name", "").strip()
        typed = self.get_body_argument("extension", "").strip()
        extension = typed or self.get_body_argument("phone", "").strip()
        errors: dict[str, str] = {}
        try:
            check_name(name)
        except ValueError:
            errors["flow"] = self.locale.translate(
                "Save and activate the flow first; then a phone can call it.")
        if not extension:
            errors["extension"] = self.locale.translate(
                "Choose a phone or type an extension.")
        elif not EXTENSION.match(extension):
            errors["extension"] = self.locale.translate("An extension is 2 to 8 digits.")
        call_id = ""
        if not errors:
            try:
                call_id = await self.box.test_flow(name, extension)
            except ValidationError as exc:
                log.info("flow test %s at %s refused: %s", name, extension, exc.errors)
                errors = self._refusal(exc.errors, extension)
        self._answer(name, extension, call_id, errors)

    def _refusal(self, raw: dict[str, str], extension: str) -> dict[str, str]:
        """The box's reasons, in the reader's language (its own text is for the log)."""
        errors = {}
        if "flow" in raw:
            errors["flow"] = self.locale.translate(
                "This flow has no active version: save and activate it first.")
        if "extension" in raw or not errors:
            errors["extension"] = self.locale.translate(
                "No phone is registered at extension %(ext)s.") % {"ext": extension}
        return errors

    def _answer(self, name: str, extension: str, call_id: str,
                errors: dict[str, str]) -> None:
        ringing = self.locale.translate("Ringing %(ext)s…") % {"ext": extension}
        if errors:
            self.set_status(400)
        if self._wants_json():
            self.finish({"errors": errors, "call_id": call_id,
                         "text": "" if errors else ringing})
            return
        flow = (self.flows.active(name) or self._latest(name)) if name else None
        graph = flow.graph if flow else {"start": "", "nodes": {}}
        test: dict[str, Any] = {"extension": extension, "errors": errors,
                                "text": "" if errors else ringing}
        self._show(name, json.dumps(graph, ensure_ascii=False, indent=2), {}, None, test)
