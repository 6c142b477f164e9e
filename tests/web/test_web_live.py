"""Live views over WebSocket: the wallboard follows events, the caller's card pops on the
operator's panel only, escaped; the panel's buttons reach the box."""

from __future__ import annotations

import asyncio
import json

from fakebox import flow_call_data
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.testing import gen_test
from tornado.websocket import WebSocketError, websocket_connect
from web_helpers import WebCase

from appliance.acd.config import QueueConfig
from web.handlers.live import LiveSocket

XSS = '<img src=x onerror="alert(1)">'
REFUSED = (HTTPClientError, WebSocketError)  # the handshake got no 101


class Live(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.run_async(self.box.admin.save_queue(QueueConfig(name="support"), create=True))
        self.run_async(self.box.admin.save_operator("Olga", "101", "11", {"support": 0}))
        self.run_async(self.box.admin.save_operator("Petr", "102", "12", {"support": 0}))
        self.make_user("olga", "operator", operator="Olga")
        self.make_user("petr", "operator", operator="Petr")
        self.make_user("sam", "supervisor")
        self.sessions = {"admin": self.cookies["callbox_session"]}
        for name in ("olga", "petr", "sam"):
            self.login(name)
            self.sessions[name] = self.cookies["callbox_session"]

    async def socket(self, who: str, view: str):
        url = f"ws://127.0.0.1:{self.get_http_port()}/live?view={view}"
        request = HTTPRequest(url, headers={
            "Cookie": f"callbox_session={self.sessions[who]}",
            "Origin": f"http://127.0.0.1:{self.get_http_port()}"})
        ws = await websocket_connect(request)
        # the hub registers the socket in open(); wait until it is there
        for _ in range(100):
            if any(c.view == view for c in self.application.hub.clients):
                break
            await asyncio.sleep(0.01)
        return ws

    async def next_message(self, ws, target: str, timeout: float = 3.0) -> dict:
        async def read():
            while True:
                raw = await ws.read_message()
                assert raw is not None, "socket closed"
                data = json.loads(raw)
                if data["target"] == target:
                    return data
        return await asyncio.wait_for(read(), timeout)

    @gen_test
    async def test_wallboard_shows_a_waiting_caller_then_the_answer(self):
        ws = await self.socket("sam", "wallboard")
        call_id = self.box.simulate_incoming("+79161234567", "Ivan Petrov", "support")
        message = await self.next_message(ws, "wallboard")
        assert "Ivan Petrov" in message["html"] and 'data-waiting="1"' in message["html"]
        self.box.simulate_answer(call_id, "Olga")
        message = await self.next_message(ws, "wallboard")
        assert 'data-waiting="0"' in message["html"]
        assert "On a call" in message["html"]
        ws.close()

    @gen_test
    async def test_screen_pop_goes_to_that_operator_only_and_is_escaped(self):
        self.box.store.writer.execute(
            "INSERT INTO sms(line, direction, number, text, ts) VALUES "
            "('gsm1', 'in', '+79160000001', ?, 1)", (XSS,)).result(5)
        olga = await self.socket("olga", "panel")
        petr = await self.socket("petr", "panel")
        call_id = self.box.simulate_incoming("+79160000001", XSS, "support",
                                             data={"order": XSS})
        self.box.simulate_offer(call_id, "Olga", collected=flow_call_data("12345"))
        pop = await self.next_message(olga, "caller-card")
        assert pop["pop"] is True
        assert "+79160000001" in pop["html"]
        # what the caller chose and typed, in order; none of the call's bookkeeping
        entered = pop["html"][pop["html"].index('id="caller-entered"'):]
        entered = entered[:entered.index("</ul>")]
        assert entered.index("Support: <b>2</b>") < entered.index("Account: <b>12345</b>")
        for internal in ("presentation", "flow_name", "collected", "version"):
            assert internal not in entered
        assert XSS not in pop["html"] and "&lt;img src=x" in pop["html"]
        assert call_id in pop["html"]
        # Petr's panel gets status refreshes, never Olga's card
        other = await self.next_message(petr, "panel-status")
        assert "+79160000001" not in other["html"]
        try:
            stray = await self.next_message(petr, "caller-card", timeout=0.3)
        except TimeoutError:
            stray = None
        assert stray is None
        olga.close()
        petr.close()

    async def socket_for(self, who: str, query: str):
        url = f"ws://127.0.0.1:{self.get_http_port()}/live?{query}"
        return await websocket_connect(HTTPRequest(url, headers={
            "Cookie": f"callbox_session={self.sessions[who]}",
            "Origin": f"http://127.0.0.1:{self.get_http_port()}"}))

    @gen_test
    async def test_supervisor_watches_an_operators_panel_but_operators_only_their_own(self):
        ws = await self.socket_for("sam", "view=panel&operator=Olga")
        call_id = self.box.simulate_incoming("+79160000007", "Vera", "support")
        self.box.simulate_offer(call_id, "Olga")
        pop = await self.next_message(ws, "caller-card")
        assert "Vera" in pop["html"]
        ws.close()
        olga = await self.socket_for("olga", "view=panel&operator=Petr")  # asks for Petr's
        self.box.simulate_offer(call_id, "Petr")
        try:
            stray = await self.next_message(olga, "caller-card", timeout=0.3)
        except TimeoutError:
            stray = None
        assert stray is None  # she is watching her own panel, not Petr's
        olga.close()
        with self.assertRaises(REFUSED):
            await self.socket_for("sam", "view=panel&operator=Nobody")

    @gen_test
    async def test_operator_cannot_open_the_wallboard_socket(self):
        with self.assertRaises(REFUSED):
            await self.socket("olga", "wallboard")

    @gen_test
    async def test_foreign_origin_is_refused(self):
        url = f"ws://127.0.0.1:{self.get_http_port()}/live?view=wallboard"
        request = HTTPRequest(url, headers={"Cookie": f"callbox_session={self.sessions['sam']}",
                                            "Origin": "http://evil.example"})
        with self.assertRaises(REFUSED):
            await websocket_connect(request)

    @gen_test
    async def test_hardware_view_follows_line_state_for_admins_only(self):
        with self.assertRaises(REFUSED):  # a supervisor may not watch the hardware
            await self.socket("sam", "hardware")
        ws = await self.socket("admin", "hardware")
        self.box.lines = [{"name": "gsm1", "kind": "gsm", "model": "E1550", "imei": "8612",
                           "operator": "Beeline", "signal_bars": 4, "sim": "ready",
                           "registration": "home", "state": "idle", "error": ""}]
        self.box.bus.publish("line.state", line="gsm1")
        message = await self.next_message(ws, "hardware")
        assert "Beeline" in message["html"] and "SIM ready" in message["html"]
        ws.close()


    @gen_test
    async def test_phone_registration_shows_live(self):
        await self.box.admin.add_phone("101", name="Desk 1")
        ws = await self.socket("admin", "phones")
        self.box.registrations["101"] = {"registered": True, "user_agent": "Yealink T46U"}
        self.box.bus.publish("phone.registration", extension="101", registered=True)
        message = await self.next_message(ws, "phones-table")
        assert "Yealink T46U" in message["html"] and "not registered" not in message["html"]
        ws.close()


class PanelActions(WebCase):
    def setUp(self):
        super().setUp()
        self.setup_admin()
        self.run_async(self.box.admin.save_queue(QueueConfig(name="support"), create=True))
        self.run_async(self.box.admin.save_operator("Olga", "101", "11", {"support": 0}))
        self.make_user("olga", "operator", operator="Olga")
        self.login("olga")

    def test_pause_with_reason_and_available(self):
        events = []
        self.box.bus.subscribe(events.append, "operator.state")
        assert self.post("/panel/state", {"state": "paused", "reason": "Lunch"}).code == 302
        assert events[-1].data == {"operator": "Olga", "status": "paused", "reason": "Lunch"}
        assert self.post("/panel/state", {"state": "available"}).code == 302
        assert events[-1].data["status"] == "available"
        assert self.post("/panel/state", {"state": "on_call"}).code == 400

    def test_click_to_call_checks_the_number(self):
        assert self.post("/panel/dial", {"number": "+79161112233"}).code == 302
        assert self.box.dialled == [("Olga", "+79161112233")]
        response = self.post("/panel/dial", {"number": "call me maybe"})
        assert response.code == 400 and len(self.box.dialled) == 1

    def test_disposition_after_the_call_and_the_card_goes(self):
        call_id = self.box.simulate_incoming("+79160000002", "Anna", "support")
        self.io_loop.run_sync(lambda: asyncio.sleep(0))
        self.box.simulate_offer(call_id, "Olga")
        self.box.simulate_answer(call_id, "Olga")
        self.box.simulate_end(call_id, talk=42)
        page = self.text(self.get("/panel"))
        assert "Anna" in page and "disposition-form" in page
        assert "data-countdown" in page  # wrap-up countdown
        response = self.post("/panel/disposition", {"call_id": call_id,
                                                    "disposition": "sale", "note": "2 units"})
        assert response.code == 302
        assert "Saved." in self.text(self.get(response.headers["Location"]))
        assert 'id="message"' not in self.text(self.get("/panel?done=evil&message=evil"))
        row = self.box.store.query("SELECT disposition, note FROM calls WHERE id = ?",
                                   (call_id,))[0]
        assert row == {"disposition": "sale", "note": "2 units"}
        assert "disposition-form" not in self.text(self.get("/panel"))
        bad = self.post("/panel/disposition", {"call_id": call_id, "disposition": "bogus"})
        assert bad.code == 400

    def test_callbacks_listed_and_taken(self):
        callback_id = self.run_async(self.box.request_callback("+79160000003", "support"))
        page = self.text(self.get("/panel"))
        assert "+79160000003" in page
        assert self.post("/panel/callback", {"id": str(callback_id)}).code == 302
        assert self.box.taken_callbacks == [(callback_id, "Olga")]
        assert "+79160000003" not in self.text(self.get("/panel"))

    def test_a_lost_card_comes_back_from_my_calls_today(self):
        call_id = self.box.simulate_incoming("+79160000004", "Boris", "support")
        self.box.simulate_answer(call_id, "Olga")
        self.box.simulate_end(call_id)
        self.application.hub.last_offer.clear()  # e.g. the box restarted during the call
        page = self.text(self.get("/panel"))
        assert f'href="/panel?call={call_id}"' in page and "disposition-form" not in page
        card = self.text(self.get(f"/panel?call={call_id}"))
        assert "Boris" in card and "disposition-form" in card
        other = self.box.simulate_incoming("+79160000005", "", "support")
        self.box.simulate_answer(other, "Petr")
        assert self.get(f"/panel?call={other}").code == 404  # not Olga's call


class FakeWire:
    """Stands in for a WebSocket connection: each write completes when the test says."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.futures: list[asyncio.Future] = []
        self.removed = False
        self.application = type("App", (), {"hub": self})()

    def remove(self, _client) -> None:
        self.removed = True

    def write_message(self, message: str) -> asyncio.Future:
        self.written.append(message)
        future = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future

    send = LiveSocket.send
    _write_next = LiveSocket._write_next
    _written = LiveSocket._written


def test_a_slow_socket_gets_the_newest_fragment_not_a_backlog():
    async def scenario():
        wire = FakeWire()
        wire._writing, wire._pending = False, {}
        wire.send("wallboard", "v1")
        for version in ("v2", "v3", "v4"):  # the TV has not taken v1 yet
            wire.send("wallboard", version)
        wire.send("caller-card", "pop")
        assert wire.written == ["v1"]
        wire.futures[-1].set_result(None)
        await asyncio.sleep(0)
        wire.futures[-1].set_result(None)
        await asyncio.sleep(0)
        assert wire.written == ["v1", "v4", "pop"]
        wire.futures[-1].set_exception(OSError("gone"))
        await asyncio.sleep(0)
        assert wire.removed

    asyncio.run(scenario())
