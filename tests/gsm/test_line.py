"""Line facts, the SIM's states, SMS and USSD, against the simulators over ptys."""

from __future__ import annotations

import pytest

from drivers.gsm import pdu, words
from drivers.gsm.ussd import UssdError

from .conftest import close_rig, make_rig, wait_for


async def test_facts_in_status():
    rig = await make_rig("ec25", signal=15)
    try:
        await rig.up()
        s = rig.channel.status()
        assert (s["manufacturer"], s["model"], s["firmware"]) == (
            "Quectel", "EC25", rig.sim.revision)
        assert (s["imei"], s["imsi"], s["iccid"]) == (rig.sim.imei, rig.sim.imsi, rig.sim.iccid)
        assert s["operator"] == "MegaFon"
        assert s["signal_dbm"] == -113 + 2 * 15 and s["signal_bars"] == 3
        assert s["registered"] and not s["roaming"]
        assert rig.channel.identity == rig.sim.imei
    finally:
        await close_rig(rig)


async def test_roaming_and_denied_registration_follow_creg_urcs():
    rig = await make_rig("sim7600", registration=5)
    try:
        await rig.up()
        assert rig.channel.status()["roaming"] is True
        assert rig.channel.status()["registration"] == words.REG_WORDS[5]
        rig.sim.set_registration(3)
        await wait_for(lambda: rig.channel.status()["denied"], what="denied")
        assert not rig.channel.reaches("+74951234567")
    finally:
        await close_rig(rig)


async def test_sim_busy_after_boot_is_waited_out():
    rig = await make_rig("e1550", sim_busy=1.5)
    try:
        await rig.up(timeout=10)
        assert any(c == "AT+CPIN?" for c in rig.sim.commands)
        assert rig.channel.status()["sim"] == words.SIM_READY
    finally:
        await close_rig(rig)


async def test_pin_from_settings_unlocks_the_sim():
    rig = await make_rig("ec25", pin="4321", settings={"pin": "4321"})
    try:
        await rig.up()
        assert 'AT+CPIN="4321"' in rig.sim.commands
    finally:
        await close_rig(rig)


@pytest.mark.parametrize("sim_kwargs,settings,problem", [
    ({"pin": "4321"}, {}, words.SIM_PIN),
    ({"pin": "4321"}, {"pin": "1111"}, words.SIM_PIN_WRONG),
    ({"sim_inserted": False}, {}, words.SIM_NOT_INSERTED),
])
async def test_sim_problems_are_shown_in_words(sim_kwargs, settings, problem):
    rig = await make_rig("ec25", settings=settings, **sim_kwargs)
    try:
        await wait_for(lambda: rig.channel.problem == problem, what=problem)
        assert rig.channel.status()["state"] == "down"
        assert rig.channel.status()["sim"] == problem
        failures = rig.channel.supervisor.failures
        await wait_for(lambda: rig.channel.supervisor.failures >= failures + 2,
                       what="two more tries")
        # a wrong PIN is tried once only: three would block the card
        assert sum(c.startswith("AT+CPIN=") for c in rig.sim.commands) <= 1
    finally:
        await close_rig(rig)


async def test_puk_state():
    rig = await make_rig("e1550", pin="4321")
    rig.sim.sim_state = "SIM PUK"
    try:
        await wait_for(lambda: rig.channel.problem == words.SIM_PUK, what="PUK")
    finally:
        await close_rig(rig)


# -- SMS -----------------------------------------------------------------------------------
@pytest.mark.parametrize("wide_ref", [False, True])
async def test_multipart_ucs2_sms_is_stored_before_it_leaves_the_sim(store, wide_ref):
    rig = await make_rig("e1550", store=store)
    events = []
    rig.host.bus.subscribe(events.append, "sms.")
    text = "Привет! Это длинное сообщение 😀 " * 6
    deletes_seen_with_rows = []
    real_cmgd = rig.sim._handlers["+CMGD"]

    def cmgd(kind, args):  # at the moment of each delete, is the message already stored?
        deletes_seen_with_rows.append(len(store.query("SELECT id FROM sms")))
        return real_cmgd(kind, args)

    rig.sim.handle("+CMGD", cmgd)
    try:
        await rig.up()
        indexes = rig.sim.deliver_sms("+79161234567", text, wide_ref=wide_ref)
        assert len(indexes) > 2
        await wait_for(lambda: not rig.sim.storage, what="SIM emptied")
        rows = store.query("SELECT line, direction, number, text, status FROM sms")
        assert rows == [{"line": "gsm1", "direction": "in", "number": "+79161234567",
                         "text": text, "status": "received"}]
        assert deletes_seen_with_rows and all(n == 1 for n in deletes_seen_with_rows)
        assert events[0].data["text"] == text
    finally:
        await close_rig(rig)


async def test_sms_waiting_on_the_sim_at_start_is_collected(store):
    rig = await make_rig("ec25", store=store)
    try:
        # arrives before the driver set +CNMI: no +CMTI, found by AT+CMGL at start
        rig.sim.storage[3] = (0, pdu.encode_deliver("+79160000000", "while you were out", 0)[0])
        await rig.up()
        await wait_for(lambda: store.query("SELECT text FROM sms"), what="stored")
        assert store.query("SELECT text FROM sms") == [{"text": "while you were out"}]
        await wait_for(lambda: not rig.sim.storage, what="SIM emptied")
    finally:
        await close_rig(rig)


async def test_messages_routed_straight_to_us_are_stored_too(store):
    rig = await make_rig("ec25", store=store)
    try:
        await rig.up()
        rig.sim.cnmi[1] = 2  # as class 0 ("flash") messages arrive: +CMT with the PDU
        rig.sim.deliver_sms("+79161234567", "Внимание: " + "срочно " * 20)  # two parts
        await wait_for(lambda: store.query("SELECT text FROM sms"), what="stored")
        assert store.query("SELECT text FROM sms")[0]["text"].startswith("Внимание: срочно")
        assert not rig.sim.storage and not [c for c in rig.sim.commands if "CMGD" in c]
    finally:
        await close_rig(rig)


async def test_without_a_store_sms_stays_on_the_sim():
    rig = await make_rig("ec25")
    try:
        await rig.up()
        rig.sim.deliver_sms("+79161234567", "keep me")
        await wait_for(lambda: rig.channel.sms.received == 1, what="read")
        await rig.channel.engine.command("AT")  # queued behind any AT+CMGD that would follow
        assert len(rig.sim.storage) == 1
    finally:
        await close_rig(rig)


async def test_unreadable_pdu_is_left_on_the_sim_and_the_line_goes_on(store):
    rig = await make_rig("ec25", store=store)
    try:
        await rig.up()
        rig.sim.storage[5] = (0, "07917283010010F5040BC872")  # truncated
        rig.sim.urc('+CMTI: "SM",5')
        await wait_for(lambda: rig.channel.sms.rejected == 1, what="rejected")
        assert 5 in rig.sim.storage
        rig.sim.deliver_sms("+79161234567", "after the bad one")
        await wait_for(lambda: store.query("SELECT text FROM sms"), what="next one stored")
    finally:
        await close_rig(rig)


async def test_send_sms_with_delivery_report(store):
    rig = await make_rig("sim7600", store=store)
    try:
        await rig.up()
        text = "Ответ оператора: {ok} €" * 5
        refs = await rig.channel.send_sms("+79161234567", text)
        assert len(refs) == len(rig.sim.sent_sms) >= 2
        sent = "".join(m.text for m in rig.sim.sent_sms)
        assert sent.encode("utf-16-be", "surrogatepass").decode("utf-16-be") == text
        assert {m.destination for m in rig.sim.sent_sms} == {"+79161234567"}
        await wait_for(lambda: store.query("SELECT status FROM sms")[0]["status"] == "delivered",
                       what="delivery report")
    finally:
        await close_rig(rig)


# -- USSD ----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["e1550", "ec25", "sim7600"])
async def test_ussd_balance(model):
    rig = await make_rig(model)
    rig.sim.ussd_replies["*100#"] = "Balance 123.45 RUB" if model == "e1550" else "Баланс 12 р."
    try:
        await rig.up()
        answer = await rig.channel.ussd_request("*100#")
        assert answer == rig.sim.ussd_replies["*100#"]
        assert rig.sim.ussd_requests == ["*100#"]
        rig.sim.ussd_replies.clear()  # a code the network does not know: +CUSD: 4
        with pytest.raises(UssdError):
            await rig.channel.ussd_request("*999#")
    finally:
        await close_rig(rig)
