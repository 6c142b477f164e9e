"""Call log: filters, keyset paging both ways, the call's timeline, CSV export."""

from __future__ import annotations

import csv
import io
import re
import sqlite3

from fakebox import flow_call_data
from web_helpers import ADMIN, WebCase

from appliance import calllog

DAY = 86400.0
BASE = 1_780_000_000.0  # 2026-05-28, a fixed instant so the test is the same every day


def insert_calls(box, count: int) -> list[dict]:
    rows = []
    for i in range(count):
        rows.append({
            "id": f"c{i:05d}", "linked_id": f"c{i:05d}", "direction": "inbound",
            "caller_number": f"+7916{i % 7:07d}", "caller_name": "",
            "queue": ("sales", "support")[i % 2], "operator": ("Olga", "Petr", "")[i % 3],
            # two calls share each second: the key must break the tie by id
            "started_at": BASE + (i // 2), "disposition": ("sale", "")[i % 2],
        })
    box.store.writer.submit(lambda c: c.executemany(
        "INSERT INTO calls(id, linked_id, direction, caller_number, caller_name, queue, "
        "operator, started_at, disposition) VALUES (:id, :linked_id, :direction, "
        ":caller_number, :caller_name, :queue, :operator, :started_at, :disposition)",
        rows)).result(10)
    return rows


def newest_first(rows):
    return [r["id"] for r in sorted(rows, key=lambda r: (r["started_at"], r["id"]),
                                    reverse=True)]


def test_keyset_pages_cover_every_row_once_in_both_directions(tmp_path):
    from fakebox import FakeBox

    box = FakeBox(tmp_path)
    try:
        rows = insert_calls(box, 123)
        conn = sqlite3.connect(box.store.path)
        flt = calllog.CallFilter()
        seen, pages, after = [], [], None
        while True:
            page = calllog.search(conn, flt, after=after, limit=10)
            pages.append(page)
            seen += [r["id"] for r in page.rows]
            if page.older is None:
                break
            after = page.older
        assert seen == newest_first(rows)
        assert len(pages) == 13 and pages[0].newer is None
        back = calllog.search(conn, flt, before=pages[3].newer, limit=10)
        assert [r["id"] for r in back.rows] == [r["id"] for r in pages[2].rows]
        first = calllog.search(conn, flt, before=pages[1].newer, limit=10)
        assert first.newer is None  # back at the newest page
    finally:
        box.close()


class CallLogPages(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.rows = insert_calls(self.box, 120)

    def ids_on(self, response) -> list[str]:
        return re.findall(r'href="/calls/(c\d+)"', self.text(response))

    def test_following_older_links_walks_all_calls(self):
        seen, path = [], "/calls"
        while path:
            response = self.get(path)
            assert response.code == 200
            seen += self.ids_on(response)
            match = re.search(r'href="(/calls\?[^"]*after=[^"]+)" id="older"',
                              self.text(response))
            path = match[1].replace("&amp;", "&") if match else None
        assert seen == newest_first(self.rows)

    def test_filters(self):
        response = self.get("/calls?queue=sales&operator=Olga")
        expected = [r["id"] for r in self.rows if r["queue"] == "sales"
                    and r["operator"] == "Olga"]
        assert sorted(self.ids_on(response)) == sorted(expected)
        response = self.get("/calls?number=%2B79160000003")
        assert set(self.ids_on(response)) == {r["id"] for r in self.rows
                                             if r["caller_number"] == "+79160000003"}
        response = self.get("/calls?disposition=sale&from=2026-05-28&to=2026-05-28")
        assert set(self.ids_on(response)) <= {r["id"] for r in self.rows
                                              if r["disposition"] == "sale"}
        assert self.get("/calls?from=yesterday").code == 200  # message, not a 500

    def test_call_page_shows_the_timeline(self):
        call_id = self.box.simulate_incoming("+79165550000", "Anna", "sales")
        self.box.simulate_answer(call_id, "Olga", wait=7)
        self.box.simulate_end(call_id, talk=30)
        text = self.text(self.get(f"/calls/{call_id}"))
        assert text.index("ENTERQUEUE") < text.index("CONNECT") < text.index("COMPLETECALLER")
        assert 'id="caller-entered"' not in text  # the caller entered nothing
        assert self.get("/calls/nope").code == 404

    def test_call_page_shows_what_the_caller_chose_and_entered(self):
        call_id = self.box.simulate_incoming("+79165550001", "", "support",
                                             data=flow_call_data("4111111111111111", True))
        text = self.text(self.get(f"/calls/{call_id}"))
        entered = text[text.index('id="caller-entered"'):]
        entered = entered[:entered.index("</ul>")]
        assert entered.index("Support: 2") < entered.index("Account: ••••")
        assert "4111111111111111" not in text  # a sensitive number stays masked
        for internal in ("presentation", "flow_name", "collected", "version"):
            assert internal not in entered

    def test_csv_export_has_every_matching_call(self):
        response = self.get("/calls/export.csv?queue=support")
        assert response.code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
        expected = [r for r in newest_first(self.rows) if int(r[1:]) % 2 == 1]
        assert [row["id"] for row in table] == expected

    def test_csv_export_defuses_formulas(self):
        self.box.simulate_incoming("+79160000009", '=HYPERLINK("http://evil")', "sales")
        response = self.get("/calls/export.csv?number=%2B79160000009")
        table = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
        assert table[0]["caller_name"].startswith("'=")
        assert table[0]["caller_number"] == "+79160000009"  # a number stays a number

    def test_export_streams_in_chunks(self):
        # more rows than one export chunk: the answer must still hold them all
        more = calllog.EXPORT_CHUNK + 50
        self.box.store.writer.submit(lambda c: c.executemany(
            "INSERT INTO calls(id, linked_id, direction, started_at) VALUES (?, ?, 'inbound', ?)",
            [(f"x{i:06d}", f"x{i:06d}", BASE - 10 - i) for i in range(more)])).result(10)
        response = self.get("/calls/export.csv")
        lines = response.body.decode("utf-8-sig").strip().splitlines()
        assert len(lines) == 1 + 120 + more


class Abandoned(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.make_user("sam", "supervisor")
        self.login("sam")

    def test_abandoned_call_gets_a_callback_in_one_click(self):
        call_id = self.box.simulate_incoming("+79167770000", "Gone", "sales")
        self.box.simulate_end(call_id)
        text = self.text(self.get("/reports"))
        assert "+79167770000" in text and 'action="/reports/callback"' in text
        response = self.post("/reports/callback", {"call_id": call_id, "back": "/reports"})
        assert response.code == 302 and response.headers["Location"].startswith("/reports")
        rows = self.box.store.query("SELECT number, queue, call_id, status FROM callbacks")
        assert rows == [{"number": "+79167770000", "queue": "sales", "call_id": call_id,
                         "status": "waiting"}]
        assert "callback listed" in self.text(self.get("/reports"))

    def test_reports_per_group_with_svg_charts(self):
        for group in ("queue", "operator", "hour"):
            call_id = self.box.simulate_incoming("+79160001111", "", "sales")
            self.box.simulate_answer(call_id, "Olga", wait=3)
            self.box.simulate_end(call_id, talk=20)
            response = self.get(f"/reports?group={group}")
            assert response.code == 200
            text = self.text(response)
            assert "<svg" in text and 'id="report-table"' in text
        self.logout()
        self.login(*ADMIN)
        assert self.get("/reports?group=nonsense").code == 200  # falls back to queue


def test_export_times_are_local_across_a_dst_change(tmp_path):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from fakebox import FakeBox

    box = FakeBox(tmp_path)
    try:
        before = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC).timestamp()
        after = dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.UTC).timestamp()
        box.store.writer.submit(lambda c: c.executemany(
            "INSERT INTO calls(id, linked_id, direction, started_at) VALUES (?, ?, 'inbound', ?)",
            [("a", "a", before), ("b", "b", after)])).result(5)
        conn = sqlite3.connect(box.store.path)
        berlin = ZoneInfo("Europe/Berlin")
        column = calllog.COLUMNS.index("started_at")
        for chunk in (1, 2):  # one row per chunk (fast path) and both in one (DST inside)
            times, after_cursor = [], None
            while True:
                rows, after_cursor = calllog.export_chunk(conn, calllog.CallFilter(),
                                                          after_cursor, berlin, chunk)
                times += [line.split(",")[column] for line in rows.splitlines()]
                if after_cursor is None:
                    break
            assert times == ["2026-03-29T04:30:00+02:00", "2026-03-29T01:30:00+01:00"]
    finally:
        box.close()


class OpenPeriods(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.rows = insert_calls(self.box, 6)  # 2026-05-28, 3 seconds apart in pairs
        self.box.store.writer.submit(lambda c: c.executemany(
            "INSERT INTO calls(id, linked_id, direction, started_at) VALUES (?, ?, 'inbound', ?)",
            [("early", "early", BASE - 5 * DAY), ("late", "late", BASE + 5 * DAY)])).result(5)

    def ids(self, query: str) -> set[str]:
        return set(re.findall(r'href="/calls/([a-z0-9]+)"', self.text(self.get("/calls" + query))))

    def test_from_alone_is_that_day_onward_and_to_alone_up_to_it(self):
        day = "2026-05-28"
        assert self.ids(f"?from={day}") == {r["id"] for r in self.rows} | {"late"}
        assert self.ids(f"?to={day}") == {r["id"] for r in self.rows} | {"early"}
        assert self.ids(f"?from={day}&to={day}") == {r["id"] for r in self.rows}
