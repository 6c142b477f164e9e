"""The GSM line driver: a USB GSM modem as a channel (drivers/base.py contract).

Settings: {"at": path, "audio": path (optional), "model": key of models.MODELS
(optional), "pin": SIM PIN (optional)}.  The supervisor (drivers/supervisor.py) keeps
the modem alive; this class says how to bring it up and what "down" means for it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from drivers.at.engine import AtEngine, AtError, AtTimeout, PortLost
from drivers.at.protocol import Urc
from drivers.at.transport import ByteLink, SerialPort
from drivers.base import CallerId, Cause, Channel, ChannelHost, Leg, LegListener, Unreachable
from drivers.supervisor import LINE_DOWN, Locator, Supervisor

from . import facts, setup, words
from .audio import AUDIO_BACKLOG, AudioPump
from .calls import CallManager
from .models import MODELS
from .profiles import Profile, pick_profile
from .sms import SmsService
from .tasks import TaskSet, sleep
from .ussd import Ussd

log = logging.getLogger(__name__)

_DIALLABLE = re.compile(r"^\+?[0-9*#]{2,32}$")
SIM_PROBLEMS = {words.SIM_NOT_INSERTED, words.SIM_PIN, words.SIM_PIN_WRONG, words.SIM_PUK,
                words.SIM_BUSY, words.SIM_FAILURE}


def open_serial(path: str, audio: bool) -> ByteLink:
    # audio: a short backlog that drops whole samples; AT: keep everything
    port = SerialPort(path, max_buffer=AUDIO_BACKLOG, align=2) if audio else SerialPort(path)
    port.open()
    return port


class GsmChannel(Channel):
    kind = "gsm"
    role = "line"
    poll_seconds = 30.0  # signal/registration refresh; doubles as the modem's heartbeat
    heartbeat_timeout = 5.0  # a modem that takes longer for +CSQ is hung

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Check a line's settings before they are stored (raises SettingsError)."""
        from .models import validate_settings

        return validate_settings(settings)

    @classmethod
    def list_facts(cls, settings: Mapping[str, Any], status: Mapping[str, Any]
                   ) -> dict[str, Any]:
        """``callbox line list`` columns: state, model, operator, signal, IMEI, port."""
        from .models import cli_line_row

        row = cli_line_row("", settings, status)
        row["state"] = row["state"] or ("not running" if not status else "")
        return {k: row[k] for k in ("state", "model", "operator", "signal", "imei", "port")}

    def __init__(self, name: str, settings: Mapping[str, Any], host: ChannelHost) -> None:
        super().__init__(name, settings, host)
        self.identity: str | None = None  # the IMEI, kept across replugs
        self.locator: Locator | None = None  # set by the daemon (hotplug) or a test
        self.open_link: Callable[[str, bool], ByteLink] = open_serial
        self.supervisor = Supervisor(self, host.clock)
        self.engine: AtEngine | None = None
        self.profile: Profile | None = None
        self.calls: CallManager | None = None
        self.sms: SmsService | None = None
        self.ussd: Ussd | None = None
        self.audio: AudioPump | None = None
        self.facts: dict[str, Any] = {}
        self.state = words.STARTING
        self.problem = ""
        self.voice_problem = ""
        self.pin_rejected = False
        self._down: asyncio.Future | None = None
        self._tasks = TaskSet(name)

    # -- the contract -----------------------------------------------------------------------
    async def start(self) -> None:
        self.supervisor.locator = self.locator
        self.supervisor.start()

    async def stop(self) -> None:
        leg = self.calls.leg if self.calls is not None else None
        if leg is not None:  # hang the call up on the network too, not just forget it
            try:
                await asyncio.wait_for(leg.hangup(Cause.NORMAL_CLEARING), 5)
            except (TimeoutError, AtError, PortLost):
                log.info("%s: the network side of the call could not be cleared", self.name)
        await self.supervisor.stop()

    def originate(self, destination: str, caller: CallerId, listener: LegListener) -> Leg:
        if not _DIALLABLE.match(destination):
            raise Unreachable(f"{destination!r} is not a phone number", Cause.INVALID_NUMBER_FORMAT)
        if self.calls is None or self.state != words.UP:
            raise Unreachable(f"line {self.name} is {self.state}", Cause.NETWORK_OUT_OF_ORDER)
        if self.calls.busy:
            raise Unreachable(f"line {self.name} is in a call", Cause.REQUESTED_CHAN_UNAVAIL)
        return self.calls.originate(destination, listener)

    def reaches(self, destination: str) -> bool:
        return (self.state == words.UP and bool(self.facts.get("registered"))
                and self.calls is not None and not self.calls.busy
                and bool(_DIALLABLE.match(destination)))

    def status(self) -> dict[str, Any]:
        model = MODELS.get(str(self.settings.get("model", "")))
        out: dict[str, Any] = {
            "state": self.state, "problem": self.problem, "port": self.settings.get("at", ""),
            "audio_port": self.settings.get("audio", ""),
            "family": self.profile.family if self.profile else (model.family if model else ""),
            "voice": not self.voice_problem, "voice_problem": self.voice_problem,
            "in_call": bool(self.calls and self.calls.busy),
            "resets": self.supervisor.soft_resets + self.supervisor.hard_resets,
        }
        out.update(self.facts)
        return out

    # -- public extras: SMS, USSD ------------------------------------------------------------
    async def send_sms(self, number: str, text: str, report: bool = True) -> list[int]:
        if self.sms is None:
            raise Unreachable(f"line {self.name} is {self.state}")
        return await self.sms.send(number, text, report=report)

    async def ussd_request(self, code: str) -> str:
        if self.ussd is None:
            raise Unreachable(f"line {self.name} is {self.state}")
        return await self.ussd.request(code)

    # -- Supervised --------------------------------------------------------------------------
    def set_state(self, state: str, problem: str = "") -> None:
        if (state, problem) != (self.state, self.problem):
            self.state, self.problem = state, problem
            self.host.bus.publish("line.state", line=self.name, state=state, problem=problem)
            self.host.channel_changed(self)

    async def connect(self) -> None:
        if self.state != words.DOWN:  # a down line keeps showing why until it is up
            self.set_state(words.STARTING)
        try:
            await self._connect()
        except (AtError, AtTimeout, PortLost) as exc:
            log.warning("%s: %s", self.name, exc)
            raise setup.LineProblem(words.NOT_ANSWERING, reset_helps=True) from exc
        except setup.LineProblem as exc:
            if str(exc) in SIM_PROBLEMS:
                self.facts["sim"] = str(exc)
            raise

    async def _connect(self) -> None:
        at_path = str(self.settings.get("at", ""))
        try:
            link = self.open_link(at_path, False)
        except Exception as exc:
            raise setup.LineProblem(words.PORT_MISSING) from exc
        engine = self.engine = AtEngine(link, self.host.clock, self.name)
        engine.on_unhealthy(self._unhealthy)
        await setup.synchronise(engine, min(1.0, self.heartbeat_timeout))
        ident = await setup.identify(engine)
        if self.identity and ident["imei"] and ident["imei"] != self.identity:
            log.warning("%s: a different modem (IMEI %s) is on %s", self.name, ident["imei"],
                        at_path)
        self.identity = ident["imei"] or self.identity
        model = MODELS.get(str(self.settings.get("model", "")))
        profile = self.profile = pick_profile(ident["manufacturer"], ident["model"],
                                              model.family if model else None)
        self.facts.update(ident)
        self.voice_problem = await profile.check_voice(engine) or ""
        if self.pin_rejected is False:
            self.pin_rejected = await setup.unlock_sim(
                engine, self.host.clock, self.settings.get("pin"), self.pin_rejected)
        if self.pin_rejected:
            raise setup.LineProblem(words.SIM_PIN_WRONG)
        self.facts["sim"] = words.SIM_READY
        await setup.configure(engine, profile)
        self.facts.update(await setup.read_facts(engine, profile))
        self._open_audio()
        self.calls = CallManager(self, engine, profile, self.audio)
        self.sms = SmsService(self, engine)
        self.ussd = Ussd(engine, profile)
        engine.on_urc("+CREG", self._creg)
        engine.on_urc("^RSSI", self._rssi)
        self._down = asyncio.get_running_loop().create_future()
        if engine.lost or not engine.healthy:  # it failed while we were finishing
            self._down.set_result("unhealthy while starting")
        self._tasks.spawn(self.sms.fetch_all(), "SMS on the SIM")
        self._tasks.spawn(self._poll(), "poll")
        self.set_state(words.UP)

    def _open_audio(self) -> None:
        path = str(self.settings.get("audio", ""))
        if self.voice_problem:
            return
        if not path:
            self.voice_problem = words.NO_AUDIO_PORT
            return
        try:
            self.audio = AudioPump(self.open_link(path, True), lambda frame: None)
        except Exception as exc:
            log.warning("%s: audio port %s: %s", self.name, path, exc)
            self.voice_problem = words.PORT_MISSING

    def _unhealthy(self, reason: str) -> None:
        if self._down is not None and not self._down.done():
            self._down.set_result(reason)

    async def wait_down(self) -> str:
        assert self._down is not None
        return await self._down

    async def soft_reset(self) -> bool:
        engine = self.engine
        if engine is None or engine.lost:
            return False
        if self.calls is not None:
            self.calls.end_all(LINE_DOWN)
        try:
            await engine.command("AT", timeout=self.heartbeat_timeout)
            await engine.command("ATZ", timeout=self.heartbeat_timeout)
        except (AtError, AtTimeout, PortLost):
            return False
        return True

    async def hard_reset(self) -> None:
        engine = self.engine
        if engine is None or engine.lost:
            return
        if self.calls is not None:
            self.calls.end_all(LINE_DOWN)
        engine.protocol.command_done()
        engine.link.write(b"AT+CFUN=1,1\r")  # 27.007 8.2: full functionality after a reset
        await sleep(self.host.clock, 0.2)  # let it leave before the port is closed

    def disconnect(self, cause: Cause) -> None:
        self._tasks.cancel_all()
        if self.calls is not None:
            self.calls.end_all(cause)
        for part in (self.sms, self.ussd, self.audio, self.engine):
            if part is not None:
                part.close()
        self.calls = self.sms = self.ussd = self.audio = self.engine = None
        self._down = None

    def relocate(self, ports: dict[str, str]) -> None:
        if all(self.settings.get(k) == v for k, v in ports.items()):
            return
        log.info("%s: modem %s is now on %s", self.name, self.identity, ports)
        self.settings.update({k: v for k, v in ports.items() if k in ("at", "audio") and v})
        self.host.channel_changed(self)

    # -- what the network tells us ------------------------------------------------------------
    def _creg(self, urc: Urc) -> None:
        self.facts.update(facts.registration(facts.parse_creg(urc.args, urc=True)))
        self.host.channel_changed(self)

    def _rssi(self, urc: Urc) -> None:
        self.facts.update(setup.signal_facts(facts.parse_csq(urc.args)))

    async def _poll(self) -> None:
        while self.engine is not None:
            await sleep(self.host.clock, self.poll_seconds)
            engine = self.engine
            if engine is None:
                return
            try:
                self.facts.update(await setup.read_network(engine, self.heartbeat_timeout))
            except AtError as exc:
                log.info("%s: network facts: %s", self.name, exc)
                continue
            except (AtTimeout, PortLost):
                return  # the engine has told the supervisor already
            self.host.channel_changed(self)
