"""DLE shielding of a V.253 voice stream, with no I/O.

In the voice data states (+VRX, +VTX, +VTR) every byte is audio except a <DLE> (0x10)
and the byte after it: <DLE><DLE> stands for one data 0x10, <DLE><ETX> ends the stream,
any other pair is an event (DCE to DTE: a DTMF digit, busy, silence...) or an action
(DTE to DCE: end transmit, abort receive...).  ITU-T V.253 clause 9.2 / 10.1.1; the
codes follow V.253 table 14 and Conexant's command reference ("<DLE> shielded codes").

:func:`shield` and :class:`DleDecoder` are pure: the decoder keeps only a dangling
<DLE> across chunks, so a pair split over two reads is still one pair.
"""

from __future__ import annotations

from dataclasses import dataclass

DLE = 0x10
ETX = 0x03
CAN = 0x18  # V.253 10.1.1: DTE clears the DCE's transmit buffer
SUB = 0x1A  # V.253: <DLE><SUB> = two data DLEs (an optional compact form)

# DTE -> DCE actions (V.253 table 15; Conexant table "codes sent to the modem")
END_TRANSMIT = bytes((DLE, ETX))  # ends +VTX (the modem plays out, then OK)
CLEAR_TRANSMIT = bytes((DLE, CAN))
RECEIVE_ABORT = b"\x10!"  # ends +VRX (modem answers <DLE><ETX> OK)
DUPLEX_END = b"\x10^"  # ends +VTR (modem answers <DLE><ETX> OK)

# DCE -> DTE event codes (V.253 table 14, Conexant "codes sent to the DTE")
DTMF_DIGITS = "0123456789*#ABCD"
EVENT_NAMES: dict[str, str] = {
    "b": "busy",
    "d": "dial_tone",
    "s": "silence",  # presumed hang-up: no voice at all for +VSD's interval
    "q": "quiet",  # presumed end of message: voice, then silence for +VSD's interval
    "l": "loop_break",  # loop current interruption: the far end hung up (or the CO did)
    "L": "loop_reversal",
    "R": "ring",
    "r": "ringback",
    "h": "handset_on_hook",
    "H": "handset_off_hook",
    "c": "fax_calling",
    "e": "data_calling",
    "a": "answer_tone",
    "f": "data_answer",
    "o": "receive_overrun",
    "u": "transmit_underrun",
    "T": "timing_mark",
    "$": "bong_tone",
    "/": "dtmf_start",  # Conexant: brackets a shielded DTMF digit's duration
    "~": "dtmf_end",
    "!": "receive_abort",
    "^": "duplex_end",
    "p": "pause",
    "\x18": "clear_transmit",
}


@dataclass(frozen=True, slots=True)
class DleEvent:
    """One <DLE><code> pair that is not data: ``code`` is the byte after the DLE."""

    code: str

    @property
    def dtmf(self) -> str | None:
        return self.code if self.code in DTMF_DIGITS else None

    @property
    def name(self) -> str:
        if self.code in DTMF_DIGITS:
            return "dtmf"
        return EVENT_NAMES.get(self.code, "unknown")

    @property
    def known(self) -> bool:
        return self.name != "unknown"


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """<DLE><ETX>: the voice data state is over; what follows is command-mode text."""


def shield(data: bytes) -> bytes:
    """Audio bytes as they go on the wire: every 0x10 doubled."""
    return data.replace(b"\x10", b"\x10\x10")


def event_bytes(code: str) -> bytes:
    return bytes((DLE,)) + code.encode("latin-1")


class DleDecoder:
    """Splits a shielded stream into audio and events.

    ``feed`` returns a list of ``bytes`` (audio, never empty), :class:`DleEvent` and at
    most one :class:`EndOfStream`, in stream order.  After the end of the stream the
    decoder stops and ``rest`` holds the unread bytes, which belong to command mode.
    """

    def __init__(self) -> None:
        self._dangling = False
        self.ended = False
        self.rest = b""
        self.unknown_codes = 0

    def reset(self) -> None:
        self._dangling = False
        self.ended = False
        self.rest = b""

    def feed(self, data: bytes) -> list[bytes | DleEvent | EndOfStream]:
        if self.ended:
            self.rest += data
            return []
        out: list[bytes | DleEvent | EndOfStream] = []
        audio = bytearray()
        i = 0
        if self._dangling and data:
            self._dangling = False
            self._pair(data[0], audio, out)
            i = 1
            if self.ended:
                self._flush(audio, out)
                self.rest = data[1:]
                return out
        n = len(data)
        while i < n:
            j = data.find(b"\x10", i)
            if j < 0:
                audio += data[i:]
                break
            audio += data[i:j]
            if j + 1 >= n:
                self._dangling = True
                break
            self._pair(data[j + 1], audio, out)
            i = j + 2
            if self.ended:
                self._flush(audio, out)
                self.rest = data[i:]
                return out
        self._flush(audio, out)
        return out

    def _pair(self, code: int, audio: bytearray, out: list) -> None:
        if code == DLE:
            audio.append(DLE)
        elif code == SUB:
            audio += b"\x10\x10"
        elif code == ETX:
            self._flush(audio, out)
            out.append(EndOfStream())
            self.ended = True
        else:
            self._flush(audio, out)
            event = DleEvent(chr(code))
            if not event.known:
                self.unknown_codes += 1
            out.append(event)

    @staticmethod
    def _flush(audio: bytearray, out: list) -> None:
        if audio:
            out.append(bytes(audio))
            audio.clear()


def split_events(data: bytes, decoder: DleDecoder) -> tuple[bytes, list[DleEvent]]:
    """Command-state helper: the text with DLE pairs taken out, and those events.

    In voice command state a modem may report events (<DLE>R, <DLE>b) between result
    lines; they must not reach the AT line parser."""
    text = bytearray()
    events: list[DleEvent] = []
    for item in decoder.feed(data):
        if isinstance(item, bytes):
            text += item
        elif isinstance(item, DleEvent):
            events.append(item)
    return bytes(text), events
