"""Opening hours in the box's zone: across midnight, across DST changes, holidays.

Every expected answer below was worked out by hand from the calendar: Berlin changes
to summer time at 01:00 UTC on 2026-03-29 and back at 01:00 UTC on 2026-10-25;
Moscow stays at UTC+3 all year.
"""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.ivr.hours import HoursError, OpeningHours, parse_range


def utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


DAILY_8_17 = {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.mark.parametrize(("when", "is_open"), [
    (utc(2026, 3, 28, 6, 59), False),  # Sat 07:59 CET
    (utc(2026, 3, 28, 7, 0), True),  # Sat 08:00 CET
    (utc(2026, 3, 29, 6, 0), True),  # Sun 08:00 CEST: same UTC hour, one hour later locally
    (utc(2026, 3, 29, 5, 59), False),  # Sun 07:59 CEST
    (utc(2026, 3, 29, 15, 0), False),  # Sun 17:00 CEST
    (utc(2026, 3, 28, 15, 59), True),  # Sat 16:59 CET
    (utc(2026, 10, 24, 6, 30), True),  # Sat 08:30 CEST
    (utc(2026, 10, 25, 6, 30), False),  # Sun 07:30 CET after the change back
    (utc(2026, 10, 25, 7, 0), True),  # Sun 08:00 CET
    (utc(2026, 10, 25, 15, 59), True),  # Sun 16:59 CET
])
def test_berlin_daily_hours_follow_the_wall_clock_across_dst(when: float, is_open: bool) -> None:
    hours = OpeningHours.from_dict({"timezone": "Europe/Berlin", "hours": DAILY_8_17})
    assert hours.is_open(when) is is_open


@pytest.mark.parametrize(("when", "is_open"), [
    (utc(2026, 1, 15, 6, 0), True),  # 09:00 MSK in winter
    (utc(2026, 7, 15, 6, 0), True),  # 09:00 MSK in summer: no DST in Moscow
    (utc(2026, 7, 15, 5, 59), False),
    (utc(2026, 7, 15, 14, 59), True),  # 17:59 MSK
    (utc(2026, 7, 15, 15, 0), False),  # 18:00 MSK
])
def test_moscow_has_no_dst(when: float, is_open: bool) -> None:
    week = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    hours = OpeningHours.from_dict({"timezone": "Europe/Moscow", "hours": week})
    assert hours.is_open(when) is is_open
    # the same UTC instant in Berlin in July is 08:00 CEST: closed under the same hours
    berlin = OpeningHours.from_dict({"timezone": "Europe/Berlin", "hours": week})
    assert berlin.is_open(utc(2026, 7, 15, 6, 0)) is False


NIGHT = {"timezone": "Europe/Berlin", "hours": {"fri": ["22:00-06:00"], "sat": ["22:00-06:00"]},
         "holidays": ["2026-01-10"]}


@pytest.mark.parametrize(("when", "is_open"), [
    (utc(2026, 1, 8, 22, 0), False),  # Thu 23:00: no shift on Thursday night
    (utc(2026, 1, 9, 20, 59), False),  # Fri 21:59
    (utc(2026, 1, 9, 21, 0), True),  # Fri 22:00
    (utc(2026, 1, 9, 23, 30), True),  # Sat 00:30, Friday's shift goes on past midnight
    (utc(2026, 1, 10, 4, 59), True),  # Sat 05:59, even though Saturday is a holiday
    (utc(2026, 1, 10, 5, 0), False),  # Sat 06:00
    (utc(2026, 1, 10, 21, 30), False),  # Sat 22:30: the holiday cancels Saturday's own shift
    (utc(2026, 1, 11, 2, 0), False),  # Sun 03:00: ...and its spill into Sunday
])
def test_overnight_ranges_and_holidays(when: float, is_open: bool) -> None:
    assert OpeningHours.from_dict(NIGHT).is_open(when) is is_open


def test_overnight_range_on_the_night_clocks_go_forward() -> None:
    hours = OpeningHours.from_dict({"timezone": "Europe/Berlin",
                                    "hours": {"sat": ["22:00-06:00"]}})
    assert hours.is_open(utc(2026, 3, 29, 3, 59)) is True  # Sun 05:59 CEST
    assert hours.is_open(utc(2026, 3, 29, 4, 0)) is False  # Sun 06:00 CEST
    assert hours.is_open(utc(2026, 3, 29, 0, 30)) is True  # Sun 01:30 CET


def test_holidays_and_exceptions() -> None:
    hours = OpeningHours.from_dict({
        "timezone": "Europe/Moscow",
        "hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["01-07", "2026-05-01"],
        "exceptions": [{"date": "2026-12-31", "hours": ["09:00-14:00"]},
                       {"date": "2026-01-03", "hours": ["10:00-12:00"]},
                       {"date": "2026-06-01", "hours": []}],
    })
    assert hours.is_open(utc(2026, 1, 7, 9, 0)) is False  # yearly holiday (Wed 12:00 MSK)
    assert hours.is_open(utc(2027, 1, 7, 9, 0)) is False  # ...every year (Thu)
    assert hours.is_open(utc(2026, 1, 8, 9, 0)) is True  # the day after
    assert hours.is_open(utc(2026, 5, 1, 9, 0)) is False  # one year's holiday (Fri)
    assert hours.is_open(utc(2027, 4, 30, 9, 0)) is True  # Fri, not a holiday
    assert hours.is_open(utc(2026, 12, 31, 10, 0)) is True  # 13:00 MSK, short day
    assert hours.is_open(utc(2026, 12, 31, 11, 0)) is False  # 14:00 MSK
    assert hours.is_open(utc(2026, 1, 3, 8, 0)) is True  # Sat 11:00 MSK: opened specially
    assert hours.is_open(utc(2026, 1, 3, 9, 0)) is False  # Sat 12:00 MSK
    assert hours.is_open(utc(2026, 6, 1, 9, 0)) is False  # Mon closed specially


def test_all_day_and_next_opening() -> None:
    hours = OpeningHours.from_dict({"timezone": "Europe/Berlin",
                                    "hours": {"mon": ["09:00-13:00", "14:00-18:00"],
                                              "sun": ["00:00-24:00"]}})
    assert hours.is_open(utc(2026, 1, 4, 22, 59)) is True  # Sun 23:59
    nxt = hours.next_opening(utc(2026, 1, 5, 12, 30))  # Mon 13:30, lunch
    assert (nxt.day, nxt.hour, nxt.minute) == (5, 14, 0)
    nxt = hours.next_opening(utc(2026, 1, 6, 8, 0))  # Tue
    assert (nxt.day, nxt.hour) == (11, 0)  # Sunday's 00:00


@pytest.mark.parametrize(("data", "field"), [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"hours": {"monday": ["09:00-18:00"]}}, "hours"),
    ({"hours": {"mon": ["9-18"]}}, "hours.mon"),
    ({"hours": {"mon": ["09:00-25:00"]}}, "hours.mon"),
    ({"hours": {"mon": ["09:00-09:00"]}}, "hours.mon"),
    ({"hours": {"mon": "09:00-18:00"}}, "hours.mon"),
    ({"hours": []}, "hours"),
    ({"holidays": ["2026-02-30"]}, "holidays"),
    ({"holidays": ["13-01"]}, "holidays"),
    ({"exceptions": [{"date": "01-01", "hours": []}]}, "exceptions"),
    ({"exceptions": ["2026-01-01"]}, "exceptions"),
])
def test_bad_hours_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(HoursError) as info:
        OpeningHours.from_dict(data)
    assert info.value.field == field


def test_parse_range_end_of_day() -> None:
    assert parse_range("18:00-24:00") == (18 * 60, 24 * 60)
    assert parse_range("22:00-06:00") == (22 * 60, 6 * 60)
    with pytest.raises(ValueError):
        parse_range("24:00-06:00")
