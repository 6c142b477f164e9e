"""The base handler: who is asking, in which language, and may they.

Each handler class states ``role``: the least role it needs (``operator`` <
``supervisor`` < ``admin``), or ``None`` for the four anonymous corners (login, first-run
setup, static files, phone provisioning).  ``prepare`` enforces it before any method
runs, so a handler that forgets nothing cannot leak anything.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import tornado.escape
import tornado.locale
import tornado.web

from appliance.admin import ValidationError

from .. import i18n
from ..accounts import Accounts, User

log = logging.getLogger(__name__)

SESSION_COOKIE = "callbox_session"
LOCALE_COOKIE = "callbox_locale"
SESSION_DAYS = 1          # the signature's own limit
SESSION_SECONDS = 12 * 3600  # a working day; then log in again


# Only our own script may run: an injected <script> or on* attribute does nothing even if
# escaping ever failed.  Inline style attributes are allowed (layout only).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' "
                           "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                           "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


class BaseHandler(tornado.web.RequestHandler):
    role: str | None = "admin"   # deny by default: a new handler must say who may use it

    # Debian bookworm's python3-tornado (the image) is 6.2, where signed cookies are still
    # called "secure"; 6.3 renamed them and kept the old names as aliases.
    def _get_signed(self, name: str, **kwargs):
        getter = getattr(self, "get_signed_cookie", None) or self.get_secure_cookie
        return getter(name, **kwargs)

    def _set_signed(self, name: str, value: str, **kwargs) -> None:
        setter = getattr(self, "set_signed_cookie", None) or self.set_secure_cookie
        setter(name, value, **kwargs)

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "same-origin")

    @property
    def box(self) -> Any:
        return self.application.box

    @property
    def accounts(self) -> Accounts:
        return self.application.accounts

    # -- who -------------------------------------------------------------------------------
    def get_current_user(self) -> User | None:
        raw = self._get_signed(SESSION_COOKIE, max_age_days=SESSION_DAYS)
        if not raw:
            return None
        try:
            user_id, stamp, issued = raw.decode().split(":")
            if time.time() - float(issued) > SESSION_SECONDS:
                return None
            user = self.accounts.get(int(user_id))
        except ValueError:
            return None
        if user is None or user.stamp != stamp:  # deleted, or password changed since
            return None
        return user

    def start_session(self, user: User) -> None:
        self._set_signed(SESSION_COOKIE, f"{user.id}:{user.stamp}:{time.time():.0f}",
                               expires_days=SESSION_DAYS, httponly=True, samesite="Lax")

    def prepare(self) -> None:
        if self.role is None:
            return
        if not self.accounts.any_user():
            if self.request.method in ("GET", "HEAD"):
                self.redirect(self.reverse_url("setup"))
                return
            raise tornado.web.HTTPError(403)
        user = self.current_user
        if user is None:
            if self.request.method in ("GET", "HEAD") and not self._wants_json():
                self.redirect(self.get_login_url() + "?next=" +
                              tornado.escape.url_escape(self.request.uri))
                return
            raise tornado.web.HTTPError(403)
        if not user.can(self.role):
            raise tornado.web.HTTPError(403)

    def _wants_json(self) -> bool:
        return self.request.path.startswith("/api/")

    # -- language --------------------------------------------------------------------------
    def get_user_locale(self) -> tornado.locale.Locale | None:
        code = self.get_cookie(LOCALE_COOKIE, "")
        if code in i18n.LANGUAGES:
            return i18n.get(code)
        user = self.current_user
        if user is not None and user.locale in i18n.LANGUAGES:
            return i18n.get(user.locale)
        return None  # tornado then asks get_browser_locale (Accept-Language)

    def get_browser_locale(self, default: str = i18n.DEFAULT_LOCALE) -> tornado.locale.Locale:
        # a browser that asks for none of our languages gets the site's default one
        default = self.box.store.setting("language", default)
        return i18n.get(i18n.from_accept_language(
            self.request.headers.get("Accept-Language", ""), default))

    @property
    def fmt(self) -> i18n.Formatter:
        return i18n.Formatter(self.locale, i18n.zone(self.box.store.setting("timezone", "UTC")))

    def get_template_namespace(self) -> dict[str, Any]:
        ns = super().get_template_namespace()
        ns.update(fmt=self.fmt, user=self.current_user, languages=i18n.LANGUAGES,
                  site_name=self.box.store.setting("site_name", "callbox"),
                  tmsg=lambda m: i18n.translate_message(self.locale, m),
                  xsrf_html=self.xsrf_form_html())
        return ns

    # -- helpers ---------------------------------------------------------------------------
    def form(self, *names: str) -> dict[str, str]:
        return {n: self.get_body_argument(n, "").strip() for n in names}

    def errors_of(self, exc: ValidationError) -> dict[str, str]:
        return self.translate_errors(exc.errors)

    def translate_errors(self, errors: dict[str, str]) -> dict[str, str]:
        return {k: i18n.translate_message(self.locale, v) for k, v in errors.items()}

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Users see a sentence, never a traceback (DESIGN.md principle 6).
        if self._wants_json():
            self.finish({"error": self._reason, "status": status_code})
            return
        try:
            self.render("error.html", status=status_code)
        except Exception:  # the error page itself failed: plain text, still no traceback
            log.exception("error page failed")
            self.finish(f"{status_code} {self._reason}")
