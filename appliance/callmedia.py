"""What callers hear and what the box hears from them before an operator answers:
call flows (IVR), music on hold with position announcements and the callback offer,
voicemail, in-band DTMF, call recording, and the feature-code confirmation beep.

The switchboard calls in through a handful of hooks (``start_hold``, ``dtmf``,
``frame``...); each call gets a :class:`CallSession` holding its player, flow run,
announcer and recorders.  Audio files are read off the loop and cached.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.base import Leg, LegState

from .calls import Call
from .ivr.announce import (
    Announcement,
    AnnouncePolicy,
    CallbackAccepted,
    CallbackOffer,
    QueueAnnouncer,
    QueueStatus,
    estimate_wait,
)
from .ivr.flow import PromptRef
from .ivr.flowstore import FlowStore
from .ivr.moh import MOH_SETTING, moh_frames
from .ivr.notify import VoicemailNotifier
from .ivr.phrases import language_or_default, text
from .ivr.prompts import PromptLibrary
from .ivr.runner import FlowRun
from .ivr.voicemail import MessageRecorder, VoicemailBox
from .media.dtmf import DtmfDetector
from .media.player import Player, PromptCache
from .media.recorder import Recorder, RecordingWriter
from .media.source import PcmSource, Sequence
from .media.tones import ToneSource, ToneSpec

if TYPE_CHECKING:
    from .switchboard import Switchboard

log = logging.getLogger(__name__)

BEEP_HZ = 1000
DEFAULT_HANDLE_SECONDS = 180.0  # expected-wait guess before the queue has history


class _Frames:
    """A frame iterator as a FrameSource."""

    def __init__(self, frames: Iterator[bytes]) -> None:
        self._frames = frames

    def read_frame(self) -> bytes | None:
        return next(self._frames, None)


def beep(ms: int = 300) -> ToneSource:
    return ToneSource(ToneSpec((BEEP_HZ,)), duration_ms=ms)


class CallSession:
    """One caller's media while no operator is bridged."""

    def __init__(self, media: CallMedia, call: Call) -> None:
        self.media = media
        self.call = call
        leg = call.caller_leg
        self.player = Player(media.clock, self._send)
        self.run: FlowRun | None = None
        self.announcer: QueueAnnouncer | None = None
        self.message: MessageRecorder | None = None
        self.message_done: Callable[[], None] | None = None
        self.detector = DtmfDetector() if leg is not None and \
            getattr(leg, "inband_dtmf", False) else None
        self.language = media.language_for(call)
        self.holding = False
        self._token = 0

    def _send(self, frame: bytes) -> None:
        leg = self.call.caller_leg
        if leg is not None and leg.state is LegState.ANSWERED:
            leg.send_frame(frame)

    # -- playing ------------------------------------------------------------------------
    def play(self, refs: list[PromptRef], on_done: Callable[[], None] | None = None) -> None:
        self._token += 1
        token = self._token
        self.media.board.spawn(self._play(refs, on_done, token), f"play {self.call.id}")

    async def _play(self, refs, on_done, token) -> None:
        sources = []
        for ref in refs:
            pcm = await self.media.pcm_for(ref)
            if pcm:
                sources.append(PcmSource(pcm))
        if token != self._token or self.call.ended:
            return
        if not sources:
            self.media.clock.call_later(0, on_done) if on_done else None
            return
        self.player.play(Sequence(sources), on_done)

    def stop_playback(self) -> None:
        self._token += 1
        self.player.stop()

    def music(self) -> None:
        if self.holding and not self.call.ended:
            self._token += 1
            self.player.play(self.media.moh_source())

    def stop(self) -> None:
        self.stop_playback()
        if self.announcer is not None:
            self.announcer.stop()
            self.announcer = None
        self.holding = False


class FlowIOAdapter:
    """The switchboard's side of a flow run (``appliance.ivr.runner.FlowIO``)."""

    def __init__(self, media: CallMedia, session: CallSession) -> None:
        self.media = media
        self.session = session

    def play(self, prompt: PromptRef, on_done: Callable[[], None]) -> None:
        self.session.play([prompt], on_done)

    def stop_playback(self) -> None:
        self.session.stop_playback()

    def enqueue(self, queue: str, priority: int) -> None:
        call = self.session.call
        call.data["flow"] = self.session.run.summary() if self.session.run else {}
        self.media.board.enqueue(call, queue)

    def record_voicemail(self, queue: str, max_seconds: float,
                         on_done: Callable[[], None]) -> None:
        self.media.start_message(self.session, queue, max_seconds, on_done)

    def stop_recording(self) -> None:
        self.media.finish_message(self.session)

    def request_callback(self, queue: str, number: str) -> None:
        call = self.session.call
        self.media.board.recorder.new_callback(number, queue, call.id)
        call.data["callback"] = True

    def transfer(self, extension: str, number: str, line: str) -> None:
        call = self.session.call
        if extension:
            self.media.board.connect_extension(call, extension)
        else:
            self.media.board.dial_out_for(call, number, line)

    def hangup(self) -> None:
        self.media.board.hangup(self.session.call.caller_leg)


class CallMedia:
    def __init__(self, board: Switchboard, data_dir: Path | str) -> None:
        self.board = board
        self.clock = board.clock
        self.data_dir = Path(data_dir)
        self.prompts = PromptLibrary(board.store, self.data_dir, clock=self.clock)
        self.flows = FlowStore(board.store, self.clock)
        # e-mail and webhook per the settings the web's notifications page writes
        self.voicemail_box = VoicemailBox(board.store, self.data_dir, clock=self.clock,
                                          notify=VoicemailNotifier(board.store.setting))
        self.cache = PromptCache()
        self._moh_loaded: tuple[tuple[str, int], bytes] | None = None
        self._moh_loading: tuple[str, int] | None = None
        self.writer = RecordingWriter()
        self.sessions: dict[str, CallSession] = {}
        self.recordings: dict[str, Recorder] = {}
        board.media = self
        board.flow_starter = self.start_flow

    def close(self) -> None:
        for session in list(self.sessions.values()):
            session.stop()
        for recorder in list(self.recordings.values()):
            recorder.close()
        self.writer.stop()

    # -- helpers ----------------------------------------------------------------------------
    def language_for(self, call: Call) -> str:
        line = self.board.directory.line(call.line) if call.line else None
        language = (line or {}).get("settings", {}).get("language") \
            or self.board.directory.setting("language")
        return language_or_default(language)

    def session(self, call: Call) -> CallSession:
        session = self.sessions.get(call.id)
        if session is None:
            session = self.sessions[call.id] = CallSession(self, call)
        return session

    async def pcm_for(self, ref: PromptRef) -> bytes:
        try:
            path = await self.prompts.resolve(ref)
        except Exception:  # espeak missing or failing: say nothing rather than stall
            log.exception("prompt %r could not be made", ref)
            return b""
        if path is None or not Path(path).exists():
            return b""
        return await asyncio.to_thread(self.cache.get_pcm, path)

    def moh_source(self):
        custom = self.board.directory.setting(MOH_SETTING)  # set by the prompts page
        pcm = self._custom_moh(str(custom)) if custom else None
        if pcm is not None:
            return PcmSource(pcm, loop=True)
        return _Frames(moh_frames())

    def _custom_moh(self, path: str) -> bytes | None:
        """The uploaded music if it is in memory already.  Otherwise it is read on a thread
        (up to ten minutes of audio: read on the loop it would stall every call) and this
        caller hears the built-in melody until music starts again."""
        try:
            key = (path, os.stat(path).st_mtime_ns)
        except OSError:
            return None  # gone: the built-in
        if self._moh_loaded is not None and self._moh_loaded[0] == key:
            return self._moh_loaded[1]
        if self._moh_loading != key:  # once per file version, failed or not
            self._moh_loading = key
            self.board.spawn(self._load_moh(key), "load music on hold")
        return None

    async def _load_moh(self, key: tuple[str, int]) -> None:
        try:
            pcm = await asyncio.to_thread(self.cache.get_pcm, key[0])
        except Exception:  # a broken upload must not silence the queue
            log.exception("music on hold %s unreadable; using the built-in", key[0])
            return
        self._moh_loaded = (key, pcm)

    # -- flows ------------------------------------------------------------------------------
    def start_flow(self, call: Call, name: str) -> bool:
        flow = self.flows.active(name)
        if flow is None:
            log.warning("call %s: no active flow named %s", call.id, name)
            return False
        session = self.session(call)
        run = FlowRun(flow, self.clock, None, call.caller_leg.caller, call_id=call.id,
                      line=call.line)
        run.io = FlowIOAdapter(self, session)
        session.run = run
        session.language = run.language
        call.data["flow_name"] = name
        run.start()
        return True

    def flow_overflow(self, call: Call, reason: str) -> bool:
        session = self.sessions.get(call.id)
        if session is None or session.run is None:
            return False
        self.stop_hold(call)
        call.state = "flow"
        return session.run.overflow(reason)

    # -- while queued ---------------------------------------------------------------------------
    def start_hold(self, call: Call) -> None:
        session = self.session(call)
        session.holding = True
        session.music()
        config = self.board.queue_configs.get(call.queue)
        policy = AnnouncePolicy(**(self.board.directory.setting("announcements") or {}))
        if config is None or not config.callback_enabled:
            policy.callback_first_after = 0

        def status() -> QueueStatus | None:
            position = self.board.acd.position(call.id)
            if position < 1:
                return None
            serving = sum(1 for v in self.board.acd.operators()
                          if call.queue in v.queues and v.status.value != "logged_out")
            return QueueStatus(position, estimate_wait(position, DEFAULT_HANDLE_SECONDS,
                                                       serving))

        announcer = QueueAnnouncer(self.clock, policy, session.language, status,
                                   lambda event: self._announce(session, event),
                                   callback_allowed=bool(config and config.callback_enabled))
        session.announcer = announcer
        announcer.start()

    def _announce(self, session: CallSession, event) -> None:
        if isinstance(event, Announcement):
            session.play(list(event.prompts), session.music)
        elif isinstance(event, CallbackOffer):
            session.play([event.prompt], session.music)
        elif isinstance(event, CallbackAccepted):
            confirm = PromptRef(session.language, text=text("callback_confirmed",
                                                            session.language))
            call = session.call
            session.holding = False
            session.play([confirm], lambda: self.board.request_callback(call))

    def stop_hold(self, call: Call) -> None:
        session = self.sessions.get(call.id)
        if session is not None:
            session.stop()

    # -- hooks from the switchboard -----------------------------------------------------
    def call_bridged(self, call: Call) -> None:
        self.stop_hold(call)
        self.sessions.pop(call.id, None)
        if call.bridge is None or not self.board.directory.setting("record_calls", False):
            return
        path = self.data_dir / "recordings" / f"{call.id}.wav"
        recorder = Recorder(path, self.writer)
        self.recordings[call.id] = recorder
        call.recording = str(path)
        call.bridge.recorder = recorder

    def call_gone(self, call: Call) -> None:
        session = self.sessions.pop(call.id, None)
        if session is not None:
            session.stop()
            if session.run is not None:
                session.run.caller_hangup()
                call.data["flow"] = session.run.summary()
            if session.message is not None:
                self.finish_message(session)
        recorder = self.recordings.pop(call.id, None)
        if recorder is not None:
            recorder.close()

    def call_ended(self, call: Call) -> None:
        self.call_gone(call)

    def dtmf(self, call: Call, digit: str) -> bool:
        session = self.sessions.get(call.id)
        if session is None:
            return False
        if session.message is not None and digit == "#":
            if session.run is not None:
                session.run.dtmf(digit)
            else:
                self.finish_message(session)
            return True
        if session.announcer is not None and session.announcer.dtmf(digit):
            return True
        if session.run is not None and call.state == "flow":
            session.run.dtmf(digit)
            return True
        return False

    def frame(self, call: Call, leg: Leg, frame: bytes) -> None:
        session = self.sessions.get(call.id)
        if session is None or leg is not call.caller_leg:
            return
        if session.detector is not None:
            for digit in session.detector.feed(frame):
                self.board.caller_dtmf(call, digit)
        if session.message is not None and not session.message.add(frame):
            self.finish_message(session)

    async def confirm(self, leg: Leg) -> None:
        """A short beep to a phone that dialled a feature code."""
        done = asyncio.get_running_loop().create_future()
        player = Player(self.clock, leg.send_frame)
        player.play(beep(), lambda: done.done() or done.set_result(None))
        try:
            await asyncio.wait_for(done, 2.0)
        except TimeoutError:
            player.stop()

    # -- voicemail ---------------------------------------------------------------------
    def voicemail(self, call: Call) -> bool:
        """Overflow to voicemail without a flow: intro, beep, record until '#' or hang-up."""
        session = self.session(call)
        session.stop()
        intro = PromptRef(session.language, text=text("voicemail_intro", session.language))
        queue = call.queue

        def after() -> None:
            self.board.hangup(call.caller_leg)

        session.play([intro], lambda: self.start_message(session, queue, 120, after))
        return True

    def start_message(self, session: CallSession, queue: str, max_seconds: float,
                      on_done: Callable[[], None]) -> None:
        session.stop_playback()
        session.player.play(beep())
        session.message = MessageRecorder(max_seconds)
        session.message_done = on_done
        session.call.data["voicemail_queue"] = queue

    def finish_message(self, session: CallSession) -> None:
        message, session.message = session.message, None
        if message is None:
            return
        call = session.call
        on_done, session.message_done = session.message_done, None
        digits: dict[str, Any] = session.run.summary() if session.run else {}
        queue = call.data.get("voicemail_queue", call.queue)
        self.board.spawn(self._save_message(call, message, queue, digits), "voicemail")
        if on_done is not None and not call.ended:
            on_done()

    async def _save_message(self, call: Call, message: MessageRecorder, queue: str,
                            digits: dict[str, Any]) -> None:
        if message.duration < 1.0:
            return  # a click, not a message
        path = self.voicemail_box.path_for(call.id)
        duration = await message.save(path)
        await self.voicemail_box.deposit(call_id=call.id, line=call.line, queue=queue,
                                         caller_number=call.caller_number, path=path,
                                         duration=duration, digits=digits)
        self.board.bus.publish("voicemail.new", call_id=call.id, queue=queue,
                               caller_number=call.caller_number)
