"""Every string the web shows, gathered from the templates and the code, so that a test can
prove each has a Russian translation and ``python -m web.catalog`` can refresh the English
file and list what the Russian one still lacks."""

from __future__ import annotations

import ast
import csv
import re
import sys
from dataclasses import fields
from pathlib import Path

from appliance.acd.config import QueueConfig

from . import forms, i18n
from .handlers.auth import LOCKED
from .handlers.live import DONE

HERE = Path(__file__).parent
ROOT = HERE.parent

_CALL = re.compile(r"""(?:\b_|\btranslate)\(\s*(?P<q>["'])(?P<s>(?:(?!(?P=q)).|\\.)*?)(?P=q)""")
_ERRORS = re.compile(r"""errors(?:\[[^\]]+\]\s*=|\.setdefault\([^,]+,)\s*"([^"{]+)"\s*\)?$""",
                     re.M)
_INLINE = re.compile(r"""ValidationError\(\{\s*"\w+":\s*"([^"{]+)"\s*\}""")

# Words that reach templates as data (status codes shown through _()).
DATA_WORDS = ["idle", "ringing", "in_call", "down", "unknown", "Offered", "Answered",
              "Abandoned", "Service level, %", "Service level", "ASA, s", "AHT, s", "Calls",
              "Answer and handling times"]


def _literal(match: re.Match[str]) -> str:
    """The string as Python reads it (escapes resolved), as translate() will see it."""
    return ast.literal_eval(match["q"] + match["s"] + match["q"])


def template_strings() -> set[str]:
    found: set[str] = set()
    for path in (HERE / "templates").rglob("*.html"):
        found.update(_literal(m) for m in _CALL.finditer(path.read_text()))
    return found


def code_strings() -> set[str]:
    found: set[str] = set()
    sources = list((HERE / "handlers").glob("*.py")) + [
        HERE / "forms.py", HERE / "accounts.py", ROOT / "appliance" / "admin.py",
        ROOT / "appliance" / "contacts.py", ROOT / "appliance" / "ivr" / "notify.py",
        ROOT / "appliance" / "acd" / "config.py"]
    for path in sources:
        text = path.read_text()
        found.update(_literal(m) for m in _CALL.finditer(text))
        found.update(ast.literal_eval(f'"{s}"') for s in _ERRORS.findall(text))
        found.update(ast.literal_eval(f'"{s}"') for s in _INLINE.findall(text))
    return found


def all_strings() -> set[str]:
    strings = template_strings() | code_strings()
    strings |= {f.metadata["help"] for f in fields(QueueConfig) if f.metadata.get("help")}
    strings |= {template for _regex, template in i18n._PATTERNS}
    strings |= set(DONE.values()) | {LOCKED}
    strings |= set(DONE.values()) | set(forms.DEFAULT_DISPOSITIONS) | set(DATA_WORDS)
    return {s for s in strings if s.strip()}


def read_csv(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        return {row[0]: row[1] for row in csv.reader(f) if len(row) >= 2}


def write_english() -> None:
    with (i18n.LOCALE_DIR / "en_US.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for text in sorted(all_strings()):
            writer.writerow([text, text])


def main() -> int:
    write_english()
    russian = read_csv(i18n.LOCALE_DIR / "ru_RU.csv")
    missing = sorted(all_strings() - set(russian))
    for text in missing:
        print(text)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
