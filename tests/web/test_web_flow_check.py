"""The visual editor's requests: "Check" without reloading (the validator's messages as
JSON, per node), "test this flow" (ring a phone, play the active version), and the data
the page hands its script (node types from NODE_TYPES, the box's queues, prompts and
registered phones).  Bad input gets a clear error and nothing is saved or rung."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from web_helpers import WebCase

from appliance.acd.config import QueueConfig
from appliance.admin import ValidationError
from appliance.config import Config
from appliance.daemon import Daemon
from appliance.ivr import flow as flow_model
from appliance.ivr.flow import NODE_TYPES, Flow, NodeType
from appliance.ivr.flowstore import FlowStore
from appliance.ivr.validate import validate
from web.handlers.flow_schema import editor_schema

GOOD = {"start": "welcome", "language": "en", "operator": "sales",
        "nodes": {"welcome": {"type": "play", "text": "Hello.", "next": "sales"},
                  "sales": {"type": "queue", "queue": "sales"}}}
BROKEN = {"start": "menu", "language": "en", "operator": "sales",
          "nodes": {"menu": {"type": "menu", "text": "Press 1.",
                             "choices": {"1": {"label": "Sales", "next": "sales"},
                                         "2": {"label": "Nothing", "next": ""}}},
                    "sales": {"type": "queue", "queue": "nosuch"},
                    "spare": {"type": "hangup"}}}


def editor_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="flow-editor-data">(.*?)</script>',
                      html, re.S)
    assert match, "the page hands no data to the editor"
    return json.loads(match.group(1))


class FlowCheck(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.run_async(self.box.admin.save_queue(QueueConfig(name="sales"), create=True))
        self.flows = FlowStore(self.box.store)

    def check(self, graph, **kw):
        text = graph if isinstance(graph, str) else json.dumps(graph)
        return self.post("/admin/flows/check", {"graph": text}, **kw)

    def test_messages_are_the_validators_keyed_by_node(self):
        response = self.check(BROKEN)
        assert response.code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        answer = json.loads(response.body)
        expected = validate(Flow.from_graph("x", BROKEN), queues=["sales"], prompts=set())
        assert answer["messages"] == [m.as_dict("en") for m in expected]
        by_node = {(m["node"], m["severity"], m["field"]) for m in answer["messages"]}
        assert ("menu", "error", "choices.2") in by_node  # the empty branch
        assert ("sales", "error", "queue") in by_node  # not a queue of this box
        assert ("spare", "warning", "") in by_node  # reached by nobody
        assert answer["error_count"] == 2 and answer["warning_count"] == 1
        assert self.flows.names() == []  # a check saves nothing

    def test_a_good_flow_has_no_messages(self):
        answer = json.loads(self.check(GOOD).body)
        assert answer == {"errors": {}, "messages": [], "error_count": 0, "warning_count": 0}

    def test_messages_in_the_readers_language(self):
        self.cookies["callbox_locale"] = "ru_RU"
        answer = json.loads(self.check(BROKEN).body)
        expected = validate(Flow.from_graph("x", BROKEN), queues=["sales"], prompts=set())
        assert [m["text"] for m in answer["messages"]] == [m.text("ru") for m in expected]
        assert answer["messages"][0]["text"] != expected[0].text("en")

    def test_bad_json_is_a_clear_error(self):
        response = self.check('{"start": "a", "nodes": {')
        assert response.code == 400
        answer = json.loads(response.body)
        assert "line 1" in answer["errors"]["graph"] and answer["messages"] == []
        response = self.check([1, 2])
        assert response.code == 400 and '"nodes"' in json.loads(response.body)["errors"]["graph"]
        assert self.check("").code == 400
        for shape in ({"nodes": {"a": 5}}, {"nodes": []}, "null", '"text"'):
            response = self.check(shape)
            assert response.code == 400, shape
            assert json.loads(response.body)["errors"]["graph"]

    def test_xsrf_is_required(self):
        response = self.post("/admin/flows/check", {"graph": json.dumps(GOOD)}, xsrf=False)
        assert response.code == 403
        token = self.xsrf_token()
        response = self.post("/admin/flows/check", {"graph": json.dumps(GOOD)}, xsrf=False,
                             headers={"X-XSRFToken": token})
        assert response.code == 200  # the header the script sends is as good as the field

    def test_operator_supervisor_and_stranger_are_refused(self):
        self.run_async(self.box.admin.save_operator("Olga", "101", "11"))
        self.make_user("olga", "operator", operator="Olga")
        self.make_user("sam", "supervisor")
        for user in ("olga", "sam"):
            self.login(user)
            response = self.check(BROKEN)
            assert response.code == 403
            assert json.loads(response.body)["status"] == 403  # JSON, not a page
        self.logout()
        assert self.check(BROKEN).code == 403
        assert self.get("/admin/flows/check").code == 403  # JSON endpoints never redirect


class FlowTest(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.run_async(self.box.admin.save_queue(QueueConfig(name="sales"), create=True))
        self.flows = FlowStore(self.box.store)
        self.run_async(self.flows.save("main", GOOD, queues=["sales"]))
        self.box.registrations["105"] = {"registered": True}
        self.box.registrations["106"] = {"registered": False}

    def ring(self, body, **kw):
        return self.post("/admin/flows/test", body,
                         headers={"Accept": "application/json"}, **kw)

    def test_rings_the_chosen_phone(self):
        response = self.ring({"name": "main", "phone": "105"})
        assert response.code == 200
        answer = json.loads(response.body)
        assert answer["errors"] == {} and "105" in answer["text"]
        assert answer["call_id"].startswith("test-")
        assert self.box.flow_tests == [("main", "105")]

    def test_a_typed_extension_wins_over_the_list(self):
        assert self.ring({"name": "main", "phone": "106", "extension": "105"}).code == 200
        assert self.box.flow_tests == [("main", "105")]

    def test_unregistered_phone_is_an_error_next_to_the_field(self):
        for ext in ("106", "199"):
            response = self.ring({"name": "main", "extension": ext})
            assert response.code == 400
            answer = json.loads(response.body)
            assert ext in answer["errors"]["extension"] and answer["text"] == ""
        assert self.box.flow_tests == []

    def test_bad_or_missing_extension_is_refused_before_ringing(self):
        for ext in ("", "12ab", "1", "123456789", "105; DROP"):
            response = self.ring({"name": "main", "extension": ext})
            assert response.code == 400, ext
            assert json.loads(response.body)["errors"]["extension"]
        assert self.box.flow_tests == []

    def test_a_flow_without_an_active_version_is_refused(self):
        self.run_async(self.flows.save("draft", GOOD, activate=False))
        for name in ("draft", "nosuch"):
            response = self.ring({"name": name, "phone": "105"})
            assert response.code == 400
            assert "active" in json.loads(response.body)["errors"]["flow"]
        response = self.ring({"name": "", "phone": "105"})
        assert response.code == 400 and json.loads(response.body)["errors"]["flow"]
        assert self.box.flow_tests == []

    def test_works_as_a_plain_form_without_the_script(self):
        response = self.post("/admin/flows/test", {"name": "main", "phone": "105"})
        html = self.text(response)
        assert response.code == 200 and self.box.flow_tests == [("main", "105")]
        assert re.search(r'id="flow-test-result"\s*>[^<]*105', html)
        response = self.post("/admin/flows/test", {"name": "main", "extension": "199"})
        html = self.text(response)
        assert response.code == 400
        assert re.search(r'id="error-extension"\s*>[^<]*199', html)
        assert "Hello." in html  # the flow is still in the form

    def test_russian_messages(self):
        self.cookies["callbox_locale"] = "ru_RU"
        answer = json.loads(self.ring({"name": "main", "extension": "199"}).body)
        assert re.search("[а-я]", answer["errors"]["extension"])

    def test_xsrf_and_role_are_required(self):
        assert self.post("/admin/flows/test", {"name": "main", "phone": "105"},
                         xsrf=False).code == 403
        self.run_async(self.box.admin.save_operator("Olga", "101", "11"))
        self.make_user("olga", "operator", operator="Olga")
        self.login("olga")
        assert self.ring({"name": "main", "phone": "105"}).code == 403
        assert self.box.flow_tests == []


class EditorData(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        for name in ("sales", "billing"):
            self.run_async(self.box.admin.save_queue(QueueConfig(name=name), create=True))

    def test_page_hands_the_script_types_queues_prompts_and_phones(self):
        self.run_async(self.box.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO prompts(name, language, path, source, created_at) "
            "VALUES ('welcome', 'en', '/x.wav', 'upload', 0)")))
        self.box.registrations.update({"105": {"registered": True},
                                       "107": {"registered": False}})
        html = self.text(self.get("/admin/flows?name=main"))
        data = editor_data(html)
        assert set(data["schema"]["types"]) == set(NODE_TYPES)
        for name, kind in NODE_TYPES.items():
            assert data["schema"]["types"][name]["targets"] == list(kind.targets)
            assert data["schema"]["types"][name]["required"] == list(kind.required)
        assert sorted(data["queues"]) == ["billing", "sales"] and data["prompts"] == ["welcome"]
        assert data["check_url"] == "/admin/flows/check"
        phones = re.search(r'<select id="flow-test-phone".*?</select>', html, re.S).group(0)
        assert 'value="105"' in phones and 'value="107"' not in phones
        assert "0" not in data["schema"]["keys"]  # 0 is always the operator

    def test_a_new_node_type_is_one_entry_in_node_types(self):
        flow_model.NODE_TYPES["sms"] = NodeType(targets=("next",), required=("next", "number"))
        try:
            schema = editor_schema(lambda s: s, ["sales"])
        finally:
            del flow_model.NODE_TYPES["sms"]
        sms = schema["types"]["sms"]
        assert sms["targets"] == ["next"] and sms["defaults"] == {"type": "sms"}
        assert [(f["name"], f["control"]) for f in sms["fields"]] == [("number", "text")]

    def test_labels_are_translated_and_escaped_inside_the_script_tag(self):
        self.cookies["callbox_locale"] = "ru_RU"
        html = self.text(self.get("/admin/flows"))
        assert editor_data(html)["schema"]["types"]["menu"]["label"] == "Меню"
        hostile = "</script><script>alert(1)</script>"  # a prompt name from the database
        self.run_async(self.box.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO prompts(name, language, path, source, created_at) "
            "VALUES (?, 'en', '/x.wav', 'upload', 0)", (hostile,))))
        html = self.text(self.get("/admin/flows"))
        assert "</script><script>alert(1)" not in html
        assert editor_data(html)["prompts"] == [hostile]


def test_the_real_box_refuses_with_the_fields_the_handler_explains(tmp_path):
    """The handler turns Box.test_flow's ValidationError keys into its own sentences; the
    daemon's Box must raise exactly those keys (FakeBox imitates it)."""
    async def scenario():
        daemon = Daemon(Config(data_dir=tmp_path, web_listen="127.0.0.1:0",
                               sip_listen="127.0.0.1:0"))
        await daemon.start()
        try:
            with pytest.raises(ValidationError) as no_flow:
                await daemon.box.test_flow("main", "105")
            await daemon.admin.save_queue(QueueConfig(name="sales"), create=True)
            await FlowStore(daemon.store).save("main", GOOD, queues=["sales"])
            with pytest.raises(ValidationError) as no_phone:
                await daemon.box.test_flow("main", "105")
            return set(no_flow.value.errors), set(no_phone.value.errors)
        finally:
            await daemon.shutdown()

    assert asyncio.run(scenario()) == ({"flow"}, {"extension"})
