"""The demo's path end to end: the real switchboard, the box's SIP channel with the
phones table's credentials, and a bank of simulated phones.  A caller on a loopback
line waits in a queue, an operator's simulated phone rings, answers by its policy,
talks, hangs up; operators log in and out with feature codes from their phones."""

from __future__ import annotations

from appliance.acd.config import QueueConfig
from appliance.admin import Admin
from appliance.clock import LoopClock
from appliance.events import EventBus
from appliance.media.goertzel import tone_present
from appliance.store import open_store
from appliance.switchboard import Switchboard
from drivers.sim.sip_phone import AnswerPolicy, CallState, PhoneBank
from drivers.sip.channel import SipChannel
from tests.phonesim.conftest import wait_until

LINE_TONE = 1000.0  # what the loopback line's caller "says"


async def _site(tmp_path):
    store = open_store(tmp_path)
    clock = LoopClock()
    board = Switchboard(store, EventBus(), clock, seed=3)
    admin = Admin(store, board.bus)
    await admin.save_queue(QueueConfig(name="support", wrapup_seconds=0), create=True)
    for n, name in enumerate(("Anna", "Boris")):
        await admin.add_phone(str(101 + n))
        await admin.save_operator(name, str(101 + n), str(11 + n), {"support": 0})
    await admin.save_line("gsm1", "loopback", {"tone_hz": LINE_TONE}, "queue:support",
                          create=True)

    def credentials(extension: str) -> str | None:
        rows = store.query("SELECT password FROM phones WHERE extension = ?", (extension,))
        return rows[0]["password"] if rows else None

    channel = SipChannel("phones", {"listen": "127.0.0.1:0", "tcp": False,
                                    "rtp_ports": "30000-39999", "qualify_seconds": 0,
                                    "credentials": credentials}, board)
    await board.add_channel(channel)
    await board.sync_lines()
    board.load_config()
    accounts = {p["extension"]: p["password"] for p in admin.phones()}
    return store, board, channel, accounts


async def test_queued_caller_reaches_a_simulated_phone_which_answers_talks_and_hangs_up(
        tmp_path):
    store, board, channel, accounts = await _site(tmp_path)
    policy = AnswerPolicy(answer_after=(0.3, 0.3), talk_seconds=(1.5, 1.5), seed=5)
    bank = PhoneBank(accounts, ("127.0.0.1", channel.port), policy=policy, clock=board.clock,
                     t1=0.1)
    try:
        assert await bank.start() == {}
        assert channel.reaches("101") and channel.reaches("102")
        # Anna logs in from her phone with the feature code; Boris stays out
        login = await bank["101"].dial("*45")
        await login.wait(CallState.ENDED)
        await wait_until(lambda: board.acd.operator("Anna").status.value == "available",
                         what="Anna logged in")
        assert board.acd.operator("Boris").status.value == "logged_out"
        caller = board.channels["gsm1"].place_call("+79161234567", "Ivanov")
        call = await bank["101"].next_call()
        assert call.remote == "+79161234567"
        await call.wait(CallState.ANSWERED)
        await wait_until(lambda: call.frames_heard >= 25, what="the caller's voice")
        assert tone_present(call.heard_audio(0.4), LINE_TONE)
        await call.wait(CallState.ENDED, timeout=5)  # the operator hangs up after talking
        assert call.end_reason == "local_bye"
        await wait_until(lambda: caller.ended, what="caller's leg cleared")
        assert caller.frames_received >= 50  # the phone's voice reached the caller
        board.recorder.flush()
        (row,) = store.query("SELECT * FROM calls WHERE id = ?", (caller.call_id,))
        assert row["operator"] == "Anna" and row["queue"] == "support"
        assert row["hangup_by"] == "operator"
        logout = await bank["101"].dial("*46")
        await logout.wait(CallState.ENDED)
        await wait_until(lambda: board.acd.operator("Anna").status.value == "logged_out",
                         what="Anna logged out")
    finally:
        await bank.stop()
        await board.stop()
        store.close()
    assert not channel.reaches("101")


async def test_caller_giving_up_while_the_phone_rings_cancels_the_ringing(tmp_path):
    store, board, channel, accounts = await _site(tmp_path)
    bank = PhoneBank({"101": accounts["101"]}, ("127.0.0.1", channel.port),
                     policy=AnswerPolicy(answer_after=None), clock=board.clock, t1=0.1)
    try:
        await bank.start()
        board.acd.login("Anna")
        caller = board.channels["gsm1"].place_call("+79030000001")
        call = await bank["101"].next_call()
        assert call.state is CallState.RINGING
        caller.far_end_hangup()  # the caller gives up while the operator's phone rings
        await call.wait(CallState.ENDED)
        assert (call.end_reason, call.status) == ("cancelled", 487)
    finally:
        await bank.stop()
        await board.stop()
        store.close()
