"""IVR bench: how many callers can walk call flows at once on one core.  Prints JSON.

Every 20 ms, for every caller: the next outgoing prompt frame is cut from the prompt's
audio, in-band DTMF detection runs over the frame the caller sent (quiet line noise, or
key tones when the caller presses), detected keys go to the caller's ``FlowRun``, and
the runs' timers fire on a ``VirtualClock``.  A caller who reaches a queue hangs up and
a new one dials in, so the load stays constant.  The journey: welcome, menu (press 3),
card number prompt, sixteen digits checked by Luhn, queue.

callers_per_core = simulated caller-seconds / CPU seconds used (``time.process_time``).
DTMF: media's ``DtmfDetector`` when it is installed, otherwise the small DFT-bin detector
below (same arithmetic idea: each bin is two C dot products via ``audioop.findfactor``).

Usage: python bench/ivr.py [callers] [seconds] [line noise dBFS, default -55]
(-20 makes the caller's side loud like speech: no detector can skip a frame then).
"""

from __future__ import annotations

import json
import math
import platform
import random
import sys
import time
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.clock import VirtualClock  # noqa: E402
from appliance.ivr.flow import Flow, PromptRef  # noqa: E402
from appliance.ivr.moh import melody_pcm  # noqa: E402
from appliance.ivr.runner import FlowRun  # noqa: E402
from drivers.base import FRAME_BYTES, SILENCE, CallerId  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

FRAME = 0.02
ROWS = (697, 770, 852, 941)
COLS = (1209, 1336, 1477, 1633)
KEYS = ("123A", "456B", "789C", "*0#D")
CARD = "4111111111111111"

FLOW = {
    "start": "hours", "timezone": "Europe/Berlin", "operator": "main", "language": "en",
    "nodes": {
        "hours": {"type": "time", "hours": {d: ["00:00-24:00"] for d in
                                            ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                  "open": "welcome", "closed": "main"},
        "welcome": {"type": "play", "text": "Welcome to the bench company.", "next": "menu"},
        "menu": {"type": "menu", "text": "For sales press 1, for a card question press 3.",
                 "choices": {"1": {"label": "Sales", "next": "sales"},
                             "3": {"label": "Card", "next": "card"}}},
        "card": {"type": "collect", "text": "Enter your card number.", "name": "card",
                 "min_length": 16, "max_length": 16, "check": "luhn", "next": "support"},
        "sales": {"type": "queue", "queue": "sales"},
        "support": {"type": "queue", "queue": "support"},
        "main": {"type": "queue", "queue": "main"},
    },
}


@lru_cache(maxsize=16)
def _tone_frames(key: str) -> list[bytes]:
    """The caller's side: 100 ms of a key at about -9/-7 dBm0 (made once, not measured)."""
    row = next(i for i, keys in enumerate(KEYS) if key in keys)
    low, high = ROWS[row], COLS[KEYS[row].index(key)]
    samples = bytearray()
    for n in range(800):  # 100 ms: five frames
        value = 8000 * math.sin(2 * math.pi * low * n / 8000) + \
            10000 * math.sin(2 * math.pi * high * n / 8000)
        samples += int(value).to_bytes(2, "little", signed=True)
    return [bytes(samples[i:i + FRAME_BYTES]) for i in range(0, len(samples), FRAME_BYTES)]


class MiniDtmf:
    """A minimal detector: energy gate, DFT bins at the 8 frequencies, strongest row and
    column must carry most of the energy, same key in two frames, reported once."""

    def __init__(self) -> None:
        self.refs = []
        for freq in ROWS + COLS:
            cos = b"".join(int(16000 * math.cos(2 * math.pi * freq * n / 8000)).to_bytes(
                2, "little", signed=True) for n in range(160))
            sin = b"".join(int(16000 * math.sin(2 * math.pi * freq * n / 8000)).to_bytes(
                2, "little", signed=True) for n in range(160))
            self.refs.append((cos, sin, audioop.rms(cos, 2) ** 2 * 160,
                              audioop.rms(sin, 2) ** 2 * 160))
        self.last: str | None = None
        self.held: str | None = None

    def feed(self, frame: bytes) -> list[str]:
        key = self._key(frame)
        out = []
        if key and key == self.last and key != self.held:
            out.append(key)
            self.held = key
        if key is None:
            self.held = None
        self.last = key
        return out

    def _key(self, frame: bytes) -> str | None:
        energy = audioop.rms(frame, 2) ** 2 * 160
        if energy < 160 * 300 ** 2:  # below about -40 dBFS: no key is that quiet
            return None
        powers = []
        for cos, sin, ce, se in self.refs:
            re = audioop.findfactor(frame, cos) * ce
            im = audioop.findfactor(frame, sin) * se
            powers.append((re * re + im * im) / 16000 ** 2)
        row = max(range(4), key=lambda i: powers[i])
        col = max(range(4, 8), key=lambda i: powers[i])
        # a pure tone of power P shows as P*N/2 in its bin: two tones hold most energy
        if (powers[row] + powers[col]) * 2 / 160 < 0.7 * energy:
            return None
        return KEYS[row][col - 4]


def make_detector() -> tuple[Callable[[], object], str]:
    try:
        from appliance.media.dtmf import DtmfDetector
    except ImportError:
        return MiniDtmf, "bench MiniDtmf (media's detector not installed)"
    return DtmfDetector, "appliance.media.dtmf.DtmfDetector"


class BenchIO:
    """The switchboard's part: cuts prompt frames, nothing else."""

    def __init__(self, audio: Callable[[PromptRef], bytes]) -> None:
        self.audio = audio
        self.pcm = b""
        self.pos = 0
        self.on_done: Callable[[], None] | None = None
        self.exited = ""

    def play(self, prompt: PromptRef, on_done: Callable[[], None]) -> None:
        self.pcm, self.pos, self.on_done = self.audio(prompt), 0, on_done

    def stop_playback(self) -> None:
        self.pcm, self.on_done = b"", None

    def next_frame(self) -> bytes:
        if self.on_done is None:
            return SILENCE
        frame = self.pcm[self.pos:self.pos + FRAME_BYTES]
        self.pos += FRAME_BYTES
        if self.pos >= len(self.pcm):
            done, self.on_done = self.on_done, None
            done()
        return frame

    def enqueue(self, queue: str, priority: int) -> None:
        self.exited = queue

    def record_voicemail(self, queue, max_seconds, on_done) -> None:
        self.exited = "voicemail"

    def stop_recording(self) -> None: ...

    def request_callback(self, queue: str, number: str) -> None: ...

    def transfer(self, extension: str, number: str, line: str) -> None:
        self.exited = "transfer"

    def hangup(self) -> None:
        self.exited = "hangup"


class Caller:
    def __init__(self, clock, flow, audio, detector_class, rng, noise) -> None:
        self.io = BenchIO(audio)
        self.run = FlowRun(flow, clock, self.io, CallerId("+491701234567"))
        self.detector = detector_class()
        self.noise = noise
        self.rng = rng
        self.started = clock.monotonic()
        # press 3 somewhere in the menu prompt, then the card after its prompt began
        self.script = [(self.started + rng.uniform(3.0, 5.0), "3"),
                       (self.started + rng.uniform(7.5, 8.5), CARD)]
        self.tones: list[bytes] = []
        self.sent = ""
        self.run.start()

    def frame_in(self, now: float) -> bytes:
        if not self.tones and self.script and now >= self.script[0][0]:
            _when, keys = self.script.pop(0)
            for key in keys:
                self.tones += [*_tone_frames(key), *[SILENCE] * 5]
            self.sent += keys
        if self.tones:
            return self.tones.pop(0)
        return self.noise[self.rng.randrange(len(self.noise))]


def main() -> None:
    callers = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    noise_dbfs = float(sys.argv[3]) if len(sys.argv) > 3 else -55.0
    rng = random.Random(7)
    clock = VirtualClock()
    flow = Flow.from_graph("bench", FLOW, 1)
    moh = melody_pcm()
    cache: dict[str, bytes] = {}

    def audio(prompt: PromptRef) -> bytes:
        # stand-in for a TTS file: 70 ms of audio per character of text
        key = prompt.name or prompt.text
        if key not in cache:
            cache[key] = moh[:int(len(key) * 0.07 * 8000) * 2]
        return cache[key]

    sigma = 32767 * 10 ** (noise_dbfs / 20)
    noise = [b"".join(max(-32768, min(32767, int(rng.gauss(0, sigma)))).to_bytes(
        2, "little", signed=True) for _ in range(160)) for _ in range(64)]
    detector_class, detector_name = make_detector()
    crowd = [Caller(clock, flow, audio, detector_class, rng, noise) for _ in range(callers)]
    journeys = {"support": 0, "other": 0}
    ticks = int(seconds / FRAME)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ticks):
        clock.advance(FRAME)
        now = clock.monotonic()
        for index, caller in enumerate(crowd):
            caller.io.next_frame()
            for digit in caller.detector.feed(caller.frame_in(now)):
                caller.run.dtmf(digit)
            if caller.io.exited:
                if caller.io.exited == "support" and caller.run.values.get("card") == CARD:
                    journeys["support"] += 1
                else:
                    journeys["other"] += 1
                crowd[index] = Caller(clock, flow, audio, detector_class, rng, noise)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    caller_seconds = callers * seconds
    print(json.dumps({
        "bench": "ivr",
        "callers": callers,
        "simulated_seconds": seconds,
        "caller_line_noise_dbfs": noise_dbfs,
        "frames_per_caller_per_second": 50,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "cpu_us_per_caller_frame": round(cpu / (callers * ticks) * 1e6, 2),
        "callers_per_core": round(caller_seconds / cpu),
        "target_callers_per_core": 300,
        "journeys_completed": journeys["support"],
        "journeys_wrong": journeys["other"],
        "dtmf_detector": detector_name,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
