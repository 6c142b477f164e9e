"""A :class:`QueueLog` that records the ACD's events in ``call_events`` through the store's
one writer (group commit, off the event loop).  The reports read exactly these rows.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from .api import QueueEvent

log = logging.getLogger(__name__)

INSERT = ("INSERT INTO call_events (ts, call_id, queue, operator, event, reason, data) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)")


class StoreQueueLog:
    """``StoreQueueLog(store.writer, clock)``; pass it to ``Acd`` as ``log``.

    Each event is stamped with ``clock.time()`` (UTC epoch) when the ACD logs it, so
    the row's time is the decision's time, not the commit's.
    """

    def __init__(self, writer: Any, clock: Any) -> None:
        self.writer = writer
        self.clock = clock

    def __call__(self, event: QueueEvent, *, call_id: str = "", queue: str = "",
                 operator: str = "", reason: str = "", **data: Any) -> None:
        try:
            payload = json.dumps(data, allow_nan=False, ensure_ascii=False)
        except ValueError:
            # SQLite's JSON functions reject NaN/Infinity: keep the event, drop the number
            log.warning("queue-log %s for %s: non-finite value in %r", event.value, call_id,
                        data)
            payload = json.dumps({k: _finite(v) for k, v in data.items()}, ensure_ascii=False)
        future = self.writer.execute(INSERT, (self.clock.time(), call_id, queue, operator,
                                              event.value, reason, payload))
        future.add_done_callback(self._failed)

    @staticmethod
    def _failed(future: Any) -> None:
        if future.exception() is not None:
            log.error("queue-log write failed: %s", future.exception())


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
