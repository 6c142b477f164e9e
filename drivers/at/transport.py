"""Thin transports under the AT engine and the audio pump.

:class:`SerialPort` opens a tty (a USB modem's port or a simulator's pty) with pyserial
for the termios set-up, then reads and writes its file descriptor non-blocking from the
event loop (``loop.add_reader``): no thread per port.  :class:`MemoryLink` is an
in-memory pair with the same face, so a simulator runs on either.

Both cap what they hold: a modem that stops reading does not grow our memory, it loses
the oldest bytes (and the engine's timeout notices the silence).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Callable

import serial

log = logging.getLogger(__name__)

Receiver = Callable[[bytes], None]
LostHandler = Callable[[Exception | None], None]

MAX_WRITE_BUFFER = 64 * 1024
READ_CHUNK = 4096


class PortError(Exception):
    """The port cannot be opened (missing, busy, permission): the message says which."""


class ByteLink:
    """What a transport offers: write bytes, close; bytes and loss come to the receiver."""

    def __init__(self) -> None:
        self._receiver: Receiver = lambda data: None
        self._lost: LostHandler = lambda exc: None
        self.closed = False
        self.dropped = 0  # bytes dropped because the far side did not read

    def set_receiver(self, on_data: Receiver, on_lost: LostHandler) -> None:
        self._receiver = on_data
        self._lost = on_lost

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SerialPort(ByteLink):
    def __init__(self, path: str, baudrate: int = 115200, max_buffer: int = MAX_WRITE_BUFFER,
                 align: int = 1):
        super().__init__()
        self.path = path
        self.align = align  # drop whole units (2 = PCM samples), so audio never shifts a byte
        self.baudrate = baudrate
        self.max_buffer = max_buffer
        self._serial: serial.Serial | None = None
        self._fd = -1
        self._out = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> None:
        """Open the port and start reading (on the running loop)."""
        self._loop = asyncio.get_running_loop()
        try:
            self._serial = serial.Serial(
                self.path, self.baudrate, timeout=0, write_timeout=0, exclusive=True
            )
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"cannot open {self.path}: {exc}") from exc
        self._fd = self._serial.fileno()
        os.set_blocking(self._fd, False)
        self._loop.add_reader(self._fd, self._on_readable)

    def write(self, data: bytes) -> None:
        if self.closed or self._fd < 0:
            return
        if self._out:
            self._queue(data)
            return
        try:
            sent = os.write(self._fd, data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._fail(exc)
            return
        if sent < len(data):
            self._queue(data[sent:])
            assert self._loop is not None
            self._loop.add_writer(self._fd, self._on_writable)

    def _queue(self, data: bytes) -> None:
        self._out += data
        excess = len(self._out) - self.max_buffer
        if excess > 0:
            excess += -excess % self.align
            del self._out[:excess]
            self.dropped += excess

    def _on_writable(self) -> None:
        try:
            sent = os.write(self._fd, self._out)
        except BlockingIOError:
            return
        except OSError as exc:
            self._fail(exc)
            return
        del self._out[:sent]
        if not self._out and self._loop is not None:
            self._loop.remove_writer(self._fd)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: the USB device went away (or the pty's master closed)
            self._fail(exc)
            return
        if not data:
            self._fail(None)
            return
        self._receiver(data)

    def _fail(self, exc: Exception | None) -> None:
        if self.closed:
            return
        if exc is not None and getattr(exc, "errno", None) not in (errno.EIO, errno.ENXIO):
            log.warning("%s: %s", self.path, exc)
        self.close()
        self._lost(exc)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._fd >= 0 and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        if self._serial is not None:
            with contextlib.suppress(Exception):
                self._serial.close()
        self._fd = -1


class MemoryLink(ByteLink):
    """One end of an in-memory pair; bytes reach the peer on the next loop iteration."""

    def __init__(self, max_buffer: int = MAX_WRITE_BUFFER) -> None:
        super().__init__()
        self.peer: MemoryLink | None = None
        self.max_buffer = max_buffer
        self._pending = 0

    @classmethod
    def pair(cls) -> tuple[MemoryLink, MemoryLink]:
        a, b = cls(), cls()
        a.peer, b.peer = b, a
        return a, b

    def write(self, data: bytes) -> None:
        peer = self.peer
        if self.closed or peer is None or peer.closed:
            return
        if self._pending + len(data) > self.max_buffer:
            self.dropped += len(data)
            return
        self._pending += len(data)
        asyncio.get_running_loop().call_soon(self._deliver, peer, bytes(data))

    def _deliver(self, peer: MemoryLink, data: bytes) -> None:
        self._pending -= len(data)
        if not peer.closed:
            peer._receiver(data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        peer = self.peer
        if peer is not None and not peer.closed:
            peer.closed = True
            asyncio.get_running_loop().call_soon(peer._lost, OSError(errno.EIO, "link closed"))
