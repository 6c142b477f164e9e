"""Spoken numbers: hand-written tables, and an independent rule check over 1..100.

The rule check below re-derives the Russian forms from the grammar book's rules with
its own word lists, so a slip in ``numerals.py`` and one here would have to agree to
pass unnoticed.
"""

from __future__ import annotations

import pytest

from appliance.ivr.numerals import (
    en_cardinal,
    en_ordinal,
    minutes_phrase,
    position_ordinal,
    ru_cardinal,
    ru_count,
    ru_ordinal,
    ru_plural_form,
    say_time,
)
from appliance.ivr.phrases import opens_sentence, position_sentence, wait_sentence

RU_MINUTES_ACC = {
    1: "одну минуту", 2: "две минуты", 3: "три минуты", 4: "четыре минуты",
    5: "пять минут", 11: "одиннадцать минут", 12: "двенадцать минут",
    14: "четырнадцать минут", 20: "двадцать минут", 21: "двадцать одну минуту",
    22: "двадцать две минуты", 25: "двадцать пять минут", 31: "тридцать одну минуту",
    44: "сорок четыре минуты", 99: "девяносто девять минут", 100: "сто минут",
    101: "сто одну минуту", 111: "сто одиннадцать минут", 112: "сто двенадцать минут",
    122: "сто двадцать две минуты",
}

RU_ORDINAL_MASC = {
    1: "первый", 2: "второй", 3: "третий", 4: "четвёртый", 5: "пятый", 7: "седьмой",
    8: "восьмой", 10: "десятый", 11: "одиннадцатый", 12: "двенадцатый",
    14: "четырнадцатый", 20: "двадцатый", 21: "двадцать первый", 22: "двадцать второй",
    25: "двадцать пятый", 40: "сороковой", 43: "сорок третий", 90: "девяностый",
    99: "девяносто девятый", 100: "сотый", 101: "сто первый", 300: "трёхсотый",
}

EN_ORDINAL = {
    1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 8: "eighth", 9: "ninth",
    11: "eleventh", 12: "twelfth", 13: "thirteenth", 20: "twentieth", 21: "twenty-first",
    22: "twenty-second", 40: "fortieth", 99: "ninety-ninth", 100: "one hundredth",
    101: "one hundred and first",
}


@pytest.mark.parametrize(("n", "words"), sorted(RU_MINUTES_ACC.items()))
def test_russian_minutes_after_primerno(n: int, words: str) -> None:
    assert ru_count(n, "минута", "acc") == words
    assert minutes_phrase(n, "ru") == f"примерно {words}"


@pytest.mark.parametrize(("n", "words"), sorted(RU_ORDINAL_MASC.items()))
def test_russian_ordinals(n: int, words: str) -> None:
    assert ru_ordinal(n) == words


@pytest.mark.parametrize(("n", "words"), sorted(EN_ORDINAL.items()))
def test_english_ordinals(n: int, words: str) -> None:
    assert en_ordinal(n) == words


def test_gender_and_case_of_one_and_two() -> None:
    assert ru_cardinal(1, "m") == "один" and ru_cardinal(1, "f") == "одна"
    assert ru_cardinal(1, "n") == "одно" and ru_cardinal(1, "f", "acc") == "одну"
    assert ru_cardinal(21, "m", "acc") == "двадцать один"
    assert ru_cardinal(2, "m") == "два" and ru_cardinal(2, "f") == "две"
    assert ru_ordinal(3, "f") == "третья" and ru_ordinal(3, "n") == "третье"
    assert ru_ordinal(2, "f") == "вторая" and ru_ordinal(22, "n") == "двадцать второе"
    assert ru_count(1, "звонок") == "один звонок" and ru_count(3, "звонок") == "три звонка"


def test_sentences() -> None:
    assert position_sentence(2, "ru") == "Ваш звонок второй в очереди."
    assert position_sentence(2, "en") == "You are second in line."
    assert wait_sentence(45, "ru") == "Ожидание займёт меньше минуты."
    assert wait_sentence(60, "en") == "The expected wait is about one minute."
    assert wait_sentence(61, "en") == "The expected wait is about two minutes."  # rounds up
    assert wait_sentence(21 * 60, "ru") == "Ожидание займёт примерно двадцать одну минуту."
    assert opens_sentence(9, 0, "ru") == "Мы открываемся в девять часов."
    assert opens_sentence(21, 1, "ru") == "Мы открываемся в двадцать один час одна минута."
    assert opens_sentence(9, 30, "en") == "We open at nine thirty."
    assert opens_sentence(9, 0, "ru", 1) == "Мы открываемся завтра в девять часов."
    assert opens_sentence(8, 0, "ru", 3, 1) == "Мы открываемся во вторник в восемь часов."
    assert opens_sentence(8, 0, "en", 3, 2) == "We open on Wednesday at eight o'clock."
    assert say_time(8, 5, "en") == "eight oh five"
    assert say_time(0, 0, "ru") == "ноль часов"
    assert say_time(2, 22, "ru") == "два часа двадцать две минуты"


@pytest.mark.parametrize("bad", [-1, 1000])
def test_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        ru_cardinal(bad)
    with pytest.raises(ValueError):
        en_cardinal(bad)
    with pytest.raises(ValueError):
        say_time(24, 0, "en")


# -- an independent statement of the rules, checked over 1..100 ----------------------------

_UNITS_F_ACC = ["", "одну", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"]
_TEENS = {10: "десять", 11: "одиннадцать", 12: "двенадцать", 13: "тринадцать",
          14: "четырнадцать", 15: "пятнадцать", 16: "шестнадцать", 17: "семнадцать",
          18: "восемнадцать", 19: "девятнадцать"}
_DECADES = {2: "двадцать", 3: "тридцать", 4: "сорок", 5: "пятьдесят", 6: "шестьдесят",
            7: "семьдесят", 8: "восемьдесят", 9: "девяносто"}


def _expected_minutes(n: int) -> str:
    if n == 100:
        number = "сто"
    elif n in _TEENS:
        number = _TEENS[n]
    elif n < 10:
        number = _UNITS_F_ACC[n]
    else:
        number = " ".join(w for w in (_DECADES[n // 10], _UNITS_F_ACC[n % 10]) if w)
    last_two, last = n % 100, n % 10
    if 11 <= last_two <= 19:
        noun = "минут"
    elif last == 1:
        noun = "минуту"
    elif last in (2, 3, 4):
        noun = "минуты"
    else:
        noun = "минут"
    return f"{number} {noun}"


@pytest.mark.parametrize("n", range(1, 101))
def test_minutes_rules_1_to_100(n: int) -> None:
    assert ru_count(n, "минута", "acc") == _expected_minutes(n)
    expected_en = "about one minute" if n == 1 else f"about {en_cardinal(n)} minutes"
    assert minutes_phrase(n, "en") == expected_en


_ORD_UNITS = ["", "первый", "второй", "третий", "четвёртый", "пятый", "шестой", "седьмой",
              "восьмой", "девятый"]


def test_ordinal_rules_1_to_100() -> None:
    for n in range(1, 101):
        words = ru_ordinal(n)
        if n % 10 and n > 20:
            decade, unit = words.rsplit(" ", 1)
            assert decade == _DECADES[n // 10], n
            assert unit == _ORD_UNITS[n % 10], n
        else:
            assert " " not in words, n
            assert words.endswith(("ый", "ой", "ий")), n
        assert position_ordinal(n, "ru") == words
        # plural forms partition the numbers the way the grammar says
        form = ru_plural_form(n)
        if n % 100 in range(11, 15):
            assert form == "many"
        elif n % 10 == 1:
            assert form == "one"
        elif n % 10 in (2, 3, 4):
            assert form == "few"
        else:
            assert form == "many"
