"""Helpers for IVR tests: a switchboard stand-in that plays prompts on the virtual clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from appliance.clock import Timer, VirtualClock
from appliance.ivr.flow import Flow, PromptRef
from appliance.ivr.runner import FlowRun
from drivers.base import CallerId

PROMPT_SECONDS = 2.0


class RecordingIO:
    """Implements FlowIO: every prompt takes PROMPT_SECONDS of virtual time; every command
    is written to ``log`` so a test can assert what the caller heard and where they went."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.log: list[tuple[str, Any]] = []
        self._playing: Timer | None = None
        self.recording: Callable[[], None] | None = None

    def play(self, prompt: PromptRef, on_done: Callable[[], None]) -> None:
        assert self._playing is None, "a second prompt started before the first ended"
        self.log.append(("play", prompt.name or prompt.text))

        def finished() -> None:
            self._playing = None
            on_done()

        self._playing = self.clock.call_later(PROMPT_SECONDS, finished)

    def stop_playback(self) -> None:
        self.log.append(("stop", None))
        if self._playing is not None:
            self._playing.cancel()
            self._playing = None

    def enqueue(self, queue: str, priority: int) -> None:
        self.log.append(("enqueue", queue))

    def record_voicemail(self, queue: str, max_seconds: float,
                         on_done: Callable[[], None]) -> None:
        self.log.append(("record", queue))
        self.recording = on_done
        self.clock.call_later(max_seconds, self._recorded)

    def _recorded(self) -> None:
        if self.recording is not None:
            done, self.recording = self.recording, None
            self.log.append(("recorded", None))
            done()

    def stop_recording(self) -> None:
        self.log.append(("stop_recording", None))
        self._recorded()

    def request_callback(self, queue: str, number: str) -> None:
        self.log.append(("callback", (queue, number)))

    def transfer(self, extension: str, number: str, line: str) -> None:
        self.log.append(("transfer", extension or f"{number}@{line}"))

    def hangup(self) -> None:
        self.log.append(("hangup", None))

    # -- what the tests ask -------------------------------------------------------------
    def heard(self) -> list[str]:
        return [what for kind, what in self.log if kind == "play"]

    def commands(self) -> list[tuple[str, Any]]:
        return [(kind, what) for kind, what in self.log if kind not in ("play", "stop")]


class Harness:
    def __init__(self, clock: VirtualClock, graph: dict, caller: CallerId | None = None) -> None:
        self.clock = clock
        self.io = RecordingIO(clock)
        self.flow = Flow.from_graph("test", graph, version=1)
        self.run = FlowRun(self.flow, clock, self.io, caller or CallerId("+79161234567"),
                           call_id="c1")

    def start(self) -> Harness:
        self.run.start()
        return self

    def keys(self, digits: str, gap: float = 0.3) -> None:
        for digit in digits:
            self.run.dtmf(digit)
            self.clock.advance(gap)

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)


@pytest.fixture
def harness(clock: VirtualClock) -> Callable[..., Harness]:
    def make(graph: dict, caller: CallerId | None = None) -> Harness:
        return Harness(clock, graph, caller)

    return make
