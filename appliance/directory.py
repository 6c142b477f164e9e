"""Who is who, read from the database for the switchboard: operators and the phones
they sit at, lines and where their calls go, contacts (names, VIP priority), settings,
and caller history for sticky routing.

Reads are small indexed queries; operators and lines are cached and re-read when
``config.changed`` says so.  Which phone an operator sits at can change at run time
(hot-desking: ``*45<code>`` typed on any phone), so ``seat`` overrides the stored
extension until the operator logs in somewhere else.
"""

from __future__ import annotations

import json
from typing import Any

from .acd.config import QueueConfig
from .clock import Clock
from .store import Store

DAY = 86_400


class Directory:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._operators: dict[str, dict[str, Any]] | None = None
        self._seats: dict[str, str] = {}  # operator -> extension they logged in from
        self._settings: dict[str, Any] | None = None

    # -- queues and operators -----------------------------------------------------------------
    def queues(self) -> list[QueueConfig]:
        rows = self.store.query("SELECT name, strategy, options FROM queues ORDER BY name")
        return [QueueConfig.from_row(r["name"], r["strategy"], json.loads(r["options"]))
                for r in rows]

    def operators(self, reload: bool = False) -> dict[str, dict[str, Any]]:
        if self._operators is None or reload:
            ops = {r["name"]: {**r, "queues": {}}
                   for r in self.store.query("SELECT * FROM operators ORDER BY id")}
            for m in self.store.query(
                "SELECT o.name AS operator, q.name AS queue, m.penalty FROM queue_members m "
                "JOIN operators o ON o.id = m.operator_id JOIN queues q ON q.id = m.queue_id"
            ):
                ops[m["operator"]]["queues"][m["queue"]] = m["penalty"]
            self._operators = ops
        return self._operators

    def operator_extension(self, operator: str) -> str:
        if operator in self._seats:
            return self._seats[operator]
        return (self.operators().get(operator) or {}).get("extension", "")

    def operator_at(self, extension: str) -> str | None:
        for operator, seat in self._seats.items():
            if seat == extension:
                return operator
        for name, op in self.operators().items():
            if op["extension"] == extension and name not in self._seats:
                return name
        return None

    def operator_by_code(self, code: str) -> str | None:
        return next((n for n, o in self.operators().items() if o["login_code"] == code), None)

    def seat(self, operator: str, extension: str) -> None:
        for other, seat in list(self._seats.items()):
            if seat == extension and other != operator:
                del self._seats[other]
        self._seats[operator] = extension

    def is_extension(self, number: str) -> bool:
        return bool(self.store.query("SELECT 1 FROM phones WHERE extension = ?", (number,)))

    # -- lines --------------------------------------------------------------------------------
    def lines(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT * FROM lines ORDER BY name")
        for row in rows:
            row["settings"] = json.loads(row["settings"])
        return rows

    def line(self, name: str) -> dict[str, Any] | None:
        return next((r for r in self.lines() if r["name"] == name), None)

    def line_destination(self, name: str) -> str:
        rows = self.store.query("SELECT destination FROM lines WHERE name = ?", (name,))
        if rows and rows[0]["destination"]:
            return rows[0]["destination"]
        return self.setting("default_destination") or ""

    # -- contacts and history -------------------------------------------------------------------
    def contact(self, number: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM contacts WHERE number = ?", (number,))
        return rows[0] if rows else None

    def priority(self, number: str) -> int:
        contact = self.contact(number) if number else None
        return int(contact["priority"]) if contact else 0

    def last_operator(self, number: str, within_days: int) -> str | None:
        """CallerHistory for sticky routing: who last talked to this number."""
        if not number or within_days <= 0:
            return None
        since = self.clock.time() - within_days * DAY
        rows = self.store.query(
            "SELECT operator FROM calls WHERE caller_number = ? AND started_at >= ? "
            "AND operator != '' AND answered_at IS NOT NULL ORDER BY started_at DESC LIMIT 1",
            (number, since),
        )
        return rows[0]["operator"] if rows else None

    # -- settings -------------------------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        if self._settings is None:
            self._settings = self.store.settings()
        return self._settings.get(key, default)

    def settings_changed(self) -> None:
        self._settings = None
