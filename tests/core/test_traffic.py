from appliance.clock import VirtualClock
from appliance.demo.traffic import TrafficGenerator, TrafficProfile


class Handle:
    def __init__(self, number):
        self.number = number
        self.hung_up = False
        self.pressed = []

    def hangup(self):
        self.hung_up = True

    def press(self, digit):
        self.pressed.append(digit)


def test_arrivals_follow_the_rate_and_impatient_callers_leave():
    clock = VirtualClock()
    placed = []

    def place(number):
        placed.append(Handle(number))
        return placed[-1]

    gen = TrafficGenerator(clock, place, lambda h: True,
                           TrafficProfile(calls_per_minute=6, callback_ratio=0.2), seed=3)
    gen.start()
    clock.advance(3600)
    gen.stop()
    assert 300 <= gen.placed <= 430  # 360 expected in an hour at 6 a minute
    assert gen.abandoned + gen.callbacks > 0
    assert all(h.hung_up or h.pressed == ["1"] for h in placed[:-20])
    # a number comes back only after repeat_after seconds, never while still calling
    last_seen = {}
    times = []
    clock2 = VirtualClock()
    gen2 = TrafficGenerator(clock2, lambda n: times.append((clock2.monotonic(), n)) or Handle(n),
                            lambda h: False, TrafficProfile(calls_per_minute=30,
                                                            repeat_ratio=0.5), seed=5)
    gen2.start()
    clock2.advance(1800)
    repeats = 0
    for when, number in times:
        if number in last_seen:
            repeats += 1
            assert when - last_seen[number] >= 300
        last_seen[number] = when
    assert repeats > 10


def test_on_a_menu_line_every_caller_picks_a_key_and_known_customers_call():
    clock = VirtualClock()
    placed = []

    def place(number):
        placed.append((clock.monotonic(), Handle(number)))
        return placed[-1][1]

    known = ("+79161110001", "+79031110002")
    gen = TrafficGenerator(clock, place, lambda h: False,
                           TrafficProfile(calls_per_minute=10, callback_ratio=0, menu_keys="12",
                                          menu_after=(6.0, 10.0), known_numbers=known,
                                          known_ratio=0.3, repeat_ratio=0), seed=7)
    gen.start()
    clock.advance(600)
    gen.stop()
    clock.advance(30)  # the last callers' menu keys
    assert len(placed) > 50
    assert all(len(h.pressed) == 1 and h.pressed[0] in "12" for _, h in placed)
    assert {h.pressed[0] for _, h in placed} == {"1", "2"}
    share = sum(h.number in known for _, h in placed) / len(placed)
    assert 0.15 < share < 0.45  # about known_ratio of the callers are customers


def test_make_demo_from_a_checkout_serves_the_page_and_stops_on_ctrl_c(tmp_path):
    """`make demo`'s own command, from the repository root with its default relative data
    directory: the page answers, calls flow on every line kind, Ctrl-C ends it all."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    data = os.path.relpath(tmp_path / "demo", root)  # relative, like var/demo
    log = (tmp_path / "demo.log").open("w+")  # a file: a full pipe would stall the demo
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.demo", "--data", data, "--web", "127.0.0.1:0",
         "--sip", "127.0.0.1:0", "--rate", "60"], cwd=root, stdout=subprocess.PIPE,
        stderr=log, text=True, start_new_session=True)

    def menu_calls() -> list:
        """Calls on the demo line that went through its voice menu into a queue."""
        db = sqlite3.connect(f"file:{tmp_path / 'demo' / 'callbox.db'}?mode=ro", uri=True)
        try:
            return db.execute(
                "SELECT queue FROM calls WHERE line = 'demo-line' AND queue != '' AND "
                "json_extract(data, '$.flow_name') = 'front-desk'").fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []
        finally:
            db.close()

    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if "demo is running:" in line:
                url = line.split("running:", 1)[1].strip()
        assert url, proc.stderr.read()
        with urllib.request.urlopen(url + "login", timeout=10) as page:
            assert page.status == 200
        # callers on the demo line hear the menu, press a key and wait in that queue
        deadline = time.monotonic() + 90
        while not menu_calls() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)  # polling another process's database; the deadline bounds it
        assert {q for (q,) in menu_calls()} <= {"support", "sales"} and menu_calls()
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(30) == 0
        log.seek(0)
        assert "Traceback" not in log.read()
        # its simulated modems went with it
        left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
        assert left.stdout.strip() == ""
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
