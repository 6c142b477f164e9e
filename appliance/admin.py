"""What an installer configures: phones, operators, queues, lines — one service for the
CLI, the web forms and the JSON API.

Every change is validated first; bad values raise :class:`ValidationError` with a
message per field and nothing is written.  Writes go through the store's writer and
are awaited, so when a method returns the change is durable.  Each change publishes
``config.changed`` so the running switchboard picks it up without a restart.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

from .acd.config import QueueConfig
from .events import EventBus
from .store import Store

EXTENSION_RE = re.compile(r"^[1-9][0-9]{1,5}$")
LOGIN_CODE_RE = re.compile(r"^[0-9]{2,8}$")
MAC_RE = re.compile(r"^[0-9a-f]{12}$")
NAME_MAX = 64
DESTINATION_KINDS = ("queue", "flow", "extension", "hangup")


class ValidationError(Exception):
    """Messages keyed by field name, for the form to show next to each field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def generate_password(length: int = 24) -> str:
    """A SIP secret: long and random, letters and digits only (phones' keypads and
    provisioning files cope with those)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def normalise_mac(mac: str) -> str:
    return re.sub(r"[^0-9a-f]", "", mac.lower())


def _model_key(model: str | None) -> str:
    from .provisioning import ata_name

    return ata_name(model) or (model or "").strip().lower()


def _check_name(value: str, errors: dict[str, str], field: str = "name") -> str:
    value = (value or "").strip()
    if not value:
        errors[field] = "required"
    elif len(value) > NAME_MAX:
        errors[field] = f"use at most {NAME_MAX} characters"
    elif any(c in value for c in "\r\n\t\x00"):
        errors[field] = "must be one line"
    return value


class Admin:
    def __init__(self, store: Store, bus: EventBus | None = None, clock_time=None) -> None:
        import time

        self.store = store
        self.bus = bus
        self._time = clock_time or time.time

    def _changed(self, what: str, name: str) -> None:
        # a running daemon in another process (the CLI wrote this) polls config_version
        self.store.writer.execute(
            "INSERT INTO settings(key, value) VALUES ('config_version', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
        if self.bus is not None:
            self.bus.publish("config.changed", what=what, name=name)

    def _exists(self, table: str, column: str, value: Any, exclude_id: int | None = None) -> bool:
        sql = f"SELECT id FROM {table} WHERE {column} = ?"
        params: list[Any] = [value]
        if exclude_id is not None:
            sql += " AND id != ?"
            params.append(exclude_id)
        return self.store.query(sql, params) != []

    # -- phones ------------------------------------------------------------------------
    def phones(self) -> list[dict[str, Any]]:
        return self.store.query("SELECT * FROM phones ORDER BY extension")

    def phone_rows(self) -> list[dict[str, Any]]:
        """The phones as the installer's list shows them: each ATA port its own analog
        handset row, plus the ports of known ATAs that have no phone yet."""
        from .provisioning import phone_rows

        return phone_rows(self.phones())

    def phone(self, extension: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM phones WHERE extension = ?", (extension,))
        return rows[0] if rows else None

    async def add_phone(self, extension: str, password: str | None = None, name: str = "",
                        mac: str = "", model: str = "", port: int | str = 1) -> dict[str, Any]:
        """A phone: a desk phone, or one FXS port of an ATA (``port`` 1..the model's
        ports; every port of one ATA is its own phone with the ATA's MAC)."""
        errors: dict[str, str] = {}
        extension = (extension or "").strip()
        if not EXTENSION_RE.match(extension):
            errors["extension"] = "2 to 6 digits, not starting with 0"
        elif self._exists("phones", "extension", extension):
            errors["extension"] = "this extension already exists"
        if password is None or password == "":
            password = generate_password()
        elif len(password) < 12:
            errors["password"] = "use at least 12 characters (or leave empty to generate one)"
        if len(name) > NAME_MAX:
            errors["name"] = f"use at most {NAME_MAX} characters"
        mac_norm, port_no = self._check_device(mac, model, port, None, errors)
        if errors:
            raise ValidationError(errors)
        row = {"extension": extension, "name": name.strip(), "password": password,
               "mac": mac_norm or None, "port": port_no, "model": model.strip(),
               "created_at": self._time()}
        row["id"] = await self.store.writer.awrite(
            lambda c: c.execute(
                "INSERT INTO phones(extension, name, password, mac, port, model, created_at) "
                "VALUES (:extension, :name, :password, :mac, :port, :model, :created_at)", row
            ).lastrowid
        )
        self._changed("phone", extension)
        return row

    async def update_phone(self, extension: str, *, name: str = "", mac: str = "",
                           model: str = "", port: int | str = 1,
                           password: str | None = None) -> dict[str, Any]:
        """Change a phone's name, device (MAC, model, ATA port) and, when given, its SIP
        password; the extension stays (operators and routes name it)."""
        errors: dict[str, str] = {}
        current = self.phone((extension or "").strip())
        if current is None:
            raise ValidationError({"extension": "no such phone"})
        if password and len(password) < 12:
            errors["password"] = "use at least 12 characters (or leave empty to keep it)"
        if len(name) > NAME_MAX:
            errors["name"] = f"use at most {NAME_MAX} characters"
        mac_norm, port_no = self._check_device(mac, model, port, current["id"], errors)
        if errors:
            raise ValidationError(errors)
        row = {"id": current["id"], "name": name.strip(), "mac": mac_norm or None,
               "port": port_no, "model": model.strip(),
               "password": password or current["password"]}
        await self.store.writer.awrite(
            lambda c: c.execute(
                "UPDATE phones SET name = :name, mac = :mac, port = :port, model = :model, "
                "password = :password WHERE id = :id", row)
        )
        self._changed("phone", current["extension"])
        return {**current, **row}

    def _check_device(self, mac: str, model: str, port: int | str, own_id: int | None,
                      errors: dict[str, str]) -> tuple[str, int]:
        """The MAC (normalised) and FXS port, checked against the model and against the
        other phones on the same MAC: one device has one model, and each of its ports
        one phone.  A desk phone (any model that is not an ATA) has port 1 only."""
        from .provisioning import ata_ports

        mac_norm = normalise_mac(mac) if mac else ""
        if mac and not MAC_RE.match(mac_norm):
            errors["mac"] = "a MAC address has 12 hexadecimal digits"
            mac_norm = ""
        ports = ata_ports(model)
        port_no = 0
        text = str(port).strip() if port not in (None, "") else "1"
        if not re.fullmatch(r"[0-9]{1,4}", text):  # ASCII digits ("²" is a digit too)
            errors["port"] = "a port is a whole number from 1"
        elif ports is None and int(text) != 1:
            errors["port"] = "a desk phone has port 1 only"
        elif ports is not None and not 1 <= int(text) <= ports:
            errors["port"] = f"this ATA has ports 1 to {ports}"
        else:
            port_no = int(text)
        if not mac_norm:
            if ports is not None and port_no > 1:
                errors["mac"] = "an ATA port needs the ATA's MAC address"
            return mac_norm, port_no
        others = [p for p in self.store.query("SELECT * FROM phones WHERE mac = ?", (mac_norm,))
                  if p["id"] != own_id]
        if not others:
            return mac_norm, port_no
        their_ports = ata_ports(others[0]["model"])
        if ports is None or their_ports is None:
            errors["mac"] = "another phone has this MAC address"
        elif _model_key(others[0]["model"]) != _model_key(model):
            errors["model"] = f"this MAC address is already set up as {others[0]['model']}"
        elif port_no and (same := [p for p in others if p["port"] == port_no]):
            errors["port"] = ("this port of the ATA already has a phone: extension "
                              f"{same[0]['extension']}")
        return mac_norm, port_no

    async def delete_phone(self, extension: str) -> None:
        if not self._exists("phones", "extension", extension):
            raise ValidationError({"extension": "no such phone"})
        await self.store.writer.awrite(
            lambda c: c.execute("DELETE FROM phones WHERE extension = ?", (extension,))
        )
        self._changed("phone", extension)

    # -- queues ------------------------------------------------------------------------
    def queues(self) -> list[QueueConfig]:
        rows = self.store.query("SELECT name, strategy, options FROM queues ORDER BY name")
        return [QueueConfig.from_row(r["name"], r["strategy"], json.loads(r["options"]))
                for r in rows]

    def queue(self, name: str) -> QueueConfig | None:
        return next((q for q in self.queues() if q.name == name), None)

    async def save_queue(self, config: QueueConfig, *, create: bool) -> QueueConfig:
        errors = config.validate()
        exists = self._exists("queues", "name", config.name)
        if create and exists:
            errors["name"] = "a queue with this name already exists"
        if not create and not exists:
            errors["name"] = "no such queue"
        if config.overflow.startswith("queue:"):
            target = config.overflow.split(":", 1)[1]
            if target and target != config.name and not self._exists("queues", "name", target):
                errors.setdefault("overflow", f"there is no queue named {target}")
        if errors:
            raise ValidationError(errors)
        options = json.dumps(config.options())
        now = self._time()

        def write(c):
            c.execute(
                "INSERT INTO queues(name, strategy, options, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET strategy = excluded.strategy, "
                "options = excluded.options",
                (config.name, config.strategy, options, now),
            )

        await self.store.writer.awrite(write)
        self._changed("queue", config.name)
        return config

    async def delete_queue(self, name: str) -> None:
        if not self._exists("queues", "name", name):
            raise ValidationError({"name": "no such queue"})
        await self.store.writer.awrite(
            lambda c: c.execute("DELETE FROM queues WHERE name = ?", (name,))
        )
        self._changed("queue", name)

    # -- operators ---------------------------------------------------------------------
    def operators(self) -> list[dict[str, Any]]:
        ops = self.store.query("SELECT * FROM operators ORDER BY name")
        members = self.store.query(
            "SELECT o.name AS operator, q.name AS queue, m.penalty FROM queue_members m "
            "JOIN operators o ON o.id = m.operator_id JOIN queues q ON q.id = m.queue_id "
            "ORDER BY q.name"
        )
        for op in ops:
            op["queues"] = {m["queue"]: m["penalty"] for m in members
                            if m["operator"] == op["name"]}
        return ops

    def operator(self, name: str) -> dict[str, Any] | None:
        return next((o for o in self.operators() if o["name"] == name), None)

    async def save_operator(self, name: str, extension: str = "", login_code: str = "",
                            queues: dict[str, int] | None = None, *,
                            create: bool = True) -> dict[str, Any]:
        errors: dict[str, str] = {}
        name = _check_name(name, errors)
        existing = self.store.query("SELECT id FROM operators WHERE name = ?", (name,))
        if create and existing:
            errors["name"] = "an operator with this name already exists"
        if not create and not existing:
            errors["name"] = "no such operator"
        own_id = existing[0]["id"] if existing else None
        extension = (extension or "").strip()
        if extension and not EXTENSION_RE.match(extension):
            errors["extension"] = "2 to 6 digits, not starting with 0"
        login_code = (login_code or "").strip()
        if login_code and not LOGIN_CODE_RE.match(login_code):
            errors["login_code"] = "2 to 8 digits"
        elif login_code and self._exists("operators", "login_code", login_code, own_id):
            errors["login_code"] = "another operator has this login code"
        queues = queues or {}
        known = {q["name"]: q["id"] for q in self.store.query("SELECT id, name FROM queues")}
        for queue, penalty in queues.items():
            if queue not in known:
                errors["queues"] = f"there is no queue named {queue}"
            elif not isinstance(penalty, int) or not 0 <= penalty <= 100:
                errors["queues"] = "a penalty is a whole number from 0 to 100"
        if errors:
            raise ValidationError(errors)
        now = self._time()

        def write(c):
            c.execute(
                "INSERT INTO operators(name, login_code, extension, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "login_code = excluded.login_code, extension = excluded.extension",
                (name, login_code or None, extension, now),
            )
            op_id = c.execute("SELECT id FROM operators WHERE name = ?", (name,)).fetchone()[0]
            c.execute("DELETE FROM queue_members WHERE operator_id = ?", (op_id,))
            c.executemany(
                "INSERT INTO queue_members(queue_id, operator_id, penalty) VALUES (?, ?, ?)",
                [(known[q], op_id, p) for q, p in queues.items()],
            )
            return op_id

        op_id = await self.store.writer.awrite(write)
        self._changed("operator", name)
        return {"id": op_id, "name": name, "extension": extension,
                "login_code": login_code, "queues": queues}

    async def delete_operator(self, name: str) -> None:
        if not self._exists("operators", "name", name):
            raise ValidationError({"name": "no such operator"})
        await self.store.writer.awrite(
            lambda c: c.execute("DELETE FROM operators WHERE name = ?", (name,))
        )
        self._changed("operator", name)

    # -- lines -------------------------------------------------------------------------
    def lines(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT * FROM lines ORDER BY name")
        for row in rows:
            row["settings"] = json.loads(row["settings"])
        return rows

    def free_line_name(self, kind: str) -> str:
        """A name for a new line of ``kind``: the kind and the first free number (fxo1)."""
        existing = {line["name"] for line in self.lines()}
        stem = re.sub(r"[^a-z0-9_-]", "", (kind or "").lower()) or "line"
        return next(f"{stem}{n}" for n in range(1, 10000) if f"{stem}{n}" not in existing)

    def check_destination(self, destination: str) -> str | None:
        """A message when ``destination`` (queue:NAME, flow:NAME, extension:EXT, hangup)
        is not valid, else None."""
        if not destination:
            return None
        kind, _, target = destination.partition(":")
        if kind not in DESTINATION_KINDS:
            return "use queue:NAME, flow:NAME, extension:EXT or hangup"
        if kind == "queue" and not self._exists("queues", "name", target):
            return f"there is no queue named {target}"
        if kind == "extension" and not self._exists("phones", "extension", target):
            return f"there is no phone with extension {target}"
        if kind == "flow" and not target:
            return "name the flow: flow:NAME"
        return None

    async def save_line(self, name: str, kind: str, settings: dict[str, Any] | None = None,
                        destination: str = "", enabled: bool = True, *,
                        create: bool = True) -> dict[str, Any]:
        from drivers.base import available_kinds  # the list of installed drivers, not a driver

        errors: dict[str, str] = {}
        name = _check_name(name, errors)
        exists = self._exists("lines", "name", name)
        if create and exists:
            errors["name"] = "a line with this name already exists"
        if not create and not exists:
            errors["name"] = "no such line"
        if kind not in available_kinds():
            errors["kind"] = f"unknown line kind; installed: {', '.join(available_kinds())}"
        else:
            settings = self._clean_line_settings(kind, settings or {}, errors)
        if (message := self.check_destination(destination)) is not None:
            errors["destination"] = message
        if errors:
            raise ValidationError(errors)
        payload = json.dumps(settings or {})
        now = self._time()
        await self.store.writer.awrite(
            lambda c: c.execute(
                "INSERT INTO lines(name, kind, enabled, destination, settings, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, "
                "enabled = excluded.enabled, destination = excluded.destination, "
                "settings = excluded.settings",
                (name, kind, int(enabled), destination, payload, now),
            )
        )
        self._changed("line", name)
        return {"name": name, "kind": kind, "settings": settings or {},
                "destination": destination, "enabled": enabled}

    @staticmethod
    def _clean_line_settings(kind: str, settings: dict[str, Any],
                             errors: dict[str, str]) -> dict[str, Any]:
        """The driver's own check of its settings (ports, model, PIN), where it has one."""
        from drivers.base import load_channel_class

        clean = getattr(load_channel_class(kind), "clean_settings", None)
        if clean is None:
            return settings
        try:
            return clean(settings)
        except ValueError as exc:
            errors[getattr(exc, "field", "settings")] = str(exc)
            return settings

    async def delete_line(self, name: str) -> None:
        if not self._exists("lines", "name", name):
            raise ValidationError({"name": "no such line"})
        await self.store.writer.awrite(
            lambda c: c.execute("DELETE FROM lines WHERE name = ?", (name,))
        )
        self._changed("line", name)

    # -- settings ----------------------------------------------------------------------
    async def set_setting(self, key: str, value: Any) -> None:
        import asyncio

        await asyncio.wrap_future(self.store.set_setting(key, value))
        self._changed("setting", key)
