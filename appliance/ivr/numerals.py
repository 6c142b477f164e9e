"""Numbers and times spoken with correct grammar, in English and Russian.

A TTS engine reads "21 минуту" as "двадцать один минуту": it does not know that the
noun is feminine and in the accusative.  So announcements spell numbers out here,
where the noun's gender and case are known, and hand the TTS words, not digits.

Russian: a cardinal ending in 1 or 2 agrees in gender with its noun (один звонок, одна
минута, одно место; два / две), "one" also takes the case (примерно одну минуту), and
the noun takes one of three forms by the number (1 минута, 2–4 минуты, 5–20 минут,
21 минута...).  An ordinal is an adjective: только последнее слово склоняется
(двадцать второй).  Numbers 0–999 are covered, which is far more than a queue needs.
"""

from __future__ import annotations

from typing import Literal

Gender = Literal["m", "f", "n"]
Case = Literal["nom", "acc"]
PluralForm = Literal["one", "few", "many"]

MAX_SPOKEN = 999


def _words(text: str) -> list[str]:
    return text.split()


def _check(n: int) -> None:
    if not 0 <= n <= MAX_SPOKEN:
        raise ValueError(f"{n} is outside the spoken range 0..{MAX_SPOKEN}")


# -- English ---------------------------------------------------------------------------

_EN_ONES = _words("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen")
_EN_TENS = _words("_ _ twenty thirty forty fifty sixty seventy eighty ninety")
_EN_ORD_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                     "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def en_cardinal(n: int) -> str:
    _check(n)
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    head = f"{_EN_ONES[hundreds]} hundred"
    return head + (f" and {en_cardinal(rest)}" if rest else "")


def en_ordinal(n: int) -> str:
    if n < 1:
        raise ValueError("ordinals start at 1")
    words = en_cardinal(n)
    # only the last word becomes ordinal: "twenty-first", "one hundred and second"
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    head, last = words[:cut], words[cut:]
    if last in _EN_ORD_IRREGULAR:
        return head + _EN_ORD_IRREGULAR[last]
    if last.endswith("y"):
        return head + last[:-1] + "ieth"
    return head + last + "th"


def en_count(n: int, singular: str, plural: str) -> str:
    return f"{en_cardinal(n)} {singular if n == 1 else plural}"


# -- Russian ---------------------------------------------------------------------------

_RU_ONES = _words("ноль один два три четыре пять шесть семь восемь девять десять одиннадцать "
            "двенадцать тринадцать четырнадцать пятнадцать шестнадцать семнадцать "
            "восемнадцать девятнадцать")
_RU_TENS = "_ _ двадцать тридцать сорок пятьдесят шестьдесят семьдесят восемьдесят девяносто"
_RU_TENS_W = _words(_RU_TENS)
_RU_HUNDREDS = "_ сто двести триста четыреста пятьсот шестьсот семьсот восемьсот девятьсот"
_RU_HUNDREDS_W = _words(_RU_HUNDREDS)
_RU_ONE = {("m", "nom"): "один", ("f", "nom"): "одна", ("n", "nom"): "одно",
           # inanimate accusative equals the nominative except feminine "одну"
           ("m", "acc"): "один", ("f", "acc"): "одну", ("n", "acc"): "одно"}

# ordinal stems: masculine nominative; other genders derived by the ending
_RU_ORD_ONES = _words("нулевой первый второй третий четвёртый пятый шестой седьмой восьмой девятый "
                "десятый одиннадцатый двенадцатый тринадцатый четырнадцатый пятнадцатый "
                "шестнадцатый семнадцатый восемнадцатый девятнадцатый")
_RU_ORD_TENS = _words("_ _ двадцатый тридцатый сороковой пятидесятый шестидесятый семидесятый "
                "восьмидесятый девяностый")
_RU_ORD_HUNDREDS = _words("_ сотый двухсотый трёхсотый четырёхсотый пятисотый шестисотый "
                    "семисотый восьмисотый девятисотый")


def ru_plural_form(n: int) -> PluralForm:
    """Which noun form follows ``n``: 1 минута (one), 2 минуты (few), 5 минут (many)."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def ru_cardinal(n: int, gender: Gender = "m", case: Case = "nom") -> str:
    """Cardinal in the nominative or (inanimate) accusative, agreeing with ``gender``."""
    _check(n)
    if n == 0:
        return _RU_ONES[0]
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append(_RU_HUNDREDS_W[hundreds])
    if rest >= 20:
        tens, rest = divmod(rest, 10)
        words.append(_RU_TENS_W[tens])
    if rest == 1:
        words.append(_RU_ONE[(gender, case)])
    elif rest == 2:
        words.append("две" if gender == "f" else "два")
    elif rest:
        words.append(_RU_ONES[rest])
    return " ".join(words)


def _ru_ordinal_ending(word: str, gender: Gender) -> str:
    if gender == "m":
        return word
    if word == "третий":
        return "третья" if gender == "f" else "третье"
    stem = word[:-2]
    return stem + ("ая" if gender == "f" else "ое")


def ru_ordinal(n: int, gender: Gender = "m") -> str:
    """Ordinal in the nominative: only the last word is an ordinal (сто двадцать второй)."""
    if n < 1:
        raise ValueError("ordinals start at 1")
    _check(n)
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    if rest == 0:
        last, head = _RU_ORD_HUNDREDS[hundreds], ""
    elif rest < 20:
        last, head = _RU_ORD_ONES[rest], _RU_HUNDREDS_W[hundreds] if hundreds else ""
    elif ones == 0:
        last, head = _RU_ORD_TENS[tens], _RU_HUNDREDS_W[hundreds] if hundreds else ""
    else:
        last = _RU_ORD_ONES[ones]
        head = ru_cardinal(n - ones)
    word = _ru_ordinal_ending(last, gender)
    return f"{head} {word}" if head else word


# nouns the announcements use: (gender, forms by case and plural form)
RU_NOUNS: dict[str, tuple[Gender, dict[tuple[Case, PluralForm], str]]] = {
    "минута": ("f", {("nom", "one"): "минута", ("nom", "few"): "минуты",
                     ("nom", "many"): "минут", ("acc", "one"): "минуту",
                     ("acc", "few"): "минуты", ("acc", "many"): "минут"}),
    "час": ("m", {("nom", "one"): "час", ("nom", "few"): "часа", ("nom", "many"): "часов",
                  ("acc", "one"): "час", ("acc", "few"): "часа", ("acc", "many"): "часов"}),
    "звонок": ("m", {("nom", "one"): "звонок", ("nom", "few"): "звонка",
                     ("nom", "many"): "звонков", ("acc", "one"): "звонок",
                     ("acc", "few"): "звонка", ("acc", "many"): "звонков"}),
}


def ru_count(n: int, noun: str, case: Case = "nom") -> str:
    """"двадцать одну минуту": the number agreeing with the noun, the noun in its form."""
    gender, forms = RU_NOUNS[noun]
    return f"{ru_cardinal(n, gender, case)} {forms[(case, ru_plural_form(n))]}"


# -- phrases the announcements need ----------------------------------------------------

def minutes_phrase(minutes: int, language: str) -> str:
    """The object of "about ...": "about three minutes", "примерно три минуты"."""
    if language == "ru":
        return "примерно " + ru_count(minutes, "минута", "acc")
    return "about " + en_count(minutes, "minute", "minutes")


def position_ordinal(position: int, language: str) -> str:
    """"second", "второй" (agreeing with "ваш звонок", masculine nominative)."""
    return ru_ordinal(position, "m") if language == "ru" else en_ordinal(position)


def say_time(hour: int, minute: int, language: str) -> str:
    """A clock time as words: "nine thirty", "девять часов тридцать минут"."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"not a time of day: {hour}:{minute}")
    if language == "ru":
        text = ru_count(hour, "час")
        if minute:
            text += " " + ru_count(minute, "минута")
        return text
    if minute == 0:
        return f"{en_cardinal(hour)} o'clock"
    if minute < 10:
        return f"{en_cardinal(hour)} oh {en_cardinal(minute)}"
    return f"{en_cardinal(hour)} {en_cardinal(minute)}"
