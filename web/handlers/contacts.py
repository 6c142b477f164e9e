"""The contacts page: known callers with name, company, note and VIP priority.

Supervisors keep it (they know the customers); the screen pop shows what is here when a
known number calls.  Import a CSV from a spreadsheet (all rows or none, bad rows named),
export one back.  Errors are shown next to the field; nothing is saved when any is bad.
"""

from __future__ import annotations

import functools

import tornado.web

from appliance.admin import ValidationError
from appliance.contacts import Contacts, RowsRefused

from .base import BaseHandler

PAGE = 100
FIELDS = ("number", "name", "company", "note", "priority")
MAX_CSV_BYTES = 4 * 2**20


class ContactsBase(BaseHandler):
    role = "supervisor"

    @functools.cached_property
    def contacts(self) -> Contacts:
        return Contacts(self.box.store, self.box.bus)


class ContactsHandler(ContactsBase):
    def get(self) -> None:
        values = {}
        edit = self.get_query_argument("edit", "")
        if edit:
            values = self.contacts.get(edit) or {}
            if not values:
                raise tornado.web.HTTPError(404)
            values = {k: str(v) for k, v in values.items()} | {"original": values["number"]}
        self._show(values, {})

    def _show(self, values, errors, message: str = "") -> None:
        query = self.get_query_argument("q", "")
        page = self.get_query_argument("page", "0")
        offset = int(page) * PAGE if page.isdigit() and int(page) < 10_000 else 0
        rows = self.contacts.search(query, limit=PAGE + 1, offset=offset)
        self.render("admin/contacts.html", contacts=rows[:PAGE], more=len(rows) > PAGE,
                    offset=offset, page_size=PAGE, query=query, total=self.contacts.count(),
                    values=values, errors=errors, message=message)

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        if action == "delete":
            if not await self.contacts.delete(self.get_body_argument("number", "")):
                raise tornado.web.HTTPError(404)
            self.redirect(self.reverse_url("contacts"))
            return
        if action == "import":
            await self._import()
            return
        if action != "save":
            raise tornado.web.HTTPError(400)
        values = self.form(*FIELDS, "original")
        try:
            await self.contacts.save(values, original=values["original"])
        except ValidationError as exc:
            self.set_status(400)
            self._show(values, self.errors_of(exc))
            return
        self.redirect(self.reverse_url("contacts"))

    async def _import(self) -> None:
        files = self.request.files.get("file") or []
        try:
            if not files or not files[0].body:
                raise ValidationError({"file": "choose a CSV file"})
            if len(files[0].body) > MAX_CSV_BYTES:
                raise ValidationError({"file": "the file is larger than 4 MB"})
            try:
                text = files[0].body.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError({"file": "save the file as CSV in UTF-8"}) from None
            count = await self.contacts.import_csv(text)
        except RowsRefused as exc:
            self.set_status(400)
            self._show({}, {"file": self._rows_text(exc)})
            return
        except ValidationError as exc:
            self.set_status(400)
            self._show({}, self.errors_of(exc))
            return
        self._show({}, {}, self.locale.translate("%(count)s contacts imported.")
                   % {"count": count})

    def _rows_text(self, exc: RowsRefused) -> str:
        _ = self.locale.translate
        names = {"number": _("Number"), "name": _("Name"), "company": _("Company"),
                 "note": _("Note"), "priority": _("Priority")}
        parts = [_("row %(line)s") % {"line": line} + ": " + ", ".join(
            f"{names.get(field, field)}: {text}"
            for field, text in self.translate_errors(errors).items())
            for line, errors in exc.rows]
        text = _("Nothing was imported.") + " " + "; ".join(parts)
        if exc.total > len(exc.rows):
            text += " " + _("(and %(count)s more rows)") % {"count": exc.total - len(exc.rows)}
        return text


class ContactsExportHandler(ContactsBase):
    async def get(self) -> None:
        text = await self.contacts.export_csv()
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="contacts.csv"')
        self.finish("\ufeff" + text)  # the BOM makes spreadsheets read UTF-8
