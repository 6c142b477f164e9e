"""Helpers for the SIP tests: a channel host, a listener that records, a tiny phone
written with the stack's own parser (for what sipp cannot do), and sipp runs."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.clock import LoopClock
from appliance.events import Event, EventBus
from drivers.base import Cause, Leg, LegListener
from drivers.sip.auth import digest_response
from drivers.sip.channel import SipChannel
from drivers.sip.headers import parse_auth
from drivers.sip.message import Message, Request, Response, parse_message

SCENARIOS = Path(__file__).parent / "scenarios"
DEADLINE = 15.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop, each with a hard deadline."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**args), 90))
    return True


async def wait_until(
    predicate: Callable[[], Any], timeout: float = DEADLINE, what: str = ""
) -> Any:
    """Poll ``predicate`` on the loop until it is truthy; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class Recorder(LegListener):
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.frames: list[bytes] = []
        self.digits = ""

    def leg_ringing(self, leg: Leg) -> None:
        self.events.append(("ringing",))

    def leg_early_media(self, leg: Leg) -> None:
        self.events.append(("early",))

    def leg_answered(self, leg: Leg) -> None:
        self.events.append(("answered",))

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        self.events.append(("hangup", cause, remote))

    def leg_dtmf(self, leg: Leg, digit: str) -> None:
        self.digits += digit

    def leg_frame(self, leg: Leg, frame: bytes) -> None:
        self.frames.append(frame)

    def leg_hold(self, leg: Leg, on_hold: bool) -> None:
        self.events.append(("hold", on_hold))

    def leg_transfer(self, leg: Leg, target: str, replaces: str | None) -> None:
        self.events.append(("transfer", target, replaces))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


class Host:
    """What the core offers the channel, recording what it hears."""

    def __init__(self, answer: bool = True, clock: Any = None) -> None:
        self.clock = clock or LoopClock()
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.legs: list[Leg] = []
        self.auto_answer = answer
        self.changes = 0

    def incoming(self, leg: Leg) -> None:
        leg.listener = Recorder()
        self.legs.append(leg)
        leg.ringing()  # type: ignore[attr-defined]
        if self.auto_answer:
            asyncio.get_running_loop().create_task(leg.answer())

    def channel_changed(self, channel: Any) -> None:
        self.changes += 1

    def registrations(self, state: str = "registered") -> list[Event]:
        return [e for e in self.events
                if e.kind == "phone.registration" and e.data["state"] == state]


PHONES = {"101": "s3cret-101", "102": "s3cret-102", "103": "s3cret-103"}


@contextlib.asynccontextmanager
async def sip_channel(
    phones: dict[str, str] | None = None, answer: bool = True, clock: Any = None,
    **settings: Any,
) -> AsyncIterator[tuple[SipChannel, Host]]:
    host = Host(answer, clock)
    book = PHONES if phones is None else phones
    base = {"listen": "127.0.0.1:0", "rtp_ports": "30000-39999", "qualify_seconds": 0,
            "credentials": book.get}
    channel = SipChannel("phones", {**base, **settings}, host)
    await channel.start()
    assert channel.state == "running", channel.status()
    try:
        yield channel, host
    finally:
        await channel.stop()


class Phone(asyncio.DatagramProtocol):
    """A minimal SIP phone for tests: sends what it is told, answers challenges."""

    def __init__(self, user: str = "101", password: str = "s3cret-101") -> None:
        self.user = user
        self.password = password
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.inbox: list[Message] = []
        self.raw: list[bytes] = []
        self.server: tuple[str, int] = ("127.0.0.1", 0)
        self.cseq = 0
        self.call_id = secrets.token_hex(8)
        self.tag = secrets.token_hex(4)

    async def open(self, server_port: int) -> Phone:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        assert self.transport is not None
        self.port = self.transport.get_extra_info("sockname")[1]
        self.server = ("127.0.0.1", server_port)
        return self

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.raw.append(data)
        with contextlib.suppress(Exception):
            self.inbox.append(parse_message(data))

    def send_raw(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, self.server)

    def request(self, method: str, uri: str | None = None, headers: dict[str, str] | None = None,
                body: bytes = b"", to: str | None = None, call_id: str | None = None,
                from_tag: str | None = None) -> Request:
        self.cseq += 1
        uri = uri or f"sip:{self.user}@127.0.0.1:{self.server[1]}"
        req = Request(method=method, uri=uri, body=body)
        h = req.headers
        branch = f"z9hG4bK{secrets.token_hex(6)}"
        h.add("via", f"SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport")
        h.add("from", f'"Phone {self.user}" <sip:{self.user}@127.0.0.1>;tag={from_tag or self.tag}')
        h.add("to", to or f"<sip:{self.user}@127.0.0.1>")
        h.add("call-id", call_id or self.call_id)
        h.add("cseq", f"{self.cseq} {method}")
        h.add("max-forwards", "70")
        h.add("contact", f"<sip:{self.user}@127.0.0.1:{self.port}>")
        for name, value in (headers or {}).items():
            h.set(name, value)
        return req

    async def transact(self, req: Request, final: bool = True, timeout: float = 5.0) -> Response:
        """Send and wait for the (final) response with this request's branch."""
        branch = req.headers.get("via").split("branch=")[1].split(";")[0]  # type: ignore
        start = len(self.inbox)
        self.send_raw(req.encode())

        def found() -> Response | None:
            for msg in self.inbox[start:]:
                if (isinstance(msg, Response) and branch in (msg.headers.get("via") or "")
                        and (msg.status >= 200 or not final)):
                    return msg
            return None

        return await wait_until(found, timeout, f"response to {req.method}")

    async def with_auth(self, req: Request, algorithm: str | None = None,
                        password: str | None = None) -> Response:
        """Send, answer a 401 challenge once (picking ``algorithm``), return the final."""
        first = await self.transact(req)
        if first.status != 401:
            return first
        challenges = [parse_auth(v)[1] for v in first.headers.get_all("www-authenticate")]
        chosen = next(c for c in challenges if algorithm is None or c["algorithm"] == algorithm)
        again = self.request(req.method, req.uri, body=req.body, to=req.headers.get("to"),
                             call_id=req.call_id)
        copied = [(n, v) for n, v in req.headers.items()
                  if n not in ("via", "cseq", "to", "call-id", "from")]
        for name in {n for n, _ in copied} | ({"contact"} - {n for n, _ in copied}):
            again.headers.remove(name)
        for name, value in copied:
            again.headers.add(name, value)
        again.headers.add("authorization", authorization(
            chosen, self.user, password if password is not None else self.password,
            req.method, req.uri))
        return await self.transact(again)

    def requests(self, method: str) -> list[Request]:
        return [m for m in self.inbox if isinstance(m, Request) and m.method == method]


def authorization(challenge: dict[str, str], user: str, password: str, method: str,
                  uri: str, nc: str = "00000001") -> str:
    cnonce = secrets.token_hex(4)
    alg = challenge.get("algorithm", "MD5")
    response = digest_response(alg, user, challenge["realm"], password, method, uri,
                               challenge["nonce"], nc, cnonce, "auth")
    return (f'Digest username="{user}", realm="{challenge["realm"]}", '
            f'nonce="{challenge["nonce"]}", uri="{uri}", response="{response}", '
            f'algorithm={alg}, qop=auth, nc={nc}, cnonce="{cnonce}"')


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for UDP and TCP right now (for peers that cannot take port 0)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port")


async def run_sipp(sipp: str, args: list[str], timeout: float = 30.0,
                   cwd: str | None = None) -> tuple[int, str]:
    """Run sipp to completion (bounded); returns (exit code, its stdout+stderr+error log)."""
    log_dir = cwd or os.getcwd()
    proc = await asyncio.create_subprocess_exec(
        sipp, *args, "-nostdin", "-trace_err", "-error_file", f"{log_dir}/sipp-errors.log",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        return -1, out.decode(errors="replace") + _read(f"{log_dir}/sipp-errors.log")
    return proc.returncode or 0, out.decode(errors="replace") + _read(f"{log_dir}/sipp-errors.log")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def sipp_count(output: str, name: str) -> int:
    """A counter from sipp's final screen, e.g. 'Successful call'."""
    match = re.search(rf"{name}\s+\|\s+\d+\s+\|\s+(\d+)", output)
    return int(match.group(1)) if match else -1
