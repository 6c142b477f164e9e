"""Login, logout, first-run setup, language, the user's own account and API tokens."""

from __future__ import annotations

import tornado.web

from appliance.admin import ValidationError

from .. import i18n
from ..accounts import LoginRefused
from .base import LOCALE_COOKIE, SESSION_COOKIE, BaseHandler

LOCKED = ("This account is locked after too many wrong passwords. "
          "Try again after %(time)s or ask an administrator to unlock it.")


def _safe_next(target: str) -> str:
    # Only local paths: "next" must not send a fresh session to another site.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def home_for(user) -> str:
    if user.role == "operator":
        return "/panel"
    if user.role == "supervisor":
        return "/wallboard"
    return "/admin"


class SetupHandler(BaseHandler):
    """The first visit sets the administrator's password; gone once any user exists."""

    role = None

    def prepare(self) -> None:
        if self.accounts.any_user():
            raise tornado.web.HTTPError(404)

    def get(self) -> None:
        self.render("setup.html", errors={}, values={"username": "admin"})

    async def post(self) -> None:
        values = self.form("username")
        password = self.get_body_argument("password", "")
        errors: dict[str, str] = {}
        if password != self.get_body_argument("password2", ""):
            errors["password2"] = self.locale.translate("the two passwords differ")
        else:
            try:
                user = await self.accounts.create_first_admin(values["username"], password)
            except ValidationError as exc:
                errors = self.errors_of(exc)
        if errors:
            self.set_status(400)
            self.render("setup.html", errors=errors, values=values)
            return
        self.start_session(user)
        self.redirect("/admin/wizard")


class LoginHandler(BaseHandler):
    role = None

    def get(self) -> None:
        if not self.accounts.any_user():
            self.redirect(self.reverse_url("setup"))
            return
        self.render("login.html", error="", username="",
                    next=_safe_next(self.get_argument("next", "/")))

    async def post(self) -> None:
        code = self.get_body_argument("locale", "")
        if code:  # the language picker on the login page
            if code in i18n.LANGUAGES:
                self.set_cookie(LOCALE_COOKIE, code, expires_days=365, samesite="Lax")
            self.redirect(_safe_next(self.get_body_argument("next", "/login")))
            return
        username = self.get_body_argument("username", "").strip()
        password = self.get_body_argument("password", "")
        target = _safe_next(self.get_body_argument("next", "/"))
        _ = self.locale.translate
        if not self.application.login_throttle.allow(self.request.remote_ip):
            self.set_status(429)
            self.render("login.html", username=username, next=target,
                        error=_("Too many attempts from this address; wait a few minutes."))
            return
        try:
            user = await self.accounts.login(username, password)
        except LoginRefused as exc:
            if exc.reason == "locked":
                error = _(LOCKED) % {"time": self.fmt.time(exc.locked_until)}
            else:
                error = _("Wrong username or password.")
            self.set_status(403)
            self.render("login.html", error=error, username=username, next=target)
            return
        self.start_session(user)
        self.redirect(target if target != "/" else home_for(user))


class LogoutHandler(BaseHandler):
    role = "operator"

    def post(self) -> None:
        self.clear_cookie(SESSION_COOKIE)
        self.redirect(self.get_login_url())


class HomeHandler(BaseHandler):
    role = "operator"

    def get(self) -> None:
        self.redirect(home_for(self.current_user))


class LanguageHandler(BaseHandler):
    """Switch language: a cookie for this browser, and the user's setting when logged in."""

    role = "operator"

    async def post(self) -> None:
        code = self.get_body_argument("locale", "")
        if code not in i18n.LANGUAGES:
            raise tornado.web.HTTPError(400)
        self.set_cookie(LOCALE_COOKIE, code, expires_days=365, samesite="Lax")
        await self.accounts.set_locale(self.current_user.id, code)
        self.redirect(_safe_next(self.get_body_argument("next", "/")))


class AccountHandler(BaseHandler):
    """Own password and API tokens."""

    role = "operator"

    def get(self) -> None:
        self._show()

    def _show(self, errors=None, new_token: str = "", message: str = "") -> None:
        user = self.current_user
        self.render("account.html", errors=errors or {}, new_token=new_token, message=message,
                    tokens=self.accounts.tokens(user.id))

    async def post(self) -> None:
        action = self.get_body_argument("action", "")
        user = self.current_user
        _ = self.locale.translate
        try:
            if action == "password":
                current = self.get_body_argument("current", "")
                try:
                    await self.accounts.login(user.username, current)
                except LoginRefused as exc:
                    raise ValidationError({"current": "wrong password"}) from exc
                await self.accounts.set_password(user.id, self.get_body_argument("password", ""))
                self.start_session(self.accounts.get(user.id))
                self._show(message=_("Password changed."))
            elif action == "token":
                token = await self.accounts.create_token(user.id,
                                                         self.get_body_argument("name", ""))
                self._show(new_token=token)
            elif action == "revoke":
                await self.accounts.revoke_token(user.id, int(self.get_body_argument("id")))
                self.redirect("/account")
            else:
                raise tornado.web.HTTPError(400)
        except ValidationError as exc:
            self.set_status(400)
            self._show(errors=self.errors_of(exc))
        except ValueError as exc:
            raise tornado.web.HTTPError(400) from exc
