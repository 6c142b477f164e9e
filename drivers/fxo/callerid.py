"""Caller id as a V.253 voice modem reports it between the first and second ring.

With ``AT+VCID=1`` (formatted; ``AT#CID=1`` on chips that keep the older Rockwell
name) the modem decodes the Bell 202 / V.23 FSK burst and prints tagged lines
(V.253 9.2.2, table 10; Conexant command reference "+VCID"):

    DATE = 0321        month, day
    TIME = 1405        hour, minute (the exchange's local time)
    NMBR = 5551234     or ``P`` (private: withheld) or ``O`` (out of area: unavailable)
    NAME = JOHN DOE    same ``P`` / ``O`` convention

Some firmware writes ``DATE=0321`` without spaces; both are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.base import CallerId, Presentation

TAGS = ("DATE", "TIME", "NMBR", "NAME", "MESG", "DDN_NMBR")
_TAGGED = re.compile(r"^(DATE|TIME|NMBR|NAME|MESG|DDN_NMBR)\s*=\s*(.*)$")

# V.253 table 10 note / Bellcore GR-30: single-letter reasons instead of a number
WITHHELD = "P"
OUT_OF_AREA = "O"


def parse_tagged(line: str) -> tuple[str, str] | None:
    m = _TAGGED.match(line.strip())
    return (m.group(1), m.group(2).strip()) if m else None


@dataclass
class CallerIdReport:
    date: str = ""  # MMDD
    time: str = ""  # HHMM
    number: str = ""
    name: str = ""

    def add(self, tag: str, value: str) -> None:
        if tag == "DATE":
            self.date = value
        elif tag == "TIME":
            self.time = value
        elif tag in ("NMBR", "DDN_NMBR") and not self.number:
            self.number = value
        elif tag == "NAME":
            self.name = value

    @property
    def presentation(self) -> Presentation:
        if self.number == WITHHELD:
            return "restricted"
        if self.number == OUT_OF_AREA or not self.number:
            return "unavailable"
        return "allowed"

    def caller_id(self) -> CallerId:
        presentation = self.presentation
        number = self.number if presentation == "allowed" else ""
        name = "" if self.name in (WITHHELD, OUT_OF_AREA) else self.name
        return CallerId(number=number, name=name, presentation=presentation)

    @property
    def when(self) -> str:
        """``MM-DD HH:MM`` as the exchange sent it (no year on the wire), or ''."""
        if len(self.date) == 4 and len(self.time) == 4:
            return f"{self.date[:2]}-{self.date[2:]} {self.time[:2]}:{self.time[2:]}"
        return ""
