"""First-run setup over HTTP, as an installer's browser would do it (image-build/test-boot).

It does not know the form's field names: it reads the setup page's form, keeps what the
server put there (the XSRF token), fills the password fields and any empty text field, posts
it with the cookies the page set, and follows the redirect.
"""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

ADMIN_PASSWORD = "Callbox-boot-test-1"


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""),
                               "method": a.get("method", "get").lower(), "fields": []})
        elif not self.forms:
            return
        elif tag in ("input", "textarea") and a.get("name"):
            self.forms[-1]["fields"].append(
                {"name": a["name"], "type": a.get("type", "text").lower(),
                 "value": a.get("value", ""), "checked": "checked" in a})
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "type": "select", "value": None}
            self.forms[-1]["fields"].append(self._select)
        elif tag == "option" and self._select is not None and (
            self._select["value"] is None or "selected" in a
        ):
            self._select["value"] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def fill(form: dict) -> dict[str, str]:
    values: dict[str, str] = {}
    for field in form["fields"]:
        kind, name, value = field["type"], field["name"], field["value"]
        if kind == "password":
            values[name] = ADMIN_PASSWORD
        elif kind in ("checkbox", "radio"):
            if field["checked"]:
                values[name] = value or "on"
        elif kind in ("submit", "button", "reset"):
            continue
        elif kind == "email" and not value:
            values[name] = "installer@callbox.local"
        elif kind in ("text", "textarea") and not value:
            values[name] = "admin"
        else:
            values[name] = value or ""
    return values


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str, timeout: float = 10) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path), timeout)

    def post(self, path: str, values: dict[str, str], timeout: float = 30) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(values).encode()
        return self._open(urllib.request.Request(self.base + path, data=data), timeout)

    def _open(self, request: urllib.request.Request, timeout: float) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.url, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode(errors="replace")


def password_form(html: str) -> dict | None:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if form["method"] == "post" and any(f["type"] == "password" for f in form["fields"]):
            return form
    return None


def complete_setup(browser: Browser) -> dict:
    """Fill and post the setup form; returns what happened, for the report."""
    status, url, html = browser.get("/setup")
    form = password_form(html)
    if status != 200 or form is None:
        return {"ok": False, "error": f"GET /setup gave {status} at {url} without a password form"}
    action = urllib.parse.urljoin(url, form["action"] or url)
    path = urllib.parse.urlsplit(action).path
    values = fill(form)
    post_status, post_url, post_html = browser.post(path, values)
    # Done means: the post was accepted and the setup form is not offered any more.
    again_status, again_url, again_html = browser.get("/setup")
    still_offered = (
        again_status == 200
        and urllib.parse.urlsplit(again_url).path == "/setup"
        and password_form(again_html) is not None
    )
    return {
        "ok": post_status < 400 and not still_offered,
        "fields": sorted(values),
        "post_status": post_status,
        "after_post": urllib.parse.urlsplit(post_url).path,
        "setup_again": f"{again_status} {urllib.parse.urlsplit(again_url).path}",
    }
