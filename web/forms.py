"""Form values -> checked settings, with a message per field (in English; the page
translates).  The Admin service validates phones, operators, queues and lines itself;
these are the settings it stores without knowing their shape.

Settings written here (the IVR helper reads ``business_hours`` and ``holidays`` to build
its time conditions):

``site_name``       str
``timezone``        IANA name, e.g. "Europe/Moscow"
``language``        "en_US" | "ru_RU" (the default for browsers that ask for neither)
``dispositions``    [str] (offered to operators after a call)
``business_hours``  {"mon": [["09:00", "18:00"]], ..., "sun": []} (local time, site zone;
                    several ranges per day allowed, an empty list = closed all day)
``holidays``        [{"date": "2026-12-31", "name": "New Year's Eve"}] (closed all day)
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from . import i18n

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_DISPOSITIONS = ["resolved", "callback needed", "sale", "complaint", "wrong number"]
RANGE_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)$")
MAX_NOTE = 2000


def parse_site(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = form.get("site_name", "").strip()
    if not name:
        errors["site_name"] = "required"
    elif len(name) > 64:
        errors["site_name"] = "use at most 64 characters"
    tz = form.get("timezone", "").strip()
    if tz not in zoneinfo.available_timezones():
        errors["timezone"] = "choose a time zone from the list"
    language = form.get("language", "")
    if language not in i18n.LANGUAGES:
        errors["language"] = "choose a language from the list"
    dispositions = [d.strip() for d in form.get("dispositions", "").split("\n") if d.strip()]
    if not dispositions:
        errors["dispositions"] = "list at least one disposition, one a line"
    elif any(len(d) > 64 for d in dispositions) or len(dispositions) > 50:
        errors["dispositions"] = "at most 50 dispositions of up to 64 characters"
    return ({"site_name": name, "timezone": tz, "language": language,
             "dispositions": dispositions}, errors)


def parse_ranges(text: str) -> list[list[str]] | None:
    """ "09:00-13:00, 14:00-18:00" -> [["09:00", "13:00"], ["14:00", "18:00"]]; None if bad."""
    ranges = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        match = RANGE_RE.match(part)
        if not match:
            return None
        start, end = f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}"
        if end > "24:00" or end <= start:
            return None
        ranges.append([start, end])
    ranges.sort()
    if any(a[1] > b[0] for a, b in zip(ranges, ranges[1:], strict=False)):
        return None  # overlapping ranges are a typo, not an intention
    return ranges


def format_ranges(ranges: list[list[str]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in ranges)


def parse_hours(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    hours: dict[str, list[list[str]]] = {}
    for day in DAYS:
        ranges = parse_ranges(form.get(day, ""))
        if ranges is None:
            errors[day] = "use HH:MM-HH:MM, several separated by commas; empty = closed"
        else:
            hours[day] = ranges
    holidays = []
    for number, line in enumerate(form.get("holidays", "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        date_text, _, name = line.partition(" ")
        try:
            dt.date.fromisoformat(date_text)
        except ValueError:
            errors["holidays"] = f"line {number}: start with a date like 2026-12-31"
            break
        holidays.append({"date": date_text, "name": name.strip()[:64]})
    return {"business_hours": hours, "holidays": holidays}, errors


def parse_penalties(form: dict[str, list[str]], queues: list[str]) -> tuple[dict[str, int],
                                                                             dict[str, str]]:
    """Queue membership from checkboxes ``queue.NAME`` and numbers ``penalty.NAME``."""
    chosen: dict[str, int] = {}
    for queue in queues:
        if f"queue.{queue}" not in form:
            continue
        text = (form.get(f"penalty.{queue}") or ["0"])[0].strip() or "0"
        try:
            chosen[queue] = int(text)
        except ValueError:
            return chosen, {"queues": "a penalty is a whole number from 0 to 100"}
    return chosen, {}


def parse_period(start: str, end: str, tz: dt.tzinfo,
                 today: dt.date) -> tuple[float, float, dict[str, str]]:
    """Dates typed as YYYY-MM-DD (site zone) -> [start, end) epoch; defaults to today."""
    errors: dict[str, str] = {}
    try:
        first = dt.date.fromisoformat(start) if start else today
    except ValueError:
        errors["from"] = "a date like 2026-12-31"
        first = today
    try:
        last = dt.date.fromisoformat(end) if end else first
    except ValueError:
        errors["to"] = "a date like 2026-12-31"
        last = first
    if last < first:
        errors["to"] = "the end is before the start"
        last = first
    begin = dt.datetime.combine(first, dt.time(), tz).timestamp()
    finish = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).timestamp()
    return begin, finish, errors


NUMBER_RE = re.compile(r"^\+?[0-9*#]{2,32}$")


def looks_like_number(text: str) -> bool:
    return bool(NUMBER_RE.match(text))


def check_disposition(disposition: str, note: str, allowed: list[str]) -> None:
    from appliance.admin import ValidationError

    errors = {}
    if disposition not in allowed:
        errors["disposition"] = "choose a disposition from the list"
    if len(note) > MAX_NOTE:
        errors["note"] = f"use at most {MAX_NOTE} characters"
    if errors:
        raise ValidationError(errors)
