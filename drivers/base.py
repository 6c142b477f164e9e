"""The one contract every channel driver speaks (DESIGN.md principle 2).

A *channel* is one thing that terminates call legs: a GSM modem, an FXO voice modem,
the SIP endpoint that serves the office's phones, a SIP trunk, the loopback test
driver.  A *leg* is one call on one channel.  The core sees only these two classes:

* events up, through the leg's :class:`LegListener`: ringing, early media, answered,
  hung up with a Q.850 cause, DTMF digit, audio frame, hold, transfer request;
* commands down, as leg methods: answer, hang up, send DTMF, send an audio frame;
  and :meth:`Channel.originate` for a new outbound leg.

Audio is always 20 ms of 8 kHz signed 16-bit little-endian mono: 320 bytes a frame.
Drivers convert at their edge (G.711 for RTP, the modem's PCM or 8-bit codec).

Drivers are found through the ``callbox.drivers`` entry-point group, by ``kind``.
"""

from __future__ import annotations

import enum
import itertools
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    from appliance.clock import Clock
    from appliance.events import EventBus

log = logging.getLogger(__name__)

FRAME_MS = 20
SAMPLE_RATE = 8000
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = FRAME_SAMPLES * 2  # 320: signed 16-bit little-endian mono
SILENCE = bytes(FRAME_BYTES)


class Cause(enum.IntEnum):
    """Hang-up causes: ITU-T Q.850 cause values (the numbers GSM and ISDN report)."""

    UNALLOCATED_NUMBER = 1
    NO_ROUTE_DESTINATION = 3
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    SUBSCRIBER_ABSENT = 20
    CALL_REJECTED = 21
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    NORMAL_UNSPECIFIED = 31
    NORMAL_CIRCUIT_CONGESTION = 34
    NETWORK_OUT_OF_ORDER = 38
    TEMPORARY_FAILURE = 41
    SWITCH_CONGESTION = 42
    REQUESTED_CHAN_UNAVAIL = 44
    BEARERCAPABILITY_NOTAVAIL = 58
    INCOMPATIBLE_DESTINATION = 88
    RECOVERY_ON_TIMER_EXPIRE = 102
    INTERWORKING = 127

    @property
    def label(self) -> str:
        return self.name.lower()


Presentation = Literal["allowed", "restricted", "unavailable"]


@dataclass(frozen=True, slots=True)
class CallerId:
    """Who is calling.  ``restricted`` = withheld by the caller, ``unavailable`` = the
    network did not deliver it (27.007 +CLIP validity, V.253 caller id 'O'/'P')."""

    number: str = ""
    name: str = ""
    presentation: Presentation = "allowed"

    @property
    def display(self) -> str:
        if self.presentation != "allowed":
            return self.presentation
        return self.number or "unknown"


class LegState(enum.Enum):
    NEW = "new"  # created, nothing sent or received yet
    RINGING = "ringing"  # alerting (inbound: ringing at us; outbound: far end alerting)
    EARLY = "early"  # early media flowing before answer
    ANSWERED = "answered"
    ENDED = "ended"


class LegListener:
    """What the core hears from a leg.  Override what you need; the rest are no-ops.

    Every method is called on the event loop, never from a thread.
    """

    def leg_ringing(self, leg: Leg) -> None: ...

    def leg_early_media(self, leg: Leg) -> None: ...

    def leg_answered(self, leg: Leg) -> None: ...

    def leg_hangup(self, leg: Leg, cause: Cause, remote: bool) -> None: ...

    def leg_dtmf(self, leg: Leg, digit: str) -> None: ...

    def leg_frame(self, leg: Leg, frame: bytes) -> None: ...

    def leg_hold(self, leg: Leg, on_hold: bool) -> None: ...

    def leg_transfer(self, leg: Leg, target: str, replaces: str | None) -> None: ...


_leg_ids = itertools.count(1)


class Leg(ABC):
    """One call on one channel.  Drivers subclass it and call the ``_emit_*`` helpers."""

    def __init__(
        self,
        channel: Channel,
        direction: Literal["inbound", "outbound"],
        caller: CallerId,
        dialled: str = "",
        listener: LegListener | None = None,
    ) -> None:
        self.id = f"{channel.name}-{next(_leg_ids)}"
        self.channel = channel
        self.direction = direction
        self.caller = caller
        self.dialled = dialled
        self.listener = listener or LegListener()
        self.state = LegState.NEW
        self.cause: Cause | None = None
        self.call_id: str | None = None  # set by the core, for logs that follow one call

    # -- commands from the core -------------------------------------------------------
    @abstractmethod
    async def answer(self) -> None:
        """Answer an inbound leg (takes the line off hook, sends 200 OK, ATA...)."""

    @abstractmethod
    async def hangup(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        """End the leg.  Idempotent; the driver emits ``leg_hangup(remote=False)``."""

    @abstractmethod
    async def send_dtmf(self, digits: str) -> None:
        """Send DTMF to the far end (RFC 4733, +VTS, in-band...)."""

    @abstractmethod
    def send_frame(self, frame: bytes) -> None:
        """Queue one 20 ms frame towards the far end.  Never blocks; a driver that
        cannot keep up drops the oldest audio rather than growing a backlog."""

    # -- helpers for drivers ----------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED

    def _emit_ringing(self) -> None:
        if self.state is LegState.NEW:
            self.state = LegState.RINGING
            self.listener.leg_ringing(self)

    def _emit_early_media(self) -> None:
        if self.state in (LegState.NEW, LegState.RINGING):
            self.state = LegState.EARLY
            self.listener.leg_early_media(self)

    def _emit_answered(self) -> None:
        if self.state not in (LegState.ANSWERED, LegState.ENDED):
            self.state = LegState.ANSWERED
            self.listener.leg_answered(self)

    def _emit_hangup(self, cause: Cause, remote: bool) -> None:
        """Report the end once; later reports of the same leg are ignored."""
        if self.state is LegState.ENDED:
            return
        self.state = LegState.ENDED
        self.cause = cause
        self.listener.leg_hangup(self, cause, remote)

    def _emit_dtmf(self, digit: str) -> None:
        if not self.ended:
            self.listener.leg_dtmf(self, digit)

    def _emit_frame(self, frame: bytes) -> None:
        if not self.ended:
            self.listener.leg_frame(self, frame)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.direction} {self.state.value}>"


class Unreachable(Exception):
    """``originate`` cannot place this leg now (no such extension, line down, busy)."""

    def __init__(self, message: str, cause: Cause = Cause.NO_ROUTE_DESTINATION) -> None:
        super().__init__(message)
        self.cause = cause


class ChannelHost(Protocol):
    """What the core offers a channel."""

    clock: Clock
    bus: EventBus

    def incoming(self, leg: Leg) -> None:
        """A new inbound leg: a call on a line, or a phone dialling out or a feature code.
        The host sets ``leg.listener`` before it returns."""

    def channel_changed(self, channel: Channel) -> None:
        """The channel's ``status()`` changed (registration, signal, a phone registered)."""


Role = Literal["line", "phones"]


class Channel(ABC):
    """A driver instance.  ``role`` is ``line`` for the public network side (GSM, FXO,
    SIP trunk) and ``phones`` for the side where operators' phones live."""

    kind: ClassVar[str]
    role: ClassVar[Role] = "line"

    def __init__(self, name: str, settings: Mapping[str, Any], host: ChannelHost) -> None:
        self.name = name
        self.settings = dict(settings)
        self.host = host

    @abstractmethod
    async def start(self) -> None:
        """Open ports/sockets and begin serving.  Must not raise for a missing device:
        report it through ``status()`` and keep retrying."""

    @abstractmethod
    async def stop(self) -> None:
        """End every live leg with a cause, then release the device."""

    @abstractmethod
    def originate(self, destination: str, caller: CallerId, listener: LegListener) -> Leg:
        """Start an outbound leg; progress comes through ``listener``.  Raises
        :class:`Unreachable` when it cannot even try."""

    def reaches(self, destination: str) -> bool:
        """Whether ``originate(destination)`` can succeed now.  Phones channels answer
        for extensions; line channels for public numbers when they are up."""
        return False

    @abstractmethod
    def status(self) -> dict[str, Any]:
        """Plain facts for the installer's page: ``state`` (``starting``, ``up``, ``down``,
        ``resetting``; only ``up`` lines are used for outbound calls) plus whatever the
        channel knows (model, IMEI, operator, signal, registered phones...)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def load_channel_class(kind: str) -> type[Channel]:
    """Find the driver class for ``kind`` through the ``callbox.drivers`` entry points."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="callbox.drivers"):
        if entry.name == kind:
            cls = entry.load()
            if not (isinstance(cls, type) and issubclass(cls, Channel)):
                raise TypeError(f"driver {kind!r} does not provide a Channel")
            return cls
    raise LookupError(f"no driver installed for line kind {kind!r}")


def available_kinds() -> list[str]:
    from importlib.metadata import entry_points

    return sorted(e.name for e in entry_points(group="callbox.drivers"))
