"""The simulated phone's audio: what it says (a tone or a WAV file, paced at 20 ms) and
what it hears (counted, with the last seconds kept for tests to analyse).

RTP itself is the box's own :class:`drivers.sip.rtp.RtpSession` (G.711, RFC 4733 DTMF,
symmetric RTP latching, jitter buffer): the phone speaks the same wire format as the box.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.media.pacing import Pacer
from appliance.media.source import FrameSource, PcmSource, SilenceSource
from appliance.media.tones import ToneSource, ToneSpec
from appliance.media.wav import read_audio
from drivers.sip.rtp import PlayoutTicker, RtpSession
from drivers.sip.sdp import CODECS, DTMF_PT, Agreement, build_sdp, negotiate, parse_sdp

if TYPE_CHECKING:
    from appliance.clock import Clock

FRAMES_PER_SECOND = 50


@dataclass(frozen=True, slots=True)
class Voice:
    """What the phone's microphone picks up: a steady tone, a recording, or silence."""

    tone_hz: float | None = 440.0
    level_dbm0: float = -10.0
    pcm: bytes | None = None  # 8 kHz s16le, looped

    @classmethod
    def tone(cls, hz: float, level_dbm0: float = -10.0) -> Voice:
        return cls(tone_hz=hz, level_dbm0=level_dbm0)

    @classmethod
    def silence(cls) -> Voice:
        return cls(tone_hz=None)

    @classmethod
    async def from_file(cls, path: str | Path) -> Voice:
        """A WAV (or anything sox reads), decoded off the loop."""
        pcm = await asyncio.to_thread(read_audio, path)
        if not pcm:
            raise ValueError(f"{path}: no audio in it")
        return cls(tone_hz=None, pcm=pcm)

    @classmethod
    async def parse(cls, text: str) -> Voice:
        """``tone:440``, ``silence`` or a file path (the command line's ``--voice``)."""
        if text == "silence":
            return cls.silence()
        if text.startswith("tone:"):
            return cls.tone(float(text[5:]))
        return await cls.from_file(text)

    def source(self) -> FrameSource:
        if self.pcm is not None:
            return PcmSource(self.pcm, loop=True)
        if self.tone_hz is not None:
            return ToneSource(ToneSpec((self.tone_hz,), level_dbm0=self.level_dbm0))
        return SilenceSource()


class PhoneMedia:
    """One call's audio.  ``open`` binds the RTP port; the SDP helpers do offer/answer;
    ``start`` begins talking; ``close`` ends everything."""

    def __init__(
        self, clock: Clock, ticker: PlayoutTicker, voice: Voice, address: str,
        on_dtmf: Callable[[str], None], keep_seconds: float = 10.0,
        codecs: tuple[str, ...] = CODECS,
    ) -> None:
        self.address = address
        self.codecs = codecs
        self.rtp = RtpSession(clock, ticker, self._heard, on_dtmf)
        self.pacer = Pacer(clock, self._speak)
        self.voice = voice
        self._source: FrameSource | None = None
        self.recording: deque[bytes] = deque(maxlen=max(1, int(keep_seconds * FRAMES_PER_SECOND)))
        self.frames_heard = 0
        self.frames_spoken = 0
        self.agreement: Agreement | None = None
        self.sdp_version = 0
        self.closed = False

    async def open(self, ports: tuple[int, int]) -> int:
        port = await self.rtp.open(self.address, ports)
        if self.closed:  # the call ended while the port was being bound
            self.rtp.close()
        return port

    # -- offer/answer (RFC 3264) --------------------------------------------------------
    def _sdp(self, codecs: list[tuple[int, str]], dtmf: int | None, direction: str) -> bytes:
        self.sdp_version += 1
        return build_sdp(self.address, self.rtp.local_port, self.rtp.ssrc & 0x7FFFFFFF,
                         self.sdp_version, codecs, dtmf, direction)

    def offer(self) -> bytes:
        pts = {"PCMU": 0, "PCMA": 8}
        return self._sdp([(pts[c], c) for c in self.codecs], DTMF_PT, "sendrecv")

    def answer(self, offer: bytes) -> bytes:
        """Answer the far end's offer; raises :class:`~drivers.sip.sdp.SdpError` (488)."""
        self.take(offer)
        assert self.agreement is not None
        remote = self.agreement.remote.direction
        direction = {"sendonly": "recvonly", "recvonly": "sendonly"}.get(remote, remote)
        return self._sdp([(self.agreement.pt, self.agreement.codec)], self.agreement.dtmf_pt,
                         direction)

    def take(self, body: bytes) -> None:
        """Apply the far end's SDP (an offer, or the answer to ours)."""
        remote = parse_sdp(body)
        self.agreement = negotiate(remote, self.codecs)
        self.rtp.set_remote(remote.address, remote.port, self.agreement.codec,
                            self.agreement.pt, self.agreement.dtmf_pt)
        self.rtp.send_enabled = not remote.on_hold and remote.direction != "sendonly"

    # -- audio --------------------------------------------------------------------------
    def start(self) -> None:
        if not self.closed and not self.pacer.running:
            self._source = self.voice.source()
            self.pacer.start()

    def _speak(self) -> bool:
        if self.closed or self._source is None:
            return False
        frame = self._source.read_frame()
        if frame is None:
            return False  # the recording ran out: the phone goes quiet, the call goes on
        self.rtp.send_frame(frame)
        self.frames_spoken += 1
        return True

    def _heard(self, frame: bytes) -> None:
        self.frames_heard += 1
        self.recording.append(frame)

    def heard_audio(self, seconds: float | None = None) -> bytes:
        """The last ``seconds`` (default: all kept) of what the phone heard, as PCM."""
        frames = list(self.recording)
        if seconds is not None:
            frames = frames[-max(1, int(seconds * FRAMES_PER_SECOND)):]
        return b"".join(frames)

    def send_dtmf(self, digits: str) -> bool:
        """RFC 4733 events; False when telephone-event was not agreed."""
        if self.rtp.dtmf_pt is None:
            return False
        self.rtp.send_dtmf(digits)
        return True

    @property
    def packets_received(self) -> int:
        return self.rtp.stats["received"]

    @property
    def packets_sent(self) -> int:
        return self.rtp.stats["sent"]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.pacer.stop()
            self.rtp.close()
