"""The switchboard: where legs from the drivers meet the ACD.

It is the channels' host (``drivers.base.ChannelHost``) and the ACD's hands
(``appliance.acd.api.AcdActions``).  A call on a line becomes a :class:`Call`, is
answered and queued; the ACD picks operators; the switchboard rings their phones,
bridges the one that answers, and writes every step to the record.  A phone that
dials reaches a feature code, another extension, or a line.

Reports back to the ACD are deferred to the next turn of the clock (``defer``), so the
ACD never re-enters itself from inside one of its own requests.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from drivers.base import CallerId, Cause, Channel, Leg, LegState, Unreachable

from .acd.api import OperatorStatus, QueueEvent
from .acd.config import QueueConfig
from .acd.engine import Acd
from .calls import Bridge, Call, new_call_id
from .cdr import Recorder
from .clock import Clock
from .dialplan import DEFAULT_PAUSE_REASONS, parse_feature, parse_rules, route_outside
from .directory import Directory
from .events import EventBus
from .legs import (
    CallerListener,
    ClickToCallListener,
    FlowTestListener,
    PeerListener,
    RingListener,
)
from .store import Store

log = logging.getLogger(__name__)

BLF_STATES = {
    OperatorStatus.LOGGED_OUT: "idle", OperatorStatus.AVAILABLE: "idle",
    OperatorStatus.RINGING: "ringing", OperatorStatus.ON_CALL: "busy",
    OperatorStatus.WRAPUP: "busy", OperatorStatus.PAUSED: "busy",
}
LINE_UP_STATES = ("up", "ready")  # a line in one of these can place a call
CALLBACK_DIGIT = "1"  # "press 1 to be called back without losing your place"
RING_FAIL_REASONS = {Cause.USER_BUSY: "busy", Cause.CALL_REJECTED: "busy",
                     Cause.SUBSCRIBER_ABSENT: "unreachable",
                     Cause.DESTINATION_OUT_OF_ORDER: "unreachable"}


STOP_STEP_SECONDS = 10.0


async def bounded(coro: Coroutine, what: str, seconds: float = STOP_STEP_SECONDS) -> None:
    """One shutdown step that may not hang the rest: a modem gone mid-stop, a phone that
    never answers the BYE.  After ``seconds`` it is abandoned, with a log line."""
    log.debug("shutdown: %s", what)
    try:
        await asyncio.wait_for(coro, seconds)
    except TimeoutError:
        log.error("%s did not finish within %.0f s; going on", what, seconds)
    except Exception:
        log.exception("%s failed", what)


class Switchboard:
    def __init__(self, store: Store, bus: EventBus, clock: Clock, *, seed: int | None = None):
        self.store = store
        self.bus = bus
        self.clock = clock
        self.recorder = Recorder(store, clock)
        self.directory = Directory(store, clock)
        self.acd = Acd(clock, self, self._queue_log, self.directory, rng=random.Random(seed))
        self.queue_configs: dict[str, QueueConfig] = {}
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self.tasks: set[asyncio.Task] = set()
        self._line_lock = asyncio.Lock()
        self._op_states: dict[str, tuple] = {}
        self._sync_pending = False
        self.flow_starter: Callable[[Call, str], bool] | None = None  # set by the IVR
        self.locator: Any = None  # finds modems by USB identity (drivers.hotplug), if running
        self.media: Any = None  # music on hold / prompts, set by the media layer
        bus.subscribe(self._config_changed, "config.changed")
        bus.subscribe(self._phone_registration, "phone.registration")

    # -- plumbing ------------------------------------------------------------------------
    def defer(self, fn: Callable[..., Any], *args: Any) -> None:
        self.clock.call_later(0, self._guarded, fn, *args)

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # one call's bug must not take the switchboard down
            log.exception("switchboard step %s failed", getattr(fn, "__name__", fn))

    def spawn(self, coro: Coroutine, what: str = "") -> asyncio.Task | None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (a synchronous test): run it to completion now
            coro.close()
            return None
        self.tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, what))
        return task

    def _task_done(self, task: asyncio.Task, what: str) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed: %r", what or task.get_coro(), task.exception())

    def hangup(self, leg: Leg | None, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        if leg is not None and not leg.ended:
            self.spawn(leg.hangup(cause), f"hangup {leg.id}")

    # -- configuration ---------------------------------------------------------------------
    def load_config(self) -> None:
        """(Re)read queues and operators from the database into the ACD."""
        configs = {q.name: q for q in self.directory.queues()}
        for config in configs.values():
            self.acd.configure_queue(config)
        for name in set(self.queue_configs) - set(configs):
            self.acd.remove_queue(name)
        self.queue_configs = configs
        operators = self.directory.operators(reload=True)
        for name, op in operators.items():
            self.acd.configure_operator(name, op["queues"])
        for view in self.acd.operators():
            if view.name not in operators:
                self.acd.remove_operator(view.name)
        self._sync_operator_states()

    def _phone_registration(self, event) -> None:
        """With the site setting ``login_on_registration`` (Asterisk's static members, in
        effect), an operator is logged in when the phone they sit at registers and logged
        out when it goes away, so nobody rings a phone that is unplugged."""
        extension = event.data.get("extension")
        if not extension or not self.directory.setting("login_on_registration", False):
            return
        operator = self.directory.operator_at(extension)
        if operator is None or operator not in self.directory.operators():
            return
        try:
            status = self.acd.operator(operator).status
        except ValueError:
            return
        state = event.data.get("state")
        if state == "registered" and status is OperatorStatus.LOGGED_OUT:
            self.acd.login(operator, reason="phone registered")
        elif state in ("unregistered", "expired", "unreachable") \
                and status is not OperatorStatus.LOGGED_OUT:
            self.acd.logout(operator, reason=f"phone {state}")
        self._sync_operator_states()

    def _config_changed(self, event) -> None:
        what = event.data.get("what")
        if what in ("queue", "operator", "phone"):
            self.load_config()
        elif what == "line":
            self.spawn(self.sync_line(event.data.get("name", "")), "sync line")
        elif what == "setting":
            self.directory.settings_changed()

    # -- channels (ChannelHost) --------------------------------------------------------------
    async def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel
        try:
            await channel.start()
        except Exception:
            log.exception("channel %s failed to start", channel.name)
        self.channel_changed(channel)

    async def remove_channel(self, name: str) -> None:
        channel = self.channels.pop(name, None)
        if channel is not None:
            await channel.stop()

    async def reload_line(self, name: str) -> None:
        from drivers.base import load_channel_class

        await self.remove_channel(name)
        row = self.directory.line(name)
        if row is None or not row["enabled"]:
            return
        try:
            cls = load_channel_class(row["kind"])
        except (LookupError, TypeError, ImportError) as exc:
            log.error("line %s: %s", name, exc)
            return
        channel = cls(name, row["settings"], self)
        if hasattr(channel, "identity"):  # hardware lines: found again by IMEI after replugs
            channel.identity = row["identity"] or None
            channel.locator = self.locator
        await self.add_channel(channel)

    async def sync_line(self, name: str) -> None:
        """Start, restart or stop one line so that it matches its row."""
        async with self._line_lock:
            row = self.directory.line(name)
            channel = self.channels.get(name)
            if row is None or not row["enabled"]:
                if channel is not None:
                    await self.remove_channel(name)
                return
            if channel is not None and channel.kind == row["kind"] \
                    and channel.settings == row["settings"]:
                return
            await self.reload_line(name)

    async def sync_lines(self) -> None:
        names = {r["name"] for r in self.directory.lines()}
        names |= {n for n, ch in self.channels.items() if ch.role == "line"}
        for name in sorted(names):
            await self.sync_line(name)

    async def stop(self) -> None:
        current = asyncio.current_task()
        pending = [t for t in self.tasks if t is not current and not t.done()]
        for task in pending:  # line restarts and the like: not after the store is gone
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for call in list(self.calls.values()):
            for leg in (call.caller_leg, call.operator_leg, *call.rings.values()):
                if leg is not None and not leg.ended:
                    await bounded(leg.hangup(Cause.NORMAL_UNSPECIFIED), f"hang up {leg.id}")
        for name in list(self.channels):
            await bounded(self.remove_channel(name), f"stop {name}")
        self.recorder.flush()

    def channel_changed(self, channel: Channel) -> None:
        identity = getattr(channel, "identity", None)
        if identity and channel.role == "line":
            self.directory.remember_identity(channel.name, identity)
        kind = "phone.registration" if channel.role == "phones" else "line.state"
        self.bus.publish(kind, channel=channel.name, status=channel.status())

    def incoming(self, leg: Leg) -> None:
        if leg.channel.role == "phones":
            self._from_phone(leg)
        else:
            self._from_line(leg)

    def lines_up(self) -> list[str]:
        return [name for name, ch in self.channels.items()
                if ch.role == "line" and ch.status().get("state") in LINE_UP_STATES]

    def phones_channel(self, extension: str) -> Channel | None:
        return next((ch for ch in self.channels.values()
                     if ch.role == "phones" and ch.reaches(extension)), None)

    # -- calls from lines ----------------------------------------------------------------
    def _new_call(self, leg: Leg, direction: str) -> Call:
        number = leg.caller.number if leg.caller.presentation == "allowed" else ""
        contact = self.directory.contact(number) if number else None
        call = Call(new_call_id(), direction, leg.channel.name, number,
                    (contact or {}).get("name") or leg.caller.name, leg.dialled,
                    self.clock.time())
        call.caller_leg = leg
        call.data["presentation"] = leg.caller.presentation
        leg.call_id = call.id
        leg.listener = CallerListener(self, call)
        self.calls[call.id] = call
        self.recorder.save_call(call)
        self.bus.publish("call.incoming", call_id=call.id, line=call.line,
                         caller_number=call.caller_number, caller_name=call.caller_name,
                         direction=direction)
        return call

    def _from_line(self, leg: Leg) -> None:
        call = self._new_call(leg, "inbound")
        destination = self.directory.line_destination(leg.channel.name, leg.dialled)
        log.info("call %s from %s on %s -> %s", call.id, leg.caller.display, call.line,
                 destination or "(none)")
        self.route(call, destination)

    def route(self, call: Call, destination: str) -> None:
        kind, _, target = destination.partition(":")
        if kind == "queue":
            self.answer_caller(call)
            self.enqueue(call, target)
        elif kind == "flow" and self.flow_starter is not None:
            self.answer_caller(call)
            call.state = "flow"
            if not self.flow_starter(call, target):
                self.hangup(call.caller_leg, Cause.NO_ROUTE_DESTINATION)
        elif kind == "extension":
            self.connect_extension(call, target)
        else:
            log.warning("call %s: no destination %r; rejecting", call.id, destination)
            self.hangup(call.caller_leg, Cause.CALL_REJECTED)

    def answer_caller(self, call: Call) -> None:
        leg = call.caller_leg
        if leg is not None and leg.state not in (LegState.ANSWERED, LegState.ENDED):
            self.spawn(leg.answer(), f"answer {call.id}")

    def enqueue(self, call: Call, queue: str) -> None:
        priority = self.directory.priority(call.caller_number)
        result = self.acd.enqueue(call.id, queue, call.caller_number, priority)
        if not result.joined:
            log.info("call %s refused by queue %s: %s", call.id, queue, result.reason)
            if self.media is not None and self.media.flow_overflow(call, result.reason):
                return  # the flow goes on at its queue node's overflow
            config = self.queue_configs.get(queue)
            self.overflow(call.id, config.overflow if config else "hangup", result.reason)
            return
        call.queue = queue
        call.in_acd = True
        call.state = "queued"
        if call.queued_at is None:
            call.queued_at = self.clock.time()
        self.recorder.save_call(call)
        self.bus.publish("queue.join", call_id=call.id, queue=queue,
                         caller_number=call.caller_number, position=result.position)
        if self.media is not None and call.caller_leg is not None:
            self.media.start_hold(call)
        self._sync_operator_states()

    def position(self, call_id: str) -> int:
        return self.acd.position(call_id)

    def request_callback(self, call: Call) -> None:
        """The caller pressed 'call me back': keep the place, let them hang up."""
        if call.state not in ("queued", "ringing"):
            return
        self.acd.request_callback(call.id)
        call.state = "callback"
        call.data["callback"] = True
        self.recorder.callback_request(call)
        self.recorder.save_call(call)
        self.hangup(call.caller_leg, Cause.NORMAL_CLEARING)

    # -- AcdActions ------------------------------------------------------------------------
    def ring(self, call_id: str, operator: str, *, callback: bool = False) -> None:
        call = self.calls.get(call_id)
        extension = self.directory.operator_extension(operator)
        channel = self.phones_channel(extension) if extension else None
        if call is None or channel is None:
            self.defer(self._ring_failed, call_id, operator, "unreachable")
            return
        shown = CallerId(call.caller_number,
                         ("callback " if callback else "") + (call.caller_name or ""),
                         "allowed" if call.caller_number else "unavailable")
        try:
            leg = channel.originate(extension, shown, RingListener(self, call, operator))
        except Unreachable:
            self.defer(self._ring_failed, call_id, operator, "unreachable")
            return
        leg.call_id = call.id
        call.rings[operator] = leg
        if call.state == "queued":
            call.state = "ringing"
        self.bus.publish("operator.offer", operator=operator, call_id=call.id,
                         caller_number=call.caller_number, caller_name=call.caller_name,
                         queue=call.queue, callback=callback, collected=dict(call.data))
        self._sync_operator_states()

    def stop_ringing(self, call_id: str, operator: str) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        leg = call.rings.pop(operator, None)
        self.hangup(leg, Cause.NORMAL_CLEARING)
        if not call.rings and call.state == "ringing":
            call.state = "queued"
        self._sync_operator_states()

    def overflow(self, call_id: str, destination: str, reason: str) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        log.info("call %s leaves queue %s (%s) for %s", call_id, call.queue, reason,
                 destination or "hangup")
        call.data.setdefault("overflow", []).append({"from": call.queue, "reason": reason,
                                                     "to": destination})
        self.bus.publish("queue.leave", call_id=call_id, queue=call.queue, reason=reason)
        call.state = "flow"
        if self.media is not None:
            self.media.stop_hold(call)
            if call.caller_leg is not None and self.media.flow_overflow(call, reason):
                self._sync_operator_states()
                return  # the caller's flow continues at its own overflow
        kind, _, target = destination.partition(":")
        if call.caller_leg is None or call.caller_leg.ended:
            self._finish(call, Cause.NORMAL_CLEARING, "system")  # a kept place: nobody on line
        elif kind == "queue" and target:
            self.defer(self.enqueue, call, target)
        elif kind == "voicemail" and self.media is not None:
            self.media.voicemail(call)  # intro, beep, message; it hangs up when done
        elif kind in ("callback", "voicemail"):
            # no media layer to record a message: take the number so nobody is lost
            self.recorder.callback_request(call)
            call.data["callback"] = True
            self.hangup(call.caller_leg, Cause.NORMAL_CLEARING)
        else:
            self.hangup(call.caller_leg, Cause.NORMAL_CIRCUIT_CONGESTION)
        self._sync_operator_states()

    def dial_callback(self, call_id: str, operator: str, number: str) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        self.recorder.callback_status(call_id, "dialling", operator)
        route = route_outside(number, parse_rules(self.directory.setting("dial_rules")),
                              self.lines_up())
        if route is None:
            self.defer(self._callback_failed, call, "no line is up")
            return
        line, dial = route
        try:
            leg = self.channels[line].originate(dial, CallerId(), PeerListener(self, call))
        except Unreachable as exc:
            self.defer(self._callback_failed, call, str(exc))
            return
        leg.call_id = call.id
        call.caller_leg = leg
        call.line = line
        call.state = "dialling"

    def _callback_failed(self, call: Call, why: str) -> None:
        log.info("callback %s to %s failed: %s", call.id, call.caller_number, why)
        self.recorder.callback_status(call.id, "failed")
        call.disposition = call.disposition or "callback failed"
        self.acd.call_ended(call.id, by="caller")
        self.hangup(call.operator_leg, Cause.NORMAL_CLEARING)
        self._finish(call, Cause.NO_ANSWER, "caller")

    # -- operator legs -----------------------------------------------------------------------
    def _ring_failed(self, call_id: str, operator: str, reason: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            call.rings.pop(operator, None)
            if not call.rings and call.state == "ringing":
                call.state = "queued"
        self.acd.ring_failed(call_id, operator, reason)
        self._sync_operator_states()

    def ring_answered(self, call: Call, operator: str, leg: Leg) -> None:
        if call.ended or call.rings.get(operator) is not leg:
            self.hangup(leg, Cause.NORMAL_CLEARING)  # too late: the call moved on
            return
        call.operator_leg = leg
        callback = call.state == "callback"
        self.acd.ring_answered(call.id, operator)
        view = self.acd.operator(operator)
        if view is None or view.status is not OperatorStatus.ON_CALL or view.call_id != call.id:
            call.operator_leg = None  # the ACD gave the call to someone else (ring-all race)
            call.rings.pop(operator, None)
            self.hangup(leg, Cause.NORMAL_CLEARING)
            return
        call.rings.pop(operator, None)
        call.operator = operator
        if callback:
            return  # dial_callback (called by the ACD) is dialling the customer now
        call.answered_at = self.clock.time()
        call.state = "connected"
        if self.media is not None:
            self.media.stop_hold(call)
        call.bridge = Bridge(call.caller_leg, leg)
        if self.media is not None:
            self.media.call_bridged(call)
        self.recorder.save_call(call)
        self.bus.publish("call.answered", call_id=call.id, operator=operator, queue=call.queue)
        self._sync_operator_states()

    def operator_leg_gone(self, call: Call, operator: str, leg: Leg, cause: Cause,
                          remote: bool) -> None:
        if call.rings.get(operator) is leg:  # the phone refused or failed while ringing
            reason = RING_FAIL_REASONS.get(cause, "noanswer")
            self.defer(self._ring_failed, call.id, operator, reason)
            return
        if call.operator_leg is not leg or call.ended:
            return  # a ring we stopped ourselves
        self.acd.call_ended(call.id, by="operator", hold_seconds=call.hold_seconds)
        self.hangup(call.caller_leg, Cause.NORMAL_CLEARING)
        self._finish(call, cause, "operator")

    # -- caller legs --------------------------------------------------------------------------
    def caller_gone(self, call: Call, leg: Leg, cause: Cause, remote: bool) -> None:
        if call.ended or leg is not call.caller_leg:
            return
        by = "caller" if remote else "system"
        # how the line told us (an analog line: loop_break, busy, silence...): all of them
        # are "normal clearing" in Q.850, and the record should still say which it was
        if remote and getattr(leg, "hangup_reason", None):
            call.data["line_hangup"] = leg.hangup_reason
        if call.state == "callback":
            return  # the caller hung up as agreed; the place is kept in the ACD
        if call.state in ("queued", "ringing"):
            self.acd.caller_hangup(call.id)
            for operator, ring in list(call.rings.items()):
                call.rings.pop(operator)
                self.hangup(ring, Cause.NORMAL_CLEARING)
            self.bus.publish("queue.leave", call_id=call.id, queue=call.queue, reason="abandon")
        elif call.state == "connected":
            if call.in_acd:
                self.acd.call_ended(call.id, by="caller", hold_seconds=call.hold_seconds)
            self.hangup(call.operator_leg, Cause.NORMAL_CLEARING)
        else:  # in a flow, or a transfer still ringing
            self.hangup(call.operator_leg, Cause.NORMAL_CLEARING)
        self._finish(call, cause, by)

    def caller_dtmf(self, call: Call, digit: str) -> None:
        self.bus.publish("call.dtmf", call_id=call.id, digit=digit)
        if self.media is not None and self.media.dtmf(call, digit):
            return  # a prompt or menu took the digit
        config = self.queue_configs.get(call.queue)
        if digit == CALLBACK_DIGIT and call.state in ("queued", "ringing") and config \
                and config.callback_enabled:
            self.request_callback(call)

    def media_frame(self, call: Call, leg: Leg, frame: bytes) -> None:
        if self.media is not None:
            self.media.frame(call, leg, frame)

    def leg_hold(self, call: Call, leg: Leg, on_hold: bool) -> None:
        call.hold(on_hold, self.clock.time())
        self.bus.publish("call.hold", call_id=call.id, on_hold=on_hold)

    # -- two-party calls: internal, outbound, callbacks ---------------------------------------
    def peer_answered(self, call: Call, leg: Leg) -> None:
        if call.ended:
            self.hangup(leg)
            return
        other = call.operator_leg if leg is call.caller_leg else call.caller_leg
        if call.state == "dialling":  # a kept place's customer answered
            self.recorder.callback_status(call.id, "done")
        elif call.data.get("callback_id"):  # a callback taken from the list
            self.recorder.callback_done(call.data["callback_id"], "done", call.operator)
        if other is not None and other.direction == "inbound" \
                and other.state is not LegState.ANSWERED:
            self.spawn(other.answer(), f"answer {call.id}")  # the side that dialled us
        call.answered_at = self.clock.time()
        call.state = "connected"
        call.bridge = Bridge(other, leg)
        self.recorder.save_call(call)
        self.bus.publish("call.answered", call_id=call.id, operator=call.operator,
                         queue=call.queue)

    def peer_gone(self, call: Call, leg: Leg, cause: Cause, remote: bool) -> None:
        if call.ended:
            return
        if call.state == "dialling" and leg is call.caller_leg:
            self._callback_failed(call, cause.label)
            return
        if call.data.get("callback_id") and call.answered_at is None:
            self.recorder.callback_done(call.data["callback_id"], "waiting", call.operator)
        if call.state == "connected" and call.in_acd and leg is call.caller_leg:
            self.acd.call_ended(call.id, by="caller")
            self.hangup(call.operator_leg, Cause.NORMAL_CLEARING)
            self._finish(call, cause, "caller")
            return
        other = call.caller_leg if leg is not call.caller_leg else call.operator_leg
        self.hangup(other, cause if cause != Cause.NORMAL_CLEARING else Cause.NORMAL_CLEARING)
        self._finish(call, cause, "operator" if leg is call.operator_leg else "caller")

    def click_to_call(self, operator: str, number: str, *, callback_id: int | None = None,
                      queue: str = "") -> Call:
        """Ring ``operator``'s phone; when they answer, dial ``number`` through a line.
        Raises :class:`Unreachable` when the phone is not registered."""
        extension = self.directory.operator_extension(operator)
        channel = self.phones_channel(extension) if extension else None
        if channel is None:
            raise Unreachable(f"{operator}'s phone is not registered", Cause.SUBSCRIBER_ABSENT)
        call = Call(new_call_id(), "callback" if callback_id else "outbound", "", number, "",
                    number, self.clock.time())
        call.operator, call.queue = operator, queue
        call.data["callback_id"] = callback_id
        leg = channel.originate(extension, CallerId(number, number),
                                ClickToCallListener(self, call))
        leg.call_id = call.id
        call.operator_leg = leg
        call.state = "click-ringing"
        self.calls[call.id] = call
        self.recorder.save_call(call)
        return call

    def test_flow(self, flow: str, extension: str) -> Call:
        """"Test this flow": ring the phone at ``extension``; when it answers, the phone is
        the caller of flow ``flow`` (it hears the prompts, its keys choose, a queue node
        really queues it).  The call is recorded with direction ``test`` so that reports of
        real traffic can leave it out.  Raises :class:`Unreachable` when no phone is
        registered there."""
        channel = self.phones_channel(extension)
        if channel is None or self.flow_starter is None:
            raise Unreachable(f"no phone is registered at {extension}", Cause.SUBSCRIBER_ABSENT)
        caller = CallerId(extension, f"flow test: {flow}")
        call = Call(new_call_id(), "test", channel.name, extension, caller.name, flow,
                    self.clock.time())
        call.data["flow_test"] = flow
        leg = channel.originate(extension, caller, FlowTestListener(self, call))
        leg.call_id = call.id
        call.caller_leg = leg
        call.state = "test-ringing"
        self.calls[call.id] = call
        self.recorder.save_call(call)
        self.bus.publish("call.incoming", call_id=call.id, line=call.line,
                         caller_number=extension, caller_name=caller.name, direction="test")
        return call

    def flow_test_answered(self, call: Call, leg: Leg) -> None:
        if call.ended or leg is not call.caller_leg or self.flow_starter is None:
            return
        call.state = "flow"
        if not self.flow_starter(call, call.data["flow_test"]):
            self.hangup(leg, Cause.NO_ROUTE_DESTINATION)

    def click_operator_answered(self, call: Call, leg: Leg) -> None:
        if call.ended or leg is not call.operator_leg:
            return
        route = route_outside(call.dialled, parse_rules(self.directory.setting("dial_rules")),
                              self.lines_up())
        if route is None:
            self.hangup(leg, Cause.NO_ROUTE_DESTINATION)
            return
        line, number = route
        call.line = line
        try:
            out = self.channels[line].originate(number, CallerId(), PeerListener(self, call))
        except Unreachable as exc:
            self.hangup(leg, exc.cause)
            return
        out.call_id = call.id
        call.caller_leg = out
        call.state = "dialling-peer"

    def dial_out_for(self, call: Call, number: str, line: str = "") -> None:
        """Connect a caller to an outside number (a flow's transfer node)."""
        lines = [line] if line and line in self.lines_up() else self.lines_up()
        route = route_outside(number, parse_rules(self.directory.setting("dial_rules")), lines)
        if route is None:
            self.hangup(call.caller_leg, Cause.NO_ROUTE_DESTINATION)
            return
        try:
            leg = self.channels[route[0]].originate(route[1], CallerId(),
                                                    PeerListener(self, call))
        except Unreachable as exc:
            self.hangup(call.caller_leg, exc.cause)
            return
        leg.call_id = call.id
        call.operator_leg = leg
        call.state = "dialling-peer"

    def connect_extension(self, call: Call, extension: str) -> None:
        channel = self.phones_channel(extension)
        if channel is None:
            self.hangup(call.caller_leg, Cause.SUBSCRIBER_ABSENT)
            return
        caller = call.caller_leg.caller if call.caller_leg else CallerId()
        try:
            leg = channel.originate(extension, caller, PeerListener(self, call))
        except Unreachable as exc:
            self.hangup(call.caller_leg, exc.cause)
            return
        leg.call_id = call.id
        call.operator_leg = leg
        call.operator = self.directory.operator_at(extension) or ""
        call.state = "dialling-peer"

    def _from_phone(self, leg: Leg) -> None:
        extension = leg.caller.number
        dialled = leg.dialled
        feature = parse_feature(dialled, self.directory.setting("feature_codes"))
        if feature is not None:
            self._feature(leg, extension, feature)
            return
        call = self._new_call(leg, "internal")
        if self.phones_channel(dialled) is not None or self.directory.is_extension(dialled):
            self.connect_extension(call, dialled)
            return
        call.direction = "outbound"
        route = route_outside(dialled, parse_rules(self.directory.setting("dial_rules")),
                              self.lines_up())
        if route is None:
            self.hangup(leg, Cause.NO_ROUTE_DESTINATION)
            return
        line, number = route
        call.line = line
        call.operator = self.directory.operator_at(extension) or ""
        try:
            out = self.channels[line].originate(number, CallerId(), PeerListener(self, call))
        except Unreachable as exc:
            self.hangup(leg, exc.cause)
            return
        out.call_id = call.id
        call.operator_leg, call.caller_leg = leg, out  # the customer is the "caller" side
        leg.listener = PeerListener(self, call)
        call.state = "dialling-peer"

    def _feature(self, leg: Leg, extension: str, feature) -> None:
        operator = (self.directory.operator_by_code(feature.argument)
                    if feature.action == "login" and feature.argument
                    else self.directory.operator_at(extension))
        ok = operator is not None
        if ok and feature.action == "login":
            self.directory.seat(operator, extension)
            self.acd.login(operator, reason="phone")
        elif ok and feature.action == "logout":
            self.acd.logout(operator, reason="phone")
        elif ok and feature.action == "pause":
            reasons = {**DEFAULT_PAUSE_REASONS, **(self.directory.setting("pause_reasons") or {})}
            self.acd.pause(operator, reasons.get(feature.argument, "pause"))
        elif ok and feature.action == "unpause":
            self.acd.unpause(operator)
        log.info("feature %s from %s -> %s", feature.action, extension, operator or "refused")
        self._sync_operator_states()
        self.spawn(self._confirm_feature(leg, ok), "feature")

    async def _confirm_feature(self, leg: Leg, ok: bool) -> None:
        if ok:
            await leg.answer()
            if self.media is not None:
                await self.media.confirm(leg)
            await leg.hangup(Cause.NORMAL_CLEARING)
        else:
            await leg.hangup(Cause.CALL_REJECTED)

    def transfer(self, call: Call, leg: Leg, target: str) -> None:
        """Blind transfer from the operator's phone (REFER): the caller goes to ``target``
        (an extension or queue:NAME), the operator's leg ends."""
        if call.ended or leg is not call.operator_leg or call.caller_leg is None:
            return
        self.recorder.queue_event(QueueEvent.TRANSFER, call_id=call.id, queue=call.queue,
                                  operator=call.operator, reason=target)
        if call.in_acd:
            self.acd.call_ended(call.id, by="operator")
        call.bridge = None
        call.operator_leg = None
        self.hangup(leg, Cause.NORMAL_CLEARING)
        call.data.setdefault("transfers", []).append({"from": call.operator, "to": target})
        if target.startswith("queue:"):
            call.queued_at = None
            self.enqueue(call, target.split(":", 1)[1])
        else:
            self.connect_extension(call, target)

    # -- the end of a call ------------------------------------------------------------------
    def _finish(self, call: Call, cause: Cause, by: str) -> None:
        if call.ended:
            return
        if self.media is not None:
            self.media.call_gone(call)
        call.bridge = None
        call.finish(self.clock.time(), cause, by)
        self.recorder.save_call(call)
        self.bus.publish("call.ended", call_id=call.id, queue=call.queue,
                         operator=call.operator, cause=int(cause), by=by,
                         talk_seconds=round(call.talk_seconds, 1))
        self.calls.pop(call.id, None)
        self._sync_operator_states()

    def set_disposition(self, call_id: str, disposition: str, note: str = ""):
        call = self.calls.get(call_id)
        if call is not None:
            call.disposition, call.note = disposition, note
        return self.recorder.update_call(call_id, disposition=disposition, note=note)

    # -- the queue log and operator states ------------------------------------------------------
    def _queue_log(self, event: QueueEvent, *, call_id: str = "", queue: str = "",
                   operator: str = "", reason: str = "", **data: Any) -> None:
        call = self.calls.get(call_id) if call_id else None
        # an installer's "test this flow" call is not traffic: the reports leave it out
        if call is None or call.direction != "test":
            self.recorder.queue_event(event, call_id=call_id, queue=queue, operator=operator,
                                      reason=reason, **data)
        if event is QueueEvent.LOGIN:
            self.recorder.session_login(operator, reason)
        elif event is QueueEvent.LOGOUT:
            self.recorder.session_logout(operator, reason)
        elif event is QueueEvent.WRAPUPEND and call_id and "seconds" in data:
            self.recorder.update_call(call_id, wrapup_seconds=data["seconds"])
        self.bus.publish("queue.event", event=event.value, call_id=call_id, queue=queue,
                         operator=operator, reason=reason)
        self._sync_operator_states()

    def _sync_operator_states(self) -> None:
        if self._sync_pending:
            return
        self._sync_pending = True
        self.clock.call_later(0, self._publish_operator_states)

    def _publish_operator_states(self) -> None:
        self._sync_pending = False
        for view in self.acd.operators():
            key = (view.status, view.reason, view.call_id)
            if self._op_states.get(view.name) != key:
                self._op_states[view.name] = key
                self.bus.publish("operator.state", operator=view.name,
                                 status=view.status.value, reason=view.reason,
                                 call_id=view.call_id)
                self._blf(view.name, view.status)

    def _blf(self, operator: str, status: OperatorStatus) -> None:
        """Show the operator's state on colleagues' busy-lamp keys (RFC 4235 states)."""
        extension = self.directory.operator_extension(operator)
        state = BLF_STATES[status]
        for channel in self.channels.values():
            setter = getattr(channel, "set_extension_state", None)
            if channel.role == "phones" and setter is not None and extension:
                setter(extension, state)
