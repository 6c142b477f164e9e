"""The voice modem's one serial port, split between the AT engine and the voice stream.

A V.253 modem speaks text in command state and DLE-shielded audio in the voice data
states; the switch happens on the ``CONNECT`` line of +VRX/+VTR, and back on the
<DLE><ETX> the modem appends.  Both can arrive in one USB read, so the split is done
here, byte-exactly, before the AT line parser sees anything:

* command state: DLE pairs (events such as <DLE>R or <DLE>b between result lines) are
  taken out; the text goes to the engine;
* waiting for CONNECT: whole lines go to the engine; the bytes after ``CONNECT`` are
  stream;
* stream: audio and events go to the driver; the bytes after <DLE><ETX> are text again.

:class:`V253Protocol` adds the voice modem's own lines to the shared AT parser: the
caller id tags (unsolicited) and the ``VCON`` voice-connection result.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from drivers.at.protocol import AtProtocol, Command, Event, FinalResult, Urc
from drivers.at.transport import ByteLink

from .callerid import parse_tagged
from .dle import DleDecoder, DleEvent, EndOfStream

log = logging.getLogger(__name__)

VCON = "VCON"  # V.253 table 7: voice connection (answered, in voice mode)


class V253Protocol(AtProtocol):
    def send_command(self, command: Command) -> bytes:
        """A command that is a DLE pair (<DLE>^, <DLE>!, <DLE><ETX>) goes out bare: it ends
        a stream, and the modem's OK after its <DLE><ETX> is this command's final."""
        if command.text.startswith("\x10"):
            super().send_command(command)
            return command.text.encode("latin-1")
        return super().send_command(command)

    def _classify(self, line: str, raw: bytes) -> Event | None:
        tagged = parse_tagged(line)
        if tagged is not None:
            return Urc(tagged[0], line)
        if line == VCON:
            cmd = self._command
            if cmd is not None and cmd.dial:
                self._command = None
                return FinalResult(VCON)
            return Urc(VCON, line)
        return super()._classify(line, raw)


class Mode(enum.Enum):
    COMMAND = "command"
    AWAIT_CONNECT = "await_connect"
    STREAM = "stream"


class VoicePort(ByteLink):
    """Wraps the real link; the AT engine is its receiver for text."""

    def __init__(
        self,
        link: ByteLink,
        on_audio: Callable[[bytes], None],
        on_event: Callable[[DleEvent], None],
        on_stream_end: Callable[[], None],
    ) -> None:
        super().__init__()
        self.link = link
        self.on_audio = on_audio
        self.on_event = on_event
        self.on_stream_end = on_stream_end
        self.mode = Mode.COMMAND
        self._command_dle = DleDecoder()
        self._stream = DleDecoder()
        self._lines = bytearray()
        self._skip_lf = False
        self._incoming = True
        self.audio_bytes = 0
        link.set_receiver(self._on_data, self._on_lost)

    # -- ByteLink face for the engine ----------------------------------------------------
    def write(self, data: bytes) -> None:
        self.link.write(data)

    def close(self) -> None:
        self.closed = True
        self.link.close()

    def _on_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._lost(exc)

    # -- mode switches, called by the driver ---------------------------------------------
    def expect_stream(self, incoming: bool = True) -> None:
        """The next ``CONNECT`` line starts a voice stream (sent +VRX, +VTR or +VTX).

        After +VTX's CONNECT the modem sends no audio, only events: command state
        (which takes DLE events out) serves, ``incoming`` is false."""
        self.mode = Mode.AWAIT_CONNECT
        self._incoming = incoming
        self._lines.clear()

    def command_mode(self) -> None:
        """The stream command failed or the stream was given up: text from here on."""
        if self.mode is Mode.AWAIT_CONNECT and self._lines:
            pending = bytes(self._lines)
            self._lines.clear()
            self.mode = Mode.COMMAND
            self._text(pending)
        self.mode = Mode.COMMAND

    # -- bytes up ------------------------------------------------------------------------
    def _on_data(self, data: bytes) -> None:
        while data:
            if self.mode is Mode.STREAM:
                data = self._stream_bytes(data)
            elif self.mode is Mode.AWAIT_CONNECT:
                data = self._await_connect(data)
            else:
                self._text(data)
                data = b""

    def _text(self, data: bytes) -> None:
        items = self._command_dle.feed(data)
        text = bytearray()
        for item in items:
            if isinstance(item, bytes):
                text += item
            elif isinstance(item, DleEvent):
                if text:
                    self._receiver(bytes(text))
                    text.clear()
                self.on_event(item)
        if self._command_dle.ended:  # a late <DLE><ETX> after a stream: nothing to end
            rest = self._command_dle.rest
            self._command_dle.reset()
            text += rest
        if text:
            self._receiver(bytes(text))

    def _await_connect(self, data: bytes) -> bytes:
        self._lines += data
        while True:
            cut = min((i for i in (self._lines.find(b"\r"), self._lines.find(b"\n")) if i >= 0),
                      default=-1)
            if cut < 0:
                return b""
            line = bytes(self._lines[: cut + 1])
            del self._lines[: cut + 1]
            self._text(line)
            if line.strip() == b"CONNECT":
                if not self._incoming:
                    self.mode = Mode.COMMAND
                    rest = bytes(self._lines)
                    self._lines.clear()
                    return rest
                self.mode = Mode.STREAM
                self._stream.reset()
                rest = bytes(self._lines)
                self._lines.clear()
                # CRLF may be split over two reads: the LF is not audio
                self._skip_lf = line.endswith(b"\r")
                return rest
            if self.mode is not Mode.AWAIT_CONNECT:
                rest = bytes(self._lines)
                self._lines.clear()
                return rest

    def _stream_bytes(self, data: bytes) -> bytes:
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        for item in self._stream.feed(data):
            if isinstance(item, bytes):
                self.audio_bytes += len(item)
                self.on_audio(item)
            elif isinstance(item, DleEvent):
                self.on_event(item)
            elif isinstance(item, EndOfStream):
                self.mode = Mode.COMMAND
                rest = self._stream.rest
                self._stream.reset()
                self.on_stream_end()
                return rest
        return b""
