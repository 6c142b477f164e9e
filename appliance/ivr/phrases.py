"""Every sentence the IVR says or shows, in English and Russian.

Spoken sentences live here rather than in the web's locale files because Russian
announcements need code to agree numbers with nouns (``numerals.py``); keeping the
validator's messages next to them gives the web editor one place to ask for a message
in the user's language (``text(code, language, **params)``).
"""

from __future__ import annotations

from .numerals import minutes_phrase, position_ordinal, say_time

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"

CATALOG: dict[str, dict[str, str]] = {
    # -- said to callers ------------------------------------------------------------------
    "invalid_choice": {
        "en": "Sorry, that is not a valid choice.",
        "ru": "Извините, такого варианта нет.",
    },
    "no_input": {
        "en": "Sorry, we did not hear your choice.",
        "ru": "Извините, мы не услышали ваш выбор.",
    },
    "invalid_digits": {
        "en": "Sorry, that number is not valid. Please try again.",
        "ru": "Извините, номер введён неверно. Попробуйте ещё раз.",
    },
    "operator_choice": {"en": "Operator", "ru": "Оператор"},
    "no_choice": {"en": "No choice made", "ru": "Выбор не сделан"},
    "callback_label": {"en": "Call back on", "ru": "Перезвонить на"},
    "goodbye": {"en": "Goodbye.", "ru": "До свидания."},
    "callback_offer": {
        "en": "To be called back, press 1. To stay on the line, press 2.",
        "ru": "Чтобы мы вам перезвонили, нажмите 1. Чтобы остаться на линии, нажмите 2.",
    },
    "callback_ask_number": {
        "en": "Please enter your phone number, then press the hash key.",
        "ru": "Введите, пожалуйста, ваш номер телефона и нажмите решётку.",
    },
    "callback_confirmed": {
        "en": "Thank you. We will call you back as soon as an operator is free.",
        "ru": "Спасибо. Мы перезвоним вам, как только освободится оператор.",
    },
    "callback_in_queue": {
        "en": "To be called back without losing your place, press 1.",
        "ru": "Чтобы мы перезвонили вам без потери места в очереди, нажмите 1.",
    },
    "voicemail_intro": {
        "en": "Please leave a message after the tone.",
        "ru": "Пожалуйста, оставьте сообщение после сигнала.",
    },
    "voicemail_thanks": {
        "en": "Thank you, your message has been recorded.",
        "ru": "Спасибо, ваше сообщение записано.",
    },
    "position": {
        "en": "You are {ordinal} in line.",
        "ru": "Ваш звонок {ordinal} в очереди.",
    },
    "wait": {
        "en": "The expected wait is {minutes}.",
        "ru": "Ожидание займёт {minutes}.",
    },
    "wait_short": {
        "en": "The expected wait is less than a minute.",
        "ru": "Ожидание займёт меньше минуты.",
    },
    "opens_at": {
        "en": "We open at {time}.",
        "ru": "Мы открываемся в {time}.",
    },
    "opens_tomorrow": {
        "en": "We open tomorrow at {time}.",
        "ru": "Мы открываемся завтра в {time}.",
    },
    "opens_on": {
        "en": "We open on {day} at {time}.",
        "ru": "Мы открываемся {day} в {time}.",
    },
    # -- shown to installers by the flow validator ------------------------------------------
    "v_no_nodes": {"en": "The flow has no nodes.", "ru": "В сценарии нет ни одного узла."},
    "v_no_start": {
        "en": "The start node '{target}' does not exist.",
        "ru": "Начальный узел «{target}» не существует.",
    },
    "v_bad_type": {
        "en": "Unknown node type '{value}'.",
        "ru": "Неизвестный тип узла «{value}».",
    },
    "v_missing": {
        "en": "'{field}' must be filled in.",
        "ru": "Поле «{field}» должно быть заполнено.",
    },
    "v_bad_value": {
        "en": "'{field}' is not valid: {value}.",
        "ru": "Поле «{field}» заполнено неверно: {value}.",
    },
    "v_unknown_target": {
        "en": "'{field}' leads to '{target}', which does not exist.",
        "ru": "«{field}» ведёт к узлу «{target}», которого нет.",
    },
    "v_dead_end": {
        "en": "Callers get stuck here: '{field}' leads nowhere.",
        "ru": "Здесь звонящий застрянет: «{field}» никуда не ведёт.",
    },
    "v_unreachable": {
        "en": "No caller can reach this node.",
        "ru": "Ни один звонящий не попадёт в этот узел.",
    },
    "v_loop": {
        "en": "Callers who get here go round in a loop with no way out.",
        "ru": "Отсюда звонящий попадает в петлю без выхода.",
    },
    "v_silent_loop": {
        "en": "A caller who presses no key goes round here forever; lead the no-answer path "
              "to an operator, a queue or voicemail.",
        "ru": "Звонящий, который не нажимает клавиш, будет ходить здесь по кругу; направьте "
              "путь без ответа к оператору, в очередь или на автоответчик.",
    },
    "v_deep_menu": {
        "en": "This menu is {depth} levels deep; callers get lost past 3 levels.",
        "ru": "Это меню на {depth}-м уровне; дальше третьего уровня звонящие теряются.",
    },
    "v_no_operator": {
        "en": "Pressing 0 must reach an operator: set the flow's or the menu's operator.",
        "ru": "Нажатие 0 должно соединять с оператором: укажите оператора меню или сценария.",
    },
    "v_zero_taken": {
        "en": "0 is kept for the operator; choose another key.",
        "ru": "Клавиша 0 зарезервирована для оператора; выберите другую.",
    },
    "v_unknown_prompt": {
        "en": "The prompt '{value}' has not been recorded or generated.",
        "ru": "Запись «{value}» не загружена и не сгенерирована.",
    },
    "v_unknown_queue": {
        "en": "There is no queue '{value}'.",
        "ru": "Очереди «{value}» нет.",
    },
}


def text(code: str, language: str = DEFAULT_LANGUAGE, **params: object) -> str:
    entry = CATALOG[code]
    template = entry.get(language) or entry[DEFAULT_LANGUAGE]
    return template.format(**params) if params else template


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def position_sentence(position: int, language: str) -> str:
    return text("position", language, ordinal=position_ordinal(position, language))


def wait_sentence(wait_seconds: float, language: str) -> str:
    """Round up: promising "about two minutes" and answering in three breeds complaints."""
    if wait_seconds < 60:
        return text("wait_short", language)
    minutes = int(-(-wait_seconds // 60))
    return text("wait", language, minutes=minutes_phrase(min(minutes, 999), language))


# weekday as the object of "on" / "в" (accusative: в среду, во вторник)
WEEKDAY_ON = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                     "Sunday"),
              "ru": ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу",
                     "в субботу", "в воскресенье")}


def opens_sentence(hour: int, minute: int, language: str, days_ahead: int = 0,
                   weekday: int = 0) -> str:
    """"We open at nine", "...tomorrow at nine", "...on Monday at nine" (weekday 0 = Mon)."""
    spoken = say_time(hour, minute, language)
    if days_ahead == 0:
        return text("opens_at", language, time=spoken)
    if days_ahead == 1:
        return text("opens_tomorrow", language, time=spoken)
    day = WEEKDAY_ON[language_or_default(language)][weekday]
    return text("opens_on", language, day=day, time=spoken)
