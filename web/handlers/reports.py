"""Reports per queue, operator or hour of day, with SVG charts; abandoned calls with a
one-click callback."""

from __future__ import annotations

import datetime as dt

import tornado.web

from appliance import calllog
from appliance.admin import ValidationError

from .. import forms, i18n, svg
from ..box import REPORT_GROUPS
from .base import BaseHandler


def read_period(handler: BaseHandler) -> tuple[float, float, dict[str, str], dict[str, str]]:
    tz = i18n.zone(handler.box.store.setting("timezone", "UTC"))
    today = dt.datetime.now(tz).date()
    raw = {k: handler.get_argument(k, "").strip() for k in ("from", "to", "queue", "operator")}
    raw["group"] = handler.get_argument("group", "queue")
    if raw["group"] not in REPORT_GROUPS:
        raw["group"] = "queue"
    raw["from"] = raw["from"] or (today - dt.timedelta(days=6)).isoformat()
    raw["to"] = raw["to"] or today.isoformat()
    start, end, errors = forms.parse_period(raw["from"], raw["to"], tz, today)
    return start, end, raw, handler.translate_errors(errors)


def every_hour(rows: list[dict]) -> list[dict]:
    """All 24 hours, quiet ones as zeros: a day's shape is the point of this view."""
    by_hour = {int(r["key"]): r for r in rows}
    empty = {"offered": 0, "answered": 0, "abandoned": 0, "service_level": None,
             "asa": None, "aht": None}
    return [by_hour.get(hour, {"key": hour, **empty}) for hour in range(24)]


def charts(rows: list[dict], group: str, _) -> list[str]:
    labels = [f"{int(r['key']):02d}" if group == "hour" else str(r["key"]) for r in rows]
    volume = svg.bar_chart(labels, [
        (_("Offered"), [r["offered"] for r in rows]),
        (_("Answered"), [r["answered"] for r in rows]),
        (_("Abandoned"), [r["abandoned"] for r in rows]),
    ], title=_("Calls"))
    level = svg.bar_chart(labels, [
        (_("Service level, %"), [(r["service_level"] or 0) * 100 for r in rows]),
    ], title=_("Service level"))
    times = svg.bar_chart(labels, [
        (_("ASA, s"), [r["asa"] or 0 for r in rows]),
        (_("AHT, s"), [r["aht"] or 0 for r in rows]),
    ], title=_("Answer and handling times"))
    return [volume, level, times]


class ReportsHandler(BaseHandler):
    role = "supervisor"

    async def get(self) -> None:
        start, end, raw, errors = read_period(self)
        rows = await self.box.reports(raw["group"], start, end, queue=raw["queue"],
                                      operator=raw["operator"])
        if raw["group"] == "hour":
            rows = every_hour(rows)
        abandoned = await self.box.store.read(
            lambda c: calllog.abandoned(c, start, end, raw["queue"]))
        self.render("reports.html", raw=raw, errors=errors, rows=rows, abandoned=abandoned,
                    charts=charts(rows, raw["group"], self.locale.translate),
                    groups=REPORT_GROUPS, queues=[q.name for q in self.box.admin.queues()],
                    operators=[o["name"] for o in self.box.admin.operators()],
                    done=self.get_argument("done", "") == "callback")


class AbandonedCallbackHandler(BaseHandler):
    """One click on an abandoned call puts its caller on the callback list."""

    role = "supervisor"

    async def post(self) -> None:
        call_id = self.get_body_argument("call_id", "")
        record = await self.box.store.read(lambda c: calllog.call(c, call_id))
        if record is None:
            raise tornado.web.HTTPError(404)
        try:
            await self.box.request_callback(record["caller_number"], record["queue"], call_id)
        except ValidationError as exc:
            raise tornado.web.HTTPError(400, "; ".join(exc.errors.values())) from exc
        back = self.get_body_argument("back", "")
        if not back.startswith("/reports"):
            back = "/reports"
        self.redirect(back + ("&" if "?" in back else "?") + "done=callback")
