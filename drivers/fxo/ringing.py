"""An incoming call before it is answered: rings, caller id, and a caller who gives up.

The caller id burst comes between the first and the second ring (Bellcore GR-30,
ETSI EN 300 659-1 for the FSK variant), so the call is offered to the core as soon as
the caller id is complete, at the second ring without one, or when the first ring's
wait runs out.  Analog lines never say "caller hung up" before answer: the rings just
stop.  No RING for ``ring_timeout_seconds`` (a ring cycle and some margin) means the
caller is gone, and the leg ends, offered or not, so nobody is left "on the line".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from appliance.clock import Clock, Timer
from drivers.base import CallerId

from .callerid import CallerIdReport, parse_tagged

CID_SETTLE_SECONDS = 0.3  # the tags come as one burst; wait for its last line


class RingSession:
    def __init__(
        self,
        clock: Clock,
        settings: Mapping[str, Any],
        on_offer: Callable[[CallerId, str], None],
        on_abandoned: Callable[[], None],
    ) -> None:
        self.clock = clock
        self.ring_timeout = float(settings.get("ring_timeout_seconds", 8.0))
        self.first_wait = float(settings.get("caller_id_wait_seconds", 6.0))
        self.on_offer = on_offer
        self.on_abandoned = on_abandoned
        self.report = CallerIdReport()
        self.rings = 0
        self.offered = False
        self.cancelled = False
        self._watchdog: Timer | None = None
        self._offer_timer: Timer | None = None

    def urc(self, name: str, line: str) -> None:
        if self.cancelled:
            return
        if name == "RING":
            self._ring()
            return
        tagged = parse_tagged(line)
        if tagged is not None:
            self.report.add(*tagged)
            if tagged[0] in ("NMBR", "NAME", "DDN_NMBR") and not self.offered:
                self._offer_in(CID_SETTLE_SECONDS)

    def _ring(self) -> None:
        self.rings += 1
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = self.clock.call_later(self.ring_timeout, self._rings_stopped)
        if self.rings == 1:
            self._offer_in(self.first_wait)
        else:
            self._offer()

    def _offer_in(self, seconds: float) -> None:
        if self._offer_timer is not None:
            self._offer_timer.cancel()
        self._offer_timer = self.clock.call_later(seconds, self._offer)

    def _offer(self) -> None:
        if self.offered or self.cancelled:
            return
        self.offered = True
        if self._offer_timer is not None:
            self._offer_timer.cancel()
        self.on_offer(self.report.caller_id(), self.report.when)

    def _rings_stopped(self) -> None:
        if self.cancelled:
            return
        self._offer()  # a call that rang is a missed call even if it hung up quickly
        self.cancel()
        self.on_abandoned()

    def cancel(self) -> None:
        self.cancelled = True
        for timer in (self._watchdog, self._offer_timer):
            if timer is not None:
                timer.cancel()
