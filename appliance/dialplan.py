"""What a number dialled on an operator's phone means: a feature code, another
extension, or an outside number to send through a line chosen by the dial rules.

Feature codes and dial rules are settings (the web changes them; no restart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_FEATURE_CODES = {
    "login": "*45",  # *45 logs in the operator of this phone; *45<code> logs in by login code
    "logout": "*46",
    "pause": "*47",  # *47<digit> pauses with reason number <digit>
    "unpause": "*48",
}
DEFAULT_PAUSE_REASONS = {"1": "break", "2": "lunch", "3": "meeting", "4": "training",
                         "5": "paperwork"}
NUMBER_RE = re.compile(r"^\+?[0-9*#]{1,32}$")


@dataclass(frozen=True)
class Feature:
    action: Literal["login", "logout", "pause", "unpause"]
    argument: str = ""  # login code, or pause reason digit


@dataclass(frozen=True)
class DialRule:
    """Numbers starting with ``prefix`` go out through ``lines`` (first that is up),
    after removing ``strip`` leading digits and putting ``add`` in front."""

    prefix: str = ""
    strip: int = 0
    add: str = ""
    lines: tuple[str, ...] = ()

    def matches(self, number: str) -> bool:
        return number.startswith(self.prefix)

    def rewrite(self, number: str) -> str:
        return self.add + number[self.strip:]


def parse_feature(dialled: str, codes: dict[str, str] | None = None) -> Feature | None:
    codes = {**DEFAULT_FEATURE_CODES, **(codes or {})}
    # longest code first so "*4" never shadows "*45"
    for action, code in sorted(codes.items(), key=lambda kv: -len(kv[1])):
        if code and dialled.startswith(code):
            return Feature(action, dialled[len(code):])  # type: ignore[arg-type]
    return None


def parse_rules(raw: list[dict[str, Any]] | None) -> list[DialRule]:
    rules = []
    for item in raw or []:
        rules.append(DialRule(str(item.get("prefix", "")), int(item.get("strip", 0)),
                              str(item.get("add", "")), tuple(item.get("lines", ()))))
    return rules


def route_outside(
    number: str, rules: list[DialRule], lines_up: list[str]
) -> tuple[str, str] | None:
    """(line, number to dial) for an outside number, or None when no line can take it.

    Without rules, any line that is up takes any number.  The longest matching prefix wins.
    """
    if not NUMBER_RE.match(number):
        return None
    if not rules:
        return (lines_up[0], number) if lines_up else None
    for rule in sorted(rules, key=lambda r: -len(r.prefix)):
        if rule.matches(number):
            candidates = [name for name in (rule.lines or tuple(lines_up)) if name in lines_up]
            if candidates:
                return candidates[0], rule.rewrite(number)
            return None
    return None
