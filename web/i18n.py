"""Languages: which locale a request gets, and dates/numbers the way its readers write them.

Translations are tornado.locale CSV files in ``web/locale``.  Messages that come from the
core (``ValidationError`` texts such as "must be at least 3") are English sentences with
numbers or names inside; :func:`translate_message` maps them to a translatable pattern so
a Russian reader sees Russian next to the field too.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tornado.locale

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en_US": "English", "ru_RU": "Русский"}
DEFAULT_LOCALE = "en_US"

_loaded = False


DRIVERS_DIR = Path(__file__).resolve().parent.parent / "drivers"


def load() -> None:
    global _loaded
    if not _loaded:
        tornado.locale.load_translations(str(LOCALE_DIR))
        _add_driver_words()
        tornado.locale.set_default_locale(DEFAULT_LOCALE)
        _loaded = True


def _add_driver_words() -> None:
    """Drivers keep the Russian for their own words (settings errors, line states) in
    ``drivers/<kind>/messages_ru.csv``; tornado loads one directory, so those files are
    merged into its Russian table here (the web's own file wins on a clash)."""
    table = tornado.locale._translations.setdefault("ru_RU", {}).setdefault("unknown", {})
    for path in sorted(DRIVERS_DIR.glob("*/messages_ru.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                if len(row) >= 2 and row[0].strip():
                    table.setdefault(row[0].strip(), row[1].strip())


def get(code: str) -> tornado.locale.Locale:
    load()
    return tornado.locale.get(code if code in LANGUAGES else DEFAULT_LOCALE)


def from_accept_language(header: str, default: str = DEFAULT_LOCALE) -> str:
    """The best of our locales for an Accept-Language header; a bare "ru" counts as
    ru_RU (tornado's own matching wants the region too)."""
    by_language = {code.split("_")[0]: code for code in LANGUAGES}
    choices = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().replace("_", "-").split("-")[0].lower()
        if language in by_language and quality > 0:
            choices.append((-quality, position, by_language[language]))
    return min(choices)[2] if choices else default


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


class Formatter:
    """Bound to one locale and the site's time zone; templates call it as ``fmt``."""

    def __init__(self, locale: tornado.locale.Locale, tz: dt.tzinfo) -> None:
        self.locale = locale
        self.tz = tz
        self.ru = locale.code.startswith("ru")

    def _local(self, ts: float | None) -> dt.datetime | None:
        if ts is None:
            return None
        return dt.datetime.fromtimestamp(ts, self.tz)

    def datetime(self, ts: float | None) -> str:
        when = self._local(ts)
        if when is None:
            return ""
        if self.ru:
            return when.strftime("%d.%m.%Y %H:%M:%S")
        return when.strftime("%Y-%m-%d %H:%M:%S")

    def date(self, ts: float | None) -> str:
        when = self._local(ts)
        if when is None:
            return ""
        return when.strftime("%d.%m.%Y") if self.ru else when.strftime("%Y-%m-%d")

    def time(self, ts: float | None) -> str:
        when = self._local(ts)
        return when.strftime("%H:%M:%S") if when else ""

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        text = f"{value:,.{digits}f}"
        if self.ru:  # 1 234,5: narrow no-break space groups, comma decimals
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def percent(self, fraction: float | None) -> str:
        if fraction is None:
            return "–"
        return self.number(fraction * 100, 1) + ("\u00a0%" if self.ru else "%")

    @staticmethod
    def duration(seconds: float | None) -> str:
        if seconds is None:
            return "–"
        seconds = int(round(seconds))
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# Core messages with a value inside: (regex, translatable pattern with %(v)s).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^must be at least (?P<v>-?\d+)$"), "must be at least %(v)s"),
    (re.compile(r"^must be at most (?P<v>-?\d+)$"), "must be at most %(v)s"),
    (re.compile(r"^must be one of: (?P<v>.*)$"), "must be one of: %(v)s"),
    (re.compile(r"^use at most (?P<v>\d+) characters$"), "use at most %(v)s characters"),
    (re.compile(r"^use at least (?P<v>\d+) characters$"), "use at least %(v)s characters"),
    (re.compile(r"^there is no queue named (?P<v>.*)$"), "there is no queue named %(v)s"),
    (re.compile(r"^there is no phone with extension (?P<v>.*)$"),
     "there is no phone with extension %(v)s"),
    (re.compile(r"^this ATA has ports 1 to (?P<v>\d+)$"), "this ATA has ports 1 to %(v)s"),
    (re.compile(r"^this MAC address is already set up as (?P<v>.*)$"),
     "this MAC address is already set up as %(v)s"),
    (re.compile(r"^this port of the ATA already has a phone: extension (?P<v>\d+)$"),
     "this port of the ATA already has a phone: extension %(v)s"),
    (re.compile(r"^line (?P<v>\d+): start with a date like 2026-12-31$"),
     "line %(v)s: start with a date like 2026-12-31"),
    (re.compile(r"^unknown line kind; installed: (?P<v>.*)$"),
     "unknown line kind; installed: %(v)s"),
]


def translate_message(locale: tornado.locale.Locale, message: str) -> str:
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return locale.translate(template) % {"v": match.group("v")}
    return locale.translate(message)
