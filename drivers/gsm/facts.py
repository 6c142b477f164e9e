"""Reading what a modem says about itself and its network (3GPP TS 27.007)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import words


@dataclass(frozen=True, slots=True)
class Signal:
    rssi: int  # 27.007 8.5 +CSQ <rssi>: 0..31, 99 = not known

    @property
    def dbm(self) -> int | None:
        """27.007 8.5: 0 is -113 dBm or less, 2 dBm a step, 31 is -51 dBm or more."""
        if not 0 <= self.rssi <= 31:
            return None
        return -113 + 2 * self.rssi

    @property
    def bars(self) -> int:
        """0-4 bars as phones draw them (thresholds of the common ETSI-era mapping)."""
        if self.rssi == 99 or self.rssi < 2:
            return 0
        for bars, below in ((1, 10), (2, 15), (3, 20)):
            if self.rssi < below:
                return bars
        return 4


def parse_csq(value: str | None) -> Signal | None:
    if not value:
        return None
    try:
        return Signal(int(value.split(",")[0]))
    except ValueError:
        return None


def parse_creg(value: str, *, urc: bool) -> int | None:
    """The <stat> of +CREG: a URC starts with it, a read response with <n> first."""
    fields = [f.strip() for f in value.split(",")]
    index = 0 if urc else 1
    if len(fields) <= index or not fields[index].isdigit():
        return None
    return int(fields[index])


def registration(stat: int | None) -> dict[str, object]:
    return {
        "registration": words.REG_WORDS.get(stat if stat is not None else 4, words.REG_WORDS[4]),
        "registered": stat in (1, 5),
        "roaming": stat == 5,
        "denied": stat == 3,
    }


_QUOTED = re.compile(r'"([^"]*)"')


def parse_cops(value: str | None) -> str:
    """+COPS: <mode>[,<format>,<oper>[,<AcT>]]: the operator's name, '' when none."""
    if not value:
        return ""
    match = _QUOTED.search(value)
    return match.group(1) if match else ""


@dataclass(frozen=True, slots=True)
class Clip:
    number: str
    presentation: str  # allowed, restricted, unavailable
    name: str = ""  # <alpha>: the SIM phonebook's name for the number, when it has one


def parse_clip(value: str) -> Clip:
    """+CLIP: <number>,<type>[,<subaddr>,<satype>,<alpha>,<CLI validity>] (27.007 7.6)."""
    fields = _split_quoted(value)
    number = fields[0] if fields else ""
    validity = fields[5] if len(fields) > 5 and fields[5].isdigit() else ""
    if validity == "1":
        return Clip("", "restricted")
    if validity == "2" or not number:
        return Clip("", "unavailable")
    if number and fields[1:2] == ["145"] and not number.startswith("+"):
        number = "+" + number
    return Clip(number, "allowed", fields[4] if len(fields) > 4 else "")


@dataclass(frozen=True, slots=True)
class ClccEntry:
    index: int
    mobile_terminated: bool
    stat: int  # 0 active, 1 held, 2 dialing, 3 alerting, 4 incoming, 5 waiting
    number: str


def parse_clcc(value: str) -> ClccEntry | None:
    """+CLCC: <id>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>...] (27.007 7.18)."""
    fields = _split_quoted(value)
    try:
        index, direction, stat, mode = (int(f) for f in fields[:4])
    except ValueError:
        return None
    if mode != 0:  # data or fax: not ours
        return None
    return ClccEntry(index, direction == 1, stat, fields[5] if len(fields) > 5 else "")


def _split_quoted(value: str) -> list[str]:
    out, current, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    out.append("".join(current).strip())
    return out
