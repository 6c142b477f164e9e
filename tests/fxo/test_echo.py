"""Line echo cancelling on the analog leg, on the simulator's echoing line through a real
pty: ERLE after convergence, and no divergence while both ends talk (ITU-T G.168's
two figures of merit).  Uses the media area's canceller (appliance.media.echo)."""

from __future__ import annotations

import asyncio
import math
import random
import struct

from appliance.media.goertzel import tone_level_dbfs
from drivers.sim.pstn import FarEnd

from .conftest import fxo_line, wait_for


class Meter:
    """Wraps the call's canceller and keeps what went in and what came out."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.near: list[bytes] = []
        self.out: list[bytes] = []

    def process(self, near: bytes, far: bytes) -> bytes:
        out = self.inner.process(near, far)
        self.near.append(near)
        self.out.append(out)
        return out

    def erle_db(self, frames: int) -> float:
        near = b"".join(self.near[-frames:])
        out = b"".join(self.out[-frames:])
        return 10 * math.log10(power(near) / max(power(out), 1e-3))


def power(pcm: bytes) -> float:
    n = len(pcm) // 2
    return sum(v * v for v in struct.unpack(f"<{n}h", pcm)) / max(1, n)


def babble(rng: random.Random, frames: int) -> list[bytes]:
    """Speech-like: noise shaped by a slowly varying envelope, about -20 dBFS."""
    out = []
    for f in range(frames):
        env = 0.5 + 0.5 * math.sin(2 * math.pi * f / 37) ** 2
        out.append(struct.pack("<160h", *(int(max(-32767, min(32767, rng.gauss(0, 3000 * env))))
                                          for _ in range(160))))
    return out


async def send_paced(leg, frames: list[bytes]) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, frame in enumerate(frames):
        leg.send_frame(frame)
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))


def test_erle_on_the_echoing_line_and_no_divergence_in_double_talk() -> None:
    async def scenario() -> None:
        far = FarEnd(tone_hz=None, echo_delay_ms=8, echo_loss_db=6, noise_rms=2)
        async with fxo_line(far=far, silence_hangup_seconds=0) as line:
            line.sim.ring("5551234")
            await wait_for(lambda: line.host.legs, 5)
            leg = line.host.legs[0]
            await leg.answer()
            assert line.channel.status()["echo_canceller"] is True
            meter = Meter(leg.call.echo)
            leg.call.echo = meter
            rng = random.Random(7)
            trace: list[float] = []
            # converge: 20 dB within 8 s of speech (G.168 asks ~1 s on a digital line;
            # the codec and a 128 ms tail make it slower), then it must hold
            for _ in range(16):
                await send_paced(leg, babble(rng, 25))
                trace.append(round(meter.erle_db(25), 1))
                if meter.erle_db(25) >= 20:
                    break
            converged_at = len(meter.out) * 0.02
            await send_paced(leg, babble(rng, 50))
            erle = meter.erle_db(50)
            print(f"ERLE {erle:.1f} dB, converged by {converged_at:.1f} s, trace {trace},",
                  f"underruns {line.sim.underruns}")
            assert erle >= 20, f"ERLE {erle:.1f} dB after convergence"
            # double talk: the far end speaks (a 400 Hz tone) while our audio goes on
            far.say(400)
            await send_paced(leg, babble(rng, 75))
            near_tone = tone_level_dbfs(b"".join(meter.near[-50:]), 400)
            out_tone = tone_level_dbfs(b"".join(meter.out[-50:]), 400)
            assert abs(near_tone - out_tone) < 3, "the far talker must pass through"
            far.say(None)
            await send_paced(leg, babble(rng, 30))
            after = meter.erle_db(20)
            assert after >= 20, f"ERLE {after:.1f} dB right after double talk (diverged)"
            await leg.hangup()

    asyncio.run(scenario())


def test_canceller_is_skipped_while_we_send_silence_and_resumes_converged() -> None:
    from collections import deque

    from drivers.fxo.echo_path import GatedCanceller, make_echo_canceller

    gated = make_echo_canceller(tail_ms=128)
    assert isinstance(gated, GatedCanceller)
    far = FarEnd(tone_hz=None, echo_delay_ms=8, echo_loss_db=6, noise_rms=2)
    rng = random.Random(3)
    line: deque[bytes] = deque([bytes(320)] * 2)  # the modem's buffer

    def step(sent: bytes) -> tuple[bytes, bytes]:
        heard = far.exchange(line.popleft())
        line.append(sent)
        return heard, gated.process(heard, sent)

    talk = babble(rng, 400)
    pairs = [step(f) for f in talk[:250]]  # converge
    assert 10 * math.log10(sum(power(n) for n, _ in pairs[-50:])
                           / sum(power(o) for _, o in pairs[-50:])) >= 20
    far.say(700)  # the caller talks while we are silent: passed through untouched
    quiet = [step(bytes(320)) for _ in range(100)]
    assert gated.bypassed_frames >= 80
    assert all(near == out for near, out in quiet[-80:])
    far.say(None)
    resumed = [step(f) for f in talk[250:300]]
    erle = 10 * math.log10(sum(power(n) for n, _ in resumed[5:])
                           / sum(power(o) for _, o in resumed[5:]))
    assert erle >= 20, f"ERLE {erle:.1f} dB right after resuming"


def test_caller_who_leaves_silently_while_hearing_hold_music_is_noticed() -> None:
    """Queued callers hear music; its echo must not pass for the caller still being there,
    and a caller listening quietly (a handset in a room) must not pass for one gone."""
    from dataclasses import replace

    from drivers.sim.audio import tone_frames
    from drivers.sim.v253 import USR5637

    quiet_modem = replace(USR5637, reports_busy=False, reports_silence=False,
                          reports_loop_break=False)
    far = FarEnd(tone_hz=1000, echo_loss_db=12, room_noise_rms=300)  # about -40 dBFS

    async def scenario() -> None:
        async with fxo_line(quiet_modem, far=far, silence_hangup_seconds=1.5) as line:
            line.sim.ring("5551234")
            await wait_for(lambda: line.host.legs, 5)
            leg, rec = line.host.legs[0], line.host.recorders[0]
            await leg.answer()

            async def hold_music() -> None:
                loop = asyncio.get_running_loop()
                start, i = loop.time(), 0
                while rec.hangup() is None:
                    note = (523.0, 659.0, 784.0)[(i // 25) % 3]
                    leg.send_frame(tone_frames((note,), 1, amplitude=5000,
                                               start_sample=i * 160))
                    i += 1
                    await asyncio.sleep(max(0.0, start + i * 0.02 - loop.time()))

            music = asyncio.ensure_future(hold_music())
            await wait_for(lambda: len(rec.frames) > 1.5 * 16000, 8, "the caller talking")
            far.say(None)  # the caller listens to the music, quietly
            heard = len(rec.frames)
            await wait_for(lambda: len(rec.frames) > heard + 4 * 16000, 8, "4 s of listening")
            assert rec.hangup() is None  # a quiet listener is not a hung-up line
            line.sim.far_hangup("loop_break")  # gone, and the modem says nothing
            await wait_for(lambda: rec.hangup() is not None, 6, "the silent hang-up")
            assert leg.hangup_reason == "silence"
            await music

    asyncio.run(scenario())
