"""Accounts and security: first-run setup, login, sessions, XSRF, lockout, roles."""

from __future__ import annotations

from web_helpers import ADMIN, WebCase

from web.accounts import MAX_FAILED


class FirstRun(WebCase):
    def test_every_page_leads_to_setup_while_no_user_exists(self):
        for path in ("/", "/admin", "/calls", "/login"):
            response = self.get(path)
            assert response.code == 302
            assert response.headers["Location"] == "/setup"

    def test_setup_creates_the_admin_and_then_is_gone(self):
        assert self.get("/setup").code == 200
        self.setup_admin()
        assert self.get("/admin").code == 200  # logged in by the setup itself
        assert self.get("/setup").code == 404
        response = self.post("/setup", {"username": "evil", "password": "x" * 20,
                                        "password2": "x" * 20})
        assert response.code == 404
        assert [u["username"] for u in self.application.accounts.users()] == ["admin"]

    def test_setup_rejects_a_short_password_next_to_the_field(self):
        response = self.post("/setup", {"username": "admin", "password": "short",
                                        "password2": "short"})
        assert response.code == 400
        assert 'id="error-password"' in self.text(response)
        assert not self.application.accounts.any_user()

    def test_setup_rejects_two_different_passwords(self):
        response = self.post("/setup", {"username": "admin", "password": "x" * 12,
                                        "password2": "y" * 12})
        assert response.code == 400
        assert 'id="error-password2"' in self.text(response)
        assert not self.application.accounts.any_user()

    def test_two_first_visits_at_once_make_one_admin(self):
        import asyncio

        from appliance.admin import ValidationError

        accounts = self.application.accounts

        async def both():
            return await asyncio.gather(
                accounts.create_first_admin("alice", "alice's long password"),
                accounts.create_first_admin("mallory", "mallory's long password"),
                return_exceptions=True)

        results = self.run_async(both())
        assert sum(isinstance(r, ValidationError) for r in results) == 1
        assert len(accounts.users()) == 1

    def test_stored_hash_is_scrypt_not_the_password(self):
        self.setup_admin()
        row = self.box.store.query("SELECT password_hash FROM users")[0]
        assert row["password_hash"].startswith("scrypt$")
        assert ADMIN[1] not in row["password_hash"]


class Login(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.logout()

    def test_login_then_logout(self):
        response = self.login(*ADMIN)
        assert response.code == 302 and response.headers["Location"] == "/admin"
        assert self.get("/admin").code == 200
        assert self.post("/logout").code == 302
        assert self.get("/admin").code == 302

    def test_wrong_password_is_refused(self):
        response = self.login(ADMIN[0], "not the password")
        assert response.code == 403
        assert "callbox_session" not in self.cookies

    def test_tenth_wrong_password_locks_even_the_right_one(self):
        for attempt in range(1, MAX_FAILED + 1):
            response = self.login(ADMIN[0], f"wrong {attempt}")
            assert response.code == 403
            locked = 'id="login-error"' in self.text(response) and (
                "locked" in self.text(response))
            assert locked == (attempt == MAX_FAILED), attempt
        response = self.login(*ADMIN)
        assert response.code == 403 and "locked" in self.text(response)
        assert "callbox_session" not in self.cookies

    def test_a_right_password_resets_the_count(self):
        for attempt in range(MAX_FAILED - 1):
            self.login(ADMIN[0], f"wrong {attempt}")
        assert self.login(*ADMIN).code == 302
        assert self.login(ADMIN[0], "wrong again").code == 403
        assert self.login(*ADMIN).code == 302  # one failure since the reset: not locked

    def test_admin_unlocks_a_locked_account(self):
        self.make_user("sue", "supervisor")
        for attempt in range(MAX_FAILED):
            self.login("sue", f"wrong {attempt}")
        assert self.login("sue").code == 403
        self.login(*ADMIN)
        sue = next(u for u in self.application.accounts.users() if u["username"] == "sue")
        assert self.post("/admin/users", {"action": "unlock", "id": sue["id"]}).code == 302
        assert self.login("sue").code == 302

    def test_unknown_user_gets_the_same_answer(self):
        response = self.login("nobody", "whatever it is")
        assert response.code == 403
        assert "Wrong username or password" in self.text(response)

    def test_post_without_xsrf_token_is_refused(self):
        response = self.post("/login", {"username": ADMIN[0], "password": ADMIN[1]},
                             xsrf=False)
        assert response.code == 403
        self.login(*ADMIN)
        before = self.box.store.setting("site_name")
        response = self.post("/admin/site", {"site_name": "Hacked", "timezone": "UTC",
                                             "language": "en_US", "dispositions": "x"},
                             xsrf=False)
        assert response.code == 403
        assert self.box.store.setting("site_name") == before

    def test_forged_session_cookie_is_ignored(self):
        self.cookies["callbox_session"] = "1:abc:99999999999"
        assert self.get("/admin").code == 302

    def test_password_change_ends_other_sessions(self):
        self.login(*ADMIN)
        old_session = self.cookies["callbox_session"]
        response = self.post("/account", {"action": "password", "current": ADMIN[1],
                                          "password": "a brand new password"})
        assert response.code == 200
        assert self.get("/admin").code == 200  # this browser got a fresh session
        self.cookies["callbox_session"] = old_session
        assert self.get("/admin").code == 302

    def test_next_parameter_only_goes_to_local_paths(self):
        response = self.post("/login", {"username": ADMIN[0], "password": ADMIN[1],
                                        "next": "//evil.example/"})
        assert response.code == 302 and response.headers["Location"] == "/admin"

    def test_session_cookie_is_httponly(self):
        self.login(*ADMIN)
        response = self.login(*ADMIN)
        header = next(h for h in response.headers.get_list("Set-Cookie")
                      if h.startswith("callbox_session"))
        assert "httponly" in header.lower()


class Sessions(WebCase):
    def test_a_session_older_than_a_working_day_is_refused(self):
        import time

        import tornado.web

        from web.handlers.base import SESSION_COOKIE, SESSION_SECONDS

        self.setup_admin()
        user = self.application.accounts.user_by_name("admin")
        secret = self.application.settings["cookie_secret"]
        for age, expected in ((60, 200), (SESSION_SECONDS + 60, 302)):
            value = f"{user.id}:{user.stamp}:{time.time() - age:.0f}"
            self.cookies[SESSION_COOKIE] = tornado.web.create_signed_value(
                secret, SESSION_COOKIE, value).decode()
            assert self.get("/admin").code == expected, age

    def test_cookie_secret_is_kept_in_a_private_file(self):
        import os
        import stat

        from web.app import load_cookie_secret

        path = f"{self.tmp}/cookie-secret"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert load_cookie_secret(path) == self.application.settings["cookie_secret"]

    def test_listen_applies_the_body_limits(self):
        from web.app import MAX_BODY

        server = self.application.listen(0, "127.0.0.1")
        try:
            assert server.conn_params.max_body_size == MAX_BODY
        finally:
            server.stop()
