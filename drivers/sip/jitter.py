"""An adaptive jitter buffer for one RTP stream, played out one 20 ms frame per tick.

The playout delay follows the interarrival jitter estimate of RFC 3550 A.8: about three
times the jitter, between one and ten frames.  Lost packets are concealed by repeating
the last frame at half volume (once; then silence); an underrun stops playout until the
buffer refills, which also resynchronises after hold or a phone's silence suppression.
"""

from __future__ import annotations

import math
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # stdlib in 3.11; the media helper's g711 replaces it later

FRAME_BYTES = 320
FRAME_SECONDS = 0.020
SAMPLE_RATE = 8000


class JitterBuffer:
    def __init__(self, min_frames: int = 1, max_frames: int = 10) -> None:
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.target = min_frames + 1
        self.jitter = 0.0  # seconds, RFC 3550 estimate
        self._packets: dict[int, bytes] = {}
        self._next: int | None = None
        self._playing = False
        self._carry = b""
        self._last = bytes(FRAME_BYTES)
        self._concealed = 0
        self._transit: float | None = None
        self.stats = {"received": 0, "late": 0, "lost": 0, "underruns": 0, "dropped": 0}

    def put(self, seq: int, timestamp: int, pcm: bytes, arrival: float) -> None:
        self.stats["received"] += 1
        transit = arrival - timestamp / SAMPLE_RATE
        if self._transit is not None:
            delta = abs(transit - self._transit)
            if delta < 1.0:  # a jump of a second is a new talk spurt or a clock reset
                self.jitter += (delta - self.jitter) / 16
        self._transit = transit
        self.target = max(self.min_frames,
                          min(self.max_frames, math.ceil(3 * self.jitter / FRAME_SECONDS) + 1))
        if self._next is not None:
            ahead = (seq - self._next) & 0xFFFF
            if ahead >= 0x8000:
                if 0x10000 - ahead <= 50:  # a second or less behind: just late
                    self.stats["late"] += 1
                    return
                self.reset()  # far behind: the sender restarted its numbering
            elif ahead > 100:  # two seconds ahead: a jump, not loss; follow it
                self.reset()
        if self._next is None:
            self._next = seq
        self._packets[seq] = pcm
        while len(self._packets) > self.max_frames * 2:  # far behind: skip to stay live
            self._skip()
            self.stats["dropped"] += 1

    def _skip(self) -> None:
        assert self._next is not None
        self._packets.pop(self._next, None)
        self._next = (self._next + 1) & 0xFFFF

    def _take(self) -> bytes | None:
        if not self._packets or self._next is None:
            return None
        pcm = self._packets.pop(self._next, None)
        self._next = (self._next + 1) & 0xFFFF
        if pcm is None:
            self.stats["lost"] += 1
            self._concealed += 1
            # the last good frame at -6 dB once (computed only now: loss is rare), then silence
            return _half(self._last) if self._concealed == 1 else bytes(FRAME_BYTES)
        self._concealed = 0
        return pcm

    def pop(self) -> bytes | None:
        """The next 20 ms frame to play, or None while (re)buffering."""
        if not self._playing:
            if len(self._packets) < self.target:
                return None
            self._playing = True
        while len(self._carry) < FRAME_BYTES:
            pcm = self._take()
            if pcm is None:
                self._playing = False
                self.stats["underruns"] += 1
                self._carry = b""
                return None
            self._carry += pcm
        frame, self._carry = self._carry[:FRAME_BYTES], self._carry[FRAME_BYTES:]
        if self._concealed == 0:
            self._last = frame
        # the buffer grew past what the jitter needs: drop one frame to cut latency
        if len(self._packets) > self.target + 2:
            self._skip()
            self.stats["dropped"] += 1
        return frame

    def reset(self) -> None:
        self._packets.clear()
        self._next = None
        self._playing = False
        self._carry = b""
        self._transit = None


def _half(frame: bytes) -> bytes:
    """The frame at -6 dB, for one concealed packet."""
    return audioop.mul(frame, 2, 0.5)
