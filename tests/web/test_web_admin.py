"""Installer pages: every write through Admin, bad values shown next to the field and
nothing half-saved."""

from __future__ import annotations

import re
from dataclasses import fields

from tornado.escape import xhtml_escape
from web_helpers import WebCase

from appliance.acd.config import QueueConfig

XSS = '<script>alert("x")</script>'


class AdminPages(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()

    def test_site_settings_saved_and_bad_zone_refused(self):
        form = {"site_name": "Acme desk", "timezone": "Europe/Moscow", "language": "ru_RU",
                "dispositions": "sold\nnot interested\n"}
        assert self.post("/admin/site", form).code == 200
        store = self.box.store
        assert store.setting("site_name") == "Acme desk"
        assert store.setting("timezone") == "Europe/Moscow"
        assert store.setting("dispositions") == ["sold", "not interested"]
        bad = dict(form, site_name="Other", timezone="Mars/Olympus")
        response = self.post("/admin/site", bad)
        assert response.code == 400 and 'id="error-timezone"' in self.text(response)
        assert store.setting("site_name") == "Acme desk"  # nothing half-saved

    def test_business_hours_and_holidays(self):
        form = {"mon": "09:00-13:00, 14:00-18:00", "tue": "09:00-18:00", "wed": "",
                "thu": "", "fri": "", "sat": "", "sun": "",
                "holidays": "2026-12-31 New Year's Eve\n2027-01-07 Christmas"}
        assert self.post("/admin/hours", form).code == 200
        hours = self.box.store.setting("business_hours")
        assert hours["mon"] == [["09:00", "13:00"], ["14:00", "18:00"]]
        assert hours["wed"] == []
        assert self.box.store.setting("holidays")[1] == {"date": "2027-01-07",
                                                         "name": "Christmas"}
        response = self.post("/admin/hours", dict(form, tue="18:00-09:00", mon="9-5"))
        assert response.code == 400
        assert 'id="error-tue"' in self.text(response) and 'id="error-mon"' in self.text(
            response)
        assert self.box.store.setting("business_hours") == hours

    def test_blocked_sip_addresses_are_listed_and_can_be_unblocked(self):
        self.box.bans = [{"source": "192.0.2.7", "until": 1767225600.0 + 600, "failures": 5,
                          "last_user": XSS}]
        page = self.text(self.get("/admin/phones"))
        assert "192.0.2.7" in page and xhtml_escape(XSS) in page and XSS not in page
        assert page.count('id="banned"') == 1  # one card, in the page's main part
        assert page.index('id="banned"') > page.index("<main")
        response = self.post("/admin/phones", {"action": "unban", "source": "192.0.2.7"})
        assert response.code == 302 and self.box.bans == []
        assert "192.0.2.7" not in self.text(self.get("/admin/phones"))

    def test_phone_gets_a_generated_password_and_is_provisioned_by_mac(self):
        response = self.post("/admin/phones", {"action": "create", "extension": "101",
                                               "name": "Desk 1", "mac": "00:15:65:AA:BB:CC"})
        assert response.code == 302
        phone = self.box.admin.phones()[0]
        assert len(phone["password"]) >= 12
        page = self.text(self.get("/admin/phones"))
        assert phone["password"] in page and "not registered" in page
        self.cookies.clear()  # the phone has no session
        provisioned = self.get("/provision/001565aabbcc.cfg")
        assert provisioned.code == 200
        assert phone["password"].encode() in provisioned.body
        assert self.get("/provision/cfg001565AABBCC.xml").code == 200
        assert self.get("/provision/001565aabbcd.cfg").code == 404

    def test_phone_errors_next_to_fields(self):
        response = self.post("/admin/phones", {"action": "create", "extension": "0x1",
                                               "mac": "zz"})
        assert response.code == 400
        text = self.text(response)
        assert 'id="error-extension"' in text and 'id="error-mac"' in text
        assert self.box.admin.phones() == []

    def test_each_ata_port_is_its_own_phone_and_analog_handset_row(self):
        form = {"action": "create", "mac": "00:0b:82:12:34:56", "model": "HT802"}
        assert self.post("/admin/phones", dict(form, extension="202", port="2")).code == 302
        page = self.text(self.get("/admin/phones"))
        # port 2 is a handset row; port 1 of the same ATA is listed as free, with a link
        # that fills the form for it
        assert 'data-extension="202" data-port="2" class="analog-handset"' in page
        assert "port 2 of 2" in page
        assert 'class="free-port" data-mac="000b82123456" data-port="1"' in page
        link = "/admin/phones?mac=000b82123456&amp;model=HT802&amp;port=1"
        assert link in page
        prefilled = self.text(self.get(link.replace("&amp;", "&")))
        assert 'id="port" name="port" min="1" max="2" value="1"' in prefilled
        assert 'id="mac" name="mac" value="000b82123456"' in prefilled
        assert self.post("/admin/phones", dict(form, extension="201", port="1")).code == 302
        page = self.text(self.get("/admin/phones"))
        assert "free-port" not in page and page.count('class="analog-handset"') == 2
        self.cookies.clear()  # the ATA has no session
        body = self.get("/provision/cfg000b82123456.xml").body.decode()
        assert "account.1.user_name = 201" in body and "account.2.user_name = 202" in body

    def test_bad_ata_port_is_refused_next_to_the_field_and_nothing_saved(self):
        for port, message in (("3", "this ATA has ports 1 to 2"),
                              ("x", "a port is a whole number from 1")):
            response = self.post("/admin/phones", {
                "action": "create", "extension": "201", "mac": "0018f8abcdef",
                "model": "SPA112", "port": port, "password": "a-secret-of-some-length"})
            assert response.code == 400
            text = self.text(response)
            assert f'<div class="error" id="error-port">{message}</div>' in text
            assert "a-secret-of-some-length" not in text  # the secret is not echoed
            assert self.box.admin.phones() == []
        response = self.post("/admin/phones", {"action": "create", "extension": "101",
                                               "model": "Yealink T31P", "port": "2"})
        assert response.code == 400 and "a desk phone has port 1 only" in self.text(response)

    def test_ata_port_error_in_russian(self):
        assert self.post("/language", {"locale": "ru_RU", "next": "/admin"}).code == 302
        response = self.post("/admin/phones", {"action": "create", "extension": "201",
                                               "mac": "0018f8abcdef", "model": "SPA112",
                                               "port": "5"})
        assert response.code == 400
        assert "у этого шлюза порты с 1 по 2" in self.text(response)

    def test_editing_a_phone_changes_its_port_and_keeps_the_password(self):
        form = {"action": "create", "mac": "0018f8abcdef", "model": "SPA112"}
        assert self.post("/admin/phones", dict(form, extension="201")).code == 302
        before = self.box.admin.phone("201")
        page = self.text(self.get("/admin/phones?edit=201"))
        assert 'name="action" value="save"' in page and "readonly" in page
        edit = {"action": "save", "edit": "1", "extension": "201", "name": "Kitchen",
                "mac": "0018f8abcdef", "model": "SPA112", "port": "2", "password": ""}
        assert self.post("/admin/phones", edit).code == 302
        after = self.box.admin.phone("201")
        assert (after["port"], after["name"], after["password"]) == (2, "Kitchen",
                                                                    before["password"])
        assert self.post("/admin/phones", dict(edit, port="9")).code == 400
        assert self.box.admin.phone("201")["port"] == 2
        assert self.get("/admin/phones?edit=999").code == 404
        self.cookies.clear()
        body = self.get("/provision/spa0018f8abcdef.xml").body.decode()
        assert "account.2.user_name = 201" in body

    def test_queue_form_shows_every_option_with_help_and_default(self):
        text = self.text(self.get("/admin/queues"))
        for f in fields(QueueConfig):
            assert f'name="{f.name}"' in text, f.name
            assert xhtml_escape(f.metadata["help"]) in text, f.name

    def test_queue_create_edit_and_bad_value(self):
        form = {f.name: str(f.default) for f in fields(QueueConfig)
                if not isinstance(f.default, bool)}
        form.update(action="save", name="support", ring_timeout="20", join_empty="on")
        assert self.post("/admin/queues", form).code == 302
        queue = self.box.admin.queue("support")
        assert queue.ring_timeout == 20 and queue.join_empty is True
        assert queue.leave_when_empty is False  # unchecked box
        bad = dict(form, editing="1", ring_timeout="1", wrapup_seconds="soon")
        response = self.post("/admin/queues", bad)
        assert response.code == 400
        text = self.text(response)
        assert 'id="error-ring_timeout"' in text and 'id="error-wrapup_seconds"' in text
        assert self.box.admin.queue("support").ring_timeout == 20

    def test_operator_with_queues_penalties_and_web_login(self):
        self.run_async(self.box.admin.save_queue(QueueConfig(name="sales"), create=True))
        self.run_async(self.box.admin.save_queue(QueueConfig(name="support"), create=True))
        form = {"action": "save", "name": "Olga", "extension": "101", "login_code": "11",
                "queue.sales": "on", "penalty.sales": "2", "penalty.support": "5",
                "username": "olga", "password": "olga's long password"}
        assert self.post("/admin/operators", form).code == 302
        assert self.box.admin.operator("Olga")["queues"] == {"sales": 2}
        self.logout()
        assert self.login("olga", "olga's long password").headers["Location"] == "/panel"

    def test_operator_with_a_bad_login_saves_nothing(self):
        form = {"action": "save", "name": "Ivan", "extension": "102", "login_code": "12",
                "username": "ivan", "password": "short"}
        response = self.post("/admin/operators", form)
        assert response.code == 400 and 'id="error-password"' in self.text(response)
        assert self.box.admin.operator("Ivan") is None

    def test_hardware_in_plain_words(self):
        self.box.lines = [{"name": "gsm1", "kind": "gsm", "model": "Huawei E1550",
                           "imei": "861234567890123", "operator": "MTS", "signal_bars": 3,
                           "sim": "pin-required", "registration": "searching",
                           "state": "idle", "error": ""}]
        text = self.text(self.get("/admin/hardware"))
        assert "861234567890123" in text and "Huawei E1550" in text
        assert "The SIM asks for its PIN" in text and 'data-bars="3"' in text
        assert text.count('<i class="on"') == 3

    def test_voice_modems_listed_next_to_gsm_modems_and_set_up_in_one_click(self):
        self.box.lines = [
            {"name": "analog1", "kind": "fxo", "model": "Zoom 3095", "port": "/dev/ttyACM1",
             "caller_id": True, "duplex": "half", "state": "idle", "error": ""},
            {"name": "", "kind": "gsm", "model": "Quectel EC25", "state": "found",
             "port": "/dev/ttyUSB2", "settings": {"at": "/dev/ttyUSB2", "model": "ec25"}},
            {"name": "", "kind": "fxo", "model": "USRobotics USR5637", "state": "found",
             "port": "/dev/ttyACM0", "settings": {"port": "/dev/ttyACM0",
                                                  "model": "usr5637"}}]
        text = self.text(self.get("/admin/hardware"))
        assert 'data-kind="gsm" class="found" data-port="/dev/ttyUSB2"' in text
        assert 'data-kind="fxo" class="found" data-port="/dev/ttyACM0"' in text
        assert "analog line (voice modem)" in text and "GSM modem" in text
        assert '<input type="hidden" name="setting.port" value="/dev/ttyACM0">' in text
        assert "caller id shown" in text and "the modem talks or listens, not both" in text
        response = self.post("/admin/lines", {"action": "add_found", "kind": "fxo",
                                              "setting.port": "/dev/ttyACM0",
                                              "setting.model": "usr5637"})
        assert response.code == 302
        line = self.box.admin.lines()[0]
        assert (line["name"], line["kind"], line["settings"]) == (
            "fxo1", "fxo", {"port": "/dev/ttyACM0", "model": "usr5637"})

    def test_found_modem_with_bad_settings_is_refused_in_words(self):
        self.post("/language", {"locale": "ru_RU", "next": "/admin"})
        response = self.post("/admin/lines", {"action": "add_found", "kind": "fxo",
                                              "setting.port": "ttyACM0"})
        assert response.code == 400
        assert 'id="error-port">путь к устройству — полный' in self.text(response)
        assert self.box.admin.lines() == []

    def test_lines_destination_checked(self):
        response = self.post("/admin/lines", {"action": "create", "name": "gsm1",
                                              "kind": "loopback", "destination": "queue:nope"})
        assert response.code == 400 and 'id="error-destination"' in self.text(response)
        assert self.box.admin.lines() == []

    def test_xss_in_form_fields_comes_back_escaped(self):
        response = self.post("/admin/phones", {"action": "create", "extension": "bad",
                                               "name": XSS})
        assert response.code == 400
        assert XSS not in self.text(response)
        assert "&lt;script&gt;" in self.text(response)
        self.post("/admin/site", {"site_name": XSS, "timezone": "UTC", "language": "en_US",
                                  "dispositions": XSS})
        for path in ("/admin", "/admin/site", "/calls", "/wallboard"):
            assert XSS not in self.text(self.get(path)), path

    def test_add_supervisor_and_refuse_deleting_oneself(self):
        response = self.post("/admin/users", {"action": "create", "username": "sam",
                                              "password": "sam's long password",
                                              "role": "supervisor"})
        assert response.code == 302
        me = next(u for u in self.application.accounts.users() if u["username"] == "admin")
        response = self.post("/admin/users", {"action": "delete", "id": me["id"]})
        assert response.code == 400
        assert len(self.application.accounts.users()) == 2

    def test_wizard_lists_steps(self):
        text = self.text(self.get("/admin/wizard"))
        for url in ("/admin/site", "/admin/hardware", "/admin/phones", "/admin/queues",
                    "/admin/operators", "/admin/hours"):
            assert f'href="{url}"' in text


class MoreAdmin(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()

    def test_line_destination_changed_and_deleted(self):
        self.run_async(self.box.admin.save_queue(QueueConfig(name="sales"), create=True))
        assert self.post("/admin/lines", {"action": "create", "name": "gsm1",
                                          "kind": "loopback", "destination": ""}).code == 302
        assert self.post("/admin/lines", {"action": "save", "name": "gsm1",
                                          "destination": "queue:sales"}).code == 302
        line = self.box.admin.lines()[0]
        assert (line["kind"], line["destination"], line["enabled"]) == (
            "loopback", "queue:sales", 0)  # the box was unticked
        assert self.post("/admin/lines", {"action": "delete", "name": "gsm1"}).code == 302
        assert self.box.admin.lines() == []

    def test_line_destination_offers_queues_active_flows_and_extensions(self):
        from appliance.ivr.flowstore import FlowStore

        self.run_async(self.box.admin.save_queue(QueueConfig(name="sales"), create=True))
        self.run_async(self.box.admin.add_phone("101"))
        graph = {"start": "q", "language": "en", "operator": "q",
                 "nodes": {"q": {"type": "queue", "queue": "sales"}}}
        self.run_async(FlowStore(self.box.store).save("menu", graph, queues=["sales"]))
        self.run_async(FlowStore(self.box.store).save("draft", graph, activate=False,
                                                      queues=["sales"]))
        page = self.text(self.get("/admin/lines"))
        offered = re.findall(r'<datalist id="destinations">(.*?)</datalist>', page, re.S)[0]
        values = re.findall(r'<option value="([^"]*)">', offered)
        assert values == ["queue:sales", "flow:menu", "extension:101", "hangup"]

    def test_reset_a_users_password(self):
        self.make_user("sam", "supervisor")
        sam = next(u for u in self.application.accounts.users() if u["username"] == "sam")
        response = self.post("/admin/users", {"action": "password", "id": sam["id"],
                                              "password": "short"})
        assert response.code == 400
        assert self.post("/admin/users", {"action": "password", "id": sam["id"],
                                          "password": "sam's new password"}).code == 302
        self.logout()
        assert self.login("sam", "sam's new password").code == 302

    def test_token_revoked_stops_working(self):
        import re as re_

        response = self.post("/account", {"action": "token", "name": "crm"})
        token = re_.search(r'id="new-token">([^<]+)<', self.text(response))[1]
        headers = {"Authorization": f"Bearer {token}"}
        assert self.get("/api/v1/wallboard", headers=headers, cookies=False).code == 200
        token_id = self.application.accounts.tokens(1)[0]["id"]
        assert self.post("/account", {"action": "revoke", "id": token_id}).code == 302
        assert self.get("/api/v1/wallboard", headers=headers, cookies=False).code == 401

    def test_deleting_an_operator_removes_their_login(self):
        self.run_async(self.box.admin.save_operator("Olga", "101", "11"))
        self.make_user("olga", "operator", operator="Olga")
        assert self.post("/admin/operators", {"action": "delete", "name": "Olga"}).code == 302
        assert [u["username"] for u in self.application.accounts.users()] == ["admin"]
