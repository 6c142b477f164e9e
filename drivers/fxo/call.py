"""One call on a voice modem: the voice stream, the audio edge, and the far end's fate.

Full duplex (+VTR) keeps one stream for the whole call and writes one of our frames
for every frame the modem sends, so the modem's clock paces both directions and the
echo canceller's reference lines up with the near end.  A half-duplex modem listens
(+VRX) and switches to +VTX while we have something to say, then back.

The far end is gone when the modem says so (<DLE>l loop break, <DLE>b busy, <DLE>s /
<DLE>q silence, <DLE>d dial tone) or when :class:`FarEndMonitor` hears busy cadence or
``silence_hangup_seconds`` of silence on the echo-cancelled audio.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from appliance.clock import Clock, Timer
from appliance.media._audioop import audioop
from appliance.media.dtmf import DtmfDetector
from drivers.at.engine import AtEngine, AtError, AtTimeout, PortLost
from drivers.base import FRAME_BYTES, FRAME_MS, SILENCE

from .codec import VoiceCodec
from .dle import DUPLEX_END, END_TRANSMIT, RECEIVE_ABORT, DleEvent, shield
from .hangup import FarEndMonitor
from .voiceport import VoicePort

if TYPE_CHECKING:
    from .leg import FxoLeg

log = logging.getLogger(__name__)

TX_QUEUE_FRAMES = 10  # 200 ms: more means the core is ahead of the modem; drop the oldest
PRIME_FRAMES = 3  # silence written at stream start so the modem never underruns
HALF_DUPLEX_TALK_FRAMES = 3  # voice frames queued before a half-duplex modem turns to talk
HALF_DUPLEX_IDLE_FRAMES = 15  # 300 ms with nothing to say: back to listening
VOICE_RMS = 100
STREAM_TIMEOUT = 3.0

# modem events meaning "the far end is gone", with our reason word
GONE_EVENTS = {"l": "loop_break", "b": "busy", "s": "silence", "q": "silence", "d": "dial_tone"}


class EchoCanceller(Protocol):
    def process(self, near: bytes, far: bytes) -> bytes:
        """``near``: 20 ms the modem heard; ``far``: the 20 ms we sent.  Returns near
        with the echo of far taken out."""


class VoiceCall:
    def __init__(
        self,
        leg: FxoLeg,
        engine: AtEngine,
        port: VoicePort,
        clock: Clock,
        codec: VoiceCodec,
        *,
        full_duplex: bool,
        monitor: FarEndMonitor,
        echo: EchoCanceller | None,
        on_gone: Callable[[str], None],
        dtmf: DtmfDetector | None = None,
    ) -> None:
        self.leg = leg
        self.engine = engine
        self.port = port
        self.clock = clock
        self.codec = codec
        self.full_duplex = full_duplex
        self.monitor = monitor
        self.echo = echo
        self.on_gone = on_gone
        self.dtmf = dtmf  # in-band detection, for a modem that does not report keys
        self.mode: str | None = None  # "duplex", "rx", "tx" while a stream runs
        self.tx: deque[bytes] = deque(maxlen=TX_QUEUE_FRAMES)
        self.dropped_tx = 0
        self.frames_in = 0
        self.frames_out = 0
        self.gone_reason: str | None = None
        self.closing = False
        self.underruns = 0
        # what the modem holds to play, oldest first: each received frame is one tick of
        # the modem's clock, in which it played the oldest (or silence, told by <DLE>u)
        self._inflight: deque[bytes] = deque()
        self._ours: deque[int] = deque([0], maxlen=8)  # our level over the echo tail
        self._silent_ticks = 0
        self._switching = False
        self._idle_ticks = 0
        self._pace: Timer | None = None
        self._pace_t0 = 0.0
        self._pace_n = 0

    # -- streams ---------------------------------------------------------------------
    async def start(self) -> None:
        if self.full_duplex:
            try:
                await self._open("AT+VTR", "duplex")
                return
            except AtError:
                log.warning("%s: +VTR refused; falling back to half duplex", self.leg.id)
                self.full_duplex = False
        await self._open("AT+VRX", "rx")

    async def _open(self, command: str, mode: str) -> None:
        self.port.expect_stream(incoming=mode != "tx")
        try:
            await self.engine.command(command, dial=True, timeout=STREAM_TIMEOUT)
        except BaseException:
            self.port.command_mode()
            raise
        self.codec.reset()
        self.mode = mode
        if mode == "duplex":
            self._inflight.clear()
            self._silent_ticks = 0
            for _ in range(PRIME_FRAMES):
                self._write(SILENCE)
                self._inflight.append(SILENCE)
        elif mode == "tx":
            self._pace_t0 = self.clock.monotonic()
            self._pace_n = 0
            for _ in range(PRIME_FRAMES):
                self._write(self.tx.popleft() if self.tx else SILENCE)
            self._schedule_pace()

    async def close(self) -> None:
        """The call ends: leave the stream and never open another."""
        self.closing = True
        await self.stop()

    async def stop(self) -> None:
        """Leave the stream the way V.253 says; command state afterwards."""
        mode, self.mode = self.mode, None
        self._cancel_pace()
        if mode is None:
            return
        end = {"duplex": DUPLEX_END, "rx": RECEIVE_ABORT, "tx": END_TRANSMIT}[mode]
        try:
            await self.engine.command(end.decode("latin-1"), timeout=STREAM_TIMEOUT)
        except (AtError, AtTimeout):
            log.warning("%s: modem did not close the %s stream cleanly", self.leg.id, mode)
            self.port.command_mode()

    async def send_dtmf(self, digits: str) -> None:
        """+VTS works in command state only: step out of the stream and back."""
        resume = self.mode is not None
        await self.stop()
        try:
            await self.engine.command("AT+VTS=" + ",".join(digits), timeout=2 + len(digits))
        finally:
            if resume and self.gone_reason is None and not self.closing:
                await self.start()

    # -- audio both ways -------------------------------------------------------------
    def queue(self, frame: bytes) -> None:
        if len(frame) != FRAME_BYTES:
            return
        if len(self.tx) == self.tx.maxlen:
            self.dropped_tx += 1
        self.tx.append(frame)
        if self.mode == "rx" and not self.full_duplex and not self._switching:
            voiced = sum(1 for f in self.tx if audioop.rms(f, 2) >= VOICE_RMS)
            if voiced >= HALF_DUPLEX_TALK_FRAMES:
                self._switch("tx")

    def wire_audio(self, data: bytes) -> None:
        for frame in self.codec.decode_frames(data):
            self.frames_in += 1
            played = SILENCE
            if self.mode == "duplex":
                played = self._tick()
            near = self.echo.process(frame, played) if self.echo is not None else frame
            self.leg._emit_frame(near)
            if self.dtmf is not None:
                for digit in self.dtmf.feed(near):
                    self.leg._emit_dtmf(digit)
            self._ours.append(audioop.rms(played, 2) if played is not SILENCE else 0)
            reason = self.monitor.feed(near, max(self._ours))
            if reason is not None:
                self.far_end_gone(reason)
                return

    def _tick(self) -> bytes:
        """One tick of the modem's clock in full duplex: what it played (the echo
        canceller's reference, exact even across underruns), and our next frame out."""
        if self._silent_ticks:
            # it filled this tick with silence (<DLE>u); writing nothing now keeps its
            # buffer, and so our delay, where it was
            self._silent_ticks -= 1
            return SILENCE
        played = self._inflight.popleft() if self._inflight else SILENCE
        frame = self.tx.popleft() if self.tx else SILENCE
        self._write(frame)
        self._inflight.append(frame)
        return played

    def _write(self, frame: bytes) -> None:
        self.frames_out += 1
        self.port.write(shield(self.codec.encode(frame)))

    # -- half duplex: pace our frames by the clock while talking ---------------------
    def _schedule_pace(self) -> None:
        self._pace_n += 1
        due = self._pace_t0 + self._pace_n * FRAME_MS / 1000 - self.clock.monotonic()
        self._pace = self.clock.call_later(due, self._pace_tick)

    def _cancel_pace(self) -> None:
        if self._pace is not None:
            self._pace.cancel()
            self._pace = None

    def _pace_tick(self) -> None:
        if self.mode != "tx":
            return
        if self.tx:
            self._idle_ticks = 0
            self._write(self.tx.popleft())
        else:
            self._idle_ticks += 1
            if self._idle_ticks >= HALF_DUPLEX_IDLE_FRAMES and not self._switching:
                self._switch("rx")
                return
            self._write(SILENCE)
        self._schedule_pace()

    def _switch(self, to: str) -> None:
        self._switching = True
        asyncio.get_running_loop().create_task(self._do_switch(to))

    async def _do_switch(self, to: str) -> None:
        try:
            if self.closing:
                return
            await self.stop()
            if self.gone_reason is None and not self.closing:
                self._idle_ticks = 0
                await self._open("AT+VTX" if to == "tx" else "AT+VRX", to)
        except (AtError, AtTimeout, PortLost) as exc:
            log.warning("%s: half-duplex switch to %s failed: %s", self.leg.id, to, exc)
            self.far_end_gone("modem")
        finally:
            self._switching = False

    # -- events ----------------------------------------------------------------------
    def dle_event(self, event: DleEvent) -> None:
        if event.dtmf is not None:
            self.leg._emit_dtmf(event.dtmf)
            return
        if event.code == "u":
            self.underruns += 1
            if self.mode == "duplex":
                self._silent_ticks = min(self._silent_ticks + 1, PRIME_FRAMES * 4)
            return
        reason = GONE_EVENTS.get(event.code)
        if reason is not None:
            self.far_end_gone(reason)
        elif not event.known:
            log.warning("%s: unknown DLE event %r skipped", self.leg.id, event.code)

    def stream_ended(self) -> None:
        """The modem closed the stream by itself (inactivity timer, line drop)."""
        if self.mode is not None and not self.engine.protocol.command:
            log.info("%s: modem ended the %s stream; opening it again", self.leg.id, self.mode)
            self.mode = None
            self._cancel_pace()
            if not self.closing and self.gone_reason is None and not self._switching:
                self._switching = True
                asyncio.get_running_loop().create_task(self._reopen())

    async def _reopen(self) -> None:
        try:
            # audio we wrote before we noticed landed in its command line: flush it
            await self.engine.command("AT", timeout=2, check=False)
            await self.start()
        except (AtError, AtTimeout, PortLost) as exc:
            log.warning("%s: stream could not be reopened: %s", self.leg.id, exc)
            self.far_end_gone("modem")
        finally:
            self._switching = False

    def far_end_gone(self, reason: str) -> None:
        if self.gone_reason is not None:
            return
        self.gone_reason = reason
        log.info("%s: far end gone (%s)", self.leg.id, reason)
        self.on_gone(reason)
