"""What the web needs from the running appliance: the one object handed to ``make_app``.

The daemon's switchboard (``appliance.switchboard``) satisfies :class:`Box`; the tests use
``tests/web/fakebox.py``.  The web reads configuration through ``admin`` and ``store``
(short reads on the loop, long ones through ``store.read``), changes configuration only
through ``admin``, and asks the box for everything that touches a live call.

Actions that the box refuses for a reason a user can fix (unknown call, operator not
logged in, bad number) raise :class:`appliance.admin.ValidationError` with a message per
field; the web shows it next to the field.  Anything else is a bug and becomes a 500.

Live events arrive on ``bus`` (``appliance.events.EventBus``).  The web listens to these
kinds and reads their data as follows (extra keys are ignored):

``call.incoming``      {call_id, line, caller_number, caller_name}
``call.answered``      {call_id, operator, queue}
``call.ended``         {call_id, ...}
``queue.join``         {call_id, queue, caller_number, caller_name, position}
``queue.leave``        {call_id, queue, reason}
``operator.state``     {operator, status, reason}
``operator.offer``     {operator, call_id, caller_number, caller_name, queue, collected: {}}
``line.state``         {line, ...}
``phone.registration`` {extension, registered}
``sms.received``       {line, number, text}
``config.changed``     {what, name}

The web re-reads ``wallboard()``, ``lines_status()`` or ``phones_status()`` after an
event; only ``operator.offer`` is shown from its own data (the screen pop).
"""

from __future__ import annotations

from typing import Any, Protocol

from appliance.admin import Admin
from appliance.events import EventBus
from appliance.store import Store

#: Operator states a person may choose (the ACD adds ringing, on_call and wrapup itself).
SETTABLE_STATES = ("available", "paused", "logged_out")

#: ``lines_status()[i]["sim"]`` codes and what the hardware page says about them.
SIM_STATES = ("ready", "pin-required", "puk-required", "absent", "blocked", "error", "")

#: Groupings ``reports()`` understands.
REPORT_GROUPS = ("queue", "operator", "hour")


class Box(Protocol):
    store: Store
    """The appliance's database (read: ``store.query`` / ``store.read``; write: only through
    ``admin`` or the accounts service, which use ``store.writer``)."""

    bus: EventBus
    """Where live events are published (kinds above)."""

    admin: Admin
    """Validated configuration changes: phones, operators, queues, lines, settings."""

    def wallboard(self) -> dict[str, Any]:
        """The live picture, cheap enough to call after every event (memory, not disk).

        ``{"queues": [{"name", "waiting": [{"call_id", "caller_number", "caller_name",
        "waited"}], "longest_wait", "available", "offered", "answered", "abandoned",
        "service_level" (0..1 or None), "asa", "aht"}],
        "operators": [{"name", "status" (logged_out, available, ringing, on_call, wrapup,
        paused), "in_state" (seconds), "reason", "call_id", "caller_number",
        "queues" [names], "wrapup_left" (seconds or None), "calls_taken"}]}``

        The counters (offered ... aht) are for today in the site's time zone; waits and
        times in seconds."""
        ...

    def lines_status(self) -> list[dict[str, Any]]:
        """Every line the hardware layer knows, configured or just plugged in:
        ``{"name", "kind", "model", "imei", "operator" (network name), "signal_bars"
        (0..5 or None), "sim" (one of SIM_STATES), "registration" (home, roaming,
        searching, denied, ""), "state" (idle, ringing, in_call, down, or found: plugged
        in, no line uses it yet, with "settings" to add it), "error"}``; optional: "port",
        and for an analog line "caller_id" (bool) and "duplex" (full, half)."""
        ...

    def phones_status(self) -> dict[str, dict[str, Any]]:
        """Registration of each extension: ``{ext: {"registered": bool, "contact",
        "user_agent", "expires_in" (seconds)}}``; extensions never seen may be absent."""
        ...

    def banned(self) -> list[dict[str, Any]]:
        """Addresses the SIP endpoint has blocked after repeated failed logins:
        ``[{"source", "until" (epoch seconds), "failures", "last_user"}]``."""
        ...

    def unban(self, source: str) -> bool:
        """Lift a block now; False when ``source`` was not blocked."""
        ...

    async def set_operator_state(self, name: str, state: str, reason: str = "") -> None:
        """Log in / pause (with reason) / log out an operator (``state`` in SETTABLE_STATES).
        Publishes ``operator.state``."""
        ...

    async def click_to_call(self, operator: str, number: str) -> str:
        """Ring the operator's phone; when it answers, dial ``number`` on a line.
        Returns the new call id."""
        ...

    async def test_flow(self, flow: str, extension: str) -> str:
        """Ring the phone at ``extension``; when it answers, play the active version of call
        flow ``flow`` to it as if it were a caller (menus take its keys, a queue node queues
        it).  Returns the new call id.  Raises ValidationError ``{"flow": ...}`` when no
        active flow has that name, ``{"extension": ...}`` when no phone is registered there."""
        ...

    async def callback(self, callback_id: int, operator: str) -> str:
        """``operator`` takes waiting callback ``callback_id``: ring them, then dial.
        Returns the new call id."""
        ...

    async def request_callback(self, number: str, queue: str, call_id: str = "",
                               operator: str = "") -> int:
        """Put a callback on the list (e.g. one click on an abandoned call).  Returns its id."""
        ...

    async def set_disposition(self, call_id: str, disposition: str, note: str) -> None:
        """Record the outcome of a call and end the operator's wrap-up."""
        ...

    def provisioning(self, mac: str, user_agent: str,
                     filename: str) -> tuple[str, bytes] | None:
        """The configuration file a phone asks for (``mac`` lower-case hex, no separators;
        ``filename`` as requested, e.g. ``001565aabbcc.cfg``).  ``(content_type, body)``, or
        None when no phone has this MAC (the web answers 404)."""
        ...

    async def reports(self, group: str, start: float, end: float, *, queue: str = "",
                      operator: str = "") -> list[dict[str, Any]]:
        """KPI rows for calls started in ``[start, end)`` (UTC epoch), grouped by ``group``
        (REPORT_GROUPS; ``hour`` = hour of day 0..23 in the site's time zone):
        ``[{"key", "offered", "answered", "abandoned", "service_level" (0..1 or None),
        "asa", "aht"}]``.  Runs off the loop."""
        ...


def check_box(box: object) -> None:
    """Refuse, at start-up and in words, a box that lacks part of :class:`Box` or has a
    method that is async where the web expects sync (or the other way round)."""
    import inspect

    problems = []
    for name in ("store", "bus", "admin"):
        if not hasattr(box, name):
            problems.append(f"missing attribute {name}")
    for name, expected in inspect.getmembers(Box, inspect.isfunction):
        if name.startswith("_"):
            continue
        actual = getattr(box, name, None)
        if not callable(actual):
            problems.append(f"missing method {name}()")
        elif inspect.iscoroutinefunction(expected) != inspect.iscoroutinefunction(actual):
            kind = "async" if inspect.iscoroutinefunction(expected) else "a plain function"
            problems.append(f"{name}() must be {kind}")
    if problems:
        raise TypeError(f"{type(box).__name__} is not a web.box.Box: " + "; ".join(problems))
