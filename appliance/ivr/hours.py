"""Opening hours: weekly ranges, holidays and one-off exceptions, in the box's time zone.

Ranges are wall-clock times in the zone (``zoneinfo``), so "09:00-18:00" means nine in
the morning before and after a daylight-saving change.  A range whose end is not after
its start runs past midnight ("22:00-06:00" opens Friday night and closes Saturday
morning); that night belongs to the day it started on, so a holiday on Saturday does
not cut short Friday's night shift.  "24:00" as an end means the end of the day.

Which ranges apply on a date: a one-off exception for that date (its own ranges; an
empty list = closed all day) wins over a holiday (closed), which wins over the weekday.
Holidays are full dates ("2026-01-01") or yearly ones ("01-07").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60


class HoursError(ValueError):
    """The hours' description is wrong; the message says which part and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


Range = tuple[int, int]  # minutes from midnight; end <= start runs past midnight


def _parse_clock(text: str, *, end: bool) -> int:
    try:
        hh, mm = text.strip().split(":")
        hour, minute = int(hh), int(mm)
    except ValueError:
        raise ValueError(f"'{text}' is not HH:MM") from None
    if end and hour == 24 and minute == 0:
        return DAY_MINUTES
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"'{text}' is not a time of day")
    return hour * 60 + minute


def parse_range(text: str) -> Range:
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"'{text}' is not a range like 09:00-18:00")
    start_text, end_text = text.split("-")
    start = _parse_clock(start_text, end=False)
    end = _parse_clock(end_text, end=True)
    if start == end:
        raise ValueError(f"'{text}' is empty (use 00:00-24:00 for all day)")
    return start, end


def _parse_ranges(value: Any, where: str) -> list[Range]:
    if not isinstance(value, list):
        raise HoursError(where, "must be a list of ranges like 09:00-18:00")
    try:
        return [parse_range(item) for item in value]
    except ValueError as exc:
        raise HoursError(where, str(exc)) from None


def _parse_date(text: Any, where: str, *, yearly_ok: bool) -> dt.date | tuple[int, int]:
    try:
        if yearly_ok and isinstance(text, str) and len(text) == 5:
            month, day = (int(x) for x in text.split("-"))
            dt.date(2000, month, day)  # 2000 is a leap year: 02-29 is allowed
            return (month, day)
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        shape = "YYYY-MM-DD or MM-DD" if yearly_ok else "YYYY-MM-DD"
        raise HoursError(where, f"'{text}' is not a date ({shape})") from None


@dataclass
class OpeningHours:
    zone: ZoneInfo
    weekly: dict[int, list[Range]] = field(default_factory=dict)  # 0 = Monday
    holidays: set[dt.date] = field(default_factory=set)
    yearly_holidays: set[tuple[int, int]] = field(default_factory=set)
    exceptions: dict[dt.date, list[Range]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], default_zone: str = "UTC") -> OpeningHours:
        """Build from a time node's fields; raises :class:`HoursError` naming the field."""
        zone_name = data.get("timezone") or default_zone
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise HoursError("timezone", f"unknown time zone '{zone_name}'") from None
        hours = data.get("hours", {})
        if not isinstance(hours, Mapping):
            raise HoursError("hours", "must map weekdays (mon..sun) to ranges")
        weekly: dict[int, list[Range]] = {}
        for key, ranges in hours.items():
            if key not in WEEKDAYS:
                raise HoursError("hours", f"'{key}' is not a weekday (mon..sun)")
            weekly[WEEKDAYS.index(key)] = _parse_ranges(ranges, f"hours.{key}")
        result = cls(zone=zone, weekly=weekly)
        for item in data.get("holidays", []) or []:
            day = _parse_date(item, "holidays", yearly_ok=True)
            if isinstance(day, tuple):
                result.yearly_holidays.add(day)
            else:
                result.holidays.add(day)
        for item in data.get("exceptions", []) or []:
            if not isinstance(item, Mapping):
                raise HoursError("exceptions", "each exception needs a date and hours")
            day = _parse_date(item.get("date"), "exceptions", yearly_ok=False)
            assert isinstance(day, dt.date)
            result.exceptions[day] = _parse_ranges(item.get("hours", []), f"exceptions.{day}")
        return result

    def ranges_on(self, day: dt.date) -> list[Range]:
        if day in self.exceptions:
            return self.exceptions[day]
        if day in self.holidays or (day.month, day.day) in self.yearly_holidays:
            return []
        return self.weekly.get(day.weekday(), [])

    def local(self, epoch: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(epoch, tz=self.zone)

    def is_open(self, epoch: float) -> bool:
        """Whether the box is open at UTC ``epoch`` (``clock.time()``)."""
        now = self.local(epoch)
        minute = now.hour * 60 + now.minute
        for start, end in self.ranges_on(now.date()):
            if start < end and start <= minute < end:
                return True
            if end <= start and minute >= start:  # tonight's part of an overnight range
                return True
        yesterday = now.date() - dt.timedelta(days=1)
        return any(end <= start and minute < end for start, end in self.ranges_on(yesterday))

    def next_opening(self, epoch: float, days: int = 14) -> dt.datetime | None:
        """The next local time the box opens (for "we open at nine"), within ``days``."""
        now = self.local(epoch)
        for offset in range(days + 1):
            day = now.date() + dt.timedelta(days=offset)
            for start, _end in sorted(self.ranges_on(day)):
                hour, minute = divmod(start, 60)
                candidate = dt.datetime(day.year, day.month, day.day, hour, minute,
                                        tzinfo=self.zone)
                if candidate > now and not self.is_open(candidate.timestamp() - 60):
                    return candidate
        return None
