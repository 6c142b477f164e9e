"""Finding a voice modem again after it left the bus (unplugged, reset, renumbered).

A USB voice modem has no IMEI; what stays the same across a renumbering is the physical
USB socket it sits in (the USB device's sysfs name, e.g. ``1-1.2``) and its VID:PID.
That is its identity here.  Ports are listed with the shared hotplug code's udev reader
(:func:`drivers.hotplug.port_from_udev`) and filtered by this driver's model table.
The supervisor asks :meth:`VoiceModemLocator.wait_for` (the ``Locator`` protocol).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from appliance.clock import Clock

from . import models

log = logging.getLogger(__name__)

RESCAN_SECONDS = 2.0

Found = tuple[str, str]  # (identity, tty device node)


def identity_for(vendor: int, product: int, usb_device: str) -> str:
    return f"usb:{vendor:04x}:{product:04x}:{usb_device.rsplit('/', 1)[-1]}"


def scan_voice_modems() -> list[Found]:
    """(identity, /dev/ttyACMn) of every voice modem in the model table, via udev."""
    import pyudev

    from drivers.hotplug import port_from_udev

    found = []
    for device in pyudev.Context().list_devices(subsystem="tty"):
        port = port_from_udev(device)
        if port is not None and models.by_usb(port.vendor, port.product) is not None:
            found.append((identity_for(port.vendor, port.product, port.usb_device),
                          port.devnode))
    return sorted(found)


def found_modems(scan: Callable[[], list[Found]] | None = None) -> list[dict[str, str]]:
    """Voice modems on the bus now, for the installer's "hardware found" list."""
    rows = []
    for identity, devnode in (scan or scan_voice_modems)():
        _, vid, pid, socket = identity.split(":", 3)
        model = models.by_usb(int(vid, 16), int(pid, 16)) or models.GENERIC
        rows.append({"kind": "fxo", "port": devnode, "model": model.key,
                     "model_name": model.name, "usb_id": f"{vid}:{pid}", "socket": socket})
    return rows


class VoiceModemLocator:
    finds_voice_modems = True  # what FxoChannel checks before trusting a locator

    def __init__(self, clock: Clock, scan: Callable[[], list[Found]] | None = None,
                 rescan_seconds: float = RESCAN_SECONDS) -> None:
        self.clock = clock
        # looked up at each scan, not bound here, so a test can stand in for udev
        self.scan = scan or (lambda: scan_voice_modems())
        self.rescan_seconds = rescan_seconds

    def present(self) -> list[Found]:
        try:
            return self.scan()
        except Exception:  # no udev (a container): nothing found, never a crash
            log.exception("listing voice modems failed")
            return []

    async def wait_for(self, identity: str, timeout: float) -> dict[str, str] | None:
        deadline = self.clock.monotonic() + timeout
        while True:
            for ident, devnode in self.present():
                if ident == identity:
                    return {"at": devnode}
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return None
            await self._pause(min(remaining, self.rescan_seconds))

    async def _pause(self, seconds: float) -> None:
        done = asyncio.get_running_loop().create_future()
        timer = self.clock.call_later(seconds, lambda: done.done() or done.set_result(None))
        try:
            await done
        finally:
            timer.cancel()
