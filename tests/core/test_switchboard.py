"""The switchboard end to end on the loopback driver and the virtual clock: a call on a
line, the queue, an operator's phone, the bridge, and the record in SQLite."""

from __future__ import annotations

import asyncio
import json

import pytest

from drivers.base import Cause, LegState

from .site import Site


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.store.close()


def test_inbound_call_is_queued_rung_bridged_and_recorded(site):
    async def scenario():
        await site.build()
        leg = site.line.place_call("+79161234567", "Ivanov")
        await site.settle()
        assert leg.state is LegState.ANSWERED  # answered to wait in the queue
        await site.advance(3)  # the caller waits three seconds
        ringing = site.phones.ringing("101")
        assert len(ringing) == 1 and ringing[0].caller.number == "+79161234567"
        ringing[0].far_end_answer()
        await site.advance(10)  # ten seconds of talk; both far ends send tone frames
        op_leg = ringing[0]
        assert op_leg.frames_received >= 400  # 1 kHz caller audio reached the phone
        assert leg.frames_received >= 400  # and the phone's audio reached the caller
        leg.far_end_hangup()
        await site.settle()
        assert op_leg.ended  # the operator's leg never outlives the call
        return leg.call_id

    call_id = run(scenario())
    row = site.call_row(call_id)
    assert row["queue"] == "support" and row["operator"] == "Anna"
    assert row["caller_number"] == "+79161234567" and row["line"] == "gsm1"
    assert row["direction"] == "inbound" and row["hangup_by"] == "caller"
    assert row["hangup_cause"] == Cause.NORMAL_CLEARING
    assert row["wait_seconds"] == pytest.approx(3, abs=0.6)
    assert row["talk_seconds"] == pytest.approx(10, abs=0.6)
    assert row["answered_at"] - row["started_at"] == pytest.approx(3, abs=0.6)
    assert site.queue_events(call_id) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    ended = [e for e in site.events if e.kind == "call.ended"]
    assert ended and ended[0].data["call_id"] == call_id


def test_caller_hanging_up_while_waiting_is_abandon_and_frees_the_phone(site):
    async def scenario():
        await site.build()
        leg = site.line.place_call("+79160000001")
        await site.advance(4)
        ring = site.phones.ringing("101")[0]
        leg.far_end_hangup()
        await site.settle()
        assert ring.ended
        assert site.board.acd.operator("Anna").status.value == "available"
        return leg.call_id

    call_id = run(scenario())
    assert site.queue_events(call_id) == ["ENTERQUEUE", "ABANDON"]
    row = site.call_row(call_id)
    assert row["answered_at"] is None and row["wait_seconds"] == pytest.approx(4, abs=0.6)


def test_no_answer_gives_ringnoanswer_and_the_next_operator_rings(site):
    async def scenario():
        await site.build(ring_timeout=5, retry_delay=0, autopause_after=0)
        leg = site.line.place_call("+79160000002")
        await site.settle()
        first = site.phones.ringing("101")
        assert len(first) == 1
        await site.advance(6)
        assert first[0].ended
        second = site.phones.ringing("102")
        assert len(second) == 1
        second[0].far_end_answer()
        await site.settle()
        second[0].far_end_hangup()
        await site.settle()
        return leg.call_id

    call_id = run(scenario())
    assert site.queue_events(call_id) == ["ENTERQUEUE", "RINGNOANSWER", "CONNECT",
                                          "COMPLETEAGENT"]
    assert site.call_row(call_id)["operator"] == "Boris"
    assert site.call_row(call_id)["hangup_by"] == "operator"


def test_ring_all_never_connects_two_operators(site):
    async def scenario():
        await site.build(strategy="ring-all")
        leg = site.line.place_call("+79160000003")
        await site.settle()
        a, b = site.phones.ringing("101")[0], site.phones.ringing("102")[0]
        a.far_end_answer()
        b.far_end_answer()  # both pick up in the same instant
        await site.settle()
        connected = [x for x in (a, b) if not x.ended]
        assert len(connected) == 1
        statuses = sorted(v.status.value for v in site.board.acd.operators())
        assert statuses == ["available", "on_call"]
        leg.far_end_hangup()
        await site.settle()
        return leg.call_id

    call_id = run(scenario())
    assert site.queue_events(call_id).count("CONNECT") == 1


def test_callback_keeps_the_place_and_dials_the_caller_back(site):
    async def scenario():
        await site.build(operators=("Anna",))
        busy = site.line.place_call("+79160000010")  # occupies Anna
        await site.settle()
        site.phones.ringing("101")[0].far_end_answer()
        await site.settle()
        caller = site.line.place_call("+79160000011")
        await site.advance(2)
        caller.far_end_dtmf("1")  # "press 1 to be called back"
        await site.settle()
        assert caller.ended  # the caller could hang up...
        cb_call = caller.call_id
        assert site.board.acd.position(cb_call) == 1  # ...and kept the place
        anna = site.phones.active("101")[0]
        busy.far_end_hangup()  # Anna's first call ends; wrap-up follows
        await site.settle()
        assert anna.ended
        await site.advance(11)  # wrap-up (10 s) is over: the callback is offered
        offer = site.phones.ringing("101")
        assert len(offer) == 1 and offer[0].caller.name.startswith("callback")
        offer[0].far_end_answer()
        await site.settle()
        out = [leg for leg in site.line.legs if leg.direction == "outbound"]
        assert len(out) == 1 and out[0].dialled == "+79160000011"
        await site.advance(3)  # the customer answers after 2 s
        assert out[0].state is LegState.ANSWERED
        await site.advance(5)
        assert out[0].frames_received > 100
        out[0].far_end_hangup()
        await site.settle()
        return cb_call

    call_id = run(scenario())
    events = site.queue_events(call_id)
    assert events[:2] == ["ENTERQUEUE", "CALLBACK"]
    assert "CALLBACKCONNECT" in events and events[-1] in ("COMPLETECALLER", "COMPLETEAGENT")
    status = site.store.query("SELECT status FROM callbacks WHERE call_id = ?", (call_id,))
    assert status == [{"status": "done"}]


def test_feature_codes_log_in_pause_and_log_out(site):
    async def scenario():
        await site.build(operators=("Anna", "Boris"))
        site.board.acd.logout("Boris")
        await site.settle()
        site.phones.dial_from("103", "*4512")  # Boris logs in at phone 103 by his code
        await site.settle()
        assert site.board.acd.operator("Boris").status.value == "available"
        assert site.board.directory.operator_extension("Boris") == "103"
        site.phones.dial_from("103", "*472")
        await site.settle()
        view = site.board.acd.operator("Boris")
        assert view.status.value == "paused" and view.reason == "lunch"
        site.phones.dial_from("103", "*48")
        await site.settle()
        assert site.board.acd.operator("Boris").status.value == "available"
        refused = site.phones.dial_from("103", "*4599")  # no such login code
        await site.settle()
        assert refused.cause == Cause.CALL_REJECTED
        site.phones.dial_from("103", "*46")
        await site.settle()
        assert site.board.acd.operator("Boris").status.value == "logged_out"

    run(scenario())
    site.flush()
    events = [r["event"] for r in site.store.query(
        "SELECT event FROM call_events WHERE operator = 'Boris' ORDER BY id")]
    assert events[-4:] == ["LOGIN", "PAUSE", "UNPAUSE", "LOGOUT"]


def test_phone_dials_out_through_a_line_and_another_extension(site):
    async def scenario():
        await site.build()
        out = site.phones.dial_from("101", "+74950000000")
        await site.advance(3)  # the line's far end answers after 2 s
        far = [leg for leg in site.line.legs if leg.direction == "outbound"][0]
        assert far.dialled == "+74950000000" and far.state is LegState.ANSWERED
        await site.advance(2)
        assert far.frames_received > 50 and out.frames_received > 50
        out.far_end_hangup()
        await site.settle()
        assert far.ended
        internal = site.phones.dial_from("101", "102")
        await site.settle()
        callee = site.phones.ringing("102")
        assert len(callee) == 1
        callee[0].far_end_answer()
        await site.settle()
        assert internal.state is LegState.ANSWERED
        callee[0].far_end_hangup()
        await site.settle()
        assert internal.ended
        return out.call_id, internal.call_id

    outbound_id, internal_id = run(scenario())
    assert site.call_row(outbound_id)["direction"] == "outbound"
    assert site.call_row(outbound_id)["line"] == "gsm1"
    assert site.call_row(internal_id)["direction"] == "internal"


def test_withheld_number_is_recorded_as_such(site):
    async def scenario():
        await site.build()
        leg = site.line.place_call("", presentation="restricted")
        await site.settle()
        leg.far_end_hangup()
        await site.settle()
        return leg.call_id

    row = site.call_row(run(scenario()))
    assert row["caller_number"] == ""
    assert json.loads(row["data"])["presentation"] == "restricted"


def test_a_line_with_no_destination_rejects_and_records(site):
    async def scenario():
        await site.build()
        await site.admin.save_line("gsm2", "loopback", {}, "", create=True)
        await site.board.sync_lines()
        leg = site.board.channels["gsm2"].place_call("+79160000099")
        await site.settle()
        assert leg.ended and leg.cause == Cause.CALL_REJECTED
        return leg.call_id

    row = site.call_row(run(scenario()))
    assert row["hangup_cause"] == Cause.CALL_REJECTED and row["hangup_by"] == "system"


def test_login_on_registration_follows_the_phone(site):
    async def scenario():
        await site.build(operators=("Anna",))
        site.board.acd.logout("Anna")
        await site.admin.set_setting("login_on_registration", True)
        await site.settle()
        site.bus.publish("phone.registration", extension="101", state="registered")
        await site.settle()
        assert site.board.acd.operator("Anna").status.value == "available"
        site.bus.publish("phone.registration", extension="101", state="expired")
        await site.settle()
        assert site.board.acd.operator("Anna").status.value == "logged_out"
        await site.admin.set_setting("login_on_registration", False)
        await site.settle()
        site.bus.publish("phone.registration", extension="101", state="registered")
        await site.settle()
        assert site.board.acd.operator("Anna").status.value == "logged_out"

    run(scenario())
