"""The wizard's starter flow is valid and does what it says, open and closed."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.clock import VirtualClock
from appliance.ivr.flow import Flow
from appliance.ivr.templates import starter_flow
from appliance.ivr.validate import validate

from .conftest import PROMPT_SECONDS, Harness

HOURS = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_starter_flow_is_clean(language: str) -> None:
    graph = starter_flow("main", HOURS, timezone="Europe/Moscow", language=language)
    assert validate(Flow.from_graph("main", graph), queues={"main"}) == []


def test_starter_flow_open_and_closed() -> None:
    graph = starter_flow("main", HOURS, timezone="Europe/Moscow", holidays=["01-01"])
    monday_noon = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC).timestamp()  # 12:00 MSK
    h = Harness(VirtualClock(monday_noon), graph).start()
    h.wait(PROMPT_SECONDS)
    assert h.io.commands() == [("enqueue", "main")]
    assert h.run.overflow("timeout") is True
    h.wait(PROMPT_SECONDS)
    assert h.io.heard()[-1] == "Please leave a message after the tone."
    assert h.io.commands()[-1] == ("record", "main")

    new_year = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC).timestamp()  # a Thursday holiday
    h = Harness(VirtualClock(new_year), graph).start()
    h.wait(PROMPT_SECONDS)
    assert len(h.io.heard()) == 1 and "We open tomorrow at nine o'clock." in h.io.heard()[0]
    assert h.io.commands() == [("record", "main")]  # no second "leave a message"
