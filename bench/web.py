"""Web benchmark: wallboard push latency to 50 sockets; call log and CSV export over
1,000,000 calls.  Prints one JSON object.  ``--rows N`` for a smaller run.

Everything runs in this process on one event loop, as in the daemon: the server, the 50
WebSocket clients and the HTTP client share the loop, so the figures include the
clients' own work (a pessimistic bound on the server's share).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "web"))

from fakebox import FakeBox  # noqa: E402  (test double: a Box without hardware)

from appliance import calllog  # noqa: E402
from appliance.acd.config import QueueConfig  # noqa: E402
from web.app import HTTP_LIMITS, make_app  # noqa: E402
from web.handlers.base import SESSION_COOKIE  # noqa: E402

CLIENTS = 50
EVENTS = 60
QUEUES = ["sales", "support", "billing", "vip"]
OPERATORS = [f"op{i:02d}" for i in range(20)]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fill_calls(path: Path, rows: int, start: float) -> float:
    """``rows`` calls spread over a year before ``start``; returns seconds taken."""
    began = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    # building the indexes once after the insert is faster than keeping six up to date
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                           "AND tbl_name = 'calls' AND sql IS NOT NULL").fetchall()
    for name, _sql in indexes:
        conn.execute(f"DROP INDEX {name}")
    rnd = random.Random(7)
    step = 365 * 86400 / rows

    def gen():
        for i in range(rows):
            answered = rnd.random() < 0.85
            t = start - i * step
            wait = rnd.uniform(0, 60)
            yield (f"b{i:08d}", f"b{i:08d}", "inbound", "gsm1", f"+7916{rnd.randrange(10**7):07d}",
                   "", QUEUES[i % 4], OPERATORS[i % 20] if answered else "", t, t,
                   t + wait if answered else None, t + wait + 120, wait,
                   120 if answered else 0, ("sale", "resolved", "")[i % 3])

    with conn:
        conn.executemany(
            "INSERT INTO calls(id, linked_id, direction, line, caller_number, caller_name, "
            "queue, operator, started_at, queued_at, answered_at, ended_at, wait_seconds, "
            "talk_seconds, disposition) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", gen())
        for _name, sql in indexes:
            conn.execute(sql)
    conn.close()
    return time.perf_counter() - began


def time_query(conn, fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        fn(conn)
        best = min(best, time.perf_counter() - began)
    return round(best * 1000, 2)


def call_log_figures(path: Path, start: float) -> dict:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    everything = calllog.CallFilter()
    deep = conn.execute("SELECT started_at, id FROM calls ORDER BY started_at DESC, id DESC "
                        "LIMIT 1 OFFSET (SELECT COUNT(*) * 9 / 10 FROM calls)").fetchone()
    deep = tuple(deep) if deep else None
    month = calllog.CallFilter(start=start - 30 * 86400, end=start)
    figures = {
        "first_page_ms": time_query(conn, lambda c: calllog.search(c, everything)),
        "page_after_90pct_of_rows_ms": time_query(
            conn, lambda c: calllog.search(c, everything, after=deep)),
        "queue_filter_page_ms": time_query(
            conn, lambda c: calllog.search(c, calllog.CallFilter(queue="vip"))),
        "number_prefix_page_ms": time_query(
            conn, lambda c: calllog.search(c, calllog.CallFilter(number="+79161234"))),
        "operator_and_disposition_page_ms": time_query(
            conn, lambda c: calllog.search(c, calllog.CallFilter(operator="op07",
                                                                 disposition="sale"))),
        "month_filter_page_ms": time_query(conn, lambda c: calllog.search(c, month)),
    }
    conn.close()
    return figures


async def websocket_latency(app, port: int, cookie: str, box) -> dict:
    url = f"ws://127.0.0.1:{port}/live?view=wallboard"
    request = tornado.httpclient.HTTPRequest(url, headers={
        "Cookie": f"{SESSION_COOKIE}={cookie}", "Origin": f"http://127.0.0.1:{port}"})
    sockets = [await tornado.websocket.websocket_connect(request) for _ in range(CLIENTS)]
    while len(app.hub.clients) < CLIENTS:
        await asyncio.sleep(0.01)
    each: list[float] = []
    last: list[float] = []
    for n in range(EVENTS):
        began = time.perf_counter()
        box.bus.publish("queue.join", call_id=f"bench-{n}", queue=QUEUES[n % 4],
                        caller_number="+79160000000", caller_name="", position=1)

        async def receive(ws, began: float = began) -> float:
            await ws.read_message()
            return time.perf_counter() - began

        got = await asyncio.gather(*(receive(ws) for ws in sockets))
        each += got
        last.append(max(got))
        await asyncio.sleep(0.12)  # past the hub's flush interval: each event measured alone
    for ws in sockets:
        ws.close()
    # of which: the box's wallboard() (FakeBox sums today's calls with SQL) and the render
    board, render = [], []
    for _ in range(20):
        began = time.perf_counter()
        box.wallboard()
        board.append(time.perf_counter() - began)
        began = time.perf_counter()
        app.views.render("wallboard", "", "en_US")
        render.append(time.perf_counter() - began)
    return {"clients": CLIENTS, "events": EVENTS,
            "box_wallboard_ms": round(statistics.median(board) * 1000, 2),
            "wallboard_plus_render_ms": round(statistics.median(render) * 1000, 2),
            "p50_ms": round(statistics.median(each) * 1000, 2),
            "p99_ms": round(pct(each, 99) * 1000, 2),
            "last_client_p50_ms": round(statistics.median(last) * 1000, 2),
            "last_client_p99_ms": round(pct(last, 99) * 1000, 2)}


async def page_figures(port: int, cookie: str, path: str, deep: tuple | None) -> dict:
    """Whole call-log pages over HTTP (query, template, 50 rows), median of 9."""
    client = tornado.httpclient.AsyncHTTPClient()
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    figures = {}
    cursor = f"{deep[0]!r}~{deep[1]}" if deep else ""
    for name, query in (("first_page", ""), ("page_after_90pct_of_rows", f"?after={cursor}"),
                        ("queue_and_operator_filter", "?queue=vip&operator=op03"),
                        ("number_prefix", "?number=%2B791612")):
        times = []
        for _ in range(9):
            began = time.perf_counter()
            response = await client.fetch(f"http://127.0.0.1:{port}{path}{query}",
                                          headers=headers)
            times.append(time.perf_counter() - began)
            assert response.code == 200
        figures[f"{name}_ms"] = round(statistics.median(times) * 1000, 1)
    return figures


async def export_figures(port: int, cookie: str, query: str) -> dict:
    # a year of calls is more than the client's default 100 MB body limit
    client = tornado.httpclient.AsyncHTTPClient(force_instance=True,
                                                max_body_size=4 * 1024**3)
    received = 0
    first_byte = None
    stalls: list[float] = []
    stop = asyncio.Event()

    async def watch_loop() -> None:  # how long does the loop stay busy while exporting?
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append(time.perf_counter() - before - 0.01)

    received_lines = [-1]  # the header line is not a call

    def chunk(data: bytes) -> None:
        nonlocal received, first_byte
        received_lines[0] += data.count(b"\n")
        if first_byte is None:
            first_byte = time.perf_counter() - began
        received += len(data)

    watcher = asyncio.ensure_future(watch_loop())
    began = time.perf_counter()
    response = await client.fetch(
        f"http://127.0.0.1:{port}/calls/export.csv{query}",
        headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, streaming_callback=chunk,
        request_timeout=300, raise_error=False)
    took = time.perf_counter() - began
    stop.set()
    await watcher
    lines = received_lines[0]
    return {"status": response.code, "rows": lines, "seconds": round(took, 2),
            "rows_per_second": round(lines / took) if took else None, "megabytes":
            round(received / 1e6, 1), "first_byte_ms": round((first_byte or 0) * 1000, 1),
            "loop_max_stall_ms": round(max(stalls, default=0) * 1000, 1)}


async def main(rows: int, full_export: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="callbox-bench-web-"))
    box = FakeBox(tmp)
    now = time.time()
    for name in QUEUES:
        await box.admin.save_queue(QueueConfig(name=name), create=True)
    fill_seconds = fill_calls(box.store.path, rows, now)
    app = make_app(box, cookie_secret_path=tmp / "secret")
    user = await app.accounts.create_first_admin("admin", "benchmark password")
    cookie = tornado.web.create_signed_value(
        app.settings["cookie_secret"], SESSION_COOKIE,
        f"{user.id}:{user.stamp}:{time.time():.0f}").decode()
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    server = tornado.httpserver.HTTPServer(app, **HTTP_LIMITS)
    server.add_sockets(sockets)
    result = {"rows": rows, "fill_seconds": round(fill_seconds, 1)}
    result["wallboard_push"] = await websocket_latency(app, port, cookie, box)
    result["call_log_query"] = call_log_figures(box.store.path, now)
    conn = sqlite3.connect(box.store.path)
    deep = conn.execute("SELECT started_at, id FROM calls ORDER BY started_at DESC, id DESC "
                        "LIMIT 1 OFFSET ?", (rows * 9 // 10,)).fetchone()
    conn.close()
    result["call_log_http_page"] = await page_figures(port, cookie, "/calls", deep)
    if full_export:
        result["csv_export_all"] = await export_figures(port, cookie, "")
    else:  # the last 90 days (a quarter of the rows), to keep the run near a minute
        since = time.strftime("%Y-%m-%d", time.localtime(now - 90 * 86400))
        result["csv_export_90_days"] = await export_figures(port, cookie, f"?from={since}")
    server.stop()
    app.close()
    box.close()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--full-export", action="store_true",
                        help="export all rows (a year), not the last 90 days")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # a server error during the run shows here
    print(json.dumps(asyncio.run(main(args.rows, args.full_export)), indent=2))
