"""Keeps a line's hardware alive: when a modem stops answering or its port vanishes, end
its calls with a cause, reset it softly (AT, ATZ), then hard (AT+CFUN=1,1), wait for it
to come back (possibly on another tty, found by identity), and bring the line up again.

Shared by the GSM and FXO drivers: the driver implements :class:`Supervised`; a
:class:`Locator` (hotplug, or a test's registry) finds a device by identity.  Retries are
counted and their delays come from the injected clock.  Nothing here lets an exception
escape the task: the daemon never dies of a modem.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Protocol

from appliance.clock import Clock
from drivers.base import Cause

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
REENUMERATE_SECONDS = 60.0
RESET_AFTER_FAILURES = 3  # a device that keeps not answering gets another hard reset
LINE_DOWN = Cause.NETWORK_OUT_OF_ORDER


class Supervised(Protocol):
    name: str
    identity: str | None  # e.g. the IMEI, learnt at the first connect

    async def connect(self) -> None:
        """Open the ports and bring the line up; raise (with a message in words) if not."""

    async def wait_down(self) -> str:
        """Return, with the reason, once the device is unhealthy or its port is gone."""

    async def soft_reset(self) -> bool:
        """Try AT and ATZ on the open port; True when it answers again."""

    async def hard_reset(self) -> None:
        """Restart the device (AT+CFUN=1,1); it will drop off the bus and come back."""

    def disconnect(self, cause: Cause) -> None:
        """End every call with ``cause`` and close the ports."""

    def relocate(self, ports: dict[str, str]) -> None:
        """The device came back on these ports."""

    def set_state(self, state: str, problem: str = "") -> None: ...


class Locator(Protocol):
    async def wait_for(self, identity: str, timeout: float) -> dict[str, str] | None:
        """The ports of the device with this identity once it is (again) present."""


class Supervisor:
    def __init__(self, target: Supervised, clock: Clock, locator: Locator | None = None,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.target = target
        self.clock = clock
        self.locator = locator
        self.retry_seconds = retry_seconds
        self.soft_resets = 0
        self.hard_resets = 0
        self.failures = 0
        self.connects = 0
        self._failing = 0  # connect failures in a row
        self._task: asyncio.Task | None = None
        self.up = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"supervise {self.target.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # the task's own CancelledError is its result; ours (a stop that is itself
            # cancelled) still propagates
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.target.disconnect(Cause.NORMAL_CLEARING)

    async def _run(self) -> None:
        while True:
            try:
                await self._cycle()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one cycle must not end supervision
                log.exception("%s: supervisor cycle failed", self.target.name)
                await self._sleep(self.retry_seconds)

    async def _cycle(self) -> None:
        target = self.target
        try:
            await target.connect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            self._failing += 1
            target.set_state("down", str(exc))
            log.warning("%s: not up: %s", target.name, exc)
            # the device is there but deaf (the last reset did not take): reset it again;
            # not for problems a reset cannot fix (no SIM card, a wrong PIN)
            if getattr(exc, "reset_helps", False) and self._failing % RESET_AFTER_FAILURES == 0:
                self.hard_resets += 1
                await target.hard_reset()
            target.disconnect(LINE_DOWN)
            await self._sleep(self.retry_seconds)
            await self._find_again(self.retry_seconds)
            return
        self.connects += 1
        self._failing = 0
        self.up.set()
        reason = await target.wait_down()
        self.up.clear()
        log.warning("%s: down: %s", target.name, reason)
        target.set_state("resetting", reason)
        if reason != "port lost":
            if await target.soft_reset():
                self.soft_resets += 1
                target.disconnect(LINE_DOWN)
                return
            self.hard_resets += 1
            await target.hard_reset()
        target.disconnect(LINE_DOWN)
        await self._find_again(REENUMERATE_SECONDS)

    async def _find_again(self, timeout: float) -> None:
        """Wait for the device to reappear by identity (or just wait, without a locator).

        A line configured by a stable name (a udev symlink, a simulator's link) comes
        back at the same path: look at it between the locator's searches, so such a
        line is not held down for the whole re-enumeration timeout."""
        identity = self.target.identity
        if self.locator is None or not identity:
            await self._sleep(self.retry_seconds)
            return
        deadline = self.clock.monotonic() + timeout
        while self.clock.monotonic() < deadline:
            step = min(self.retry_seconds, max(0.0, deadline - self.clock.monotonic()))
            ports = await self.locator.wait_for(identity, step)
            if ports:
                self.target.relocate(ports)
                return
            if self._configured_ports_present():
                return

    def _configured_ports_present(self) -> bool:
        settings = getattr(self.target, "settings", {}) or {}
        paths = [str(settings[k]) for k in ("at", "port") if settings.get(k)]
        return bool(paths) and all(os.path.exists(p) for p in paths)

    async def _sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        timer = self.clock.call_later(seconds, lambda: future.done() or future.set_result(None))
        try:
            await future
        finally:
            timer.cancel()
