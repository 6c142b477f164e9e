"""Carries a simulated modem's two USB ports (AT and audio) over ptys or in-memory links,
and re-enumerates them after a reset, the way a USB modem drops off the bus and comes
back (on new tty names) after AT+CFUN=1,1.

The same simulator object runs on either carrier: on a pty the driver opens the slave
path with pyserial, exactly as it opens /dev/ttyUSB2; on memory links the driver gets
the link objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty
from collections.abc import Callable
from dataclasses import dataclass

from drivers.at.transport import ByteLink, MemoryLink

from .modem import GsmModemSim

log = logging.getLogger(__name__)

PTY_WRITE_CAP = 64 * 1024


class PtyEnd:
    """The modem's side of one pty: reads what the host wrote, writes without blocking."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF mangling: a USB CDC port is a raw byte pipe
        self.path = os.ttyname(slave)
        # Holding the slave open keeps the master readable before the driver opens it
        # and after it closes it (otherwise reads fail with EIO).
        self._slave = slave
        os.set_blocking(self.master, False)
        self._out = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_data: Callable[[bytes], None] = lambda data: None
        self.closed = False

    def serve(self, on_data: Callable[[bytes], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_data = on_data
        self._loop.add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return
        if data:
            self._on_data(data)

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self._out:
            try:
                sent = os.write(self.master, data)
            except BlockingIOError:
                sent = 0
            except OSError:
                return
            data = data[sent:]
            if not data:
                return
            assert self._loop is not None
            self._loop.add_writer(self.master, self._writable)
        self._out += data
        if len(self._out) > PTY_WRITE_CAP:  # nobody reads: lose the oldest, like a full FIFO
            del self._out[: len(self._out) - PTY_WRITE_CAP]

    def _writable(self) -> None:
        try:
            sent = os.write(self.master, self._out)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self._out)
        del self._out[:sent]
        if not self._out and self._loop is not None:
            self._loop.remove_writer(self.master)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._loop is not None:
            self._loop.remove_reader(self.master)
            self._loop.remove_writer(self.master)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class Ports:
    """Where the host finds the modem now: paths (pty) or link objects (memory)."""

    at_path: str = ""
    audio_path: str = ""
    at_link: ByteLink | None = None
    audio_link: ByteLink | None = None


class SimHost:
    def __init__(
        self,
        sim: GsmModemSim,
        *,
        carrier: str = "pty",
        reboot_seconds: float = 0.5,
        on_enumerate: Callable[[Ports], None] | None = None,
        link_dir: str | None = None,
        link_name: str = "modem",
    ) -> None:
        if carrier not in ("pty", "memory"):
            raise ValueError("carrier is 'pty' or 'memory'")
        self.sim = sim
        self.carrier = carrier
        self.reboot_seconds = reboot_seconds
        self.on_enumerate = on_enumerate or (lambda ports: None)
        self.ports = Ports()
        self.enumerations = 0
        # like the udev rule's /dev/callbox/ names: stable symlinks re-pointed on each
        # enumeration, removed while the modem is off the bus
        self.link_dir = link_dir
        self.link_name = link_name
        self._ends: list[PtyEnd | MemoryLink] = []
        self._next: list[PtyEnd] = []  # ptys taken for the next enumeration
        self._reboot = None
        self.closed = False
        sim.reset_requested = self.reenumerate

    def start(self) -> Ports:
        self._attach(self._make_pty_ends() if self.carrier == "pty" else None)
        return self.ports

    def _make_pty_ends(self) -> list[PtyEnd]:
        return [PtyEnd(), PtyEnd()]

    def _attach(self, ends: list[PtyEnd] | None) -> None:
        sim = self.sim
        if ends is not None:
            at, audio = ends
            at.serve(sim.at_in)
            audio.serve(sim.audio.received)
            sim.at_out = at.write
            sim.audio.out = audio.write
            self._ends = [at, audio]
            self.ports = Ports(at_path=at.path, audio_path=audio.path)
            self._symlink("at", at.path)
            self._symlink("audio", audio.path)
        else:
            at_host, at_modem = MemoryLink.pair()
            audio_host, audio_modem = MemoryLink.pair()
            at_modem.set_receiver(sim.at_in, lambda exc: None)
            audio_modem.set_receiver(sim.audio.received, lambda exc: None)
            sim.at_out = at_modem.write
            sim.audio.out = audio_modem.write
            self._ends = [at_modem, audio_modem]
            self.ports = Ports(at_link=at_host, audio_link=audio_host)
        self.enumerations += 1
        log.info("simulated %s enumerated: %s", sim.model, self.ports)
        self.on_enumerate(self.ports)

    def stable_path(self, role: str) -> str:
        assert self.link_dir is not None
        return os.path.join(self.link_dir, f"{self.link_name}-{role}")

    def _symlink(self, role: str, target: str) -> None:
        if self.link_dir is None:
            return
        path = self.stable_path(role)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.symlink(target, path)

    def unplug(self) -> None:
        """Drop off the bus: the host's open ports fail."""
        if self.link_dir is not None:
            for role in ("at", "audio"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.stable_path(role))
        self.sim.audio.stop()
        self.sim.at_out = lambda data: None
        self.sim.audio.out = lambda data: None
        for end in self._ends:
            end.close()
        self._ends = []
        self.ports = Ports()

    def reenumerate(self) -> None:
        """After a reset: off the bus now, back on new ports after ``reboot_seconds``.

        New ptys are taken before the old ones are freed, so the names really change
        (the kernel would otherwise hand back the same numbers)."""
        if self.closed:
            return
        fresh = self._make_pty_ends() if self.carrier == "pty" else None
        self._next = fresh or []
        self.unplug()
        self._reboot = self.sim.clock.call_later(self.reboot_seconds, self._replug, fresh)

    def _replug(self, fresh: list[PtyEnd] | None) -> None:
        self._next = []
        self._reboot = None
        if not self.closed:
            self._attach(fresh)

    def close(self) -> None:
        self.closed = True
        if self._reboot is not None:
            self._reboot.cancel()
        self.unplug()
        for end in self._next:
            end.close()
        self._next = []
