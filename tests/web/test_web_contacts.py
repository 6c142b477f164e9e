"""The contacts page: known callers kept by supervisors, shown on the operator's screen
pop; a bad form value or a bad CSV row is named and nothing is saved."""

from __future__ import annotations

import csv
import io
import uuid

from tornado.escape import xhtml_escape
from web_helpers import WebCase

from appliance.contacts import Contacts

XSS = '<script>alert("x")</script>'


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                     f"\r\n\r\n{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                 + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class ContactsPage(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.contacts = Contacts(self.box.store)

    def save(self, **values):
        form = {"action": "save", "number": "", "name": "", "company": "", "note": "",
                "priority": "0", "original": ""} | values
        return self.post("/contacts", form)

    def upload(self, content: bytes):
        body, content_type = multipart({"action": "import", "_xsrf": self.xsrf_token()},
                                       "contacts.csv", content)
        return self.request("POST", "/contacts", raw_body=body,
                            headers={"Content-Type": content_type})

    def test_a_contact_typed_with_spaces_is_stored_as_caller_id_shows_the_number(self):
        response = self.save(number="+7 (916) 111-22-33", name="Irina Petrova",
                             company="Romashka", note="contract 42", priority="3")
        assert response.code == 302
        row = self.contacts.get("+79161112233")
        assert row == {"number": "+79161112233", "name": "Irina Petrova",
                       "company": "Romashka", "note": "contract 42", "priority": 3}
        page = self.text(self.get("/contacts"))
        assert "Irina Petrova" in page and "VIP 3" in page

    def test_bad_values_are_named_next_to_their_fields_and_nothing_is_saved(self):
        response = self.save(number="call me", name="", priority="12")
        assert response.code == 400
        page = self.text(response)
        assert 'id="error-number"' in page and 'id="error-priority"' in page
        assert self.contacts.count() == 0

    def test_changing_the_number_moves_the_contact_and_a_taken_number_is_refused(self):
        self.save(number="+79160000001", name="Anna")
        self.save(number="+79160000002", name="Boris")
        response = self.save(number="+79160000002", name="Anna", original="+79160000001")
        assert response.code == 400 and "already has this number" in self.text(response)
        assert self.save(number="+79160000003", name="Anna K",
                         original="+79160000001").code == 302
        assert self.contacts.get("+79160000001") is None
        assert self.contacts.get("+79160000003")["name"] == "Anna K"

    def test_import_updates_and_adds_and_export_reads_back(self):
        self.save(number="+79160000001", name="Old name")
        content = ("\ufeffnumber;name;company;note;priority\n"
                   "+7 916 000-00-01;New name;;;0\n"
                   "+79160000002;Boris;Vector;\"likes, commas\";9\n").encode()
        response = self.upload(content)
        assert response.code == 200 and "2 contacts imported" in self.text(response)
        assert self.contacts.get("+79160000001")["name"] == "New name"
        assert self.contacts.get("+79160000002")["priority"] == 9
        exported = self.text(self.get("/contacts/export.csv")).lstrip("\ufeff")
        rows = list(csv.DictReader(io.StringIO(exported)))
        assert {r["name"] for r in rows} == {"New name", "Boris"}
        assert self.upload(exported.encode()).code == 200  # our own export imports again
        assert self.contacts.get("+79160000002")["note"] == "likes, commas"

    def test_an_import_with_a_bad_row_names_it_and_imports_nothing(self):
        content = b"number,name,priority\n+79160000001,Anna,1\nabc,Boris,2\n+79160000003,,99\n"
        response = self.upload(content)
        assert response.code == 400
        page = self.text(response)
        assert "row 3" in page and "row 4" in page and "Nothing was imported" in page
        assert self.contacts.count() == 0

    def test_a_file_that_is_not_a_contacts_csv_is_refused_in_words(self):
        for content in (b"\xff\xfe\x00garbage", b"just,some,columns\n1,2,3\n", b""):
            response = self.upload(content)
            assert response.code == 400, content
            assert 'id="error-file"' in self.text(response)
        assert self.contacts.count() == 0

    def test_markup_in_a_name_is_shown_as_text(self):
        self.save(number="+79160000009", name=XSS, note=XSS)
        page = self.text(self.get("/contacts"))
        assert XSS not in page and xhtml_escape(XSS) in page

    def test_a_formula_in_a_cell_does_not_run_in_a_spreadsheet(self):
        self.save(number="+79160000009", name="=HYPERLINK(\"http://x\")")
        exported = self.text(self.get("/contacts/export.csv"))
        assert "'=HYPERLINK" in exported and "'+79160000009" in exported

    def test_search_finds_by_name_number_and_company(self):
        self.save(number="+79160000001", name="Anna", company="Romashka")
        self.save(number="+79160000002", name="Boris", company="Vector")
        assert "Boris" not in self.text(self.get("/contacts?q=Roma"))
        assert "Anna" in self.text(self.get("/contacts?q=0001"))
        # a % typed in the search box is a character, not a wildcard
        assert "Anna" not in self.text(self.get("/contacts?q=%25"))

    def test_operators_cannot_see_or_change_contacts_and_anonymous_is_sent_to_login(self):
        self.make_user("op", "operator")
        self.logout()
        assert self.get("/contacts").code in (302, 403)
        self.login("op")
        assert self.get("/contacts").code == 403
        assert self.save(number="+79160000001", name="Anna").code == 403
        assert self.contacts.count() == 0

    def test_russian_page(self):
        assert self.post("/language", {"locale": "ru_RU", "next": "/contacts"}).code == 302
        page = self.text(self.get("/contacts"))
        assert "Контакты" in page and "Добавить контакт" in page
