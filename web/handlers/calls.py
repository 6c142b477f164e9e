"""The call log: search with filters, keyset pages, one call's timeline, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import tornado.escape
import tornado.iostream
import tornado.web

from appliance import calllog

from .. import forms, i18n
from .base import BaseHandler

CURSOR_RE = re.compile(r"^(\d+(?:\.\d+)?)~(.{1,128})$")
# Spreadsheets run cells that start with these as formulas (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^\+?[0-9*#]+$")


def parse_cursor(text: str) -> calllog.Cursor | None:
    match = CURSOR_RE.match(text or "")
    return (float(match[1]), match[2]) if match else None


def format_cursor(cursor: calllog.Cursor | None) -> str:
    return f"{cursor[0]!r}~{cursor[1]}" if cursor else ""


def read_filter(handler: BaseHandler) -> tuple[calllog.CallFilter, dict[str, str],
                                              dict[str, str]]:
    """The filter from the query string, the raw values (to refill the form), errors."""
    raw = {k: handler.get_argument(k, "").strip()
           for k in ("from", "to", "number", "queue", "operator", "disposition", "direction")}
    tz = i18n.zone(handler.box.store.setting("timezone", "UTC"))
    today = dt.datetime.now(tz).date()
    errors: dict[str, str] = {}
    start = end = None
    if raw["from"] or raw["to"]:
        start, end, errors = forms.parse_period(raw["from"], raw["to"] or raw["from"], tz,
                                                today)
        if not raw["from"]:
            start = None
    flt = calllog.CallFilter(start=start, end=end, number=raw["number"][:32],
                             queue=raw["queue"], operator=raw["operator"],
                             disposition=raw["disposition"], direction=raw["direction"])
    return flt, raw, handler.translate_errors(errors)


class CallLogHandler(BaseHandler):
    role = "supervisor"

    async def get(self) -> None:
        flt, raw, errors = read_filter(self)
        after = parse_cursor(self.get_argument("after", ""))
        before = parse_cursor(self.get_argument("before", ""))
        store = self.box.store
        page = await store.read(lambda c: calllog.search(c, flt, after=after, before=before))
        choices = calllog.distinct_values(store.db.conn)
        choices["disposition"] = store.setting("dispositions", forms.DEFAULT_DISPOSITIONS)
        query = "&".join(f"{k}={tornado.escape.url_escape(v)}" for k, v in raw.items() if v)
        self.render("calls.html", page=page, raw=raw, errors=errors, choices=choices,
                    query=query, older=format_cursor(page.older),
                    newer=format_cursor(page.newer))


class CallHandler(BaseHandler):
    role = "supervisor"

    async def get(self, call_id: str) -> None:
        record = await self.box.store.read(lambda c: calllog.call(c, call_id))
        if record is None:
            raise tornado.web.HTTPError(404)
        self.render("call.html", call=record)


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


class CallExportHandler(BaseHandler):
    """CSV of every call matching the filter, written and flushed chunk by chunk: a year
    of calls never sits in memory, and the browser starts saving at once."""

    role = "supervisor"

    async def get(self) -> None:
        flt, _raw, errors = read_filter(self)
        if errors:
            raise tornado.web.HTTPError(400)
        tz = i18n.zone(self.box.store.setting("timezone", "UTC"))
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="calls.csv"')
        self.set_header("Cache-Control", "no-store")
        columns = list(calllog.COLUMNS)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        self.write("\ufeff" + buffer.getvalue())  # BOM: spreadsheets then read UTF-8
        after: calllog.Cursor | None = None
        store = self.box.store
        while True:
            page = await store.read(lambda c, a=after: calllog.export_chunk(c, flt, a))
            buffer.seek(0)
            buffer.truncate()
            for row in page.rows:
                for key in ("started_at", "queued_at", "answered_at", "ended_at"):
                    # ISO 8601 with the offset: unambiguous in any spreadsheet's locale
                    row[key] = (dt.datetime.fromtimestamp(row[key], tz).isoformat(
                        timespec="seconds") if row[key] else "")
                writer.writerow([_cell(row[c]) for c in columns])
            self.write(buffer.getvalue())
            try:
                await self.flush()
            except tornado.iostream.StreamClosedError:
                return  # the browser gave up; stop reading the database
            if page.older is None:
                break
            after = page.older
        self.finish()

