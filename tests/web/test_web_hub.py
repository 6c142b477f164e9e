"""The live hub: a burst of events is one render per view and language, sent to every
socket watching; the screen pop reaches only its operator."""

from __future__ import annotations

import asyncio
import json

from appliance.events import EventBus
from web.hub import LiveHub


class FakeClient:
    def __init__(self, view: str, operator: str = "", locale_code: str = "en_US") -> None:
        self.view, self.operator, self.locale_code = view, operator, locale_code
        self.got: list[tuple[str, dict]] = []
        self.arrived = asyncio.Event()

    def send(self, target: str, message: str) -> None:
        self.got.append((target, json.loads(message)))
        self.arrived.set()


def make_hub():
    bus = EventBus()
    renders: list[tuple[str, str, str]] = []

    def render(view, operator, locale_code):
        renders.append((view, operator, locale_code))
        return view, f"<p>{view} {operator} {locale_code} #{len(renders)}</p>"

    def render_pop(offer, locale_code):
        return f"<p>card {offer['call_id']} {locale_code}</p>"

    return bus, LiveHub(bus, render, render_pop), renders


async def settle(clients) -> None:
    await asyncio.wait_for(asyncio.gather(*(c.arrived.wait() for c in clients)), 2)
    await asyncio.sleep(0)  # a flush already scheduled would run now


def test_a_burst_is_one_render_per_language():
    async def scenario():
        bus, hub, renders = make_hub()
        boards = [FakeClient("wallboard", locale_code=("en_US", "ru_RU")[i % 2])
                  for i in range(50)]
        for client in boards:
            hub.add(client)
        for n in range(20):
            bus.publish("queue.join", call_id=f"c{n}", queue="support")
        await settle(boards)
        assert sorted(renders) == [("wallboard", "", "en_US"), ("wallboard", "", "ru_RU")]
        assert all(len(c.got) == 1 and c.got[0][0] == "wallboard" for c in boards)
        assert "ru_RU" in boards[1].got[0][1]["html"]
        hub.close()

    asyncio.run(scenario())


def test_unwatched_views_are_not_rendered_and_panels_are_per_operator():
    async def scenario():
        bus, hub, renders = make_hub()
        olga, petr = FakeClient("panel", "Olga"), FakeClient("panel", "Petr")
        hub.add(olga)
        hub.add(petr)
        bus.publish("line.state", line="gsm1")  # nobody watches the hardware page
        bus.publish("operator.state", operator="Olga", status="paused")
        await settle([olga, petr])
        assert sorted(renders) == [("panel", "Olga", "en_US"), ("panel", "Petr", "en_US")]
        assert "Olga" in olga.got[0][1]["html"] and "Petr" in petr.got[0][1]["html"]
        hub.close()

    asyncio.run(scenario())


def test_screen_pop_only_for_its_operator_and_remembered():
    async def scenario():
        bus, hub, _renders = make_hub()
        olga, petr = FakeClient("panel", "Olga"), FakeClient("panel", "Petr")
        hub.add(olga)
        hub.add(petr)
        bus.publish("operator.offer", operator="Olga", call_id="c1", caller_number="+7916")
        await settle([olga])
        pops = [m for t, m in olga.got if t == "caller-card"]
        assert pops and pops[0]["pop"] is True and "c1" in pops[0]["html"]
        assert not [m for t, m in petr.got if t == "caller-card"]
        assert hub.last_offer["Olga"]["call_id"] == "c1"
        hub.forget_offer("Olga", "other-call")
        assert "Olga" in hub.last_offer
        hub.forget_offer("Olga", "c1")
        assert "Olga" not in hub.last_offer
        hub.close()

    asyncio.run(scenario())


def test_a_failing_render_does_not_stop_other_views():
    async def scenario():
        bus = EventBus()

        def render(view, operator, locale_code):
            if view == "wallboard":
                raise RuntimeError("template bug")
            return "hardware", "<p>ok</p>"

        hub = LiveHub(bus, render, lambda offer, code: "")
        board, hardware = FakeClient("wallboard"), FakeClient("hardware")
        hub.add(board)
        hub.add(hardware)
        bus.publish("call.incoming", call_id="c1")
        bus.publish("line.state", line="gsm1")
        await settle([hardware])
        assert hardware.got and not board.got
        hub.close()

    asyncio.run(scenario())


def test_an_sms_refreshes_the_card_showing_its_number():
    async def scenario():
        bus, hub, _renders = make_hub()
        olga = FakeClient("panel", "Olga")
        hub.add(olga)
        bus.publish("operator.offer", operator="Olga", call_id="c1", caller_number="+7916")
        bus.publish("sms.received", line="gsm1", number="+7999", text="other number")
        bus.publish("sms.received", line="gsm1", number="+7916", text="hello")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        cards = [m for t, m in olga.got if t == "caller-card"]
        assert [c["pop"] for c in cards] == [True, False]
        hub.close()

    asyncio.run(scenario())


def test_a_new_voicemail_refreshes_the_operators_callback_list():
    """The message (and its callback task) is stored after its call ended: the panels
    must be drawn again then, or the task shows up only with the next call."""
    async def scenario():
        bus, hub, renders = make_hub()
        olga, board = FakeClient("panel", "Olga"), FakeClient("wallboard")
        hub.add(olga)
        hub.add(board)
        bus.publish("voicemail.new", call_id="c1", queue="support", caller_number="+7916")
        await settle([olga])
        assert renders == [("panel", "Olga", "en_US")] and board.got == []
        hub.close()

    asyncio.run(scenario())


def test_a_modem_plugged_in_redraws_the_hardware_page():
    """The daemon publishes hardware.changed when what the installer would see as found
    changes (a voice modem plugged in); watchers of the hardware page get it redrawn."""
    async def scenario():
        bus, hub, renders = make_hub()
        hardware = FakeClient("hardware")
        hub.add(hardware)
        bus.publish("hardware.changed", found=1)
        await settle([hardware])
        assert ("hardware", "", "en_US") in renders and hardware.got
        hub.close()

    asyncio.run(scenario())
