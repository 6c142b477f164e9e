"""The web application: routes, settings, and the pieces handlers share.

The daemon calls :func:`make_app` with the running switchboard (a :class:`web.box.Box`)
and listens on the LAN::

    app = make_app(box, cookie_secret_path=data_dir / "web-cookie-secret")
    server = app.listen(80)          # body and buffer limits applied, see HTTP_LIMITS
    ...
    server.stop(); app.close()
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.template
import tornado.web

from . import i18n
from .accounts import Accounts, LoginThrottle
from .box import Box, check_box
from .handlers import (
    admin,
    api,
    auth,
    calls,
    config,
    contacts,
    flow_editor,
    flows,
    live,
    notifications,
    prompts,
    provision,
    reports,
    voicemail,
)
from .handlers.base import BaseHandler
from .hub import LiveHub
from .views import Views

HERE = Path(__file__).parent
# Forms are small; nothing here accepts uploads larger than this.  A bigger body is
# refused by the HTTP server before a handler sees it.
MAX_BODY = 1024 * 1024
HTTP_LIMITS = {"max_body_size": MAX_BODY, "max_buffer_size": 2 * MAX_BODY}


def load_cookie_secret(path: Path | str) -> str:
    """The secret that signs session cookies, made once and kept on the data partition
    (0600), so a reboot does not log everybody out and no two boxes share one."""
    path = Path(path)
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""  # the first start: make one below
    if len(secret) >= 32:
        return secret
    secret = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return secret


class NotFoundHandler(BaseHandler):
    role = None

    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


def routes() -> list[tornado.web.URLSpec]:
    u = tornado.web.url
    path_arg = r"([^/]+)"
    return [
        u(r"/", auth.HomeHandler, name="home"),
        u(r"/setup", auth.SetupHandler, name="setup"),
        u(r"/login", auth.LoginHandler, name="login"),
        u(r"/logout", auth.LogoutHandler, name="logout"),
        u(r"/language", auth.LanguageHandler, name="language"),
        u(r"/account", auth.AccountHandler, name="account"),
        u(r"/admin", admin.WizardHandler, name="admin"),
        u(r"/admin/wizard", admin.WizardHandler, name="wizard"),
        u(r"/admin/site", admin.SiteHandler, name="site"),
        u(r"/admin/hardware", admin.HardwareHandler, name="hardware"),
        u(r"/admin/hours", admin.HoursHandler, name="hours"),
        u(r"/admin/users", admin.UsersHandler, name="users"),
        u(r"/admin/lines", config.LinesHandler, name="lines"),
        u(r"/admin/phones", config.PhonesHandler, name="phones"),
        u(r"/admin/operators", config.OperatorsHandler, name="operators"),
        u(r"/admin/queues", config.QueuesHandler, name="queues"),
        u(r"/admin/flows", flows.FlowsHandler, name="flows"),
        u(r"/admin/flows/check", flow_editor.FlowCheckHandler, name="flow_check"),
        u(r"/admin/flows/test", flow_editor.FlowTestHandler, name="flow_test"),
        u(r"/admin/prompts", prompts.PromptsHandler, name="prompts"),
        u(r"/admin/prompts/upload", prompts.PromptUploadHandler, name="prompts_upload"),
        u(r"/admin/prompts/moh\.wav", prompts.MohAudioHandler, name="moh_audio"),
        # checked by the handler (name and language), so a bad one is a 404, not a miss
        u(r"/admin/prompts/([^/]{1,16})/([^/]{1,80})\.wav", prompts.PromptAudioHandler,
          name="prompt_audio"),
        u(r"/admin/voicemail", voicemail.VoicemailHandler, name="voicemail"),
        u(r"/admin/notifications", notifications.NotificationsHandler, name="notifications"),
        u(r"/contacts", contacts.ContactsHandler, name="contacts"),
        u(r"/contacts/export\.csv", contacts.ContactsExportHandler, name="contacts_export"),
        u(r"/admin/voicemail/([0-9]{1,12})\.wav", voicemail.VoicemailAudioHandler,
          name="voicemail_audio"),
        u(r"/live", live.LiveSocket, name="live"),
        u(r"/wallboard", live.WallboardHandler, name="wallboard"),
        u(r"/panel", live.PanelHandler, name="panel"),
        u(r"/panel/(state|dial|callback|disposition)", live.PanelActionHandler,
          name="panel_action"),
        u(r"/calls", calls.CallLogHandler, name="calls"),
        u(r"/calls/export\.csv", calls.CallExportHandler, name="calls_export"),
        u(r"/calls/" + path_arg, calls.CallHandler, name="call"),
        u(r"/reports", reports.ReportsHandler, name="reports"),
        u(r"/reports/callback", reports.AbandonedCallbackHandler, name="reports_callback"),
        u(r"/provision/([A-Za-z0-9._-]{1,64})", provision.ProvisionHandler, name="provision"),
        u(r"/api/openapi\.json", api.OpenApiHandler, name="openapi"),
        u(r"/api/v1/wallboard", api.WallboardApi, name="api_wallboard"),
        u(r"/api/v1/calls", api.CallsApi, name="api_calls"),
        u(r"/api/v1/calls/" + path_arg + "/disposition", api.DispositionApi,
          name="api_disposition"),
        u(r"/api/v1/calls/" + path_arg, api.CallApi, name="api_call"),
        u(r"/api/v1/operators", api.OperatorsApi, name="api_operators"),
        u(r"/api/v1/operators/" + path_arg + "/(state|dial)", api.OperatorActionApi,
          name="api_operator_action"),
        u(r"/api/v1/callbacks", api.CallbacksApi, name="api_callbacks"),
        u(r"/api/v1/callbacks/([0-9]+)/take", api.CallbackTakeApi, name="api_callback_take"),
        u(r"/api/v1/queues", api.QueuesApi, name="api_queues"),
        u(r"/api/v1/queues/" + path_arg, api.QueueApi, name="api_queue"),
        u(r"/api/v1/lines", api.LinesApi, name="api_lines"),
        u(r"/api/v1/phones", api.PhonesApi, name="api_phones"),
        u(r"/api/v1/reports", api.ReportsApi, name="api_reports"),
    ]


#: Routes anyone may reach without logging in (the test proves every other one refuses).
ANONYMOUS_ROUTES = frozenset({"setup", "login", "provision", "static"})


class CallboxApplication(tornado.web.Application):
    def __init__(self, box: Box, *, cookie_secret: str, debug: bool = False,
                 clock_time=time.time) -> None:
        check_box(box)
        i18n.load()
        loader = tornado.template.Loader(str(HERE / "templates"), autoescape="xhtml_escape")
        self.box = box
        self.clock_time = clock_time
        self.accounts = Accounts(box.store, clock_time)
        self.login_throttle = LoginThrottle()
        self.views = Views(box, loader)
        self.hub = LiveHub(box.bus, self.views.render, self.views.render_pop)
        super().__init__(
            routes(),
            template_loader=loader,
            static_path=str(HERE / "static"),
            cookie_secret=cookie_secret,
            xsrf_cookies=True,
            xsrf_cookie_kwargs={"httponly": False, "samesite": "Lax"},
            login_url="/login",
            default_handler_class=NotFoundHandler,
            websocket_ping_interval=30,
            debug=debug,
            autoreload=False,
        )

    def listen(self, port: int, address: str | None = None, **kwargs: Any
               ) -> tornado.httpserver.HTTPServer:
        """Like Application.listen, with the body-size limits on unless overridden."""
        return super().listen(port, address or "", **{**HTTP_LIMITS, **kwargs})

    def close(self) -> None:
        self.hub.close()


def make_app(box: Box, *, cookie_secret_path: Path | str, debug: bool = False,
             clock_time=time.time) -> CallboxApplication:
    return CallboxApplication(box, cookie_secret=load_cookie_secret(cookie_secret_path),
                              debug=debug, clock_time=clock_time)
