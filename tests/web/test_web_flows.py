"""The call flows and voicemail pages: the validator's messages next to their nodes, a flow
with errors never activated, bad JSON refused with nothing saved, voicemail listed and
played only from the voicemail folder."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tornado.escape import xhtml_escape
from web_helpers import WebCase

from appliance.acd.config import QueueConfig
from appliance.ivr.flow import Flow
from appliance.ivr.flowstore import FlowStore
from appliance.ivr.validate import validate

XSS = '<script>alert("x")</script>'

GOOD = {"start": "welcome", "language": "en", "operator": "sales",
        "nodes": {"welcome": {"type": "play", "text": "Hello.", "next": "sales"},
                  "sales": {"type": "queue", "queue": "sales"}}}
# "welcome" goes nowhere that exists (an error); "spare" is reached by nobody (a warning)
BROKEN = {"start": "welcome", "language": "en", "operator": "sales",
          "nodes": {"welcome": {"type": "play", "text": "Hello.", "next": "nowhere"},
                    "sales": {"type": "queue", "queue": "sales"},
                    "spare": {"type": "hangup"}}}


def node_item(html: str, node: str) -> str:
    """The list item the page shows for one node (its id and its messages)."""
    end = r"</li>\s*(?=<li id=|</ul>\s*</section>)"
    match = re.search(r'<li id="node-' + re.escape(node) + r'">(.*?)' + end, html, re.S)
    assert match, f"no list item for node {node}"
    return match.group(1)


class FlowsPage(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.run_async(self.box.admin.save_queue(QueueConfig(name="sales"), create=True))
        self.flows = FlowStore(self.box.store)

    def post_flow(self, action: str, name: str, graph, **extra):
        text = graph if isinstance(graph, str) else json.dumps(graph)
        return self.post("/admin/flows", {"action": action, "name": name, "graph": text,
                                          **extra})

    def test_new_flow_is_prefilled_with_a_starter_that_passes_the_validator(self):
        html = self.text(self.get("/admin/flows"))
        area = re.search(r'<textarea id="flow-graph"[^>]*>(.*?)</textarea>', html, re.S)
        graph = json.loads(area.group(1).replace("&quot;", '"').replace("&amp;", "&")
                           .replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'"))
        assert graph["nodes"]["queue"]["queue"] == "sales"  # the site's first queue
        messages = validate(Flow.from_graph("x", graph), queues=["sales"])
        assert not [m for m in messages if m.severity == "error"]

    def test_lists_flows_with_their_active_version(self):
        self.run_async(self.flows.save("main", GOOD))
        self.run_async(self.flows.save("night", GOOD, activate=False))
        html = self.text(self.get("/admin/flows"))
        table = html.split('id="flow-list"')[1].split("</table>")[0]
        assert "main" in table and "night" in table
        assert "/admin/flows?name=main" in table

    def test_bad_json_is_refused_next_to_the_field_and_nothing_saved(self):
        response = self.post_flow("save", "main", '{"start": "a", "nodes": {')
        html = self.text(response)
        assert response.code == 400
        assert 'id="error-graph"' in html and "line 1" in html
        assert '{&quot;start&quot;: &quot;a&quot;' in html  # what was typed stays
        assert self.flows.names() == []

    def test_graph_not_shaped_like_a_flow_is_refused(self):
        response = self.post_flow("save", "main", [1, 2])
        assert response.code == 400 and 'id="error-graph"' in self.text(response)
        assert self.flows.names() == []

    def test_bad_name_is_refused_next_to_the_field(self):
        response = self.post_flow("save", "a/b", GOOD)
        assert response.code == 400 and 'id="error-name"' in self.text(response)
        assert self.flows.names() == []

    def test_check_shows_each_message_next_to_its_node(self):
        response = self.post_flow("check", "main", BROKEN)
        html = self.text(response)
        assert response.code == 200
        expected = validate(Flow.from_graph("main", BROKEN), queues=["sales"])
        by_node = {m.node: m for m in expected}
        assert by_node["welcome"].severity == "error"
        assert by_node["spare"].severity == "warning"
        welcome, spare = node_item(html, "welcome"), node_item(html, "spare")
        assert xhtml_escape(by_node["welcome"].text("en")) in welcome
        assert 'class="bad" data-severity="error"' in welcome
        assert xhtml_escape(by_node["spare"].text("en")) in spare
        assert 'class="warn" data-severity="warning"' in spare
        for m in expected:  # every message in the item of its own node, and only there
            css = "bad" if m.severity == "error" else "warn"
            assert f'class="{css}" data-severity="{m.severity}">' in node_item(html, m.node)
            assert xhtml_escape(m.text("en")) in node_item(html, m.node)
        assert xhtml_escape(by_node["welcome"].text("en")) not in spare
        assert self.flows.names() == []  # checking saves nothing

    def test_check_in_russian_shows_russian_messages(self):
        self.cookies["callbox_locale"] = "ru_RU"
        html = self.text(self.post_flow("check", "main", BROKEN))
        expected = [m for m in validate(Flow.from_graph("main", BROKEN), queues=["sales"])
                    if m.node == "welcome"][0]
        assert xhtml_escape(expected.text("ru")) in node_item(html, "welcome")

    def test_save_with_errors_is_refused_with_the_messages(self):
        response = self.post_flow("save", "main", BROKEN)
        assert response.code == 400
        assert 'data-severity="error"' in node_item(self.text(response), "welcome")
        assert self.flows.names() == [] and self.flows.active("main") is None

    def test_valid_flow_is_saved_and_activated(self):
        response = self.post_flow("save", "main", GOOD)
        assert response.code == 302
        active = self.flows.active("main")
        assert active is not None and active.graph["nodes"] == GOOD["nodes"]
        html = self.text(self.get(response.headers["Location"]))
        assert 'id="flow-saved"' in html and 'id="flow-versions"' in html

    def test_warnings_do_not_block_activation(self):
        graph = json.loads(json.dumps(GOOD))
        graph["nodes"]["spare"] = {"type": "hangup"}  # unreachable: a warning only
        assert self.post_flow("save", "main", graph).code == 302
        assert "spare" in self.flows.active("main").graph["nodes"]

    def test_prompt_not_recorded_is_a_warning_until_it_is(self):
        graph = json.loads(json.dumps(GOOD))
        graph["nodes"]["welcome"] = {"type": "play", "prompt": "hello", "next": "sales"}
        html = self.text(self.post_flow("check", "main", graph))
        assert 'data-severity="warning"' in node_item(html, "welcome")
        assert "hello" in node_item(html, "welcome")
        self.run_async(self.box.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO prompts(name, language, path, source, created_at) "
            "VALUES ('hello', 'en', '/x.wav', 'upload', 0)")))
        html = self.text(self.post_flow("check", "main", graph))
        assert "data-severity" not in node_item(html, "welcome")
        assert self.post_flow("save", "main", graph).code == 302

    def test_unknown_queue_is_an_error_from_the_site_queues(self):
        graph = json.loads(json.dumps(GOOD))
        graph["nodes"]["sales"]["queue"] = "nosuchqueue"
        response = self.post_flow("save", "main", graph)
        assert response.code == 400 and self.flows.active("main") is None

    def test_restore_makes_a_new_active_version(self):
        self.run_async(self.flows.save("main", GOOD))
        changed = json.loads(json.dumps(GOOD))
        changed["nodes"]["welcome"]["text"] = "Good evening."
        self.run_async(self.flows.save("main", changed))
        response = self.post("/admin/flows", {"action": "restore", "name": "main",
                                              "version": "1"})
        assert response.code == 302
        versions = self.flows.versions("main")
        assert [v["version"] for v in versions] == [3, 2, 1]
        active = self.flows.active("main")
        assert active.version == 3 and active.graph["nodes"]["welcome"]["text"] == "Hello."

    def test_restore_of_a_missing_version_is_404_and_changes_nothing(self):
        self.run_async(self.flows.save("main", GOOD))
        response = self.post("/admin/flows", {"action": "restore", "name": "main",
                                              "version": "9"})
        assert response.code == 404 and len(self.flows.versions("main")) == 1
        assert self.post("/admin/flows", {"action": "restore", "name": "main",
                                          "version": "x"}).code == 400

    def test_opening_an_old_version_shows_its_graph(self):
        self.run_async(self.flows.save("main", GOOD))
        changed = json.loads(json.dumps(GOOD))
        changed["nodes"]["welcome"]["text"] = "Good evening."
        self.run_async(self.flows.save("main", changed))
        assert "Good evening." in self.text(self.get("/admin/flows?name=main"))
        old = self.text(self.get("/admin/flows?name=main&version=1"))
        assert "Good evening." not in old and "Hello." in old

    def test_flow_names_are_escaped(self):
        name = '<img src=x onerror=alert(1)>'  # a flow name may not hold a slash
        self.run_async(self.flows.save(name, GOOD))
        html = self.text(self.get("/admin/flows"))
        assert name not in html and xhtml_escape(name) in html

    def test_supervisor_and_stranger_are_refused(self):
        self.make_user("sam", "supervisor")
        self.login("sam")
        assert self.get("/admin/flows").code == 403
        assert self.post_flow("save", "main", GOOD).code == 403
        self.logout()
        assert self.get("/admin/flows").code == 302
        assert self.post_flow("save", "main", GOOD).code == 403
        assert self.flows.names() == []


# a voicemail row's digits: the caller's run through the flow (FlowRun.summary())
SUMMARY = {"flow": "main", "version": 3, "language": "en", "path": ["main_menu", "acct", "vm"],
           "choices": [{"node": "main_menu", "key": "2", "label": "Support"}],
           "digits": {"account": "••••4711"},
           "collected": [{"kind": "choice", "node": "main_menu", "key": "2", "label": "Support"},
                         {"kind": "digits", "node": "acct", "name": "account",
                          "label": "Account", "shown": "••••4711"}],
           "exit": {"kind": "voicemail", "node": "vm", "target": "sales"}}


def entered_cell(html: str, voicemail_id: int) -> str:
    """The "entered digits" cell of one message's row."""
    row = html[html.index(f'id="vm-{voicemail_id}"'):]
    cell = row[row.index('class="entered"'):]
    return cell[:cell.index("</td>")]


class VoicemailPage(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.data_dir = Path(self.tmp)

    def insert(self, path: Path | str, number: str = "+79161234567", heard: int = 0,
               created_at: float | None = None, digits: dict | None = None) -> int:
        row = (number, json.dumps(digits or {}), str(path), created_at or time.time(), heard)
        return self.run_async(self.box.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO voicemail(call_id, line, queue, caller_number, digits, path, "
            "duration, created_at, heard) VALUES ('c1', 'gsm1', 'sales', ?, ?, ?, 12.5, ?, ?)",
            row).lastrowid))

    def wav(self, name: str = "c1.wav") -> Path:
        path = self.data_dir / "voicemail" / "2026-11" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28))
        return path

    def test_lists_messages_newest_first_with_a_player(self):
        old = self.insert(self.wav("old.wav"), number="+70000000001", created_at=1000.0)
        new = self.insert(self.wav("new.wav"), number="+70000000002", digits=SUMMARY)
        html = self.text(self.get("/admin/voicemail"))
        assert html.index("+70000000002") < html.index("+70000000001")
        assert f'src="/admin/voicemail/{new}.wav"' in html
        assert f'src="/admin/voicemail/{old}.wav"' in html
        assert "<audio controls" in html and "sales" in html
        # what the caller chose and entered, in order; not the run's bookkeeping
        cell = entered_cell(html, new)
        assert cell.index("Support: 2") < cell.index("Account: ••••4711")
        for internal in ("version", "path", "collected", "main_menu", "1234"):
            assert internal not in cell

    def test_digits_not_shaped_like_a_summary_show_nothing(self):
        for digits in ({"account": "4711"}, {"collected": "4711"},
                       {"collected": [["digits", "4711"], {"kind": "nope", "shown": "4711"}]}):
            vm = self.insert(self.wav(), digits=digits)
            html = self.text(self.get("/admin/voicemail"))
            assert "4711" not in entered_cell(html, vm)

    def test_wav_is_served_to_admin_and_supervisor(self):
        path = self.wav()
        vm = self.insert(path)
        response = self.get(f"/admin/voicemail/{vm}.wav")
        assert response.code == 200 and response.body == path.read_bytes()
        assert response.headers["Content-Type"] == "audio/wav"
        self.make_user("sam", "supervisor")
        self.login("sam")
        assert self.get(f"/admin/voicemail/{vm}.wav").code == 200
        assert self.get("/admin/voicemail").code == 200

    def test_the_player_can_seek_with_byte_ranges(self):
        path = self.wav()
        body = path.read_bytes()
        vm = self.insert(path)
        url = f"/admin/voicemail/{vm}.wav"
        whole = self.get(url)
        assert whole.code == 200 and whole.headers["Accept-Ranges"] == "bytes"
        part = self.get(url, headers={"Range": "bytes=4-11"})
        assert part.code == 206 and part.body == body[4:12]
        assert part.headers["Content-Range"] == f"bytes 4-11/{len(body)}"
        tail = self.get(url, headers={"Range": "bytes=-8"})
        assert tail.code == 206 and tail.body == body[-8:]
        open_end = self.get(url, headers={"Range": "bytes=40-"})
        assert open_end.code == 206 and open_end.body == body[40:]
        past = self.get(url, headers={"Range": f"bytes={len(body)}-"})
        assert past.code == 416 and past.headers["Content-Range"] == f"bytes */{len(body)}"
        for odd in ("bytes=0-1,4-5", "pages=1-2", "bytes=abc"):  # served whole
            response = self.get(url, headers={"Range": odd})
            assert response.code == 200 and response.body == body, odd

    def test_wav_outside_the_voicemail_folder_is_404(self):
        outside = self.data_dir / "secret.wav"
        outside.write_bytes(b"RIFF secret")
        for path in (outside, self.data_dir / "voicemail" / ".." / "secret.wav",
                     self.data_dir / "callbox.db", "/etc/passwd"):
            vm = self.insert(path)
            response = self.get(f"/admin/voicemail/{vm}.wav")
            assert response.code == 404, path
            assert b"secret" not in response.body
        assert self.get("/admin/voicemail/999.wav").code == 404  # no such message
        gone = self.insert(self.data_dir / "voicemail" / "gone.wav")
        assert self.get(f"/admin/voicemail/{gone}.wav").code == 404

    def test_operator_and_stranger_are_refused(self):
        vm = self.insert(self.wav())
        self.run_async(self.box.admin.save_operator("Olga", "101", "11"))
        self.make_user("olga", "operator", operator="Olga")
        self.login("olga")
        assert self.get("/admin/voicemail").code == 403
        assert self.get(f"/admin/voicemail/{vm}.wav").code == 403
        self.logout()
        assert self.get(f"/admin/voicemail/{vm}.wav").code == 302

    def test_mark_heard(self):
        vm = self.insert(self.wav())
        assert self.post("/admin/voicemail", {"id": str(vm)}).code == 302
        assert self.box.store.query("SELECT heard FROM voicemail WHERE id = ?",
                                    (vm,))[0]["heard"] == 1
        assert "+79161234567" not in self.text(self.get("/admin/voicemail?show=new"))
        assert self.post("/admin/voicemail", {"id": str(vm), "heard": "0"}).code == 302
        assert self.box.store.query("SELECT heard FROM voicemail WHERE id = ?",
                                    (vm,))[0]["heard"] == 0
        assert self.post("/admin/voicemail", {"id": "999"}).code == 404
        assert self.post("/admin/voicemail", {"id": "x"}).code == 400

    def test_caller_number_and_digits_are_escaped(self):
        self.insert(self.wav(), number=XSS, digits={"collected": [
            {"kind": "digits", "label": XSS, "shown": XSS}]})
        html = self.text(self.get("/admin/voicemail"))
        assert XSS not in html and xhtml_escape(XSS) in html
