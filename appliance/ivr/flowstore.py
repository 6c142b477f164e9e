"""Flows in the database: versions, the active one, and which flow answers which call.

Saving a flow adds a version; activating one switches which version new calls get,
with no restart: ``active()`` checks the active row's id (one indexed lookup per call)
and parses the graph again only when it changed, whoever changed it.  A flow with
errors can be saved as a draft but never activated.  Restoring an old version copies
it as the newest one, so the history reads straight down.

Time nodes without a zone of their own, in flows without one, use the box's zone
(setting ``timezone``).

Routing: the setting ``ivr.numbers`` maps dialled numbers to ``flow:NAME`` or
``queue:NAME`` (a SIP trunk with several numbers); otherwise the line's own
``destination`` applies.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from appliance.clock import Clock
from appliance.store import Store

from .flow import Flow, FlowError
from .validate import Message, errors, validate

log = logging.getLogger(__name__)

NUMBERS_SETTING = "ivr.numbers"
TIMEZONE_SETTING = "timezone"  # the box's zone (IANA name), set by the setup wizard


class FlowInvalid(Exception):
    """The flow has errors; ``messages`` say where (for the editor)."""

    def __init__(self, name: str, messages: list[Message]) -> None:
        super().__init__(f"flow {name!r} has {len(errors(messages))} error(s)")
        self.messages = messages


def check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 64 or any(c in name for c in ":/\\\n\r\t"):
        raise FlowError("a flow needs a name of up to 64 characters, without : / \\")
    return name


@dataclass(frozen=True)
class Destination:
    kind: str  # "flow", "queue" or "" (nowhere: the switchboard rejects the call)
    name: str = ""
    flow: Flow | None = None


class FlowStore:
    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock
        self._cache: dict[str, tuple[int, Flow]] = {}

    def _now(self) -> float:
        return self.clock.time() if self.clock else time.time()

    # -- writing ---------------------------------------------------------------------------
    async def save(self, name: str, graph: Any, *, activate: bool = True, note: str = "",
                   prompts: Collection[str] | None = None,
                   queues: Collection[str] | None = None) -> int:
        """Store a new version (returned); activate it unless it has errors or told not to.
        Raises :class:`FlowError` for a graph of the wrong shape and :class:`FlowInvalid`
        when asked to activate a flow with errors (nothing is saved then)."""
        name = check_name(name)
        flow = Flow.from_graph(name, graph)
        messages = validate(flow, prompts=prompts, queues=queues)
        if activate and errors(messages):
            raise FlowInvalid(name, messages)
        payload, now = flow.to_json(), self._now()

        def op(conn: sqlite3.Connection) -> int:
            (latest,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM flows WHERE name = ?",
                                     (name,)).fetchone()
            if activate:
                conn.execute("UPDATE flows SET active = 0 WHERE name = ? AND active = 1", (name,))
            conn.execute("INSERT INTO flows(name, version, graph, created_at, active, note) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (name, latest + 1, payload, now, int(activate), note))
            return latest + 1

        version = await self.store.writer.awrite(op)
        log.info("flow %s: saved version %d%s", name, version, " (active)" if activate else "")
        return version

    async def activate(self, name: str, version: int) -> None:
        flow = self.get(name, version)
        if flow is None:
            raise LookupError(f"flow {name!r} has no version {version}")
        messages = validate(flow)
        if errors(messages):
            raise FlowInvalid(name, messages)

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE flows SET active = 0 WHERE name = ? AND active = 1", (name,))
            conn.execute("UPDATE flows SET active = 1 WHERE name = ? AND version = ?",
                         (name, version))

        await self.store.writer.awrite(op)

    async def restore(self, name: str, version: int) -> int:
        """Make an old version the newest, active one; returns its new number."""
        flow = self.get(name, version)
        if flow is None:
            raise LookupError(f"flow {name!r} has no version {version}")
        return await self.save(name, flow.graph, note=f"restored from version {version}")

    async def deactivate(self, name: str) -> None:
        await self.store.writer.awrite(lambda conn: conn.execute(
            "UPDATE flows SET active = 0 WHERE name = ?", (name,)))

    # -- reading -----------------------------------------------------------------------------
    def names(self) -> list[str]:
        rows = self.store.query("SELECT DISTINCT name FROM flows ORDER BY name")
        return [r["name"] for r in rows]

    def versions(self, name: str) -> list[dict[str, Any]]:
        return self.store.query(
            "SELECT version, created_at, active, note FROM flows WHERE name = ? "
            "ORDER BY version DESC", (name,))

    def get(self, name: str, version: int | None = None) -> Flow | None:
        if version is None:
            return self.active(name)
        rows = self.store.query("SELECT graph FROM flows WHERE name = ? AND version = ?",
                                (name, version))
        return Flow.from_graph(name, rows[0]["graph"], version) if rows else None

    def active(self, name: str) -> Flow | None:
        rows = self.store.query(
            "SELECT id, version FROM flows WHERE name = ? AND active = 1", (name,))
        if not rows:
            self._cache.pop(name, None)
            return None
        row_id = rows[0]["id"]
        zone = str(self.store.setting(TIMEZONE_SETTING) or "UTC")
        cached = self._cache.get(name)
        if cached and cached[0] == row_id:
            cached[1].box_timezone = zone  # a changed zone applies to the next caller
            return cached[1]
        graph = self.store.query("SELECT graph FROM flows WHERE id = ?", (row_id,))[0]["graph"]
        try:
            flow = Flow.from_graph(name, graph, rows[0]["version"])
        except FlowError:
            log.exception("flow %s version %s in the database is unreadable",
                          name, rows[0]["version"])
            return None
        flow.box_timezone = zone
        self._cache[name] = (row_id, flow)
        return flow

    def route(self, line: str, dialled: str = "") -> Destination:
        """Where a new inbound call goes: by dialled number first, then by line."""
        target = ""
        numbers = self.store.setting(NUMBERS_SETTING, {}) or {}
        if dialled and isinstance(numbers, dict):
            target = str(numbers.get(dialled) or "")
        if not target:
            rows = self.store.query("SELECT destination FROM lines WHERE name = ?", (line,))
            target = rows[0]["destination"] if rows else ""
        kind, _, name = target.partition(":")
        if kind == "queue" and name:
            return Destination("queue", name)
        if kind == "flow" and name:
            flow = self.active(name)
            if flow is not None:
                return Destination("flow", name, flow)
            log.error("line %s: flow %s has no active version", line, name)
        return Destination("")
