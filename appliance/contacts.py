"""Known callers: the contacts list that lets the box greet a caller by name.

A contact is a phone number with a name, a company, a note and a priority.  When a call
comes in from a known number the operator's screen pop shows the name, company and note
(the caller never has to say who they are), and a priority above 0 makes the caller a
VIP whom the ACD answers before others (``Directory.priority``).

Numbers are kept the way caller id presents them, without the spaces, dashes and brackets
people type: ``+7 (916) 111-22-33`` is stored as ``+79161112233``.  Writes go through the
store's writer and publish ``config.changed`` like every other setup change; a CSV import
checks every row first and writes nothing when any row is bad, saying which rows and why.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3
from typing import Any

from .admin import ValidationError
from .events import EventBus
from .store import Store

NUMBER = re.compile(r"\+?[0-9]{2,20}")
TYPED_SEPARATORS = re.compile(r"[\s().\-]")
TEXT_MAX = {"name": 100, "company": 100, "note": 500}
PRIORITY_MAX = 9
CSV_COLUMNS = ("number", "name", "company", "note", "priority")
CSV_MAX_ROWS = 20_000  # the refusal below says this number


class RowsRefused(ValidationError):
    """A CSV import refused: ``rows`` is [(line number, {field: message})] (first ten)."""

    def __init__(self, rows: list[tuple[int, dict[str, str]]], total: int) -> None:
        self.rows = rows[:10]
        self.total = total
        super().__init__({"file": "; ".join(
            f"row {line}: " + ", ".join(f"{k}: {v}" for k, v in errors.items())
            for line, errors in self.rows)})


def normalise_number(number: str) -> str:
    return TYPED_SEPARATORS.sub("", number or "")


def check_contact(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A contact from a form or a CSV row: cleaned values, and a message per bad field."""
    errors: dict[str, str] = {}
    number = normalise_number(str(values.get("number", "")))
    if not NUMBER.fullmatch(number):
        errors["number"] = "a phone number: digits, optionally starting with +"
    clean: dict[str, Any] = {"number": number}
    for field, limit in TEXT_MAX.items():
        text = " ".join(str(values.get(field, "") or "").split()) if field != "note" \
            else str(values.get(field, "") or "").strip()
        if len(text) > limit:
            errors[field] = f"use at most {limit} characters"
        elif "\x00" in text:
            errors[field] = "must be one line"
        clean[field] = text
    raw_priority = str(values.get("priority", "") or "0").strip()
    if not raw_priority.isdigit() or int(raw_priority) > PRIORITY_MAX:
        errors["priority"] = "a whole number from 0 (normal) to 9 (most important)"
    else:
        clean["priority"] = int(raw_priority)
    if not clean.get("name") and not clean.get("company") and "number" not in errors:
        errors["name"] = "give a name or a company"
    return clean, errors


class Contacts:
    def __init__(self, store: Store, bus: EventBus | None = None) -> None:
        self.store = store
        self.bus = bus

    def _changed(self, number: str) -> None:
        if self.bus is not None:
            self.bus.publish("config.changed", what="contact", name=number)

    def get(self, number: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM contacts WHERE number = ?",
                                (normalise_number(number),))
        return rows[0] if rows else None

    def search(self, text: str = "", *, limit: int = 200, offset: int = 0
               ) -> list[dict[str, Any]]:
        """Contacts whose number, name or company contains ``text``, by name."""
        like = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%")\
            .replace("_", "\\_") + "%"
        return self.store.query(
            "SELECT * FROM contacts WHERE number LIKE :q ESCAPE '\\' "
            "OR name LIKE :q ESCAPE '\\' OR company LIKE :q ESCAPE '\\' "
            "ORDER BY name COLLATE NOCASE, number LIMIT :limit OFFSET :offset",
            {"q": like, "limit": limit, "offset": offset})

    def count(self) -> int:
        return int(self.store.query("SELECT COUNT(*) AS n FROM contacts")[0]["n"])

    async def save(self, values: dict[str, Any], *, original: str = "") -> dict[str, Any]:
        """Add a contact, or change the one stored under ``original`` (its number may
        change).  Raises ValidationError with a message per field."""
        clean, errors = check_contact(values)
        original = normalise_number(original)
        if not errors and clean["number"] != original and self.get(clean["number"]):
            errors["number"] = "another contact already has this number"
        if not errors and original and not self.get(original):
            errors["number"] = "this contact was deleted meanwhile"
        if errors:
            raise ValidationError(errors)

        def write(conn: sqlite3.Connection) -> None:
            if original and original != clean["number"]:
                conn.execute("DELETE FROM contacts WHERE number = ?", (original,))
            _upsert(conn, clean)

        await self.store.writer.awrite(write)
        self._changed(clean["number"])
        return clean

    async def delete(self, number: str) -> bool:
        number = normalise_number(number)
        if self.get(number) is None:
            return False
        await self.store.writer.awrite(
            lambda conn: conn.execute("DELETE FROM contacts WHERE number = ?", (number,)))
        self._changed(number)
        return True

    async def import_csv(self, text: str) -> int:
        """Add or update contacts from CSV text (a header row naming at least ``number``
        or ``company``; ``note``, ``priority`` optional).  All rows or none: raises
        :class:`RowsRefused` naming the bad rows, or ValidationError for a bad file."""
        # up to 20,000 rows to check: off the event loop
        cleaned = await asyncio.to_thread(_checked_rows, text)

        def write(conn: sqlite3.Connection) -> None:
            for clean in cleaned:
                _upsert(conn, clean)

        await self.store.writer.awrite(write)
        self._changed("")
        return len(cleaned)

    async def export_csv(self) -> str:
        """Every contact as CSV, read on a thread (the list can be long)."""
        def rows(conn: sqlite3.Connection) -> list[tuple]:
            return conn.execute(f"SELECT {', '.join(CSV_COLUMNS)} FROM contacts "
                                "ORDER BY name, number").fetchall()

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for row in await self.store.read(rows):
            # a cell starting with = + - @ would run as a formula in a spreadsheet;
            # import_csv takes the guard off a number again
            writer.writerow([_cell(str(value)) for value in row])
        return out.getvalue()


def _checked_rows(text: str) -> list[dict[str, Any]]:
    """Every row of an import, cleaned; raises when any is bad (all rows or none)."""
    cleaned, problems = [], []
    for line, row in _csv_rows(text):
        clean, errors = check_contact(row)
        if errors:
            problems.append((line, errors))
        cleaned.append(clean)
    if problems:
        raise RowsRefused(problems, len(problems))
    if not cleaned:
        raise ValidationError({"file": "the file has no contacts"})
    return cleaned


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _upsert(conn: sqlite3.Connection, clean: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO contacts(number, name, company, note, priority) "
        "VALUES (:number, :name, :company, :note, :priority) "
        "ON CONFLICT(number) DO UPDATE SET name = excluded.name, "
        "company = excluded.company, note = excluded.note, priority = excluded.priority",
        clean)


def _csv_rows(text: str):
    """(line number, {column: value}) for each data row; a clear error for a bad header."""
    text = text.lstrip("\ufeff")  # spreadsheets save UTF-8 with a byte-order mark
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    if "number" not in header or not ({"name", "company"} & set(header)):
        raise ValidationError({"file": "the first row must name the columns (number, name)"})
    for count, cells in enumerate(reader, start=2):
        if count > CSV_MAX_ROWS + 1:
            raise ValidationError({"file": "too many rows: at most 20000 contacts at a time"})
        if not any(c.strip() for c in cells):
            continue
        row = {h: c for h, c in zip(header, cells, strict=False) if h in CSV_COLUMNS}
        if row.get("number", "").startswith("'"):
            row["number"] = row["number"][1:]  # our own export's formula guard
        yield reader.line_num, row
