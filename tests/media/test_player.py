"""Player pacing on the virtual clock."""

from __future__ import annotations

import random

from appliance.clock import VirtualClock
from appliance.media.player import Player, Playlist, PromptCache
from appliance.media.source import PcmSource
from appliance.media.tones import ToneSource, tone_plan
from appliance.media.wav import write_wav
from drivers.base import FRAME_BYTES


class LateClock:
    """A virtual clock whose timers fire up to ``late`` seconds after they are due,
    like a busy event loop."""

    def __init__(self, late: float, seed: int = 0) -> None:
        self.inner = VirtualClock()
        self.late = late
        self.rng = random.Random(seed)

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def time(self) -> float:
        return self.inner.time()

    def call_later(self, delay, callback, *args):
        return self.inner.call_later(delay + self.rng.uniform(0, self.late), callback, *args)


def test_exact_frame_count_after_virtual_seconds(clock):
    sent: list[bytes] = []
    player = Player(clock, sent.append)
    player.play(ToneSource(tone_plan("eu")["dial"]))
    assert len(sent) == 1  # the first frame goes out at once
    clock.advance(10.0)
    assert len(sent) == 1 + 500
    clock.advance(0.019)
    assert len(sent) == 501
    clock.advance(0.001)
    assert len(sent) == 502
    assert all(len(f) == FRAME_BYTES for f in sent)


def test_late_timers_do_not_drift():
    clock = LateClock(late=0.006, seed=1)
    sent: list[bytes] = []
    player = Player(clock, sent.append)
    player.play(ToneSource(tone_plan("eu")["dial"]))
    clock.inner.advance(60.0)
    # Without correction each 20 ms step would take ~23 ms: about 2600 frames, not 3000.
    assert 3000 - 1 <= len(sent) <= 3001
    assert player.restarts == 0


def test_short_stall_catches_up_long_stall_restarts():
    clock = VirtualClock()
    sent: list[bytes] = []
    player = Player(clock, sent.append, max_catch_up=5)
    player.play(PcmSource(bytes(FRAME_BYTES), loop=True))
    clock.advance(1.0)
    assert len(sent) == 51
    # The loop is blocked for 70 ms: the frames due at 1.02, 1.04 and 1.06 go out at once.
    player._pacer._timer.cancel()
    clock.advance(0.07)
    player._pacer._run()
    assert len(sent) == 51 + 3 and player.restarts == 0
    clock.advance(1.0)
    assert len(sent) == 51 + 3 + 50
    # Blocked for 500 ms: no burst of 25 frames, the schedule restarts.
    player._pacer._timer.cancel()
    clock.advance(0.5)
    player._pacer._run()
    assert player.restarts == 1
    assert len(sent) == 51 + 3 + 50 + 1


def test_prompt_ends_and_calls_on_done(clock):
    sent: list[bytes] = []
    done: list[float] = []
    player = Player(clock, sent.append)
    player.play(PcmSource(bytes(FRAME_BYTES * 10)), on_done=lambda: done.append(clock.monotonic()))
    clock.run_until_idle()
    assert len(sent) == 10
    assert done == [0.2]
    assert not player.playing and clock.pending() == 0


def test_play_replaces_and_stop_silences(clock):
    sent: list[bytes] = []
    player = Player(clock, sent.append)
    player.play(PcmSource(b"\x01\x00" * 160, loop=True))
    clock.advance(0.1)
    player.play(PcmSource(b"\x02\x00" * 160, loop=True))
    clock.advance(0.1)
    player.stop()
    clock.advance(1.0)
    assert sent[:6] == [b"\x01\x00" * 160] * 6
    assert sent[6:] == [b"\x02\x00" * 160] * 6
    assert clock.pending() == 0


def test_music_on_hold_loops_a_file(tmp_path, clock):
    path = tmp_path / "moh.wav"
    write_wav(path, b"\x05\x00" * 800)  # 100 ms of music
    cache = PromptCache()
    sent: list[bytes] = []
    player = Player(clock, sent.append)
    player.play(cache.source(path, loop=True))
    clock.advance(2.0)
    assert len(sent) == 101 and set(sent) == {b"\x05\x00" * 160}
    assert cache.source(path).read_frame() == b"\x05\x00" * 160  # served from the cache


def test_playlist_cycles_through_tracks(tmp_path, clock):
    tracks = []
    for n, frames in ((1, 2), (2, 1), (3, 3)):
        path = tmp_path / f"t{n}.wav"
        write_wav(path, bytes([n, 0]) * 160 * frames)
        tracks.append(path)
    sent: list[bytes] = []
    Player(clock, sent.append).play(Playlist(tracks, PromptCache()))
    clock.advance(0.02 * 11)
    assert [f[0] for f in sent] == [1, 1, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3]
    once = Playlist(tracks, PromptCache(), loop=False)
    assert len(list(iter(once.read_frame, None))) == 6


def test_player_runs_on_the_real_loop_clock():
    import asyncio

    from appliance.clock import LoopClock

    async def main() -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        enough = asyncio.Event()
        sent: list[bytes] = []

        def send(frame: bytes) -> None:
            sent.append(frame)
            if len(sent) == 25:
                enough.set()

        player = Player(LoopClock(), send)
        start = loop.time()
        player.play(ToneSource(tone_plan("ru")["busy"]))
        await asyncio.wait_for(enough.wait(), timeout=10)
        player.stop()
        return len(sent), loop.time() - start

    count, elapsed = asyncio.run(main())
    assert count == 25
    assert elapsed >= 24 * 0.02 - 0.001  # paced, not sent in a burst


def test_announcement_interrupts_music_which_resumes_where_it_was(clock):
    music = PcmSource(b"".join(bytes([n, 0]) * 160 for n in range(1, 9)), loop=True)
    announcement = PcmSource(b"\x63\x00" * 160 * 2)  # "you are number 2 in the queue"
    sent: list[bytes] = []
    player = Player(clock, sent.append)
    player.play(music)
    clock.advance(0.06)  # music frames 1..4
    player.play(announcement, on_done=lambda: player.play(music))
    clock.advance(0.1)
    assert [f[0] for f in sent[:10]] == [1, 2, 3, 4, 0x63, 0x63, 5, 6, 7, 8]
