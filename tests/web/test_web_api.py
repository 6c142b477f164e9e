"""The JSON API: bearer tokens made on the account page, roles, the OpenAPI document."""

from __future__ import annotations

import json
import re

from web_helpers import WebCase

from appliance.acd.config import QueueConfig
from web.app import routes


class Api(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.run_async(self.box.admin.save_queue(QueueConfig(name="support"), create=True))
        self.run_async(self.box.admin.save_operator("Olga", "101", "11", {"support": 0}))
        self.make_user("olga", "operator", operator="Olga")
        self.make_user("sam", "supervisor")
        self.tokens = {"admin": self.new_token()}
        for name in ("olga", "sam"):
            self.login(name)
            self.tokens[name] = self.new_token()
        self.cookies.clear()

    def new_token(self) -> str:
        response = self.post("/account", {"action": "token", "name": "script"})
        assert response.code == 200
        return re.search(r'id="new-token">([^<]+)<', self.text(response))[1]

    def api(self, method: str, path: str, who: str | None, body=None):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.request(method, "/api/v1" + path, json_body=body if body is not None
                            else ({} if method != "GET" else None), headers=headers,
                            cookies=False)

    def test_token_is_stored_hashed(self):
        stored = [r["token_hash"] for r in self.box.store.query("SELECT token_hash FROM "
                                                                  "api_tokens")]
        assert len(stored) == 3
        assert not set(stored) & set(self.tokens.values())

    def test_no_or_bad_token_is_401(self):
        assert self.api("GET", "/wallboard", None).code == 401
        response = self.request("GET", "/api/v1/wallboard",
                                headers={"Authorization": "Bearer cbx_wrong"}, cookies=False)
        assert response.code == 401

    def test_roles_apply_to_tokens(self):
        assert self.api("GET", "/wallboard", "olga").code == 403
        assert self.api("GET", "/wallboard", "sam").code == 200
        assert self.api("GET", "/lines", "sam").code == 403
        assert self.api("GET", "/lines", "admin").code == 200
        assert self.api("PUT", "/queues/new", "sam", {"ring_timeout": 20}).code == 403

    def test_wallboard_and_calls(self):
        call_id = self.box.simulate_incoming("+79160000001", "Anna", "support")
        board = json.loads(self.api("GET", "/wallboard", "sam").body)
        assert board["queues"][0]["waiting"][0]["caller_number"] == "+79160000001"
        calls = json.loads(self.api("GET", "/calls?queue=support", "sam").body)
        assert [c["id"] for c in calls["calls"]] == [call_id] and calls["next"] is None
        one = json.loads(self.api("GET", f"/calls/{call_id}", "sam").body)
        assert one["events"][0]["event"] == "ENTERQUEUE"

    def test_operator_sets_own_state_and_disposition_only(self):
        assert self.api("POST", "/operators/Olga/state", "olga",
                        {"state": "paused", "reason": "Lunch"}).code == 200
        self.run_async(self.box.admin.save_operator("Petr", "102", "12"))
        assert self.api("POST", "/operators/Petr/state", "olga",
                        {"state": "available"}).code == 403
        response = self.api("POST", "/operators/Olga/state", "olga", {"state": "flying"})
        assert response.code == 422 and "state" in json.loads(response.body)["fields"]
        call_id = self.box.simulate_incoming("+79160000002", "", "support")
        self.box.simulate_answer(call_id, "Olga")
        assert self.api("POST", f"/calls/{call_id}/disposition", "olga",
                        {"disposition": "sale", "note": "ok"}).code == 200
        assert self.box.store.query("SELECT disposition FROM calls WHERE id = ?",
                                    (call_id,))[0]["disposition"] == "sale"

    def test_dial_and_callbacks(self):
        response = self.api("POST", "/operators/Olga/dial", "olga", {"number": "+7916"})
        assert response.code == 200 and json.loads(response.body)["call_id"]
        assert self.api("POST", "/callbacks", "olga", {"number": "+79160000003"}).code == 403
        response = self.api("POST", "/callbacks", "sam",
                            {"number": "+79160000003", "queue": "support"})
        assert response.code == 201
        callback_id = json.loads(response.body)["id"]
        listed = json.loads(self.api("GET", "/callbacks", "olga").body)["callbacks"]
        assert [c["id"] for c in listed] == [callback_id]
        assert self.api("POST", f"/callbacks/{callback_id}/take", "olga").code == 200
        assert self.api("POST", f"/callbacks/{callback_id}/take", "olga").code == 422

    def test_queue_put_validates_and_merges(self):
        response = self.api("PUT", "/queues/sales", "admin", {"ring_timeout": 25})
        assert response.code == 201
        response = self.api("PUT", "/queues/sales", "admin", {"max_wait": 60})
        assert response.code == 200
        queue = self.box.admin.queue("sales")
        assert (queue.ring_timeout, queue.max_wait) == (25, 60)
        response = self.api("PUT", "/queues/sales", "admin", {"ring_timeout": 1})
        assert response.code == 422
        assert self.box.admin.queue("sales").ring_timeout == 25
        assert self.api("DELETE", "/queues/sales", "admin").code == 200

    def test_bad_limit_is_422(self):
        assert self.api("GET", "/calls?limit=lots", "sam").code == 422

    def test_bad_json_is_a_400(self):
        response = self.request("POST", "/api/v1/operators/Olga/state", raw_body=b"{nope",
                                headers={"Authorization": f"Bearer {self.tokens['olga']}"},
                                cookies=False)
        assert response.code == 400

    def test_reports(self):
        call_id = self.box.simulate_incoming("+79160000004", "", "support")
        self.box.simulate_answer(call_id, "Olga", wait=4)
        self.box.simulate_end(call_id, talk=40)
        rows = json.loads(self.api("GET", "/reports?group=queue", "sam").body)["rows"]
        assert rows[0]["key"] == "support" and rows[0]["answered"] == 1
        assert self.api("GET", "/reports?group=planet", "sam").code == 422

    def test_cookie_session_without_xsrf_is_refused(self):
        self.login("olga")
        response = self.request("POST", "/api/v1/operators/Olga/state",
                                json_body={"state": "available"})
        assert response.code == 403

    def test_openapi_describes_every_api_route(self):
        response = self.request("GET", "/api/openapi.json",
                                headers={"Authorization": f"Bearer {self.tokens['olga']}"},
                                cookies=False)
        doc = json.loads(response.body)
        assert doc["openapi"].startswith("3.")
        documented = set(doc["paths"])
        served = set()
        for rule in routes():
            pattern = rule.regex.pattern.rstrip("$")
            if not pattern.startswith("/api/v1/"):
                continue
            served.add(pattern)
        # turn documented templates into the route regexes' shape and compare counts
        def as_regex(path: str) -> str:
            return re.sub(r"\{[^}]+\}", "X", path)
        served_shapes = {re.sub(r"\([^)]*\)", "X", p)[len("/api/v1"):] for p in served}
        doc_shapes = {as_regex(p) for p in documented}
        # the (state|dial) route is documented as two paths
        doc_shapes = {p.replace("/state", "/X").replace("/dial", "/X") for p in doc_shapes}
        assert served_shapes == doc_shapes
