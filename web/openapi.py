"""The OpenAPI 3 description of ``/api/v1``, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

OBJ = {"type": "object"}


def _op(summary: str, role: str, *, params: list[dict] | None = None,
        body: dict | None = None, ok: str = "200") -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Needs the {role} role (or higher).",
        "responses": {
            ok: {"description": "OK", "content": {"application/json": {"schema": OBJ}}},
            "401": {"description": "no or unknown token"},
            "403": {"description": "the token's user lacks the role"},
        },
    }
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
        op["responses"]["422"] = {"description": "invalid values, messages per field"}
    return op


def _q(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


def _p(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _props(**kinds: str) -> dict[str, Any]:
    return {"type": "object", "properties": {k: {"type": v} for k, v in kinds.items()}}


CALL_FILTERS = [_q("from", "first day, YYYY-MM-DD (site time zone)"),
                _q("to", "last day, YYYY-MM-DD"), _q("number", "number prefix"),
                _q("queue", "queue name"), _q("operator", "operator name"),
                _q("disposition", "disposition"), _q("direction", "inbound, outbound..."),
                _q("after", "cursor: the 'next' of the previous page"),
                _q("limit", "rows per page, 1..1000")]


def document() -> dict[str, Any]:
    paths = {
        "/wallboard": {"get": _op("Queues and operators now, today's figures", "supervisor")},
        "/calls": {"get": _op("Search the call log (newest first, keyset paging)",
                              "supervisor", params=CALL_FILTERS)},
        "/calls/{call_id}": {"get": _op("One call with its event timeline", "supervisor",
                                        params=[_p("call_id")])},
        "/calls/{call_id}/disposition": {"post": _op(
            "Set a call's disposition and note", "operator", params=[_p("call_id")],
            body=_props(disposition="string", note="string"))},
        "/operators": {"get": _op("Operators with their live state", "supervisor")},
        "/operators/{name}/state": {"post": _op(
            "Log in, pause (with reason) or log out", "operator", params=[_p("name")],
            body=_props(state="string", reason="string"))},
        "/operators/{name}/dial": {"post": _op(
            "Click to call: ring the operator's phone, then dial", "operator",
            params=[_p("name")], body=_props(number="string"))},
        "/callbacks": {
            "get": _op("Waiting callbacks for an operator", "operator",
                       params=[_q("operator", "operator name (default: yours)")]),
            "post": _op("Put a number on the callback list", "supervisor",
                        body=_props(number="string", queue="string", call_id="string",
                                    operator="string"), ok="201"),
        },
        "/callbacks/{callback_id}/take": {"post": _op(
            "An operator takes a waiting callback", "operator", params=[_p("callback_id")],
            body=_props(operator="string"))},
        "/queues": {"get": _op("Queues and their options", "supervisor")},
        "/queues/{name}": {
            "put": _op("Create or change a queue (options as in the web form)", "admin",
                       params=[_p("name")], body=OBJ),
            "delete": _op("Delete a queue", "admin", params=[_p("name")]),
        },
        "/lines": {"get": _op("Lines and their hardware state", "admin")},
        "/phones": {"get": _op("Phones and their registration", "admin")},
        "/reports": {"get": _op("KPIs per queue, operator or hour of day", "supervisor",
                                params=[_q("group", "queue, operator or hour"),
                                        _q("from", "YYYY-MM-DD"), _q("to", "YYYY-MM-DD"),
                                        _q("queue", "only this queue"),
                                        _q("operator", "only this operator")])},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "callbox API", "version": "1",
                 "description": "Tokens are created on the web page 'Account'."},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
