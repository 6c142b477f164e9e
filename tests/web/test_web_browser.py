"""The whole web in headless Chromium: first-run password, login, a queue and an operator,
a simulated call on the wallboard and popping on the operator's panel, a disposition,
the call in the log, its export.  Screenshots of the main pages go to
test-output/screenshots/ for a reviewer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser_helpers import shot
from fakebox import flow_call_data

ADMIN_PASSWORD = "installer's secret 1"
OLGA_PASSWORD = "olga's secret 12"

pytestmark = pytest.mark.peers


def wait_live(page) -> None:
    page.wait_for_selector("body[data-live-ready]", timeout=5000)


def test_installer_supervisor_and_operator_in_a_browser(server, browser):
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    console_errors: list[str] = []
    admin.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    # first run: no default password, the first visit sets it
    page.goto(server.url + "/")
    assert page.url.endswith("/setup")
    shot(page, "01-setup")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.fill("#password2", ADMIN_PASSWORD)
    page.click("#setup-form button[type=submit]")
    page.wait_for_url("**/admin/wizard")
    shot(page, "02-wizard")

    # log out and in again with the new password
    page.click("text=Log out")
    page.wait_for_url("**/login")
    page.fill("#username", "admin")
    page.fill("#password", "wrong password here")
    page.click("#login-form button[type=submit]")
    assert "Wrong username or password" in page.inner_text("#login-error")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/admin")

    page.goto(server.url + "/admin/site")
    page.fill("#site_name", "Acme help desk")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#saved")

    # a queue, with a bad value first: the message stands next to the field
    page.goto(server.url + "/admin/queues")
    page.fill("#q-name", "support")
    page.fill("#q-ring_timeout", "20")
    page.fill("#q-overflow", "queue:support")  # into itself: only the server knows
    page.click("#queue-form button[type=submit]")
    page.wait_for_selector("#error-overflow", timeout=3000)
    assert server.call(server.box.admin.queues) == []
    assert page.input_value("#q-ring_timeout") == "20"  # what was typed stays
    page.fill("#q-overflow", "voicemail")
    page.click("#queue-form button[type=submit]")
    page.wait_for_url("**/admin/queues")
    shot(page, "03-queues")
    assert [q.name for q in server.call(server.box.admin.queues)] == ["support"]

    # an operator in that queue with a web login
    page.goto(server.url + "/admin/operators")
    page.fill("#op-name", "Olga")
    page.fill("#op-extension", "101")
    page.fill("#login_code", "11")
    page.check("input[name='queue.support']")
    page.fill("#op-username", "olga")
    page.fill("#op-password", OLGA_PASSWORD)
    page.click("#operator-form button[type=submit]")
    page.wait_for_url("**/admin/operators")
    shot(page, "04-operators")

    page.goto(server.url + "/admin/phones")
    page.fill("#extension", "101")
    page.fill("#mac", "00:15:65:aa:bb:cc")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("tr[data-extension='101']")
    # an HT802's second port first: port 1 of that ATA is then listed as free, and its
    # link fills the form for it
    page.fill("#extension", "202")
    page.fill("#mac", "00:0b:82:12:34:56")
    page.fill("#model", "HT802")
    page.fill("#port", "2")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("tr.analog-handset[data-extension='202'][data-port='2']")
    page.click("tr.free-port[data-port='1'] a")
    page.wait_for_selector("#port")
    assert page.input_value("#port") == "1" and page.input_value("#mac") == "000b82123456"
    page.fill("#extension", "201")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("tr.analog-handset[data-extension='201'][data-port='1']")
    assert page.locator("tr.free-port").count() == 0
    shot(page, "05-phones")

    # hardware, updating live
    page.goto(server.url + "/admin/hardware")
    wait_live(page)
    server.box.lines = [
        {"name": "gsm1", "kind": "gsm", "model": "Huawei E1550", "imei": "861234567890123",
         "operator": "MTS RUS", "signal_bars": 4, "sim": "ready", "registration": "home",
         "state": "idle", "error": ""},
        {"name": "gsm2", "kind": "gsm", "model": "Quectel EC25", "imei": "866012345678901",
         "operator": "", "signal_bars": 0, "sim": "pin-required",
         "registration": "searching", "state": "down", "error": ""}]
    server.call(server.box.bus.publish, "line.state", line="gsm1")
    page.wait_for_selector("tr[data-line='gsm2']", timeout=3000)
    assert "asks for its PIN" in page.inner_text("#hardware")
    shot(page, "06-hardware")

    # the operator logs in on another computer
    operator = browser.new_context(viewport={"width": 1280, "height": 900})
    panel = operator.new_page()
    panel.goto(server.url + "/login")
    panel.fill("#username", "olga")
    panel.fill("#password", OLGA_PASSWORD)
    panel.click("#login-form button[type=submit]")
    panel.wait_for_url("**/panel")
    wait_live(panel)
    panel.click("#btn-available")
    panel.wait_for_selector("#my-status[data-status='available']")

    # the wallboard on the TV
    board = admin.new_page()
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(server.url + "/wallboard")
    wait_live(board)

    call_id = server.call(server.box.simulate_incoming, "+79161234567",
                          "Ivan <b>Petrov</b>", "support", data=flow_call_data("12345"))
    started = time.monotonic()  # the event was published just before call() returned
    board.wait_for_selector("section[data-queue='support'] [data-waiting='1']", timeout=1000)
    assert time.monotonic() - started < 1.0
    assert "Ivan <b>Petrov</b>" in board.inner_text("#wallboard")  # shown as text, escaped
    shot(board, "07-wallboard")

    # the call is offered to Olga: her card pops
    server.call(server.box.simulate_offer, call_id, "Olga", flow_call_data("12345"))
    panel.wait_for_selector("#caller-card.pop #caller-number", timeout=2000)
    assert panel.inner_text("#caller-number") == "+79161234567"
    assert panel.inner_text("#caller-entered").split("\n") == ["Support: 2", "Account: 12345"]
    server.call(server.box.simulate_answer, call_id, "Olga", 6.0)
    board.wait_for_selector("tr[data-operator='Olga'] .status.on_call", timeout=2000)
    server.call(server.box.simulate_end, call_id, 95.0, 30)
    panel.wait_for_selector("#wrapup [data-countdown]", timeout=2000)
    shot(panel, "08-panel-card")

    panel.select_option("#disposition", "sale")
    panel.fill("#note", "Wants two more units")
    panel.click("#disposition-form button[type=submit]")
    panel.wait_for_selector("#message", timeout=3000)
    row = server.call(server.box.store.query,
                      "SELECT disposition, note FROM calls WHERE id = ?", (call_id,))[0]
    assert row == {"disposition": "sale", "note": "Wants two more units"}

    # the supervisor finds it in the log, opens it, exports it
    page.goto(server.url + "/calls")
    page.fill("#number", "+7916123")
    page.click("#call-filter button[type=submit]")
    page.wait_for_selector(f"a[href='/calls/{call_id}']")
    shot(page, "09-call-log")
    with page.expect_download() as download_info:
        page.click("#export")
    path = download_info.value.path()
    exported = Path(path).read_text(encoding="utf-8-sig")
    assert call_id in exported and "Wants two more units" in exported
    page.click(f"a[href='/calls/{call_id}']")
    page.wait_for_selector("#timeline")
    assert "CONNECT" in page.inner_text("#timeline")
    shot(page, "10-call")

    abandoned = server.call(server.box.simulate_incoming, "+79169990000", "", "support")
    server.call(server.box.simulate_end, abandoned)
    page.goto(server.url + "/reports?group=hour")
    page.wait_for_selector("svg.chart")
    shot(page, "11-reports")
    page.click("form[action='/reports/callback'] button")
    page.wait_for_selector("#done")

    # the same wallboard in Russian
    page.goto(server.url + "/wallboard")
    page.select_option("select[name=locale]", "ru_RU")
    page.wait_for_selector("text=Табло")
    shot(page, "12-wallboard-ru")

    # our own script and styles run under the Content-Security-Policy: nothing was blocked
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    operator.close()
    admin.close()
