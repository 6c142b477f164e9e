"""AT command protocol with no I/O (ITU-T V.250, 3GPP TS 27.007 / 27.005).

Bytes from the modem go in through :meth:`AtProtocol.receive_data`; events come out:
:class:`FinalResult`, :class:`InfoLine`, :class:`Urc`, :class:`Prompt`, :class:`Echo`,
:class:`Noise`.  Commands go in through :meth:`AtProtocol.send_command`; bytes come out.

A line's meaning comes from its content and from what the command in flight said it
expects (its information-response prefixes, bare lines, a "> " prompt, dial results),
never from whether someone happens to be waiting.  So a ``+CLIP:`` line is an
information response while ``AT+CLIP?`` is in flight and an unsolicited result code at
any other time, and a ``RING`` in the middle of ``AT+CSQ``'s answer is still a URC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# V.250 5.7.1: final result codes, and 27.007 9.2 / 27.005 3.2.5 error finals.
OK = "OK"
ERROR = "ERROR"
CME_ERROR = "+CME ERROR"
CMS_ERROR = "+CMS ERROR"
# V.250 6.3.1 (D) results: final for a dial/answer command, unsolicited otherwise
# (a voice ATD...; answers OK at once, then BUSY/NO CARRIER arrive on their own).
DIAL_RESULTS = ("NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "CONNECT")

# 27.005 3.4.1 / 3.5.3: URCs whose PDU follows on the next line.
TWO_LINE_URCS = frozenset({"+CMT", "+CDS", "+CBM"})

# Bare (prefix-less) URCs that modems send; everything starting with + or ^ that the
# command in flight does not expect is a URC too.
BARE_URCS = ("RING", "RDY", "SMS DONE", "PB DONE", "VOICE CALL:", "MISSED_CALL:", "SMS READY",
             "Call Ready", "NORMAL POWER DOWN", "POWERED DOWN")

MAX_LINE = 2048  # longer than any 27.005 PDU line (2 * 176 octets + header) by far
CTRL_Z = b"\x1a"  # 27.005 3.5.1: ends the PDU after the prompt
ESC = b"\x1b"  # 27.005 3.5.1: cancels the message

_CODE = re.compile(r"^\s*(\d+)\s*$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


@dataclass(frozen=True, slots=True)
class Command:
    """What the command in flight expects back."""

    text: str
    expect: tuple[str, ...] = ()  # information-response prefixes, e.g. ("+CSQ",)
    bare: bool = False  # prefix-less information lines (+CGMI, +CGSN, PDU lines of +CMGL)
    prompt: bool = False  # "> " prompt before the PDU (+CMGS, +CMGW)
    dial: bool = False  # D and A: CONNECT/BUSY/NO CARRIER... are its final results


@dataclass(frozen=True, slots=True)
class FinalResult:
    result: str  # OK, ERROR, +CME ERROR, +CMS ERROR, NO CARRIER, BUSY, ...
    code: int | None = None  # the number of +CME/+CMS ERROR (27.007 9.2, 27.005 3.2.5)
    text: str = ""  # verbose error text when the modem gives words instead of a number

    @property
    def ok(self) -> bool:
        return self.result in (OK, "CONNECT")


@dataclass(frozen=True, slots=True)
class InfoLine:
    line: str


@dataclass(frozen=True, slots=True)
class Urc:
    name: str  # "RING", "+CMTI", "^CEND", "VOICE CALL" ...
    line: str
    pdu: str | None = None  # second line of +CMT/+CDS/+CBM

    @property
    def args(self) -> str:
        """What follows the ``NAME:`` of the line, stripped."""
        _, sep, rest = self.line.partition(":")
        return rest.strip() if sep else ""


@dataclass(frozen=True, slots=True)
class Prompt:
    """The modem's "> ": it is waiting for the PDU of +CMGS (27.005 3.5.1)."""


@dataclass(frozen=True, slots=True)
class Echo:
    line: str


@dataclass(frozen=True, slots=True)
class Noise:
    data: bytes
    reason: str


Event = FinalResult | InfoLine | Urc | Prompt | Echo | Noise


@dataclass
class _Pending:
    """A two-line URC waiting for its PDU line."""

    name: str
    line: str


@dataclass
class AtProtocol:
    """State: the receive buffer, the command in flight, a two-line URC half read."""

    _buffer: bytearray = field(default_factory=bytearray)
    _command: Command | None = None
    _prompted: bool = False
    _pending: _Pending | None = None

    # -- commands down ---------------------------------------------------------------
    @property
    def command(self) -> Command | None:
        return self._command

    def send_command(self, command: Command) -> bytes:
        if self._command is not None:
            raise RuntimeError(f"{self._command.text!r} is still in flight")
        self._command = command
        self._prompted = False
        return command.text.encode("ascii") + b"\r"

    def send_pdu(self, pdu_hex: str) -> bytes:
        """The PDU after the prompt, ended by Ctrl-Z (27.005 3.5.1)."""
        return pdu_hex.encode("ascii") + CTRL_Z

    def cancel_pdu(self) -> bytes:
        return ESC

    def command_done(self) -> None:
        """The engine gave up on the command (timeout); later lines are no longer its."""
        self._command = None
        self._prompted = False

    # -- bytes up ----------------------------------------------------------------------
    def receive_data(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while True:
            if self._want_prompt() and self._take_prompt():
                events.append(Prompt())
                continue
            cut = _line_end(self._buffer)
            if cut < 0:
                break
            raw = bytes(self._buffer[:cut])
            del self._buffer[: cut + 1]
            if raw:
                events.extend(self._line(raw))
        if len(self._buffer) > MAX_LINE:
            events.append(Noise(bytes(self._buffer), "line too long"))
            self._buffer.clear()
        return events

    def _want_prompt(self) -> bool:
        return self._command is not None and self._command.prompt and not self._prompted

    def _take_prompt(self) -> bool:
        stripped = bytes(self._buffer).lstrip(b"\r\n")
        if stripped.startswith(b"> ") or stripped == b">":
            # the prompt carries no line end; a lone ">" may still get its space
            if stripped == b">":
                return False
            self._buffer[:] = stripped[2:]
            self._prompted = True
            return True
        return False

    def _line(self, raw: bytes) -> list[Event]:
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            self._pending = None
            return [Noise(raw, "not text")]
        if not line:
            return []
        if any(ord(c) < 0x20 and c != "\t" for c in line):
            self._pending = None
            return [Noise(raw, "control characters")]
        events: list[Event] = []
        if self._pending is not None:
            pending, self._pending = self._pending, None
            if _HEX.match(line):
                return [Urc(pending.name, pending.line, line)]
            # the PDU line never came (truncated by a reset or noise): say so, go on
            events.append(Noise(pending.line.encode(), "URC without its PDU line"))
        event = self._classify(line, raw)
        if event is not None:
            events.append(event)
        return events

    def _classify(self, line: str, raw: bytes) -> Event | None:
        cmd = self._command
        if cmd is not None and line.upper() == cmd.text.upper():
            return Echo(line)
        final = self._final(line)
        if final is not None:
            if cmd is None:
                return Noise(raw, "final result with no command")
            self._command = None
            return final
        if line in DIAL_RESULTS or line.startswith("CONNECT "):
            if cmd is not None and cmd.dial:
                self._command = None
                return FinalResult(line)
            return Urc(line, line)
        name = _urc_name(line)
        if cmd is not None and any(line.startswith(p) for p in cmd.expect):
            return InfoLine(line)
        if name is not None:
            if name in TWO_LINE_URCS:
                self._pending = _Pending(name, line)
                return None  # reported together with its PDU line
            return Urc(name, line)
        if cmd is not None and cmd.bare:
            return InfoLine(line)
        if cmd is not None and cmd.text.upper().startswith("AT") and line.upper().startswith("AT"):
            return Echo(line)  # echo of a command mangled by line noise
        return Noise(raw, "unexpected line")

    @staticmethod
    def _final(line: str) -> FinalResult | None:
        if line == OK:
            return FinalResult(OK)
        if line == ERROR:
            return FinalResult(ERROR)
        for prefix in (CME_ERROR, CMS_ERROR):
            if line.startswith(prefix + ":"):
                rest = line[len(prefix) + 1 :].strip()
                match = _CODE.match(rest)
                if match:
                    return FinalResult(prefix, int(match.group(1)))
                return FinalResult(prefix, None, rest)
        return None


def _line_end(buffer: bytearray) -> int:
    """Index of the first CR or LF: modems end lines with CRLF, some with a lone LF."""
    cr = buffer.find(b"\r")
    lf = buffer.find(b"\n")
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return min(cr, lf)


def _urc_name(line: str) -> str | None:
    if line[0] in "+^":
        head = line.split(":", 1)[0]
        return head.strip() if ":" in line or " " not in head else None
    for bare in BARE_URCS:
        if line.startswith(bare):
            return bare.rstrip(":")
    return None
