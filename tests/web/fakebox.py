"""A Box for the web tests: a real Store, EventBus and Admin, with the live state (who
waits, who is on which call) kept in memory from the events the tests publish — the same
events the switchboard publishes.  ``simulate_*`` helpers publish those events and write
the call records the switchboard would write."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from appliance.admin import Admin, ValidationError
from appliance.events import Event, EventBus
from appliance.store import open_store


class FakeBox:
    def __init__(self, data_dir) -> None:
        self.store = open_store(data_dir)
        self.bus = EventBus()
        self.admin = Admin(self.store, self.bus)
        self.waiting: dict[str, dict[str, dict[str, Any]]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.lines: list[dict[str, Any]] = []
        self.registrations: dict[str, dict[str, Any]] = {}
        self.bans: list[dict[str, Any]] = []
        self.dialled: list[tuple[str, str]] = []
        self.taken_callbacks: list[tuple[int, str]] = []
        self.flow_tests: list[tuple[str, str]] = []
        self.bus.subscribe(self._follow)

    def close(self) -> None:
        self.store.close()

    # -- following events (what the switchboard knows without asking) ---------------------
    def _follow(self, event: Event) -> None:
        d = event.data
        if event.kind == "queue.join":
            self.waiting.setdefault(d["queue"], {})[d["call_id"]] = {
                "call_id": d["call_id"], "caller_number": d.get("caller_number", ""),
                "caller_name": d.get("caller_name", ""), "since": time.monotonic()}
        elif event.kind == "queue.leave":
            self.waiting.get(d["queue"], {}).pop(d["call_id"], None)
        elif event.kind == "operator.state":
            self.states[d["operator"]] = {"status": d["status"], "reason": d.get("reason", ""),
                                          "since": time.monotonic(),
                                          "call_id": d.get("call_id", ""),
                                          "caller_number": d.get("caller_number", ""),
                                          "wrapup_left": d.get("wrapup_left")}

    # -- Box -------------------------------------------------------------------------------
    def wallboard(self) -> dict[str, Any]:
        now = time.monotonic()
        tz = ZoneInfo(self.store.setting("timezone", "UTC"))
        midnight = dt.datetime.combine(dt.datetime.now(tz).date(), dt.time(), tz).timestamp()
        today = {r["key"]: r for r in self._kpis("queue", midnight, midnight + 86400)}
        queues = []
        for q in self.admin.queues():
            waiting = [{**w, "waited": now - w["since"]}
                       for w in self.waiting.get(q.name, {}).values()]
            kpi = today.get(q.name, {"offered": 0, "answered": 0, "abandoned": 0,
                                     "service_level": None, "asa": None, "aht": None})
            queues.append({"name": q.name, "waiting": waiting,
                           "longest_wait": max((w["waited"] for w in waiting), default=0),
                           "available": sum(1 for s in self.states.values()
                                            if s["status"] == "available"),
                           **{k: kpi[k] for k in ("offered", "answered", "abandoned",
                                                  "service_level", "asa", "aht")}})
        operators = []
        for op in self.admin.operators():
            st = self.states.get(op["name"], {"status": "logged_out", "reason": "",
                                              "since": now, "call_id": "",
                                              "caller_number": "", "wrapup_left": None})
            operators.append({"name": op["name"], "status": st["status"],
                              "in_state": now - st["since"], "reason": st["reason"],
                              "call_id": st["call_id"], "caller_number": st["caller_number"],
                              "queues": list(op["queues"]), "wrapup_left": st["wrapup_left"],
                              "calls_taken": 0})
        return {"queues": queues, "operators": operators}

    def lines_status(self) -> list[dict[str, Any]]:
        return list(self.lines)

    def phones_status(self) -> dict[str, dict[str, Any]]:
        return dict(self.registrations)

    def banned(self) -> list[dict[str, Any]]:
        return list(self.bans)

    def unban(self, source: str) -> bool:
        before = len(self.bans)
        self.bans = [b for b in self.bans if b["source"] != source]
        return len(self.bans) < before

    async def set_operator_state(self, name: str, state: str, reason: str = "") -> None:
        if self.admin.operator(name) is None:
            raise ValidationError({"operator": "no such operator"})
        self.bus.publish("operator.state", operator=name, status=state,
                         reason=reason if state == "paused" else "")

    async def click_to_call(self, operator: str, number: str) -> str:
        self.dialled.append((operator, number))
        return "c2c-" + uuid.uuid4().hex[:8]

    async def test_flow(self, flow: str, extension: str) -> str:
        if not self.store.query("SELECT 1 FROM flows WHERE name = ? AND active = 1", (flow,)):
            raise ValidationError({"flow": "no active flow has this name"})
        if not self.registrations.get(extension, {}).get("registered"):
            raise ValidationError({"extension": "no phone is registered at this extension"})
        self.flow_tests.append((flow, extension))
        return "test-" + uuid.uuid4().hex[:8]

    async def callback(self, callback_id: int, operator: str) -> str:
        rows = self.store.query("SELECT * FROM callbacks WHERE id = ? AND status = 'waiting'",
                                (callback_id,))
        if not rows:
            raise ValidationError({"id": "this callback is no longer waiting"})
        await self.store.writer.awrite(lambda c: c.execute(
            "UPDATE callbacks SET status = 'dialling', operator = ? WHERE id = ?",
            (operator, callback_id)))
        self.taken_callbacks.append((callback_id, operator))
        return "cb-" + uuid.uuid4().hex[:8]

    async def request_callback(self, number: str, queue: str, call_id: str = "",
                               operator: str = "") -> int:
        now = time.time()
        return await self.store.writer.awrite(lambda c: c.execute(
            "INSERT INTO callbacks(call_id, queue, number, operator, requested_at) "
            "VALUES (?, ?, ?, ?, ?)", (call_id, queue, number, operator, now)).lastrowid)

    async def set_disposition(self, call_id: str, disposition: str, note: str) -> None:
        if not self.store.query("SELECT 1 FROM calls WHERE id = ?", (call_id,)):
            raise ValidationError({"call_id": "no such call"})
        await self.store.writer.awrite(lambda c: c.execute(
            "UPDATE calls SET disposition = ?, note = ? WHERE id = ?",
            (disposition, note, call_id)))

    def provisioning(self, mac: str, user_agent: str, filename: str):
        rows = self.store.query("SELECT * FROM phones WHERE mac = ? ORDER BY port", (mac,))
        if not rows:
            return None
        body = "".join(f"account.{p['port']}.user_name = {p['extension']}\n"
                       f"account.{p['port']}.password = {p['password']}\n" for p in rows)
        return "text/plain", body.encode()

    async def reports(self, group: str, start: float, end: float, *, queue: str = "",
                      operator: str = "") -> list[dict[str, Any]]:
        return self._kpis(group, start, end, queue, operator)

    def _kpis(self, group: str, start: float, end: float, queue: str = "",
              operator: str = "") -> list[dict[str, Any]]:
        tz = ZoneInfo(self.store.setting("timezone", "UTC"))
        rows = self.store.query(
            "SELECT queue, operator, started_at, answered_at, ended_at, wait_seconds, "
            "talk_seconds, wrapup_seconds FROM calls WHERE started_at >= ? AND started_at < ? "
            "AND queue != ''", (start, end))
        groups: dict[Any, list[dict[str, Any]]] = {}
        for r in rows:
            if (queue and r["queue"] != queue) or (operator and r["operator"] != operator):
                continue
            key = (dt.datetime.fromtimestamp(r["started_at"], tz).hour if group == "hour"
                   else r[group])
            groups.setdefault(key, []).append(r)
        result = []
        for key in sorted(groups):
            calls = groups[key]
            answered = [c for c in calls if c["answered_at"] is not None]
            abandoned = [c for c in calls if c["answered_at"] is None and c["ended_at"]]
            result.append({
                "key": key, "offered": len(calls), "answered": len(answered),
                "abandoned": len(abandoned),
                "service_level": (sum(1 for c in answered if c["wait_seconds"] <= 20)
                                  / len(calls)) if calls else None,
                "asa": (sum(c["wait_seconds"] for c in answered) / len(answered))
                if answered else None,
                "aht": (sum(c["talk_seconds"] + c["wrapup_seconds"] for c in answered)
                        / len(answered)) if answered else None,
            })
        return result

    # -- simulation helpers for tests ------------------------------------------------------
    def simulate_incoming(self, number: str, name: str = "", queue: str = "",
                          started_at: float | None = None, data: dict | None = None) -> str:
        call_id = "call-" + uuid.uuid4().hex[:10]
        started = started_at or time.time()
        self.store.writer.execute(
            "INSERT INTO calls(id, linked_id, direction, line, caller_number, caller_name, "
            "queue, started_at, queued_at, data) "
            "VALUES (?, ?, 'inbound', 'gsm1', ?, ?, ?, ?, ?, ?)",
            (call_id, call_id, number, name, queue, started, started,
             json.dumps(data or {}))).result(5)
        self.store.writer.execute(
            "INSERT INTO call_events(ts, call_id, queue, event, data) "
            "VALUES (?, ?, ?, 'ENTERQUEUE', ?)",
            (started, call_id, queue, json.dumps({"position": 1}))).result(5)
        self.bus.publish("call.incoming", call_id=call_id, line="gsm1", caller_number=number,
                         caller_name=name)
        if queue:
            self.bus.publish("queue.join", call_id=call_id, queue=queue, caller_number=number,
                             caller_name=name, position=1)
        return call_id

    def simulate_offer(self, call_id: str, operator: str, collected: dict | None = None) -> None:
        call = self.store.query("SELECT * FROM calls WHERE id = ?", (call_id,))[0]
        self.bus.publish("operator.state", operator=operator, status="ringing",
                         call_id=call_id, caller_number=call["caller_number"])
        self.bus.publish("operator.offer", operator=operator, call_id=call_id,
                         caller_number=call["caller_number"], caller_name=call["caller_name"],
                         queue=call["queue"], collected=collected or {})

    def simulate_answer(self, call_id: str, operator: str, wait: float = 5.0) -> None:
        call = self.store.query("SELECT * FROM calls WHERE id = ?", (call_id,))[0]
        answered = call["started_at"] + wait
        self.store.writer.execute(
            "UPDATE calls SET operator = ?, answered_at = ?, wait_seconds = ? WHERE id = ?",
            (operator, answered, wait, call_id)).result(5)
        self.store.writer.execute(
            "INSERT INTO call_events(ts, call_id, queue, operator, event, data) "
            "VALUES (?, ?, ?, ?, 'CONNECT', ?)",
            (answered, call_id, call["queue"], operator, json.dumps({"wait": wait}))).result(5)
        self.bus.publish("queue.leave", call_id=call_id, queue=call["queue"], reason="answered")
        self.bus.publish("call.answered", call_id=call_id, operator=operator, queue=call["queue"])
        self.bus.publish("operator.state", operator=operator, status="on_call", call_id=call_id,
                         caller_number=call["caller_number"])

    def simulate_end(self, call_id: str, talk: float = 60.0, wrapup_left: float = 10) -> None:
        call = self.store.query("SELECT * FROM calls WHERE id = ?", (call_id,))[0]
        answered = call["answered_at"]
        ended = (answered or call["started_at"]) + (talk if answered else 8)
        self.store.writer.execute(
            "UPDATE calls SET ended_at = ?, talk_seconds = ?, wait_seconds = ? WHERE id = ?",
            (ended, talk if answered else 0,
             call["wait_seconds"] if answered else ended - call["started_at"], call_id)).result(5)
        self.store.writer.execute(
            "INSERT INTO call_events(ts, call_id, queue, operator, event) VALUES (?, ?, ?, ?, ?)",
            (ended, call_id, call["queue"], call["operator"],
             "COMPLETECALLER" if answered else "ABANDON")).result(5)
        if not answered and call["queue"]:
            self.bus.publish("queue.leave", call_id=call_id, queue=call["queue"],
                             reason="abandoned")
        self.bus.publish("call.ended", call_id=call_id)
        if answered and call["operator"]:
            self.bus.publish("operator.state", operator=call["operator"], status="wrapup",
                             wrapup_left=wrapup_left)


class _QuietIO:
    """A flow's switchboard side that hears every prompt to the end at once."""

    def play(self, prompt, on_done) -> None:
        on_done()

    def stop_playback(self) -> None: ...

    def enqueue(self, queue: str, priority: int) -> None: ...

    def hangup(self) -> None: ...


def flow_call_data(account: str, sensitive: bool = False) -> dict[str, Any]:
    """A call's data as the switchboard keeps it once a caller pressed 2 ("Support") in
    the menu and typed ``account`` then #: the flow's summary made by the real runner,
    under "flow", next to the switchboard's own bookkeeping."""
    from appliance.clock import VirtualClock
    from appliance.ivr.flow import Flow
    from appliance.ivr.runner import FlowRun

    flow = Flow.from_graph("main", {"start": "menu", "operator": "support", "nodes": {
        "menu": {"type": "menu", "text": "Sales 1, support 2.",
                 "choices": {"1": {"label": "Sales", "next": "support"},
                             "2": {"label": "Support", "next": "account"}}},
        "account": {"type": "collect", "name": "account", "label": "Account",
                    "text": "Your account number, then hash.", "sensitive": sensitive,
                    "next": "support"},
        "support": {"type": "queue", "queue": "support"}}})
    run = FlowRun(flow, VirtualClock(), _QuietIO())
    run.start()
    for key in "2" + account + "#":
        run.dtmf(key)
    assert run.exit is not None and run.exit.kind == "queue", run.path
    return {"presentation": "allowed", "flow_name": "main", "flow": run.summary()}
