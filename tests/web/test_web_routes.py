"""Every route refuses strangers (except the four anonymous corners) and each role
sees exactly the pages it should."""

from __future__ import annotations

import tornado.web
from web_helpers import WebCase

from web.app import ANONYMOUS_ROUTES
from web.handlers.base import BaseHandler


def all_rules(app) -> list[tornado.routing.Rule]:
    return list(app.wildcard_router.rules)


def sample_path(rule) -> str:
    """A path the rule really matches (so its handler, not the 404, answers)."""
    groups = rule.matcher.regex.groups
    for candidate in ("1", "state", "x.css", "app.css"):
        path = rule.matcher.reverse(*([candidate] * groups))
        if path is not None and rule.matcher.regex.match(path):
            return path
    raise AssertionError(f"no sample path for {rule.matcher.regex.pattern}")


def is_anonymous(rule) -> bool:
    if rule.name in ANONYMOUS_ROUTES:
        return True
    return issubclass(rule.target, tornado.web.StaticFileHandler)


class Anonymous(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.logout()

    def test_no_route_hides_outside_the_wildcard_router(self):
        rules = self.application.default_router.rules
        assert len(rules) == 1 and rules[0].target is self.application.wildcard_router

    def test_routes_are_enumerated(self):
        names = {r.name for r in all_rules(self.application)}
        # the list below is what the test covers; a new route shows up in the loop below
        assert {"login", "setup", "provision", "calls", "api_calls", "live"} <= names
        assert any(issubclass(r.target, tornado.web.StaticFileHandler)
                   for r in all_rules(self.application))

    def test_every_route_but_the_anonymous_ones_refuses_a_stranger(self):
        checked = 0
        for rule in all_rules(self.application):
            if is_anonymous(rule):
                continue
            assert issubclass(rule.target, BaseHandler), rule.target
            assert rule.target.role is not None, rule.name
            path = sample_path(rule)
            for method in ("GET", "POST", "PUT", "DELETE"):
                response = self.request(method, path, {})
                assert response.code in (302, 401, 403, 405), (method, path, response.code)
                if response.code == 302:
                    assert response.headers["Location"].startswith("/login"), path
                assert b"Call from" not in (response.body or b"")
            checked += 1
        assert checked >= 30

    def test_only_the_four_corners_answer_strangers(self):
        assert self.get("/login").code == 200
        assert self.get("/static/app.css").code == 200
        assert self.get("/provision/001565aabbcc.cfg").code == 404  # unknown MAC
        assert self.get("/setup").code == 404  # already set up

    def test_websocket_refuses_a_stranger(self):
        response = self.get("/live?view=wallboard",
                            headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                     "Sec-WebSocket-Version": "13"})
        assert response.code in (302, 403)


PAGES = {  # path -> least role
    "/panel": "operator", "/account": "operator",
    "/wallboard": "supervisor", "/calls": "supervisor", "/reports": "supervisor",
    "/calls/export.csv": "supervisor",
    "/admin": "admin", "/admin/site": "admin", "/admin/hardware": "admin",
    "/admin/lines": "admin", "/admin/phones": "admin", "/admin/operators": "admin",
    "/admin/queues": "admin", "/admin/hours": "admin", "/admin/users": "admin",
    "/admin/flows": "admin", "/admin/voicemail": "supervisor",
}
RANK = {"operator": 1, "supervisor": 2, "admin": 3}


class Roles(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.run_async(self.box.admin.save_operator("Olga", "101", "11"))
        self.make_user("olga", "operator", operator="Olga")
        self.make_user("sam", "supervisor")

    def test_each_role_sees_its_pages_and_no_others(self):
        for username, role in (("olga", "operator"), ("sam", "supervisor"),
                               ("admin", "admin")):
            if username == "admin":
                self.login("admin", "correct horse battery")
            else:
                self.login(username)
            for path, needed in PAGES.items():
                if path == "/panel" and username in ("sam", "admin"):
                    continue  # without an operator of one's own there is no own panel
                response = self.get(path)
                expected = 200 if RANK[role] >= RANK[needed] else 403
                assert response.code == expected, (username, path, response.code)

    def test_operator_cannot_use_admin_forms(self):
        self.login("olga")
        response = self.post("/admin/queues", {"action": "save", "name": "sneaky"})
        assert response.code == 403
        assert self.box.admin.queues() == []

    def test_supervisor_without_operator_has_no_panel(self):
        self.login("sam")
        assert self.get("/panel").code == 403
        assert self.get("/panel?operator=Olga").code == 200  # but may look at Olga's

    def test_operator_cannot_look_at_another_panel(self):
        self.run_async(self.box.admin.save_operator("Petr", "102", "12"))
        self.login("olga")
        response = self.get("/panel?operator=Petr")
        heading = self.text(response).split("<h1>")[1].split("</h1>")[0]
        assert response.code == 200 and "Olga" in heading and "Petr" not in heading
