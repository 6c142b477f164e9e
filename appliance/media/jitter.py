"""Adaptive jitter buffer: RTP-like packets in, one 20 ms frame out per playout tick.

Clock-free: ``put()`` takes the packet's arrival time from the caller and ``get()`` is
called once every 20 ms by whoever paces playout, so tests drive it with made-up times.

* Packets are kept by (unwrapped) RTP timestamp, decoded to linear PCM by the caller;
  any packetisation time works, frames are cut from the sample timeline.
* Reordering is absorbed while the missing packet is still ahead of playout; packets
  behind playout are *late* and dropped; a second copy of a timestamp is a *duplicate*.
* A hole with audio after it is a *loss*: the last good frame is repeated, fading by
  6 dB a frame, then silence (a simple packet-loss concealment in the spirit of G.711
  Appendix I: short repeats sound better than clicks of silence).
* Target depth follows measured jitter: the spread of (arrival - timestamp) over the
  last few seconds, a high percentile over the minimum, plus one frame.  The buffer
  grows by not advancing on an underrun (a concealed frame is inserted; after 60 ms of
  that it fills to the target again) and shrinks by skipping a frame when it has held
  more than target + 20 ms for a whole second.

Two ways to play out: ``get()`` always returns a frame (silence while filling), for a
caller that must send something every 20 ms; ``pop()`` returns None while nothing is
playing, for one that stays quiet then (the SIP legs: no frames to the core before the
phone's audio starts or after it stops).  ``reset()`` starts afresh for a new stream
(another RTP source on the same leg).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from drivers.base import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, SILENCE

from ._audioop import audioop

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


@dataclass(slots=True)
class JitterStats:
    received: int = 0
    played: int = 0
    concealed: int = 0
    lost: int = 0
    late: int = 0
    duplicate: int = 0
    malformed: int = 0
    underruns: int = 0
    dropped_for_latency: int = 0
    resyncs: int = 0


class JitterBuffer:
    def __init__(
        self,
        min_delay_ms: int = 20,
        max_delay_ms: int = 200,
        initial_delay_ms: int = 40,
        percentile: float = 0.97,
        window: int = 150,
        rate: int = SAMPLE_RATE,
        decode: Callable[[bytes], bytes] | None = None,
    ) -> None:
        """``decode``: payload -> s16le PCM (``g711.decoder("PCMU")``); without it,
        ``put`` takes PCM already decoded."""
        self.decode = decode
        self.min_delay = min_delay_ms * rate // 1000
        self.max_delay = max_delay_ms * rate // 1000
        self.target = max(self.min_delay, min(self.max_delay, initial_delay_ms * rate // 1000))
        self.percentile = percentile
        self.rate = rate
        self.stats = JitterStats()
        self._packets: dict[int, bytes] = {}
        self._order: list[int] = []  # sorted timestamps in _packets
        self._raw_last: int | None = None  # highest unwrapped RTP timestamp seen
        self._shift = 0  # added to RTP timestamps after a resync
        self._last_end: int | None = None  # end of the latest audio received
        self._play: int | None = None  # timestamp of the next sample to play
        self._horizon: int | None = None  # end of what has been played or skipped
        # Transit times (arrival - timestamp) in whole samples, counted from the first
        # one: small ints, which Python keeps preallocated, so that the window costs no
        # allocation and its sorting touches little memory (a leg's buffer runs 50 times
        # a second, and a box has a hundred legs).
        self._transits: deque[int] = deque(maxlen=window)
        self._sorted_transits: list[int] = []
        self._transit_base: int | None = None
        self._last_frame = SILENCE
        self._conceal_run = 0
        self._excess_ticks = 0

    # -- input ----------------------------------------------------------------------------
    def put(
        self, seq: int, timestamp: int, pcm: bytes, arrival: float, marker: bool = False
    ) -> None:
        """One packet: its payload (decoded here if the buffer has a ``decode``) and
        when it arrived.  ``seq`` and ``marker`` are accepted for the caller's
        convenience; ordering and loss are judged on the timestamp."""
        del seq, marker  # timestamps carry all that playout needs
        if self.decode is not None and pcm:
            pcm = self.decode(pcm)
        size = len(pcm)
        if not size or size % 2 or size > 16 * FRAME_BYTES:
            self.stats.malformed += 1
            return
        raw_last = self._raw_last
        if raw_last is None:
            raw = timestamp % _TS_MOD
        else:  # the counter extended to the value nearest the last one (it wraps)
            step = (timestamp - raw_last) % _TS_MOD
            raw = raw_last + (step - _TS_MOD if step >= _TS_MOD // 2 else step)
        ts = raw + self._shift
        last_end = self._last_end
        if last_end is not None and abs(ts - last_end) > self.max_delay + self.rate:
            # A new timeline (the far end restarted its timestamps: re-INVITE, SSRC
            # change, a long silence): carry on right after the old one.
            self.stats.resyncs += 1
            self._shift = self._last_end - raw
            ts = self._last_end
            self._raw_last = raw
            self._transits.clear()
            self._sorted_transits.clear()
            self._transit_base = None
        if raw_last is None or raw > self._raw_last:
            self._raw_last = raw
        end = ts + size // 2
        if self._last_end is None or end > self._last_end:
            self._last_end = end
        if self._horizon is not None and end <= self._horizon:
            self.stats.late += 1
            return
        packets = self._packets
        if ts in packets:
            self.stats.duplicate += 1
            return
        self.stats.received += 1
        packets[ts] = pcm
        order = self._order
        if not order or ts > order[-1]:
            order.append(ts)  # in order, as nearly every packet comes
        else:
            bisect.insort(order, ts)
        transit = int(arrival * self.rate) - ts
        base = self._transit_base
        if base is None:
            base = self._transit_base = transit
        # The transit window (inline: this runs for every packet of every call).
        transit -= base
        transits, ordered = self._transits, self._sorted_transits
        count = len(ordered)
        if count == transits.maxlen:
            del ordered[bisect.bisect_left(ordered, transits[0])]
            count -= 1
        transits.append(transit)
        bisect.insort(ordered, transit)
        count += 1
        if count < 10:
            return  # too few to judge; keep the initial target
        # the jitter_spread property, inline, in samples, clamped without min()/max()
        index = int(self.percentile * count)
        if index >= count:
            index = count - 1
        wanted = ordered[index] - ordered[0] + FRAME_SAMPLES
        if wanted < self.min_delay:
            wanted = self.min_delay
        elif wanted > self.max_delay:
            wanted = self.max_delay
        self.target = wanted

    @property
    def jitter_spread(self) -> float:
        """Seconds between the fastest packet and the ``percentile`` one, recently."""
        s = self._sorted_transits
        if len(s) < 2:
            return 0.0
        return (s[min(len(s) - 1, int(self.percentile * len(s)))] - s[0]) / self.rate

    def reset(self) -> None:
        """Forget the stream: a new source follows (its own timeline and transit times).
        The target depth learnt so far stays: the network path is the same."""
        self._packets.clear()
        self._order.clear()
        self._raw_last = None
        self._shift = 0
        self._last_end = None
        self._play = None
        self._horizon = None
        self._transits.clear()
        self._sorted_transits.clear()
        self._transit_base = None
        self._last_frame = SILENCE
        self._conceal_run = 0
        self._excess_ticks = 0

    # -- output ---------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Samples buffered ahead of the playout point."""
        if not self._order:
            return 0
        last = self._order[-1]
        end = last + len(self._packets[last]) // 2
        start = self._play if self._play is not None else self._order[0]
        return max(0, end - start)

    @property
    def depth_ms(self) -> float:
        return self.depth * 1000 / self.rate

    def pop(self) -> bytes | None:
        """The next 20 ms frame, or None while nothing plays (filling to the target at
        the start, or again after an underrun has run out its concealment)."""
        if self._play is None and (not self._order or self.depth < self.target):
            return None
        return self.get()

    def get(self) -> bytes:
        """The next 20 ms frame: audio, concealment, or silence while filling."""
        if self._play is None:
            if not self._order or self.depth < self.target:
                return SILENCE  # prefetching
            self._play = self._order[0]
        self._trim_latency()
        start, order = self._play, self._order
        if order and order[0] == start:  # the usual tick: the next packet is a whole frame
            packets = self._packets
            frame = packets[start]
            if len(frame) == FRAME_BYTES:
                del packets[start]
                order.pop(0)
                self._play = self._horizon = start + FRAME_SAMPLES
                self.stats.played += 1
                self._conceal_run = 0
                self._last_frame = frame
                return frame
        frame = self._assemble(start)
        if frame is not None:
            self._play += FRAME_SAMPLES
            self._horizon = self._play
            self.stats.played += 1
            self._conceal_run = 0
            self._last_frame = frame
            return frame
        if self._order:  # audio exists after the hole: it is a loss, step over it
            self._play += FRAME_SAMPLES
            self._horizon = self._play
            self.stats.lost += 1
            return self._conceal()
        # Nothing buffered: an underrun.  Waiting (not advancing) deepens the buffer by a
        # frame; after 60 ms of it the talkspurt is over (or the far end stalled), so the
        # next audio is buffered to the target again instead of being played behind a
        # growing gap.
        self.stats.underruns += 1
        frame = self._conceal()
        if self._conceal_run >= 3:
            self._play = None
        return frame

    def _assemble(self, start: int) -> bytes | None:
        """Samples [start, start+160) from stored packets; None if any are missing."""
        self._forget_before(start)
        pcm = self._packets.get(start)
        if pcm is not None and len(pcm) == FRAME_BYTES:
            self._packets.pop(start)
            self._order.pop(0)
            return pcm
        out = bytearray()
        pos = start
        end = start + FRAME_SAMPLES
        i = bisect.bisect_right(self._order, pos) - 1
        while pos < end:
            if i < 0 or i >= len(self._order):
                return None
            ts = self._order[i]
            pcm = self._packets[ts]
            if not ts <= pos < ts + len(pcm) // 2:
                return None
            take = min(end, ts + len(pcm) // 2) - pos
            offset = 2 * (pos - ts)
            out += pcm[offset : offset + 2 * take]
            pos += take
            i += 1
        return bytes(out)

    def _forget_before(self, start: int) -> None:
        while self._order:
            ts = self._order[0]
            if ts + len(self._packets[ts]) // 2 > start:
                break
            self._order.pop(0)
            del self._packets[ts]

    def _conceal(self) -> bytes:
        self.stats.concealed += 1
        self._conceal_run += 1
        if self._conceal_run > 3:
            return SILENCE
        self._last_frame = audioop.mul(self._last_frame, 2, 0.5)
        return self._last_frame

    def _trim_latency(self) -> None:
        """Skip one frame after a second spent more than 20 ms above target."""
        assert self._play is not None
        order = self._order
        # self.depth, inline: this runs every tick of every call
        depth = order[-1] + len(self._packets[order[-1]]) // 2 - self._play if order else 0
        if depth <= self.target + 2 * FRAME_SAMPLES:
            self._excess_ticks = 0
            return
        self._excess_ticks += 1
        if self._excess_ticks >= 50:
            self._excess_ticks = 0
            self._play += FRAME_SAMPLES
            self._horizon = self._play
            self.stats.dropped_for_latency += 1
