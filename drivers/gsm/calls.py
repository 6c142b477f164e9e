"""Voice calls on one GSM modem (27.007 6.6 D, 6.8 A, 7.6 +CLIP, 7.18 +CLCC, C.11 +VTS)
and the legs the core sees.

Progress comes from the vendor's call-state URCs where the profile has them (Huawei
^ORIG/^CONF/^CONN/^CEND, SIMCom VOICE CALL), from V.250 results that arrive on their own
(BUSY, NO ANSWER, NO CARRIER), and otherwise from polling +CLCC while a call lives.
A modem has one voice channel: one leg at a time.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from drivers.at.engine import AtEngine, AtError, AtTimeout, PortLost
from drivers.at.protocol import Urc
from drivers.base import CallerId, Cause, Leg, LegListener, LegState

from . import facts
from .dtmf import DtmfDetector
from .tasks import TaskSet, sleep

if TYPE_CHECKING:
    from .audio import AudioPump
    from .channel import GsmChannel
    from .profiles import Profile

log = logging.getLogger(__name__)

CLIP_WAIT = 0.5  # +CLIP follows RING in the same burst; wait this long before giving up
CLCC_PERIOD = 0.5  # seconds between +CLCC polls while a call lives
DIAL_TIMEOUT = 30.0
ANSWER_TIMEOUT = 10.0
LINE_DOWN = Cause.NETWORK_OUT_OF_ORDER  # the cause a call ends with when its modem dies


class GsmLeg(Leg):
    def __init__(self, calls: CallManager, direction: Literal["inbound", "outbound"],
                 caller: CallerId, dialled: str = "", listener: LegListener | None = None):
        super().__init__(calls.channel, direction, caller, dialled, listener)
        self._calls = calls
        self.audio_on = False
        self.seen_in_clcc = False
        self.started = calls.clock.monotonic()

    async def answer(self) -> None:
        await self._calls.answer(self)

    async def hangup(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        await self._calls.hangup(self, cause)

    async def send_dtmf(self, digits: str) -> None:
        await self._calls.send_dtmf(self, digits)

    def send_frame(self, frame: bytes) -> None:
        self._calls.send_frame(self, frame)


class CallManager:
    def __init__(self, channel: GsmChannel, engine: AtEngine, profile: Profile,
                 audio: AudioPump | None) -> None:
        self.channel = channel
        self.engine = engine
        self.profile = profile
        self.clock = channel.host.clock
        self.audio = audio
        self.leg: GsmLeg | None = None
        self.tasks = TaskSet(f"{channel.name} calls")
        self._pending_ring = None
        self._poller = None
        self._detector = DtmfDetector() if profile.dtmf_urc is None else None
        if audio is not None:
            audio.on_frame = self._frame
        handlers = {
            "RING": self._ring, "+CRING": self._ring, "+CLIP": self._clip,
            "NO CARRIER": self._result, "BUSY": self._result, "NO ANSWER": self._result,
            "NO DIALTONE": self._result, "^CONF": self._alerting, "^CONN": self._connected_urc,
            "^CEND": self._cend, "VOICE CALL": self._voice_call, "MISSED_CALL": self._missed,
        }
        if profile.dtmf_urc:
            handlers[profile.dtmf_urc] = self._dtmf_urc
        self._unsubscribe = [engine.on_urc(name, fn) for name, fn in handlers.items()]

    @property
    def busy(self) -> bool:
        return self.leg is not None or self._pending_ring is not None

    # -- inbound -----------------------------------------------------------------------------
    def _ring(self, urc: Urc) -> None:
        if self.leg is not None or self._pending_ring is not None:
            return
        self._pending_ring = self.clock.call_later(CLIP_WAIT, self._incoming, None)

    def _clip(self, urc: Urc) -> None:
        if self.leg is not None:
            return
        clip = facts.parse_clip(urc.args)
        self._incoming(CallerId(clip.number, clip.name, clip.presentation))  # type: ignore[arg-type]

    def _incoming(self, caller: CallerId | None) -> None:
        if self._pending_ring is not None:
            self._pending_ring.cancel()
            self._pending_ring = None
        if self.leg is not None:
            return
        leg = GsmLeg(self, "inbound", caller or CallerId(presentation="unavailable"))
        self.leg = leg
        log.info("%s: incoming call from %s", leg.id, leg.caller.display)
        self.channel.host.incoming(leg)
        leg._emit_ringing()
        self._start_polling()

    async def answer(self, leg: GsmLeg) -> None:
        if leg.ended or leg.state is LegState.ANSWERED:
            return
        try:
            await self.engine.command("ATA", dial=True, timeout=ANSWER_TIMEOUT)
        except AtError as exc:
            self._ended(leg, _result_cause(exc.final.result, False), remote=True)
            return
        except (AtTimeout, PortLost):
            self._ended(leg, LINE_DOWN, remote=True)
            return
        await self._connected(leg)

    # -- outbound ----------------------------------------------------------------------------
    def originate(self, destination: str, listener: LegListener) -> GsmLeg:
        leg = GsmLeg(self, "outbound", CallerId(), destination, listener)
        self.leg = leg
        self.tasks.spawn(self._dial(leg), f"dial {leg.id}")
        return leg

    async def _dial(self, leg: GsmLeg) -> None:
        try:
            await self.engine.command(f"ATD{leg.dialled};", dial=True, timeout=DIAL_TIMEOUT)
        except AtError as exc:
            self._ended(leg, _result_cause(exc.final.result, False), remote=True)
            return
        except (AtTimeout, PortLost):
            self._ended(leg, LINE_DOWN, remote=True)
            return
        self._start_polling()

    def _alerting(self, urc: Urc) -> None:
        if self.leg is not None and self.leg.direction == "outbound":
            self.leg._emit_ringing()

    def _connected_urc(self, urc: Urc) -> None:
        leg = self.leg
        if leg is not None and leg.direction == "outbound":
            self.tasks.spawn(self._connected(leg), f"connected {leg.id}")

    def _voice_call(self, urc: Urc) -> None:
        if urc.args.startswith("BEGIN"):
            self._connected_urc(urc)

    async def _connected(self, leg: GsmLeg) -> None:
        if leg.ended or leg.audio_on:
            return
        leg.audio_on = True
        if self.audio is not None:
            self.audio.start()
        leg._emit_answered()
        if self.audio is not None:
            try:
                await self.profile.audio_on(self.engine)
            except (AtError, AtTimeout, PortLost) as exc:
                log.warning("%s: audio did not start: %s", leg.id, exc)

    # -- the end -----------------------------------------------------------------------------
    async def hangup(self, leg: GsmLeg, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        if leg.ended:
            return
        self._ended(leg, cause, remote=False)
        try:
            await self.engine.command("AT+CHUP", timeout=5)
        except AtError:
            await self.engine.command("ATH", check=False)
        except (AtTimeout, PortLost):
            log.info("%s: hang-up unanswered: the modem is gone or deaf", leg.id)

    def _result(self, urc: Urc) -> None:
        leg = self.leg
        if leg is not None:
            self._ended(leg, _result_cause(urc.name, leg.state is LegState.ANSWERED), remote=True)

    def _cend(self, urc: Urc) -> None:
        """^CEND:<call_x>,<duration>,<end_status>[,<cc_cause>] (cause: 24.008 10.5.4.11)."""
        leg = self.leg
        if leg is None:
            return
        fields = urc.args.split(",")
        cause = Cause.NORMAL_UNSPECIFIED
        if len(fields) >= 4 and fields[3].strip().isdigit():
            value = int(fields[3])
            cause = Cause(value) if value in Cause._value2member_map_ else cause
        self._ended(leg, cause, remote=True)

    def _missed(self, urc: Urc) -> None:
        if self.leg is not None and self.leg.direction == "inbound":
            self._ended(self.leg, Cause.NORMAL_CLEARING, remote=True)

    def _ended(self, leg: GsmLeg, cause: Cause, remote: bool) -> None:
        if self.leg is leg:
            self.leg = None
        if self.audio is not None:
            self.audio.stop()
        if self._detector is not None:
            self._detector = DtmfDetector()
        was_audio = leg.audio_on
        leg.audio_on = False
        leg._emit_hangup(cause, remote)
        if was_audio and not self.engine.lost:
            self.tasks.spawn(self.profile.audio_off(self.engine), f"audio off {leg.id}")

    def end_all(self, cause: Cause = LINE_DOWN) -> None:
        """The modem is gone or being reset: every call ends now, with a cause."""
        if self._pending_ring is not None:
            self._pending_ring.cancel()
            self._pending_ring = None
        if self.leg is not None:
            self._ended(self.leg, cause, remote=True)
        self.tasks.cancel_all()
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    # -- +CLCC polling ------------------------------------------------------------------------
    def _start_polling(self) -> None:
        if self.profile.call_urcs or self._poller is not None:
            return
        self._poller = self.tasks.spawn(self._poll(), "clcc")

    async def _poll(self) -> None:
        try:
            while self.leg is not None:
                leg = self.leg
                try:
                    response = await self.engine.command(
                        "AT+CLCC", expect="+CLCC", timeout=self.channel.heartbeat_timeout)
                except (AtError, AtTimeout):
                    await sleep(self.clock, CLCC_PERIOD)
                    continue
                except PortLost:
                    return
                if self.leg is leg:
                    self._clcc(leg, [facts.parse_clcc(v) for v in response.values("+CLCC")])
                await sleep(self.clock, CLCC_PERIOD)
        finally:
            self._poller = None

    def _clcc(self, leg: GsmLeg, entries: list) -> None:
        mine = [e for e in entries if e and e.mobile_terminated == (leg.direction == "inbound")]
        if not mine:
            if not leg.seen_in_clcc and self.clock.monotonic() - leg.started > DIAL_TIMEOUT:
                self._ended(leg, Cause.RECOVERY_ON_TIMER_EXPIRE, remote=True)  # never showed up
            elif leg.seen_in_clcc or leg.direction == "inbound":
                answered = leg.state is LegState.ANSWERED
                cause = Cause.NORMAL_CLEARING if answered or leg.direction == "inbound" else (
                    Cause.NORMAL_UNSPECIFIED)
                self._ended(leg, cause, remote=True)
            return
        leg.seen_in_clcc = True
        stat = mine[0].stat
        if stat == 3:
            leg._emit_ringing()
        elif stat == 0 and leg.direction == "outbound":
            self.tasks.spawn(self._connected(leg), f"connected {leg.id}")

    # -- DTMF and audio -----------------------------------------------------------------------
    async def send_dtmf(self, leg: GsmLeg, digits: str) -> None:
        for digit in digits:
            if leg.ended:
                return
            await self.profile.send_dtmf(self.engine, digit)

    def _dtmf_urc(self, urc: Urc) -> None:
        digit = self.profile.dtmf_digit(urc)
        if digit and self.leg is not None:
            self.leg._emit_dtmf(digit)

    def send_frame(self, leg: GsmLeg, frame: bytes) -> None:
        if self.audio is not None and leg is self.leg and leg.audio_on:
            self.audio.write(frame)

    def _frame(self, frame: bytes) -> None:
        leg = self.leg
        if leg is None or not leg.audio_on:
            return
        if self._detector is not None:
            digit = self._detector.feed(frame)
            if digit:
                leg._emit_dtmf(digit)
        leg._emit_frame(frame)


def _result_cause(result: str, answered: bool) -> Cause:
    """V.250 result codes as Q.850 causes."""
    if result == "BUSY":
        return Cause.USER_BUSY
    if result == "NO ANSWER":
        return Cause.NO_ANSWER
    if result == "NO DIALTONE":
        return Cause.NETWORK_OUT_OF_ORDER
    return Cause.NORMAL_CLEARING if answered else Cause.NORMAL_UNSPECIFIED
