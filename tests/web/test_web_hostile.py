"""Hostile input: oversized bodies, garbage arguments, escaping everywhere."""

from __future__ import annotations

import asyncio

from tornado.testing import gen_test
from web_helpers import ADMIN, WebCase

from web.app import MAX_BODY

XSS = '"><script>alert(1)</script>'


class Hostile(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()

    def test_oversized_body_is_refused_before_the_handler(self):
        big = b"a=" + b"x" * (MAX_BODY + 10)
        response = self.request("POST", "/admin/site", raw_body=big,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.code in (400, 413, 599)
        assert self.box.store.setting("site_name") is None
        # the server keeps serving
        assert self.get("/admin").code == 200

    def test_oversized_multipart_upload_is_refused(self):
        boundary = "xyz"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"big.csv\"\r\n\r\n").encode() + b"x" * (2 * MAX_BODY) + (
                f"\r\n--{boundary}--\r\n").encode()
        response = self.request(
            "POST", "/admin/site", raw_body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert response.code in (400, 413, 599)
        assert self.get("/admin").code == 200

    @gen_test
    async def test_oversized_declared_length_is_refused(self):
        # 50 MB announced, none sent: the server must answer or hang up at once,
        # not wait to buffer it
        reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
        writer.write(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), 5)
        writer.close()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4")

    def test_garbage_ids_are_400_not_500(self):
        assert self.post("/admin/users", {"action": "unlock", "id": "abc"}).code == 400
        assert self.post("/account", {"action": "revoke", "id": "abc"}).code == 400
        assert self.post("/admin/users", {"action": "what"}).code == 400
        assert self.get("/calls?after=garbage&before=%00").code == 200

    def test_xss_in_caller_name_and_sms_escaped_on_every_page(self):
        self.run_async(self.box.admin.save_operator("Olga", "101", "11"))
        call_id = self.box.simulate_incoming("+79160000001", XSS, "", data={"x": XSS})
        self.box.store.writer.execute(
            "INSERT INTO contacts(number, name, note) VALUES ('+79160000001', ?, ?)",
            (XSS, XSS)).result(5)
        for path in ("/calls", f"/calls/{call_id}", "/reports", "/wallboard"):
            text = self.text(self.get(path))
            assert "<script>alert(1)" not in text, path
        self.box.simulate_offer(call_id, "Olga")
        text = self.text(self.get("/panel?operator=Olga"))
        assert "<script>alert(1)" not in text and "&lt;script&gt;" in text

    def test_error_pages_show_no_traceback(self):
        response = self.get("/calls/" + "x" * 300)
        assert response.code == 404 and b"Traceback" not in response.body
        response = self.get("/no/such/page")
        assert response.code == 404 and b"Traceback" not in response.body

    def test_login_throttle_per_address(self):
        self.logout()
        self.application.login_throttle.limit = 3
        for _ in range(3):
            self.login("nobody", "x" * 12)
        response = self.login(*ADMIN)
        assert response.code == 429
