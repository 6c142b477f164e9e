"""A handler-test base: the real application on a real socket (port 0) with a FakeBox,
and a tiny browser that keeps cookies and sends the XSRF token like a form would."""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.parse
from http.cookies import SimpleCookie
from typing import Any

from fakebox import FakeBox
from tornado.testing import AsyncHTTPTestCase

from web.app import HTTP_LIMITS, make_app

ADMIN = ("admin", "correct horse battery")


class WebCase(AsyncHTTPTestCase):
    def get_app(self):
        self.tmp = tempfile.mkdtemp(prefix="callbox-web-")
        self.box = FakeBox(self.tmp)
        self.cookies: dict[str, str] = {}
        self.application = make_app(self.box, cookie_secret_path=f"{self.tmp}/cookie-secret")
        return self.application

    def get_httpserver_options(self) -> dict[str, Any]:
        return dict(HTTP_LIMITS)

    def tearDown(self) -> None:
        self.application.close()
        super().tearDown()
        self.box.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the browser -----------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                xsrf: bool = True, headers: dict[str, str] | None = None,
                json_body: Any = None, raw_body: bytes | None = None,
                cookies: bool = True):
        headers = dict(headers or {})
        payload = None
        if method in ("POST", "PUT", "DELETE", "PATCH"):
            if json_body is not None:
                payload = json.dumps(json_body).encode()
                headers.setdefault("Content-Type", "application/json")
            elif raw_body is not None:
                payload = raw_body
            else:
                form = dict(body or {})
                if xsrf:
                    form["_xsrf"] = self.xsrf_token()
                payload = urllib.parse.urlencode(form, doseq=True).encode()
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            if method == "DELETE" and payload == b"":
                payload = None
        if cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.fetch(path, method=method, body=payload, headers=headers,
                              follow_redirects=False, raise_error=False,
                              allow_nonstandard_methods=True)
        for header in response.headers.get_list("Set-Cookie"):
            jar = SimpleCookie()
            jar.load(header)
            for key, morsel in jar.items():
                if morsel.value and "expires=Thu, 01 Jan 1970" not in header:
                    self.cookies[key] = morsel.coded_value
                else:
                    self.cookies.pop(key, None)
        return response

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, body: dict[str, Any] | None = None, **kw):
        return self.request("POST", path, body, **kw)

    def xsrf_token(self) -> str:
        if "_xsrf" not in self.cookies:
            self.get("/login" if self.application.accounts.any_user() else "/setup")
        return urllib.parse.unquote(self.cookies["_xsrf"].strip('"'))

    # -- people ----------------------------------------------------------------------------
    def run_async(self, coro):
        return self.io_loop.run_sync(lambda: coro)

    def setup_admin(self) -> None:
        response = self.post("/setup", {"username": ADMIN[0], "password": ADMIN[1],
                                        "password2": ADMIN[1]})
        assert response.code == 302, response.body

    def make_user(self, username: str, role: str, operator: str = "",
                  password: str = "a long password 1") -> None:
        self.run_async(self.application.accounts.create(username, password, role, operator))

    def login(self, username: str, password: str = "a long password 1"):
        self.cookies.pop("callbox_session", None)
        return self.post("/login", {"username": username, "password": password})

    def logout(self) -> None:
        self.cookies.pop("callbox_session", None)

    def text(self, response) -> str:
        return response.body.decode()
