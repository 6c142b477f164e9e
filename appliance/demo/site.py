"""The demo site: queues, operators at simulated phones, simulated lines, live callers.

Setting up is idempotent: what exists is kept, so a second ``make demo`` continues
with the history of the first.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from appliance.acd.config import QueueConfig
from appliance.admin import ValidationError
from drivers.loopback import LoopbackPhones

from .traffic import TrafficGenerator, TrafficProfile

log = logging.getLogger(__name__)

OPERATORS = ["Anna", "Boris", "Vera", "Gleb", "Daria", "Egor", "Zhanna", "Ivan", "Kira", "Lev"]
QUEUES = [
    QueueConfig(name="support", strategy="longest-idle", wrapup_seconds=8, max_wait=240,
                overflow="callback"),
    QueueConfig(name="sales", strategy="ring-all", wrapup_seconds=5, max_wait=180,
                overflow="queue:support"),
]


# Known customers: the screen pop greets them by name; Vector's director is a VIP.
CONTACTS = [
    {"number": "+79161110001", "name": "Irina Petrova", "company": "Romashka",
     "note": "contract 2024-117, prefers e-mail", "priority": "0"},
    {"number": "+79031110002", "name": "Oleg Smirnov", "company": "Vector",
     "note": "director; put through at once", "priority": "5"},
    {"number": "+74951110003", "name": "Marina Volkova", "company": "Zarya",
     "note": "invoice questions", "priority": "0"},
    {"number": "+78121110004", "name": "Pavel Orlov", "company": "",
     "note": "private customer", "priority": "0"},
]

# The demo line's voice menu: a greeting, then support or sales (0 is the operator).
FRONT_DESK = {
    "start": "welcome", "language": "en", "operator": "support_q",
    "nodes": {
        "welcome": {"type": "play", "text": "Thank you for calling the callbox demo.",
                    "next": "menu"},
        "menu": {"type": "menu", "text": "For support, press 1. For sales, press 2.",
                 "timeout": 6, "retries": 2,
                 "choices": {"1": {"label": "Support", "next": "support_q"},
                             "2": {"label": "Sales", "next": "sales_q"}}},
        "support_q": {"type": "queue", "queue": "support"},
        "sales_q": {"type": "queue", "queue": "sales"},
    },
}


class LoopbackCaller:
    """A traffic-generator handle for a caller on a loopback line."""

    def __init__(self, leg) -> None:
        self.leg = leg

    def hangup(self) -> None:
        self.leg.far_end_hangup()

    def press(self, digit: str) -> None:
        self.leg.far_end_dtmf(digit)


class _Closer:
    def __init__(self, close) -> None:
        self.stop = close


class SimCaller:
    """A traffic-generator handle for a caller on a simulated modem's network side."""

    def __init__(self, modem, board) -> None:
        self.modem = modem
        self.board = board

    def hangup(self) -> None:
        self.board.spawn(self.modem.command("hangup"), "demo hangup")

    def press(self, digit: str) -> None:
        self.board.spawn(self.modem.command(f"dtmf {digit}"), "demo dtmf")


class DemoSite:
    def __init__(self, args: Any) -> None:
        self.args = args
        self.traffic: list[TrafficGenerator] = []

    async def setup(self, daemon) -> None:
        admin = daemon.admin
        board = daemon.board
        for config in QUEUES:
            if admin.queue(config.name) is None:
                await admin.save_queue(config, create=True)
        names = OPERATORS[: self.args.operators]
        existing_phones = {p["extension"] for p in admin.phones()}
        for n, name in enumerate(names):
            extension = str(101 + n)
            if extension not in existing_phones:
                await admin.add_phone(extension, name=f"{name}'s desk")
            queues = {"support": 0, "sales": 0 if n % 2 == 0 else 1}
            try:
                await admin.save_operator(name, extension, str(11 + n), queues,
                                          create=admin.operator(name) is None)
            except ValidationError as exc:
                log.warning("demo operator %s: %s", name, exc)
        board.load_config()
        for name in names:
            board.acd.login(name, reason="demo")
        await self._phones(daemon, [str(101 + n) for n in range(len(names))])
        kinds = self.args.lines.split(",")
        if "loopback" in kinds:
            await self._loopback_line(daemon)
        if "gsm" in kinds:
            await self._gsm_lines(daemon)
        if "fxo" in kinds:
            await self._analog_line(daemon)
        await self._contacts(daemon)
        await self._logins(daemon, names[0])
        self._print_banner(daemon)

    async def _contacts(self, daemon) -> None:
        from appliance.contacts import Contacts

        contacts = Contacts(daemon.store, daemon.bus)
        for contact in CONTACTS:
            if contacts.get(contact["number"]) is None:
                await contacts.save(contact)

    def profile(self, rate: float, **extra) -> TrafficProfile:
        return TrafficProfile(calls_per_minute=rate,
                              known_numbers=tuple(c["number"] for c in CONTACTS), **extra)

    async def _logins(self, daemon, first_operator: str) -> None:
        """A demo admin and the first operator's login, with one random password kept in
        the demo's data directory (a development box only: never on the image)."""
        from web.accounts import Accounts

        secret = Path(daemon.config.data_dir) / "demo-login.txt"
        if secret.exists():
            password = secret.read_text().strip()
        else:
            password = secrets.token_urlsafe(9)
            secret.write_text(password + "\n")
            secret.chmod(0o600)
        accounts = Accounts(daemon.store)
        existing = {u["username"] for u in accounts.users()}
        if "demo" not in existing:
            await accounts.create("demo", password, "admin")
        operator_login = first_operator.lower()
        if operator_login not in existing:
            await accounts.create(operator_login, password, "operator", operator=first_operator)
        daemon.demo_login = [("demo", password), (operator_login, password)]

    async def _phones(self, daemon, extensions: list[str]) -> None:
        """Operators' desk phones: simulated SIP phones registering with the box over
        loopback, answering after a few seconds and talking for a while.  Without a SIP
        driver the phones are software ones inside the daemon (the loopback driver)."""
        admin, board = daemon.admin, daemon.board
        policy = {"answer_after": (2, 7), "talk_seconds": (25, 110), "no_answer_ratio": 0.1}
        sip = board.channels.get("phones")
        if sip is None:
            phones = LoopbackPhones("desk-phones", {
                "extensions": extensions, **{k: list(v) if isinstance(v, tuple) else v
                                             for k, v in policy.items()}}, board)
            await board.add_channel(phones)
            return
        from drivers.sim.sip_phone import AnswerPolicy, PhoneBank

        passwords = {p["extension"]: p["password"] for p in admin.phones()}
        bank = PhoneBank({ext: passwords[ext] for ext in extensions},
                         ("127.0.0.1", sip.port), local_host="127.0.0.1",
                         policy=AnswerPolicy(**policy), clock=board.clock)
        for ext, reason in (await bank.start()).items():
            log.warning("demo phone %s did not register: %s", ext, reason)
        bank.stop_before_lines = True  # unregister while the box still answers
        daemon.extras.append(bank)

    async def _loopback_line(self, daemon) -> None:
        from appliance.ivr.flowstore import FlowStore

        admin, board = daemon.admin, daemon.board
        flows = FlowStore(daemon.store)
        if flows.active("front-desk") is None:
            await flows.save("front-desk", FRONT_DESK, note="made by the demo",
                             queues=[q.name for q in admin.queues()])
        name = "demo-line"
        if not any(line["name"] == name for line in admin.lines()):
            await admin.save_line(name, "loopback", {"number": "+74951234567"},
                                  "flow:front-desk", create=True)
        await board.sync_line(name)
        line = board.channels[name]

        def waiting(handle: LoopbackCaller) -> bool:
            call = board.calls.get(handle.leg.call_id or "")
            return call is not None and call.state in ("queued", "ringing")

        generator = TrafficGenerator(
            board.clock, lambda number: LoopbackCaller(line.place_call(number)), waiting,
            self.profile(self.args.rate, menu_keys="12"))
        generator.start()
        self.traffic.append(generator)
        daemon.extras.append(generator)

    async def _gsm_lines(self, daemon) -> None:
        """Two simulated USB modems of different families, each its own process on ptys,
        with callers arriving on them too (one call per modem at a time, as in life)."""
        from drivers.sim.process import SimModemProcess

        admin, board = daemon.admin, daemon.board
        workdir = Path(daemon.config.data_dir) / "sim"
        for n, (model, imei) in enumerate((("ec25", "861234567890111"),
                                           ("e1550", "351234567890222"))):
            modem = await SimModemProcess.start(model, workdir, sim_busy=1.0,
                                                extra=["--imei", imei])
            daemon.extras.append(modem)
            name = f"gsm{n + 1}"
            if any(line["name"] == name for line in admin.lines()):
                await admin.save_line(name, "gsm", modem.line_settings(), "queue:sales",
                                      create=False)
            else:
                await admin.save_line(name, "gsm", modem.line_settings(), "queue:sales")
            await board.sync_line(name)
            self._gsm_traffic(daemon, name, modem)

    async def _analog_line(self, daemon) -> None:
        """An analog line through a simulated USRobotics voice modem on a pty: caller id
        between rings, and callers who hang up the ways exchanges signal it."""
        from drivers.sim.v253_demo import V253DemoLine

        admin, board = daemon.admin, daemon.board
        demo = V253DemoLine(board.clock)
        daemon.extras.append(_Closer(demo.close))
        name = "analog1"
        settings = {"port": demo.path, "model": "usr5637"}
        exists = any(line["name"] == name for line in admin.lines())
        await admin.save_line(name, "fxo", settings, "queue:support", create=not exists)
        await board.sync_line(name)

        def live_call():
            return next((c for c in board.calls.values() if c.line == name), None)

        def place(number: str):
            if live_call() is not None or demo.sim.in_call \
                    or board.channels[name].status().get("state") not in ("up", "ready"):
                return None
            return demo.place_call(number)

        def waiting(handle) -> bool:
            call = live_call()
            return call is not None and call.state in ("queued", "ringing")

        generator = TrafficGenerator(board.clock, place, waiting,
                                     self.profile(self.args.rate / 4))
        generator.start()
        self.traffic.append(generator)
        daemon.extras.insert(0, generator)

    def _gsm_traffic(self, daemon, line: str, modem) -> None:
        board = daemon.board

        def live_call():
            return next((c for c in board.calls.values() if c.line == line), None)

        def place(number: str):
            if live_call() is not None or board.channels[line].status().get("state") != "up":
                return None  # the modem is busy or still starting: this caller got a busy tone
            board.spawn(modem.command(f"call {number}"), "demo gsm call")
            return SimCaller(modem, board)

        def waiting(handle) -> bool:
            call = live_call()
            return call is not None and call.state in ("queued", "ringing")

        generator = TrafficGenerator(board.clock, place, waiting,
                                     self.profile(self.args.rate / 3))
        generator.start()
        self.traffic.append(generator)
        daemon.extras.insert(0, generator)

    def _print_banner(self, daemon) -> None:
        host, _port = daemon.config.web_address
        print(f"\ncallbox demo is running: http://{host}:{daemon.web_port}/")
        for user, password in getattr(daemon, "demo_login", []):
            print(f"  log in as {user} / {password}")
        print(f"  {len(self.traffic)} simulated line(s), calls arriving about "
              f"{self.args.rate:g} a minute; Ctrl-C stops\n", flush=True)
