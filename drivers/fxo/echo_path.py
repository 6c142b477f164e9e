"""The line echo canceller for analog legs, from ``appliance.media.echo`` (the media
area's NLMS canceller with double-talk detection).

Only analog legs pay for it: the FXO call asks for one per call, SIP and GSM legs never
do.  Until the media package ships its canceller this returns None, the call runs
without one, and ``status()`` says so (``echo_canceller: false``).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

log = logging.getLogger(__name__)


def make_echo_canceller(**options: Any) -> Any | None:
    try:
        echo = importlib.import_module("appliance.media.echo")
    except ImportError:
        return None
    factory = getattr(echo, "EchoCanceller", None)
    if factory is None:
        log.warning("appliance.media.echo has no EchoCanceller; line echo stays")
        return None
    return factory(**options)
