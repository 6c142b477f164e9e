"""Fire-and-forget tasks that are kept referenced and whose failures are logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from appliance.clock import Clock

log = logging.getLogger(__name__)


class TaskSet:
    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.warning("%s failed: %s", task.get_name(), exc, exc_info=exc)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()


async def sleep(clock: Clock, seconds: float) -> None:
    """Sleep on the injected clock (a VirtualClock moves it in tests)."""
    future = asyncio.get_running_loop().create_future()
    timer = clock.call_later(seconds, lambda: future.done() or future.set_result(None))
    try:
        await future
    finally:
        timer.cancel()
