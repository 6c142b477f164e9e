"""Properties: whatever a caller presses, whenever, the flow ends somewhere; whatever an
installer types into a graph, the validator answers with messages, not a traceback."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.clock import VirtualClock
from appliance.ivr.flow import DTMF_KEYS, NODE_TYPES, Flow
from appliance.ivr.validate import errors, validate
from drivers.base import CallerId

from .conftest import Harness
from .test_runner import FLOW, MONDAY_10, SUNDAY_10

presses = st.lists(st.tuples(st.floats(min_value=0, max_value=12), st.sampled_from(DTMF_KEYS)),
                   max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presses=presses, open_hours=st.booleans(), withheld=st.booleans(),
       hang_up_at=st.one_of(st.none(), st.floats(min_value=0, max_value=60)))
def test_every_caller_ends_somewhere(presses, open_hours, withheld, hang_up_at) -> None:
    caller = CallerId("", presentation="restricted") if withheld else CallerId("+100")
    h = Harness(VirtualClock(MONDAY_10 if open_hours else SUNDAY_10), FLOW, caller).start()
    if hang_up_at is not None:
        h.clock.call_later(hang_up_at, h.run.caller_hangup)
    for delay, key in presses:
        h.wait(delay)
        h.run.dtmf(key)
    h.wait(600)  # longer than any retry chain and the longest message
    assert h.run.exit is not None, h.io.log
    commands = [kind for kind, _ in h.io.commands() if kind not in ("recorded",
                                                                    "stop_recording")]
    exits = {"enqueue", "record", "callback", "transfer"}
    assert sum(1 for kind in commands if kind in exits) <= 1  # handed over once, at most
    if h.run.exit.kind != "abandoned":
        assert commands, h.io.log


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.floats(allow_nan=True),
                    st.text(string.printable, max_size=12))
node_ids = st.sampled_from(["a", "b", "c", "d", ""])


def _node():
    fields = {
        "type": st.one_of(st.sampled_from(sorted(NODE_TYPES)), scalars),
        "next": st.one_of(node_ids, scalars), "open": node_ids, "closed": node_ids,
        "text": scalars, "prompt": scalars, "timeout": scalars, "retries": scalars,
        "choices": st.one_of(scalars, st.lists(scalars, max_size=3),
                             st.dictionaries(st.text(max_size=2),
                                             st.one_of(scalars, st.fixed_dictionaries(
                                                 {"next": node_ids})), max_size=3)),
        "hours": st.one_of(scalars, st.dictionaries(st.sampled_from(["mon", "sun", "x"]),
                                                    st.one_of(scalars, st.lists(scalars)))),
        "holidays": st.one_of(scalars, st.lists(scalars, max_size=3)),
        "exceptions": st.one_of(scalars, st.lists(scalars, max_size=2)),
        "timezone": scalars, "check": scalars, "min_length": scalars, "max_length": scalars,
        "queue": scalars, "name": scalars, "extension": scalars, "number": scalars,
        "operator": node_ids, "on_fail": node_ids, "declined": node_ids, "overflow": node_ids,
    }
    return st.fixed_dictionaries({}, optional=fields)


@settings(max_examples=300, deadline=None)
@given(nodes=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _node(), max_size=4),
       start=node_ids, operator=node_ids, timezone=scalars)
def test_validator_never_crashes(nodes, start, operator, timezone) -> None:
    graph = {"start": start, "operator": operator, "timezone": timezone, "nodes": nodes}
    messages = validate(Flow.from_graph("fuzz", graph))
    for message in messages:
        assert message.severity in ("error", "warning")
        assert message.node is None or message.node in nodes
        assert message.text("en") and message.text("ru")
    if not errors(messages):
        # a flow the validator passes must run: every caller ends somewhere
        h = Harness(VirtualClock(MONDAY_10), graph).start()
        h.wait(600)
        assert h.run.exit is not None, (graph, h.io.log)


IDS = ["n0", "n1", "n2", "n3", "n4", "n5"]
targets = st.sampled_from(IDS)


def _well_formed_node():
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("play"), "text": st.just("p"), "next": targets}),
        st.fixed_dictionaries({"type": st.just("time"), "open": targets, "closed": targets,
                               "hours": st.sampled_from([{}, {"mon": ["09:00-18:00"]}])}),
        st.fixed_dictionaries({"type": st.just("menu"), "text": st.just("m"),
                               "choices": st.dictionaries(st.sampled_from("123#"),
                                                          st.fixed_dictionaries(
                                                              {"next": targets}),
                                                          min_size=1, max_size=3)},
                              optional={"on_fail": targets, "operator": targets}),
        st.fixed_dictionaries({"type": st.just("collect"), "text": st.just("c"),
                               "name": st.just("x"), "next": targets, "max_length": st.just(3)}),
        st.fixed_dictionaries({"type": st.just("callback"), "queue": st.just("q"),
                               "declined": targets}),
        st.fixed_dictionaries({"type": st.sampled_from(["queue"]), "queue": st.just("q")}),
        st.fixed_dictionaries({"type": st.just("hangup")}),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes=st.fixed_dictionaries({i: _well_formed_node() for i in IDS}), operator=targets,
       presses=presses)
def test_a_flow_without_errors_never_strands_a_caller(nodes, operator, presses) -> None:
    graph = {"start": "n0", "operator": operator, "nodes": nodes}
    if errors(validate(Flow.from_graph("gen", graph))):
        return
    h = Harness(VirtualClock(MONDAY_10), graph).start()
    for delay, key in presses:
        h.wait(delay)
        h.run.dtmf(key)
    h.wait(3600)
    assert h.run.exit is not None, (graph, h.io.log)
