"""Leg listeners: how the switchboard hears each kind of leg.

* ``CallerListener`` — the caller's leg (a line call, or the phone that dialled).
* ``RingListener`` — an operator's phone rung by the ACD for a call.
* ``PeerListener`` — the second leg of a plain two-party call (internal, outbound,
  the customer's leg of a callback).
* ``FlowTestListener`` — a phone rung by "test this flow": once it answers it is the
  caller of that flow.

They only translate leg events into switchboard methods; the decisions live there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.base import Cause, Leg, LegListener

if TYPE_CHECKING:
    from .calls import Call
    from .switchboard import Switchboard


class _CallListener(LegListener):
    def __init__(self, board: Switchboard, call: Call) -> None:
        self.board = board
        self.call = call

    def leg_frame(self, leg: Leg, frame: bytes) -> None:
        bridge = self.call.bridge
        if bridge is not None and bridge.has(leg):
            bridge.forward(leg, frame)
        else:
            self.board.media_frame(self.call, leg, frame)

    def leg_hold(self, leg: Leg, on_hold: bool) -> None:
        self.board.leg_hold(self.call, leg, on_hold)


class CallerListener(_CallListener):
    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        self.board.caller_gone(self.call, leg, cause, remote)

    def leg_dtmf(self, leg: Leg, digit: str) -> None:
        self.board.caller_dtmf(self.call, digit)


class RingListener(_CallListener):
    def __init__(self, board: Switchboard, call: Call, operator: str) -> None:
        super().__init__(board, call)
        self.operator = operator

    def leg_answered(self, leg: Leg) -> None:
        self.board.defer(self.board.ring_answered, self.call, self.operator, leg)

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        self.board.operator_leg_gone(self.call, self.operator, leg, cause, remote)

    def leg_transfer(self, leg: Leg, target: str, replaces: str | None) -> None:
        self.board.transfer(self.call, leg, target)


class PeerListener(_CallListener):
    def leg_ringing(self, leg: Leg) -> None:
        self.board.bus.publish("call.progress", call_id=self.call.id, state="ringing")

    def leg_answered(self, leg: Leg) -> None:
        self.board.defer(self.board.peer_answered, self.call, leg)

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        self.board.peer_gone(self.call, leg, cause, remote)


class ClickToCallListener(_CallListener):
    """The operator's own phone, rung first for a click-to-call or a callback taken
    from the list: when they pick up, the customer is dialled."""

    def leg_answered(self, leg: Leg) -> None:
        self.board.defer(self.board.click_operator_answered, self.call, leg)

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None:
        self.board.peer_gone(self.call, leg, cause, remote)


class FlowTestListener(CallerListener):
    """The installer's phone rung by "test this flow": it is the call's caller from the
    start (keys go to the flow, hanging up ends the call); answering starts the flow."""

    def leg_answered(self, leg: Leg) -> None:
        self.board.defer(self.board.flow_test_answered, self.call, leg)
