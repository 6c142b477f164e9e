"""English and Russian: every string translated, chosen by browser, switchable, and
dates and numbers written the reader's way."""

from __future__ import annotations

import datetime as dt

from web_helpers import WebCase

from web import catalog, i18n


def test_every_string_has_a_russian_translation():
    russian = catalog.read_csv(i18n.LOCALE_DIR / "ru_RU.csv")
    missing = sorted(catalog.all_strings() - set(russian))
    assert missing == []
    assert all(russian[k].strip() for k in catalog.all_strings())


def test_english_file_is_current():
    english = catalog.read_csv(i18n.LOCALE_DIR / "en_US.csv")
    assert set(english) == catalog.all_strings(), "run: python -m web.catalog"


def test_placeholders_survive_translation():
    russian = catalog.read_csv(i18n.LOCALE_DIR / "ru_RU.csv")
    for english, translated in russian.items():
        for placeholder in ("%(v)s", "%(time)s", "%(url)s"):
            assert (placeholder in english) == (placeholder in translated), english


def test_core_messages_with_values_are_translated():
    ru = i18n.get("ru_RU")
    assert i18n.translate_message(ru, "must be at least 3") == "не меньше 3"
    assert i18n.translate_message(ru, "there is no queue named sales") == (
        "нет очереди с именем sales")
    assert i18n.translate_message(ru, "required") == "обязательное поле"
    assert i18n.translate_message(ru, "something new") == "something new"


def test_numbers_dates_and_durations_per_locale():
    tz = dt.timezone(dt.timedelta(hours=3))
    ru = i18n.Formatter(i18n.get("ru_RU"), tz)
    en = i18n.Formatter(i18n.get("en_US"), tz)
    ts = dt.datetime(2026, 3, 9, 14, 5, 7, tzinfo=tz).timestamp()
    assert ru.datetime(ts) == "09.03.2026 14:05:07"
    assert en.datetime(ts) == "2026-03-09 14:05:07"
    assert ru.number(1234567.5, 1) == "1\u202f234\u202f567,5"
    assert en.number(1234567.5, 1) == "1,234,567.5"
    assert ru.percent(0.8125) == "81,2\u00a0%" and en.percent(0.8125) == "81.2%"
    assert en.duration(3725) == "1:02:05" and en.duration(65) == "1:05"
    assert en.number(None) == "–"


class Languages(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()

    def test_browser_language_is_used(self):
        response = self.get("/admin/site", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
        assert "Часовой пояс" in self.text(response)
        response = self.get("/admin/site", headers={"Accept-Language": "en-US"})
        assert "Time zone" in self.text(response)

    def test_switch_is_remembered_for_the_user(self):
        assert self.post("/language", {"locale": "ru_RU", "next": "/admin"}).code == 302
        assert "Настройка устройства" in self.text(self.get("/admin"))
        self.cookies.pop("callbox_locale")  # another browser, same user
        assert "Настройка устройства" in self.text(self.get(
            "/admin", headers={"Accept-Language": "en"}))
        assert self.post("/language", {"locale": "xx_XX"}).code == 400

    def test_login_page_language_switch_without_login(self):
        self.logout()
        response = self.post("/login", {"locale": "ru_RU", "next": "/login"})
        assert response.code == 302
        assert "Войти" in self.text(self.get("/login"))

    def test_form_errors_in_russian(self):
        response = self.post("/admin/phones", {"action": "create", "extension": "0"},
                             headers={"Accept-Language": "ru"})
        assert "от 2 до 6 цифр, не с нуля" in self.text(response)


def test_accept_language_matching():
    assert i18n.from_accept_language("ru") == "ru_RU"
    assert i18n.from_accept_language("de-DE,ru;q=0.5,en;q=0.8") == "en_US"
    assert i18n.from_accept_language("de-DE") == "en_US"
    assert i18n.from_accept_language("ru;q=bogus, en") == "en_US"
    assert i18n.from_accept_language("") == "en_US"
