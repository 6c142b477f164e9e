"""The call log: search with filters, keyset pages, one call's timeline, CSV export."""

from __future__ import annotations

import datetime as dt
import re

import tornado.escape
import tornado.iostream
import tornado.web

from appliance import calllog
from appliance.ivr.runner import summary_lines

from .. import forms, i18n
from .base import BaseHandler

CURSOR_RE = re.compile(r"^(\d+(?:\.\d+)?)~(.{1,128})$")


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
        # either end may be open: "from" alone is that day onward, "to" alone up to it
        start, end, errors = forms.parse_period(raw["from"] or raw["to"],
                                                raw["to"] or raw["from"], tz, today)
        if not raw["from"]:
            start = None
        if not raw["to"]:
            end = None
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
        choices = calllog.distinct_values(store.conn)
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
        # what the caller chose and entered in the flow, not the record's bookkeeping
        record["entered"] = summary_lines(record["data"].get("flow"))
        self.render("call.html", call=record)


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

        self.write("\ufeff" + ",".join(calllog.COLUMNS) + "\r\n")  # BOM: Excel reads UTF-8
        after: calllog.Cursor | None = None
        store = self.box.store
        while True:
            # the query writes the CSV lines on the reader thread; the loop only sends them
            text, after = await store.read(
                lambda c, a=after: calllog.export_chunk(c, flt, a, tz))
            self.write(text)
            try:
                await self.flush()
            except tornado.iostream.StreamClosedError:
                return  # the browser gave up; stop reading the database
            if after is None:
                break
        self.finish()
