"""Jitter buffer: reordering, loss, duplicates, late packets, wrap-around, adaptation."""

from __future__ import annotations

import array
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.media.jitter import JitterBuffer
from drivers.base import FRAME_BYTES, SILENCE


def frame(k: int) -> bytes:
    """Frame ``k`` carries the sample value 1000 + k, so output can be read back; its
    last sample is a fixed mark, so a faded copy (concealment) never reads as a frame."""
    return array.array("h", [1000 + k % 30000] * 159 + [12345]).tobytes()


def label(pcm: bytes) -> int | None:
    value = array.array("h", pcm[:2])[0]
    if pcm == frame(value - 1000):
        return value - 1000
    return None  # silence or concealment


def run(jb: JitterBuffer, packets: list[tuple[int, int, int, float]], ticks: int,
        seq0: int = 0, ts0: int = 0) -> list[bytes]:
    """Deliver (k, seq, ts, arrival) packets; call get() every 20 ms from t=0."""
    pending = sorted(packets, key=lambda p: p[3])
    out, i = [], 0
    for tick in range(ticks):
        now = tick * 0.02
        while i < len(pending) and pending[i][3] <= now:
            k, seq, ts, arrival = pending[i]
            jb.put(seq, ts, frame(k), arrival)
            i += 1
        out.append(jb.get())
    return out


def stream(n: int, jitter: float = 0.0, seed: int = 0, seq0: int = 0, ts0: int = 0,
           delay: float = 0.005):
    rng = random.Random(seed)
    return [(k, (seq0 + k) % 65536, (ts0 + 160 * k) % 2**32,
             delay + k * 0.02 + rng.uniform(0, jitter)) for k in range(n)]


def played(out: list[bytes]) -> list[int]:
    return [k for k in (label(f) for f in out) if k is not None]


def test_in_order_stream_plays_every_frame_once_in_order():
    jb = JitterBuffer()
    out = run(jb, stream(200), 230)
    assert played(out) == list(range(200))
    assert jb.stats.lost == jb.stats.late == jb.stats.duplicate == 0
    assert all(len(f) == FRAME_BYTES for f in out)


def test_reordered_packets_are_put_back_in_order():
    packets = stream(100)
    for a in range(10, 90, 7):  # swap neighbours: b arrives before a
        (ka, sa, ta, xa), (kb, sb, tb, xb) = packets[a], packets[a + 1]
        packets[a], packets[a + 1] = (ka, sa, ta, xb), (kb, sb, tb, xa)
    jb = JitterBuffer(initial_delay_ms=60)
    assert played(run(jb, packets, 130)) == list(range(100))
    assert jb.stats.late == 0


def test_duplicates_are_dropped_and_counted():
    packets = stream(60)
    packets += [(k, s, t, x + 0.001) for k, s, t, x in packets[10:20]]
    jb = JitterBuffer()
    assert played(run(jb, packets, 90)) == list(range(60))
    assert jb.stats.duplicate == 10


def level(pcm: bytes) -> int:
    return abs(array.array("h", pcm)[0])


def test_single_losses_are_concealed_by_a_fading_repeat():
    lost = {20, 50, 51}
    packets = [p for p in stream(80) if p[0] not in lost]
    jb = JitterBuffer()
    out = run(jb, packets, 110)
    assert played(out) == [k for k in range(80) if k not in lost]
    assert jb.stats.lost == len(lost)
    at = [label(f) for f in out].index(19) + 1
    assert level(out[at]) == (1000 + 19) // 2  # the last good frame, 6 dB down
    assert label(out[at + 1]) == 21
    at = [label(f) for f in out].index(49) + 1
    assert [level(f) for f in out[at : at + 2]] == [(1000 + 49) // 2, (1000 + 49) // 4]


def test_a_burst_longer_than_the_buffer_fades_to_silence_and_recovers():
    lost = set(range(40, 52))
    packets = [p for p in stream(100) if p[0] not in lost]
    jb = JitterBuffer()
    out = run(jb, packets, 130)
    assert played(out) == [k for k in range(100) if k not in lost]
    labels = [label(f) for f in out]
    gap = out[labels.index(39) + 1 : labels.index(52)]
    levels = [level(f) for f in gap]
    assert levels[:3] == [1039 // 2, 1039 // 4, 1039 // 8]
    assert set(levels[3:]) == {0}
    # Afterwards the delay is what it was before the burst, not the burst's length more.
    assert labels.index(99) - labels.index(52) == 47


def test_late_packets_are_dropped_not_played_out_of_order():
    packets = stream(60)
    k, s, t, x = packets[30]
    packets[30] = (k, s, t, x + 0.5)  # arrives half a second late
    jb = JitterBuffer(max_delay_ms=100)
    order = played(run(jb, packets, 100))
    assert 30 not in order and order == sorted(order)
    assert jb.stats.late == 1 and jb.stats.lost == 1


def test_sequence_and_timestamp_wrap_around():
    jb = JitterBuffer()
    packets = stream(100, seq0=65500, ts0=2**32 - 160 * 50)
    assert played(run(jb, packets, 130)) == list(range(100))


def test_other_packet_times_are_cut_into_20_ms_frames():
    # 30 ms packets (240 samples) arriving on time: the output timeline is continuous.
    jb = JitterBuffer(initial_delay_ms=60)
    samples = array.array("h", range(240 * 100))
    out = bytearray()
    sent = 0
    for tick in range(160):
        while sent < 100 and 0.03 * sent <= 0.02 * tick:
            jb.put(sent, 240 * sent, samples[240 * sent : 240 * (sent + 1)].tobytes(),
                   0.03 * sent)
            sent += 1
        out += jb.get()
    values = array.array("h", bytes(out))
    start = values.index(1)
    assert list(values[start - 1 : start - 1 + 240 * 100]) == list(samples)
    assert jb.stats.lost == 0


def test_malformed_payloads_are_counted_and_ignored():
    jb = JitterBuffer()
    jb.put(1, 160, b"", 0.0)
    jb.put(2, 320, b"\x00" * 7, 0.0)
    jb.put(3, 480, b"\x00" * 100_000, 0.0)
    assert jb.stats.malformed == 3 and jb.get() == SILENCE


def test_timestamp_jump_resynchronises():
    jb = JitterBuffer()
    first = stream(50)
    second = [(50 + k, 7000 + k, 123_456_789 + 160 * k, 1.0 + 0.02 * k + 0.005)
              for k in range(50)]
    out = played(run(jb, first + second, 120))
    assert out == list(range(100))
    assert jb.stats.resyncs == 1


def test_target_follows_jitter_and_late_loss_stays_low():
    jb = JitterBuffer(max_delay_ms=300)
    calm = run(jb, stream(200, jitter=0.002, seed=1), 210)
    calm_target = jb.target
    assert calm_target <= 160 * 2
    jb2 = JitterBuffer(max_delay_ms=300)
    run(jb2, stream(1500, jitter=0.080, seed=2), 1560)
    assert 0.06 * 8000 <= jb2.target <= 0.11 * 8000
    assert jb2.stats.late + jb2.stats.lost <= 0.03 * 1500
    assert len(calm) == 210


def test_buffer_shrinks_when_jitter_goes_away():
    jitter = stream(500, jitter=0.1, seed=3)
    calm = [(500 + k, 500 + k, 160 * (500 + k), 10.0 + 0.02 * k + 0.005) for k in range(1000)]
    jb = JitterBuffer(max_delay_ms=300)
    run(jb, jitter, 500)
    high = jb.depth_ms
    run_times = run(jb, [(k, s, t, x - 10.0) for k, s, t, x in calm], 1000)
    assert len(run_times) == 1000
    assert jb.depth_ms < high and jb.depth_ms <= 60
    assert jb.stats.dropped_for_latency >= 1


@settings(max_examples=60, deadline=None)
# Timestamps within a second of each other: larger jumps start a new timeline.
@given(st.lists(st.tuples(st.integers(0, 45), st.floats(0, 0.2)), max_size=300))
def test_whatever_arrives_output_is_frames_and_never_goes_backwards(events):
    jb = JitterBuffer()
    last = -1
    for n, (k, dt) in enumerate(events):
        jb.put(k, 160 * k, frame(k), n * 0.01 + dt)
        out = jb.get()
        assert len(out) == FRAME_BYTES
        got = label(out)
        if got is not None:
            assert got > last
            last = got


def test_sender_clock_running_fast_does_not_build_up_delay():
    # A GSM modem's 8 kHz is not ours: 0.5 % fast is 10 s of audio in 2000 s.
    n = 3000
    packets = [(k, k, 160 * k, 0.005 + k * 0.0199) for k in range(n)]
    jb = JitterBuffer()
    depths = []
    pending = iter(packets)
    nxt = next(pending)
    for tick in range(n):
        while nxt is not None and nxt[3] <= tick * 0.02:
            jb.put(nxt[1], nxt[2], frame(nxt[0]), nxt[3])
            nxt = next(pending, None)
        jb.get()
        depths.append(jb.depth_ms)
    assert max(depths[500:]) <= jb.target * 1000 / 8000 + 60
    assert jb.stats.dropped_for_latency >= 5 and jb.stats.lost == 0


def test_sender_clock_running_slow_is_bridged_by_single_concealed_frames():
    n = 3000
    packets = [(k, k, 160 * k, 0.005 + k * 0.0201) for k in range(n)]
    jb = JitterBuffer()
    out = run(jb, packets, int(n * 1.006) + 10)
    assert played(out) == list(range(n))
    assert jb.stats.late == 0 and jb.stats.lost == 0
    assert jb.stats.concealed <= 0.006 * n + 10


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1),
                          st.integers(0, 900), st.floats(0, 1e6)), max_size=120))
def test_hostile_packets_never_break_playout(packets):
    jb = JitterBuffer()
    for seq, ts, size, arrival in packets:
        jb.put(seq, ts, b"\x01" * size, arrival)
        assert len(jb.get()) == FRAME_BYTES


def test_decoding_buffer_takes_g711_payloads():
    from appliance.media import g711

    jb = JitterBuffer(decode=g711.decoder("PCMA"))
    pcm = array.array("h", [800, -800] * 80).tobytes()
    payload = g711.encoder("PCMA")(pcm)
    for k in range(5):
        jb.put(k, 160 * k, payload, 0.02 * k)
    out = [jb.get() for _ in range(5)]
    assert g711.decoder("PCMA")(payload) in out


# -- pop() and reset(): how the SIP legs play out (drivers/sip/rtp.py) ----------------


def heard(pcm: bytes | None) -> int | None:
    """The frame number popped, None for nothing (or for concealment or silence)."""
    return None if pcm is None else label(pcm)


def test_pop_is_quiet_until_playout_starts_and_after_it_stops():
    jb = JitterBuffer()  # starts at 40 ms
    assert jb.pop() is None  # nothing received yet
    jb.put(0, 0, frame(0), 0.0)
    assert jb.pop() is None  # 20 ms buffered: below the target
    jb.put(1, 160, frame(1), 0.02)
    assert [heard(jb.pop()) for _ in range(2)] == [0, 1]
    concealed = [jb.pop() for _ in range(3)]  # the phone went quiet: 60 ms of fading repeat
    assert all(f is not None and label(f) is None and f != SILENCE for f in concealed)
    assert jb.pop() is None  # then nothing, until its audio comes back
    assert jb.stats.underruns == 3
    for k in range(2, 4):  # the next talk spurt, a second later, fills up again
        jb.put(k, 8000 + 160 * k, frame(k), 1.0 + 0.02 * k)
    assert [heard(jb.pop()) for _ in range(2)] == [2, 3]


def test_reset_starts_a_new_stream_that_would_otherwise_be_late():
    jb = JitterBuffer()
    for k in range(4):
        jb.put(k, 160 * k, frame(k), 0.02 * k)
    assert [heard(jb.pop()) for _ in range(2)] == [0, 1]
    jb.reset()  # another source on the leg: its timestamps start anywhere, here behind
    assert jb.pop() is None
    for k in range(3):
        jb.put(500 + k, 160 * k, frame(50 + k), 1.0 + 0.02 * k)
    assert [heard(jb.pop()) for _ in range(3)] == [50, 51, 52]
    assert jb.stats.late == jb.stats.duplicate == 0


def test_reordered_lost_and_late_packets_of_a_phone_stream():
    jb = JitterBuffer()
    for k, arrival in ((10, 0.0), (12, 0.02), (11, 0.025), (13, 0.04)):  # 11 late, in time
        jb.put(k, k * 160, frame(k), arrival)
    assert [heard(jb.pop()) for _ in range(4)] == [10, 11, 12, 13]
    for k in (15, 16, 17):  # 14 is lost
        jb.put(k, k * 160, frame(k), 0.02 * k)
    out = [jb.pop() or SILENCE for _ in range(4)]
    assert level(out[0]) == (1000 + 13) // 2  # 13 again, 6 dB down
    assert [label(f) for f in out[1:]] == [15, 16, 17]
    assert jb.stats.lost == 1
    jb.put(12, 12 * 160, frame(12), 0.5)  # long played: dropped
    assert jb.stats.late == 1


def test_phone_back_from_hold_with_new_numbering_plays_on():
    jb = JitterBuffer()
    for k in range(5):
        jb.put(40000 + k, k * 160, frame(1), k * 0.02)
    held = [jb.pop() for _ in range(50)]  # a second of ticks: the stream ran out meanwhile
    assert [heard(f) for f in held[:5]] == [1] * 5 and held[-1] is None
    for k in range(5):  # then its audio again: its clock ran on, its numbering did not
        jb.put(100 + k, 8000 + k * 160, frame(2), 1 + k * 0.02)
    out = [jb.pop() for _ in range(5)]
    assert [heard(f) for f in out] == [2] * 5
    assert jb.stats.late == jb.stats.lost == 0
