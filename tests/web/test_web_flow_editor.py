"""The visual call-flow editor in headless Chromium, end to end: an installer builds a
two-level menu only by clicking and typing, sees the validator's error and warnings on
the cards they concern, fixes them, saves and activates, rings their own phone with
"test this flow" — and then the flow they saved answers a real call: a loopback line
whose destination is the flow, on a real Switchboard with CallMedia (espeak-ng speaks
the menus), where two DTMF keys lead to the queue of the second level and its operator's
phone rings.  Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json

import pytest
from browser_helpers import ServerThread, shot

from appliance.acd.config import QueueConfig
from appliance.ivr.flow import Flow
from appliance.ivr.flowstore import FlowStore
from appliance.ivr.validate import validate
from tests.conftest import require_tool

pytestmark = pytest.mark.peers

PASSWORD = "installer's secret 2"


@pytest.fixture
def page(server, browser):
    require_tool("espeak-ng")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    # script errors and blocked scripts; a refused request (400) is part of the test
    page.on("console", lambda m: page.problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    yield page
    context.close()


def on_loop(server: ServerThread, coro):
    return asyncio.run_coroutine_threadsafe(coro, server.loop).result(10)


def card(page, node: str):
    return page.locator(f"[data-card='{node}']")


def add_at(page, node: str, field: str, node_type: str) -> None:
    """Click + on a node's empty branch and add a node of ``node_type`` there."""
    branch = page.locator(f"#flow-node-{node} > ul > li[data-field='{field}']")
    branch.locator("> .flow-add").click()
    branch.locator(".flow-new-type").select_option(node_type)
    branch.locator(".flow-add-confirm").click()


def messages_on(page, node: str) -> list[tuple[str, str]]:
    items = card(page, node).locator("li[data-severity]")
    return [(items.nth(i).get_attribute("data-severity"), items.nth(i).inner_text())
            for i in range(items.count())]


def expected_on(graph: dict, node: str) -> list[tuple[str, str]]:
    """What the validator says about ``node`` of the graph the page holds now."""
    queues = ["billing", "support"]
    return [(m.severity, f"{m.severity}: {m.text('en')}")
            for m in validate(Flow.from_graph("x", graph), queues=queues, prompts=set())
            if m.node == node]


def page_graph(page) -> dict:
    return json.loads(page.input_value("#flow-graph"))


def check(page) -> None:
    done = int(page.get_attribute("#flow-summary", "data-checks") or 0) + 1
    page.click("#flow-check-button")  # the page's CSP forbids eval: wait on an attribute
    page.wait_for_selector(f"#flow-summary[data-checks='{done}']")


def test_build_check_fix_save_test_and_answer_a_call(server, page):
    on_loop(server, server.app.accounts.create("admin", PASSWORD, "admin", ""))
    for name in ("support", "billing"):
        on_loop(server, server.box.admin.save_queue(QueueConfig(name=name), create=True))
    server.box.registrations["105"] = {"registered": True}  # the installer's own phone

    page.goto(server.url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/admin**")
    page.goto(server.url + "/admin/flows")
    page.wait_for_selector("#flow-editor:not([hidden])")
    assert page.is_hidden("#flow-json-field")  # JSON only on request
    assert card(page, "hours").is_visible()  # the starter flow, drawn as cards
    page.once("dialog", lambda d: d.accept())
    page.click("#flow-clear")
    assert page_graph(page)["nodes"] == {}

    # level one: a menu at the start with two choices
    page.locator(".flow-start > .flow-add").click()
    page.select_option(".flow-start .flow-new-type", "menu")
    page.click(".flow-start .flow-add-confirm")
    page.fill("#ff-say-text", "For accounts press 1. For our opening hours press 2.")
    page.fill("#ff-choices-label-1", "Accounts")
    page.click(".flow-add-choice")
    page.fill("#ff-choices-label-2", "Hours")
    # level two under choice 1: a menu whose choices go to queues
    add_at(page, "menu", "choices.1", "menu")
    assert page.input_value("#ff-id") == "menu2"
    page.fill("#ff-say-text", "For support press 1. For billing press 2.")
    page.fill("#ff-choices-label-1", "Support")
    page.click(".flow-add-choice")
    page.fill("#ff-choices-label-2", "Billing")
    add_at(page, "menu2", "choices.1", "queue")
    page.select_option("#ff-queue", "support")
    add_at(page, "menu2", "choices.2", "queue")
    page.select_option("#ff-queue", "billing")
    page.fill("#ff-id", "billing_q")
    page.click("#ff-rename")
    assert card(page, "billing_q").is_visible()
    page.click("#flow-settings-button")
    page.select_option("#fs-operator", "queue")  # "0" from every menu reaches support

    # choice 2 of the first menu is still empty: Check says so on that menu's card
    check(page)
    graph = page_graph(page)
    assert graph["nodes"]["menu"]["choices"]["1"]["next"] == "menu2"
    assert messages_on(page, "menu") == expected_on(graph, "menu") != []
    assert [s for s, _ in messages_on(page, "menu")] == ["error"]
    assert page.get_attribute("#flow-node-menu > ul > li[data-field='choices.2']",
                              "class").endswith("bad")
    assert messages_on(page, "menu2") == []
    assert page.get_attribute("#flow-summary", "data-errors") == "1"
    shot(page, "20-flow-editor-error")

    # the installer tries a message then a hang-up there, then sends choice 2 to billing
    # after all: the message and the hang-up are left behind, which is only a warning
    add_at(page, "menu", "choices.2", "play")
    page.fill("#ff-say-text", "We are open from nine to six.")
    add_at(page, "play", "next", "hangup")
    card(page, "menu").click()
    page.select_option("#ff-choices-next-2", "billing_q")
    check(page)
    graph = page_graph(page)
    assert page.get_attribute("#flow-summary", "data-errors") == "0"
    for node in ("play", "hangup"):
        assert page.locator(f"#flow-unreached [data-card='{node}']").is_visible()
        assert messages_on(page, node) == expected_on(graph, node)
        assert [s for s, _ in messages_on(page, node)] == ["warning"]
    # billing is reached twice: drawn once, the second time a link
    assert page.locator("[data-card='billing_q']").count() == 1
    assert page.locator("#flow-node-menu > ul > li[data-field='choices.2'] "
                        "a[data-goto='billing_q']").is_visible()
    shot(page, "21-flow-editor-warning")

    for node in ("play", "hangup"):  # fixed: the leftovers are deleted
        card(page, node).click()
        page.click("#ff-delete")
    check(page)
    assert page.get_attribute("#flow-summary", "data-errors") == "0"
    assert page.get_attribute("#flow-summary", "data-warnings") == "0"
    page.fill("#flow-name", "front desk")
    built = page_graph(page)
    page.click("#flow-save-button")
    page.wait_for_selector("#flow-saved")
    active = server.call(FlowStore(server.box.store).active, "front desk")
    assert active is not None and active.graph == built
    assert set(active.graph["nodes"]) == {"menu", "menu2", "queue", "billing_q"}
    shot(page, "22-flow-editor-saved")

    # "test this flow": a phone that is not registered, then the installer's own
    assert page.is_hidden("#flow-test-unsaved")
    page.fill("#flow-test-extension", "199")
    page.click("#flow-test-button")
    page.wait_for_selector("#error-extension:not([hidden])")
    assert "199" in page.inner_text("#error-extension")
    page.fill("#flow-test-extension", "")
    page.select_option("#flow-test-phone", "105")
    page.click("#flow-test-button")
    page.wait_for_selector("#flow-test-result:not([hidden])")
    assert "105" in page.inner_text("#flow-test-result")
    assert page.is_hidden("#error-extension")
    assert server.box.flow_tests == [("front desk", "105")]
    shot(page, "23-flow-editor-test")
    assert not page.problems, page.problems

    # the flow the browser saved answers a call: 1 (accounts), then 2 (billing)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        rang = pool.submit(asyncio.run, answer_a_call(server.tmp, "front desk")).result(90)
    assert rang == {"102"}  # Boris, billing's operator, and nobody else


async def answer_a_call(data_dir: str, flow_name: str) -> set[str]:
    from appliance.callmedia import CallMedia
    from tests.core.site import Site

    site = Site(data_dir)  # the same database the browser's flow was saved in
    media = CallMedia(site.board, data_dir)
    try:
        for n, (name, queue) in enumerate((("Anna", "support"), ("Boris", "billing"))):
            await site.admin.add_phone(str(101 + n))
            await site.admin.save_operator(name, str(101 + n), str(11 + n), {queue: 0})
        await site.admin.save_line("gsm1", "loopback", {"answer_after": 1},
                                   f"flow:{flow_name}")
        from drivers.loopback import LoopbackPhones

        phones = LoopbackPhones("phones", {"extensions": ["101", "102"]}, site.board)
        await site.board.add_channel(phones)
        await site.board.sync_lines()
        site.board.load_config()
        for name in ("Anna", "Boris"):
            site.board.acd.login(name)
        await site.settle()
        leg = site.board.channels["gsm1"].place_call("+79161112233")
        await site.until(lambda: leg.frames_received > 25)  # the first menu is spoken
        leg.far_end_dtmf("1")
        heard = leg.frames_received
        await site.until(lambda: leg.frames_received > heard + 25)  # the second menu
        leg.far_end_dtmf("2")
        await site.until(lambda: phones.ringing("101") or phones.ringing("102"))
        rang = {ext for ext in ("101", "102") if phones.ringing(ext)}
        leg.far_end_hangup()
        await site.settle()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:  # prompt synthesis still in flight finishes before the loop closes
            await asyncio.wait(pending, timeout=15)
        return rang
    finally:
        media.close()
        site.store.close()


LOOP = {"start": "menu", "language": "en", "operator": "sales_q",
        "nodes": {"menu": {"type": "menu", "text": "For our address press 1. Sales, 2.",
                           "choices": {"1": {"label": "Address", "next": "info"},
                                       "2": {"label": "Sales", "next": "sales_q"}}},
                  "info": {"type": "play", "text": "We are at 1 Main Street.",
                           "next": "menu"},
                  "sales_q": {"type": "queue", "queue": "support"}}}


def login(page, server) -> None:
    page.goto(server.url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/admin**")


def test_loops_rename_delete_json_view_and_refused_save(server, page):
    on_loop(server, server.app.accounts.create("admin", PASSWORD, "admin", ""))
    on_loop(server, server.box.admin.save_queue(QueueConfig(name="support"), create=True))
    on_loop(server, FlowStore(server.box.store).save("loop", LOOP, queues=["support"]))
    login(page, server)
    page.goto(server.url + "/admin/flows?name=loop")
    page.wait_for_selector("#flow-editor:not([hidden])")
    # the way back to the menu is a link, not a second copy of the menu
    assert page.locator("[data-card='menu']").count() == 1
    assert page.locator("#flow-node-info li[data-field='next'] a[data-goto='menu']").is_visible()

    # choices: another key, one more, one fewer (0 is never offered: it is the operator)
    card(page, "menu").click()
    keys = page.locator("#ff-choices-key-2 option").all_inner_texts()
    assert "0" not in keys and "1" not in keys and "9" in keys and "#" in keys
    page.select_option("#ff-choices-key-2", "9")
    assert set(page_graph(page)["nodes"]["menu"]["choices"]) == {"1", "9"}
    page.select_option("#ff-choices-key-9", "2")
    page.click(".flow-add-choice")
    assert set(page_graph(page)["nodes"]["menu"]["choices"]) == {"1", "2", "3"}
    page.click(".flow-choice[data-key='3'] button")
    assert page_graph(page)["nodes"]["menu"]["choices"] == LOOP["nodes"]["menu"]["choices"]

    # rename: every branch that led to "info" follows; a taken name is refused
    card(page, "info").click()
    page.fill("#ff-id", "menu")
    page.click("#ff-rename")
    assert "taken" in page.inner_text("#ff-id-error")
    page.fill("#ff-id", "address")
    page.click("#ff-rename")
    assert page_graph(page)["nodes"]["menu"]["choices"]["1"]["next"] == "address"
    assert "info" not in page_graph(page)["nodes"]

    # the JSON view follows the cards and the cards follow the JSON
    page.check("#flow-show-json")
    assert page.is_visible("#flow-graph")
    changed = page_graph(page)
    changed["nodes"]["address"]["text"] = "We moved to 2 Side Street."
    page.fill("#flow-graph", json.dumps(changed))
    assert "2 Side Street" in card(page, "address").inner_text()
    page.fill("#flow-graph", '{"nodes": ')  # half-typed: the cards step aside, untouched
    assert page.is_visible("#flow-json-note") and page.is_hidden("#flow-tree")
    assert page.is_disabled("#flow-clear")
    assert page.input_value("#flow-graph") == '{"nodes": '
    page.fill("#flow-graph", json.dumps(changed))
    assert page.is_hidden("#flow-json-note") and card(page, "address").is_visible()
    page.uncheck("#flow-show-json")

    # deleting the queue empties the branches that led to it, and Check says so
    card(page, "sales_q").click()
    page.click("#ff-delete")
    assert page.locator("#flow-node-menu > ul > li[data-field='choices.2'] > .flow-add").count()
    assert page.is_visible("#flow-test-unsaved")  # the phone would hear the saved version
    check(page)
    graph = page_graph(page)
    assert graph.get("operator", "") == "" and "sales_q" not in graph["nodes"]
    assert messages_on(page, "menu") == expected_on(graph, "menu")
    assert {s for s, _ in messages_on(page, "menu")} == {"error"}

    # saving is refused: the page comes back with the messages on the cards
    page.click("#flow-save-button")
    page.wait_for_selector("[data-card='menu'] li[data-severity='error']")
    assert page.is_hidden("#flow-check")  # the plain list is for pages without the script
    assert messages_on(page, "menu") == expected_on(graph, "menu")
    assert server.call(FlowStore(server.box.store).versions, "loop")[0]["version"] == 1
    shot(page, "24-flow-editor-refused")

    # the same editor in Russian
    page.select_option("select[name=locale]", "ru_RU")
    page.wait_for_selector("text=Пробный звонок")
    page.goto(server.url + "/admin/flows?name=loop")
    assert "Меню" in card(page, "menu").inner_text()
    card(page, "info").click()
    assert page.is_visible("text=Текст, который произнесёт станция")
    shot(page, "25-flow-editor-ru")
    assert not page.problems, page.problems


def test_without_javascript_the_page_is_the_json_form(server, page):
    on_loop(server, server.app.accounts.create("admin", PASSWORD, "admin", ""))
    on_loop(server, server.box.admin.save_queue(QueueConfig(name="support"), create=True))
    on_loop(server, FlowStore(server.box.store).save("loop", LOOP, queues=["support"]))
    context = page.context.browser.new_context(java_script_enabled=False,
                                               viewport={"width": 1280, "height": 900})
    plain = context.new_page()
    login(plain, server)
    plain.goto(server.url + "/admin/flows?name=loop")
    assert plain.is_hidden("#flow-editor") and plain.is_visible("#flow-graph")
    broken = json.loads(json.dumps(LOOP))
    broken["nodes"]["info"]["next"] = ""
    plain.fill("#flow-graph", json.dumps(broken))
    plain.click("#flow-check-button")
    plain.wait_for_selector("#flow-check")
    assert "error" in plain.inner_text("#node-info")
    shot(plain, "26-flow-editor-no-script")
    context.close()


def test_every_kind_of_field_writes_the_flow_format(server, page):
    """Hours, holidays, one-off days, digit collection, callback, transfer, voicemail and
    hang-up, all set through their form controls, give a flow the validator accepts."""
    on_loop(server, server.app.accounts.create("admin", PASSWORD, "admin", ""))
    on_loop(server, server.box.admin.save_queue(QueueConfig(name="support"), create=True))
    login(page, server)
    page.goto(server.url + "/admin/flows")
    page.once("dialog", lambda d: d.accept())
    page.click("#flow-clear")
    page.locator(".flow-start > .flow-add").click()
    page.select_option(".flow-start .flow-new-type", "time")
    page.click(".flow-start .flow-add-confirm")
    monday = page.locator("#ff-hours .flow-day[data-day='mon']")
    monday.locator(".flow-from").fill("08:00")
    monday.locator(".flow-to").fill("17:00")
    saturday = page.locator("#ff-hours .flow-day[data-day='sat']")
    saturday.locator(".flow-add-span").click()
    saturday.locator(".flow-to").fill("13:00")
    page.locator("#ff-hours .flow-day[data-day='fri'] button[title]").first.click()
    page.fill("#ff-holidays", "2026-12-31\n01-07")
    page.locator("#ff-exceptions button").click()
    page.locator("#ff-exceptions input[type=date]").fill("2026-12-30")
    page.locator("#ff-exceptions input[type=text]").fill("10:00-14:00")
    add_at(page, "time", "open", "collect")
    page.fill("#ff-say-text", "Enter your card number, then press star.")
    page.fill("#ff-name", "card")
    page.fill("#ff-min_length", "16")
    page.fill("#ff-max_length", "16")
    page.select_option("#ff-check", "luhn")
    page.select_option("#ff-terminator", "*")
    page.check("#ff-sensitive")
    add_at(page, "collect", "next", "callback")
    page.select_option("#ff-queue", "support")
    add_at(page, "callback", "declined", "transfer")
    page.fill("#ff-extension", "105")
    add_at(page, "collect", "on_fail", "play")  # the wrong type: changed in place
    page.fill("#ff-say-text", "Sorry, that did not work. Goodbye.")
    page.select_option("#ff-type", "hangup")
    add_at(page, "time", "closed", "voicemail")
    page.fill("#ff-max_seconds", "60")
    check(page)
    graph = page_graph(page)
    assert page.get_attribute("#flow-summary", "data-errors") == "0", expected_on(graph, None)
    assert page.get_attribute("#flow-summary", "data-warnings") == "0"
    time_node = graph["nodes"]["time"]
    assert time_node["hours"]["mon"] == ["08:00-17:00"]
    assert time_node["hours"]["sat"] == ["09:00-13:00"] and "fri" not in time_node["hours"]
    assert time_node["holidays"] == ["2026-12-31", "01-07"]
    assert time_node["exceptions"] == [{"date": "2026-12-30", "hours": ["10:00-14:00"]}]
    collect = graph["nodes"]["collect"]
    assert (collect["name"], collect["min_length"], collect["max_length"]) == ("card", 16, 16)
    assert (collect["check"], collect["terminator"], collect["sensitive"]) == ("luhn", "*", True)
    assert graph["nodes"]["callback"]["queue"] == "support"
    assert graph["nodes"]["transfer"]["extension"] == "105"
    assert graph["nodes"]["play"] == {"type": "hangup",
                                      "text": "Sorry, that did not work. Goodbye."}
    assert collect["on_fail"] == "play"
    assert graph["nodes"]["voicemail"] == {"type": "voicemail", "queue": "support",
                                           "max_seconds": 60}
    assert not validate(Flow.from_graph("x", graph), queues=["support"], prompts=set())
    card(page, "time").click()
    assert "Mon 08:00-17:00" in card(page, "time").inner_text()
    shot(page, "27-flow-editor-every-field")
    assert not page.problems, page.problems


def test_a_hand_written_flow_with_mistakes_is_drawn_and_checked(server, page):
    """JSON typed by hand can hold anything: the cards still draw it, say what is odd, and
    opening a card's form changes nothing by itself."""
    on_loop(server, server.app.accounts.create("admin", PASSWORD, "admin", ""))
    odd = {"start": "hours", "operator": "gone",
           "nodes": {"hours": {"type": "time", "hours": "always", "open": "menu",
                               "closed": "nowhere"},
                     "menu": {"type": "menu", "text": "Hi.", "choices": ["x"]},
                     "fax": {"type": "fax", "next": "menu"}}}
    on_loop(server, FlowStore(server.box.store).save("odd", odd, activate=False))
    login(page, server)
    page.goto(server.url + "/admin/flows?name=odd")
    page.wait_for_selector("#flow-editor:not([hidden])")
    assert "nowhere ?" in page.inner_text("#flow-node-hours li[data-field='closed']")
    assert page.locator("#flow-unreached [data-card='fax']").is_visible()
    for node in ("hours", "menu", "fax"):
        card(page, node).click()
    assert page_graph(page) == odd  # looking is not changing
    check(page)
    graph = page_graph(page)
    for node in ("hours", "menu", "fax"):
        assert messages_on(page, node) == expected_on(graph, node)
    top = page.locator("#flow-top-messages li[data-severity]")
    assert top.count() == 1 and "gone" in top.inner_text()  # the flow's operator
    assert not page.problems, page.problems
