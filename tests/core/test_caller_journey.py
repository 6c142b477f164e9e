"""What a caller hears before an operator answers, end to end on the loopback driver:
a menu answered by DTMF, music on hold with announcements, the callback offer,
voicemail on overflow.  Prompts are spoken by the real espeak-ng."""

from __future__ import annotations

import asyncio
import json

import pytest

from appliance.callmedia import CallMedia
from appliance.ivr.flowstore import FlowStore
from drivers.base import LegState
from tests.conftest import require_tool

from .site import Site

FLOW = {
    "start": "menu", "language": "en", "operator": "support_q",
    "nodes": {
        "menu": {"type": "menu", "text": "For support press 1. To leave a message press 2.",
                 "timeout": 5, "retries": 1,
                 "choices": {"1": {"label": "Support", "next": "support_q"},
                             "2": {"label": "Message", "next": "vm"}}},
        "support_q": {"type": "queue", "queue": "support"},
        "vm": {"type": "voicemail", "queue": "support", "max_seconds": 30},
    },
}


@pytest.fixture
def site(tmp_path):
    require_tool("espeak-ng")
    s = Site(tmp_path)
    s.media = CallMedia(s.board, tmp_path)
    yield s
    s.media.close()
    s.store.close()


def run(coro):
    async def main():
        result = await coro
        # let prompt synthesis still in flight finish before the loop closes
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=15)
        return result

    return asyncio.run(main())


async def with_flow(site: Site) -> None:
    await site.build()
    await FlowStore(site.store, site.clock).save("main", FLOW, queues={"support"})
    await site.admin.save_line("gsm1", "loopback", {"answer_after": 2}, "flow:main",
                               create=False)
    await site.board.sync_lines()
    site.line = site.board.channels["gsm1"]


def test_menu_choice_reaches_the_queue_and_is_shown_to_the_operator(site):
    offers = []
    site.bus.subscribe(lambda e: offers.append(e.data), "operator.offer")

    async def scenario():
        await with_flow(site)
        leg = site.line.place_call("+79161112233")
        await site.until(lambda: leg.frames_received > 25)  # the menu is being spoken
        leg.far_end_dtmf("1")
        await site.until(lambda: site.phones.ringing("101"))
        ring = site.phones.ringing("101")[0]
        ring.far_end_answer()
        await site.settle()
        assert ring.state is LegState.ANSWERED
        leg.far_end_hangup()
        await site.settle()
        return leg.call_id

    call_id = run(scenario())
    assert offers and offers[0]["call_id"] == call_id
    assert "Support" in json.dumps(offers[0]["collected"], ensure_ascii=False)
    data = json.loads(site.call_row(call_id)["data"])
    assert data["flow_name"] == "main"
    assert "Support" in json.dumps(data["flow"], ensure_ascii=False)
    assert site.queue_events(call_id)[:2] == ["ENTERQUEUE", "CONNECT"]


def test_message_left_in_voicemail_becomes_a_callback(site):
    async def scenario():
        await with_flow(site)
        leg = site.line.place_call("+79164445566")
        await site.until(lambda: leg.frames_received > 25)
        leg.far_end_dtmf("2")
        session = site.media.sessions[leg.call_id]
        await site.until(lambda: session.message is not None)  # the intro was spoken
        await site.advance(4)  # the caller speaks (loopback tone) for four seconds
        leg.far_end_dtmf("#")
        await site.until(lambda: site.store.query("SELECT * FROM voicemail"))
        return leg.call_id

    call_id = run(scenario())
    vm = site.store.query("SELECT * FROM voicemail")[0]
    assert vm["call_id"] == call_id and vm["caller_number"] == "+79164445566"
    assert 3.0 <= vm["duration"] <= 5.0
    callbacks = site.store.query("SELECT * FROM callbacks WHERE call_id = ?", (call_id,))
    assert callbacks and callbacks[0]["queue"] == "support"


def test_waiting_caller_hears_music_and_position_and_can_take_a_callback(site):
    async def scenario():
        await site.build(operators=("Anna",))
        busy = site.line.place_call("+79160000001")
        await site.settle()
        site.phones.ringing("101")[0].far_end_answer()
        await site.settle()
        caller = site.line.place_call("+79160000002")
        await site.settle()
        session = site.media.sessions[caller.call_id]
        await site.until(lambda: caller.frames_received > 100)  # position, then music
        assert session.holding and session.announcer is not None
        await site.until(lambda: session.announcer._offered, timeout=30)  # offer at 45 s
        caller.far_end_dtmf("1")
        await site.until(lambda: caller.ended)  # confirmation spoken, then hung up
        assert site.board.acd.position(caller.call_id) == 1  # the place is kept
        busy.far_end_hangup()
        await site.settle()
        return caller.call_id

    call_id = run(scenario())
    assert site.queue_events(call_id)[:2] == ["ENTERQUEUE", "CALLBACK"]


def test_test_this_flow_rings_the_phone_and_plays_the_flow_to_it(site):
    """The installer's "test this flow": their phone rings, and once answered it is the
    flow's caller: it hears the menu, its key chooses, the queue really rings Anna."""
    async def scenario():
        await with_flow(site)
        site.phones.register("105")  # the installer's own phone, not an operator's
        call = site.board.test_flow("main", "105")
        await site.settle()
        tester = site.phones.ringing("105")[0]
        assert tester.frames_received == 0  # nothing is played before the phone answers
        tester.far_end_answer()
        await site.until(lambda: tester.frames_received > 25)  # the menu is being spoken
        tester.far_end_dtmf("1")
        await site.until(lambda: site.phones.ringing("101"))
        tester.far_end_hangup()
        await site.settle()
        return call.id

    call_id = run(scenario())
    row = site.call_row(call_id)
    assert row["direction"] == "test" and row["caller_number"] == "105"
    assert json.loads(row["data"])["flow_name"] == "main"
    assert site.queue_events(call_id)[:2] == ["ENTERQUEUE", "ABANDON"]


def test_test_this_flow_refuses_a_phone_that_is_not_registered(site):
    from drivers.base import Unreachable

    async def scenario():
        await with_flow(site)
        with pytest.raises(Unreachable):
            site.board.test_flow("main", "199")
        return [c for c in site.board.calls.values() if c.direction == "test"]

    assert run(scenario()) == []


def test_a_new_voicemail_is_posted_to_the_webhook_set_in_the_web(site):
    """The daemon's media wires the notifier: the settings page's webhook gets each
    message (the e-mail path shares the code and is tested with a real SMTP exchange in
    tests/web/test_web_notifications.py)."""
    import http.server
    import threading

    posts: list[bytes] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    async def scenario():
        await with_flow(site)
        await site.admin.set_setting("voicemail.webhook", {
            "enabled": True, "url": f"http://127.0.0.1:{server.server_address[1]}/"})
        leg = site.line.place_call("+79164445566")
        await site.until(lambda: leg.frames_received > 25)
        leg.far_end_dtmf("2")
        session = site.media.sessions[leg.call_id]
        await site.until(lambda: session.message is not None)
        await site.advance(2)
        leg.far_end_dtmf("#")
        await site.until(lambda: posts, timeout=30)
        return leg.call_id

    try:
        call_id = run(scenario())
    finally:
        server.shutdown()
        server.server_close()
    body = json.loads(posts[0])
    assert body["event"] == "voicemail" and body["call_id"] == call_id
    assert body["caller_number"] == "+79164445566"
