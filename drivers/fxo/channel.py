"""FXO line driver: one analog line on one V.253 voice modem (``kind = "fxo"``).

Settings: ``port`` (tty path), ``model`` (a key of ``models.BY_KEY``, optional: USB
identity and ATI decide otherwise), ``silence_hangup_seconds`` (default 10),
``ring_timeout_seconds`` (no RING for this long before answer = the caller gave up,
default 8), ``country`` (tone plan for busy detection, default "eu"), ``echo_cancel``
(default true), ``duplex`` ("full"/"half" to override the model table).

Self-healing is the shared :class:`drivers.supervisor.Supervisor` (the GSM driver's):
a modem that stops answering gets AT/ATZ, then its port is closed and opened afresh; a
port that vanishes is found again by USB identity (the locator, hotplug in the daemon)
even on a new tty name.  ``status()`` says what the installer needs: state, model, caller id
support, duplex, codec.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from appliance.media.dtmf import DtmfDetector
from drivers.at.engine import AtEngine, AtError, AtTimeout, PortLost
from drivers.at.transport import ByteLink, PortError, SerialPort
from drivers.base import CallerId, Cause, Channel, ChannelHost, Leg, LegListener, Unreachable
from drivers.supervisor import LINE_DOWN, Locator, Supervisor

from . import models, words
from .call import VoiceCall
from .codec import VoiceCodec
from .dle import DleEvent
from .echo_path import echo_available as _echo_available
from .echo_path import make_echo_canceller
from .hangup import SILENCE_RMS, SILENCE_RMS_8BIT, FarEndMonitor
from .leg import FxoLeg
from .locate import VoiceModemLocator
from .ringing import RingSession
from .settings import _flag, line_facts, validate_settings  # noqa: F401  (re-exported)
from .setup import set_up
from .voiceport import VCON, V253Protocol, VoicePort

log = logging.getLogger(__name__)

DIAL_RESULTS = {"BUSY": Cause.USER_BUSY, "NO ANSWER": Cause.NO_ANSWER,
                "NO DIALTONE": Cause.NETWORK_OUT_OF_ORDER,
                "NO CARRIER": Cause.NORMAL_UNSPECIFIED, "ERROR": Cause.NORMAL_UNSPECIFIED}


class SettingsProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class FxoChannel(Channel):
    kind = "fxo"
    role = "line"

    @classmethod
    def clean_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """Check a line's settings before they are stored (raises SettingsProblem)."""
        problems = validate_settings(settings)
        if problems:
            field, message = next(iter(problems.items()))
            raise SettingsProblem(field, message)
        return dict(settings)

    @classmethod
    def list_facts(cls, settings: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """``callbox line list`` columns: state, model, caller id support, duplex."""
        return line_facts(status, settings)

    def __init__(self, name: str, settings: dict[str, Any], host: ChannelHost) -> None:
        super().__init__(name, settings, host)
        self.clock = host.clock
        self.state = "starting"
        self.model = models.GENERIC
        self.usb: tuple[int, int] | None = None
        self.caller_id_supported = False
        self.full_duplex = False
        self.codec_kind = ""
        self.engine: AtEngine | None = None
        self.port: VoicePort | None = None
        self.leg: FxoLeg | None = None
        self.ringing: RingSession | None = None
        self.opens = 0
        self.problem = ""
        self.identity: str | None = None  # USB serial or port path, kept across replugs
        self.locator: Locator | None = None  # set by the daemon (hotplug) or a test
        self.link_factory: Callable[[], ByteLink] | None = None  # tests: a memory link
        self.supervisor = Supervisor(self, host.clock)
        self._down: asyncio.Future | None = None
        self._dialling = False

    @property
    def silence_seconds(self) -> float:
        return float(self.settings.get("silence_hangup_seconds", 30.0))

    # -- lifecycle: the shared supervisor drives connect / wait_down / resets --------------
    async def start(self) -> None:
        # The switchboard hands every hardware line the daemon's USB hotplug, which knows
        # GSM modems by IMEI; a voice modem has none and is found again by its USB socket,
        # so a locator that does not find voice modems is replaced by ours.
        if self.link_factory is None and not getattr(self.locator, "finds_voice_modems",
                                                     False):
            self.locator = VoiceModemLocator(self.clock)
        self.supervisor.locator = self.locator
        self.supervisor.start()

    async def stop(self) -> None:
        if self.leg is not None:
            await self._release(self.leg, Cause.NORMAL_CLEARING, remote=False, reason="stop")
        await self.supervisor.stop()
        self._set_state("stopped")

    def _open_link(self) -> ByteLink:
        if self.link_factory is not None:
            return self.link_factory()
        path = str(self.settings.get("port", ""))
        if not path:
            raise PortError("no port set for this line")
        port = SerialPort(path)
        port.open()
        self.usb = models.usb_identity(path)
        if self.usb is not None and self.identity is None:
            self.identity = models.usb_key(path)
        return port

    async def connect(self) -> None:
        """Open the port, set the modem up; raises with a message when it cannot."""
        self._set_state("starting")
        loop = asyncio.get_running_loop()
        self._down = loop.create_future()
        port = VoicePort(self._open_link(), self._on_audio, self._on_dle, self._on_stream_end)
        self.opens += 1
        engine = AtEngine(port, self.clock, name=self.name)
        engine.protocol = V253Protocol()
        engine.on_unhealthy(self._on_unhealthy)
        for tag in ("RING", "DATE", "TIME", "NMBR", "NAME", "DDN_NMBR", "MESG"):
            engine.on_urc(tag, self._on_ring_urc)
        self.port, self.engine = port, engine
        await self._setup(engine)
        engine.mark_healthy()
        self.problem = ""
        self._set_state("ready")

    def _on_unhealthy(self, reason: str) -> None:
        if self._down is not None and not self._down.done():
            self._down.set_result(reason)

    async def wait_down(self) -> str:
        assert self._down is not None
        return await self._down

    async def soft_reset(self) -> bool:
        """AT, ATZ on the open port: a wedged voice DSP usually comes back from ATZ."""
        engine = self.engine
        if engine is None or engine.lost:
            return False
        self._end_calls(LINE_DOWN)
        engine.protocol.command_done()
        if self.port is not None:
            self.port.command_mode()
        try:
            await engine.command("AT", timeout=2.0)
            await engine.command("ATZ", timeout=3.0)
        except (AtError, AtTimeout, PortLost):
            return False
        return True

    async def hard_reset(self) -> None:
        """Voice modems have no AT+CFUN=1,1: drop the port (DTR falls, the modem resets
        on &D3, the factory default) and let the supervisor open it afresh."""
        self._end_calls(LINE_DOWN)
        if self.engine is not None:
            self.engine.close()

    def disconnect(self, cause: Cause) -> None:
        self._end_calls(cause)
        if self.engine is not None:
            self.engine.close()
        self.engine = self.port = None
        self._down = None

    def relocate(self, ports: dict[str, str]) -> None:
        log.info("%s: modem %s is now on %s", self.name, self.identity, ports)
        if ports.get("at"):
            self.settings["port"] = ports["at"]
        self.host.channel_changed(self)

    def set_state(self, state: str, problem: str = "") -> None:
        self.problem = problem
        self._set_state("absent" if state == "down" else state)

    def _end_calls(self, cause: Cause) -> None:
        if self.ringing is not None:
            self.ringing.cancel()
            self.ringing = None
        if self.leg is not None and not self.leg.ended:
            self._end_leg(self.leg, cause, "line_down")

    async def _setup(self, engine: AtEngine) -> None:
        facts = await set_up(engine, self.settings, self.usb, self.silence_seconds)
        self.model = facts.model
        self.full_duplex = facts.full_duplex
        self.caller_id_supported = facts.caller_id
        self.codec_kind = facts.codec

    # -- incoming calls ------------------------------------------------------------------
    def _on_ring_urc(self, urc: Any) -> None:
        leg = self.leg
        if leg is not None and (leg.direction == "outbound"
                                or leg.state.value not in ("new", "ringing")):
            return  # RING during a call: one line carries one call
        if self.ringing is None:
            self.ringing = RingSession(self.clock, self.settings, self._offer, self._abandoned)
        self.ringing.urc(urc.name, urc.line)

    def _offer(self, caller: CallerId, when: str) -> None:
        leg = FxoLeg(self, "inbound", caller, caller_time=when)
        self.leg = leg
        self.host.incoming(leg)
        leg._emit_ringing()
        self.host.channel_changed(self)

    def _abandoned(self) -> None:
        self.ringing = None
        leg = self.leg
        if leg is not None and leg.state.value in ("new", "ringing"):
            self._end_leg(leg, Cause.NORMAL_CLEARING, "abandoned")

    async def _answer(self, leg: FxoLeg) -> None:
        if leg is not self.leg or leg.ended or self.engine is None:
            return
        if self.ringing is not None:
            self.ringing.cancel()
            self.ringing = None
        try:
            await self.engine.command("AT+VLS=1", timeout=3)
            await self._begin_audio(leg)
        except (AtError, AtTimeout, PortLost) as exc:
            log.warning("%s: answering failed: %s", self.name, exc)
            await self._release(leg, Cause.TEMPORARY_FAILURE, remote=False, reason="modem")
            return
        leg._emit_answered()

    async def _begin_audio(self, leg: FxoLeg) -> None:
        assert self.engine is not None and self.port is not None
        quiet = SILENCE_RMS_8BIT if self.codec_kind in ("s8", "u8") else SILENCE_RMS
        monitor = FarEndMonitor(self.silence_seconds, str(self.settings.get("country", "eu")),
                                silence_rms=quiet)
        echo = None
        if _flag(self.settings.get("echo_cancel", True)):
            # the reference is what the modem played in the same tick, so the tail is
            # the hybrid's and the modem's converters', not our buffering
            # non-linear processing stays off by default: it would also take down a quiet
            # caller's room noise, which is what tells a listener from an empty line
            echo = make_echo_canceller(tail_ms=int(self.settings.get("echo_tail_ms", 64)),
                                       nlp=_flag(self.settings.get("echo_nlp", False)))
        leg.call = VoiceCall(
            leg, self.engine, self.port, self.clock, VoiceCodec(self.codec_kind),
            full_duplex=self.full_duplex, monitor=monitor, echo=echo,
            on_gone=lambda reason: self._far_end_gone(leg, reason),
            dtmf=None if self.model.reports_dtmf else DtmfDetector(),
        )
        await leg.call.start()
        self.full_duplex = leg.call.full_duplex
        self._set_state("in_call")

    # -- outgoing calls ------------------------------------------------------------------
    def reaches(self, destination: str) -> bool:
        return self.state == "ready" and self.leg is None and _dialable(destination)

    def originate(self, destination: str, caller: CallerId, listener: LegListener) -> Leg:
        if self.state != "ready" or self.engine is None:
            raise Unreachable(f"line {self.name} is {self.state}", Cause.NETWORK_OUT_OF_ORDER)
        if self.leg is not None:
            raise Unreachable(f"line {self.name} is busy", Cause.USER_BUSY)
        if not _dialable(destination):
            raise Unreachable(f"cannot dial {destination!r}", Cause.INVALID_NUMBER_FORMAT)
        leg = FxoLeg(self, "outbound", caller, destination, listener)
        self.leg = leg
        self._set_state("dialling")
        asyncio.get_running_loop().create_task(self._dial(leg, destination))
        return leg

    async def _dial(self, leg: FxoLeg, number: str) -> None:
        assert self.engine is not None
        timeout = float(self.settings.get("no_answer_seconds", 60.0))
        try:
            await self.engine.command("AT+VLS=1", timeout=3)
            self._dialling = True
            try:
                final = (await self.engine.command(f"ATDT{number}", dial=True,
                                                   timeout=timeout, check=False)).final
            finally:
                self._dialling = False
        except AtTimeout:
            await self._release(leg, Cause.NO_ANSWER, remote=True, reason="no_answer")
            return
        except PortLost:
            return
        if leg.ended:
            return
        if final.result in ("OK", VCON, "CONNECT"):
            try:
                await self._begin_audio(leg)
            except (AtError, AtTimeout, PortLost) as exc:
                log.warning("%s: no voice stream: %s", self.name, exc)
                await self._release(leg, Cause.TEMPORARY_FAILURE, remote=False, reason="modem")
                return
            leg._emit_answered()
            return
        cause = DIAL_RESULTS.get(final.result, Cause.NORMAL_UNSPECIFIED)
        await self._release(leg, cause, remote=True, reason=final.result.lower().replace(" ", "_"))

    # -- during a call -------------------------------------------------------------------
    def _on_audio(self, data: bytes) -> None:
        leg = self.leg
        if leg is not None and leg.call is not None:
            leg.call.wire_audio(data)

    def _on_dle(self, event: DleEvent) -> None:
        leg = self.leg
        if leg is not None and leg.call is not None:
            leg.call.dle_event(event)
        elif leg is not None and leg.direction == "outbound" and not leg.ended:
            if event.code == "r":  # ringback while dialling: the far end is alerting
                leg._emit_ringing()
        elif event.code == "R" and self.ringing is None and self.leg is None:
            self._on_ring_urc(_RingEvent())
        elif not event.known:
            log.warning("%s: unknown DLE event %r skipped", self.name, event.code)

    def _on_stream_end(self) -> None:
        leg = self.leg
        if leg is not None and leg.call is not None:
            leg.call.stream_ended()

    def _far_end_gone(self, leg: FxoLeg, reason: str) -> None:
        cause = Cause.NORMAL_CLEARING
        if leg.state.value != "answered" and reason == "busy":
            cause = Cause.USER_BUSY
        loop = asyncio.get_running_loop()
        loop.create_task(self._release(leg, cause, remote=True, reason=reason))

    async def _release(self, leg: FxoLeg, cause: Cause, remote: bool, reason: str) -> None:
        """Hang up: close the stream, go on hook, report once."""
        if leg is not self.leg:
            return
        self.leg = None
        if self.ringing is not None:
            self.ringing.cancel()
            self.ringing = None
        leg.hangup_reason = leg.hangup_reason or reason
        if self._dialling and self.port is not None:
            self.port.write(b"\r")  # V.250: any character aborts the dial in progress
        try:
            if leg.call is not None:
                await leg.call.close()
            if self.engine is not None and not self.engine.lost:
                await self.engine.command("ATH", timeout=3, check=False)
                await self.engine.command("AT+VLS=0", timeout=3, check=False)
        except (AtTimeout, PortLost) as exc:
            log.warning("%s: hang-up incomplete: %s", self.name, exc)
        finally:
            leg._emit_hangup(cause, remote)
            if self.state in ("in_call", "dialling"):
                self._set_state("ready")

    def _end_leg(self, leg: FxoLeg, cause: Cause, reason: str) -> None:
        """Report the end without talking to the modem (it is gone or never picked up)."""
        if leg is self.leg:
            self.leg = None
        leg.hangup_reason = leg.hangup_reason or reason
        if leg.call is not None:
            leg.call.mode = None
        leg._emit_hangup(cause, True)

    # -- the installer's view ------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.host.channel_changed(self)

    def status(self) -> dict[str, Any]:
        call = self.leg.call if self.leg is not None else None
        return {
            "state": self.state,
            "port": self.settings.get("port", ""),
            "model": self.model.key,
            "model_name": self.model.name,
            "chip": self.model.chip,
            "usb_id": f"{self.usb[0]:04x}:{self.usb[1]:04x}" if self.usb else "",
            "caller_id": self.caller_id_supported,
            "duplex": "full" if self.full_duplex else "half",
            "codec": self.codec_kind,
            "echo_canceller": call is not None and call.echo is not None,
            "leg": self.leg.id if self.leg is not None else None,
            "problem": self.problem,
            "state_text": words.STATE_WORDS.get(self.state, self.state),
            "duplex_text": words.DUPLEX_WORDS["full" if self.full_duplex else "half"],
            "echo_text": "" if _echo_available()
            else words.NO_ECHO_CANCELLER,
            "soft_resets": self.supervisor.soft_resets,
            "hard_resets": self.supervisor.hard_resets,
        }


class _RingEvent:
    """A <DLE>R ring report, shaped like the RING URC."""

    name = "RING"
    line = "RING"


def _dialable(destination: str) -> bool:
    return bool(destination) and all(c in "0123456789*#,+" for c in destination)
