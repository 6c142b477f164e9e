"""A V.253 voice modem, simulated: a Conexant CX93010 (USRobotics USR5637, Zoom 3095) and
a half-duplex Rockwell-style chip, with the analog line behind them (``pstn.FarEnd``).

Faithful where a driver depends on it (ITU-T V.253; Conexant "AT Commands for CX930xx"):
RING with caller id (DATE/TIME/NMBR/NAME) between the first and second ring; +VLS=1
off hook; +VSM=? listing the compression methods; +VRX/+VTX/+VTR starting with CONNECT;
audio at 8000 samples/s in real time, DLE-shielded both ways; <DLE>! ending +VRX and
<DLE>^ ending +VTR with <DLE><ETX> then OK; <DLE><ETX> ending +VTX after play-out; DTMF,
busy, loop-current break and silence (+VSD) as DLE events; voice ATD with ringback
<DLE>r and VCON / BUSY / NO ANSWER.  Fault switches: no busy report, no silence report,
no loop-break report (a far end that only goes quiet), no full duplex, garbage bytes.

No I/O: bytes in through :meth:`data_in`, out through ``out``; timers from the clock.
``python -m drivers.sim.v253`` runs one on a pty (see ``v253_cli``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from appliance.clock import Clock, Timer
from appliance.media._audioop import audioop
from drivers.base import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES
from drivers.fxo.dle import DLE, ETX, DleDecoder, DleEvent, EndOfStream, event_bytes, shield

from .pstn import FarEnd

log = logging.getLogger(__name__)

CONEXANT_VSM = (  # USR 56K command reference, +VSM=? example
    '1,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
    '128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)',
    '129,"ADPCM",4,0,(7200,8000),(0),(0)',
    '130,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
    '131,"ULAW",8,0,(7200,8000),(0),(0)',
    '132,"ALAW",8,0,(7200,8000),(0),(0)',
    '133,"LINEAR",16,0,(7200,8000),(0),(0)',
)
ROCKWELL_VSM = ('1,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
                '128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)')


@dataclass
class SimModel:
    name: str = "USRobotics USR5637"
    ati3: str = "U.S. Robotics 56K FAX USB V1.2.23"
    vsm: tuple[str, ...] = CONEXANT_VSM
    full_duplex: bool = True
    cid_commands: tuple[str, ...] = ("+VCID", "#CID")
    reports_busy: bool = True
    reports_silence: bool = True
    reports_loop_break: bool = True


USR5637 = SimModel()
HALF_DUPLEX = SimModel("Rockwell RC56 voice", "ROCKWELL RC56 V.90", ROCKWELL_VSM, False,
                       ("#CID",), reports_busy=False, reports_silence=False,
                       reports_loop_break=False)


def _decode(kind: str, data: bytes) -> bytes:
    if kind == "ulaw":
        return audioop.ulaw2lin(data, 2)
    if kind == "alaw":
        return audioop.alaw2lin(data, 2)
    if kind == "u8":
        return audioop.lin2lin(audioop.bias(data, 1, -128), 1, 2)
    if kind == "s16":
        return data
    return audioop.lin2lin(data, 1, 2)


def _encode(kind: str, pcm: bytes) -> bytes:
    if kind == "ulaw":
        return audioop.lin2ulaw(pcm, 2)
    if kind == "alaw":
        return audioop.lin2alaw(pcm, 2)
    if kind == "u8":
        return audioop.bias(audioop.lin2lin(pcm, 2, 1), 1, 128)
    if kind == "s16":
        return pcm
    return audioop.lin2lin(pcm, 2, 1)


_KINDS = {1: "u8", 128: "s8", 130: "u8", 131: "ulaw", 132: "alaw", 133: "s16"}


class V253ModemSim:
    def __init__(self, clock: Clock, model: SimModel = USR5637, far: FarEnd | None = None,
                 *, ring_on: float = 2.0, ring_off: float = 4.0) -> None:
        self.clock = clock
        self.model = model
        self.far = far or FarEnd()
        self.ring_on, self.ring_off = ring_on, ring_off
        self.out: Callable[[bytes], None] = lambda data: None
        self.echo = True
        self.voice = False
        self.cid = False
        self.off_hook = False
        self.stream: str | None = None  # "rx", "tx", "duplex"
        self.kind = "u8"
        self.silence_tenths = 0
        self.commands: list[str] = []
        self.events_sent: list[str] = []
        self.in_call = False  # a far party is on the line
        self._line = bytearray()
        self._dle = DleDecoder()
        self._tx = bytearray()  # audio we were given to play, in the wire format
        self._tx_ending = False
        self._tick_timer: Timer | None = None
        self._ring_timer: Timer | None = None
        self._t0 = 0.0
        self._ticks = 0
        self._silent_ms = 0
        self._heard_voice = False
        self._silence_reported = False
        self._busy_report_at: float | None = None
        self._ringing: dict | None = None
        self.dial_outcomes: dict[str, str] = {}  # number -> answer / busy / no_answer
        self.ringback_cycles = 2
        self.underruns = 0

    # -- bytes from the host ---------------------------------------------------------------
    def data_in(self, data: bytes) -> None:
        if self.stream in ("tx", "duplex"):
            self._stream_in(data)
            return
        if self.stream == "rx":
            if b"\x10!" in data or b"\x10\x03" in data:  # receive abort
                self._end_stream()
            return
        self._line += data
        while (cut := self._line.find(b"\r")) >= 0:
            raw = bytes(self._line[:cut]).strip(b"\n ")
            del self._line[: cut + 1]
            if raw:
                self._command(raw.decode("latin-1"))
            if self.stream in ("tx", "duplex") and self._line:
                rest = bytes(self._line)
                self._line.clear()
                self._stream_in(rest)
                return

    def _stream_in(self, data: bytes) -> None:
        for item in self._dle.feed(data):
            if isinstance(item, bytes):
                self._tx += item
            elif isinstance(item, EndOfStream):
                self._tx_ending = True  # play out, then OK (V.253 <DLE><ETX>)
            elif isinstance(item, DleEvent):
                if item.code == "^" or (item.code == "!" and self.stream == "duplex"):
                    self._end_stream()
                elif item.code == "\x18":
                    self._tx.clear()
        if self._dle.ended:
            self._dle.reset()

    def _end_stream(self) -> None:
        was = self.stream
        self.stream = None
        self._tx.clear()
        self._tx_ending = False
        self._dle.reset()
        if was in ("rx", "duplex"):
            self.out(bytes((DLE, ETX)))
        self._send("OK")

    # -- command state ---------------------------------------------------------------------
    def _send(self, *lines: str) -> None:
        self.out(b"".join(b"\r\n" + ln.encode("latin-1") + b"\r\n" for ln in lines))

    def _command(self, text: str) -> None:
        self.commands.append(text)
        if self.echo:
            self.out(text.encode("latin-1") + b"\r")
        upper = text.upper()
        if not upper.startswith("AT"):
            self._send("ERROR")
            return
        body = upper[2:]
        for prefix, handler in self._handlers():
            if body.startswith(prefix):
                result = handler(body[len(prefix):])
                if result is not None:
                    self._send(*result)
                return
        self._send("OK" if body == "" else "ERROR")

    def _handlers(self) -> list[tuple[str, Callable[[str], list[str] | None]]]:
        return [
            ("Z", self._reset), ("E", self._echo), ("I", self._info), ("+FMM?", self._fmm),
            ("+GMM", self._fmm), ("+FCLASS", self._fclass), ("+VCID", self._cid("+VCID")),
            ("#CID", self._cid("#CID")), ("+VSM", self._vsm), ("+VLS", self._vls),
            ("+VSD", self._vsd), ("+VRX", self._vrx), ("+VTX", self._vtx),
            ("+VTR", self._vtr), ("+VTS", self._vts), ("H", self._hang), ("D", self._dial),
            ("+VRA", self._ok), ("+VRN", self._ok), ("+VIT", self._ok), ("+VNH", self._ok),
            ("+IFC", self._ok), ("V1", self._ok), ("Q0", self._ok),
        ]

    def _ok(self, arg: str) -> list[str]:
        return ["OK"]

    def _reset(self, arg: str) -> list[str]:
        self._hang("")
        self.voice = self.cid = False
        self.echo = True
        return ["OK"]

    def _echo(self, arg: str) -> list[str]:
        self.echo = arg.strip() != "0"
        return ["OK"]

    def _info(self, arg: str) -> list[str]:
        return [self.model.ati3 if arg.strip() == "3" else "56000", "OK"]

    def _fmm(self, arg: str) -> list[str]:
        return [self.model.name, "OK"]

    def _fclass(self, arg: str) -> list[str]:
        if arg == "?":
            return ["8" if self.voice else "0", "OK"]
        if arg == "=?":
            return ["0,1,1.0,2,8", "OK"]
        self.voice = arg == "=8"
        return ["OK"]

    def _cid(self, name: str) -> Callable[[str], list[str]]:
        def handler(arg: str) -> list[str]:
            if name not in self.model.cid_commands:
                return ["ERROR"]
            if arg == "?":
                return ["1" if self.cid else "0", "OK"]
            self.cid = arg in ("=1", "=2")
            return ["OK"]

        return handler

    def _vsm(self, arg: str) -> list[str]:
        if not self.voice:
            return ["ERROR"]
        if arg == "=?":
            return [*self.model.vsm, "OK"]
        try:
            cml = int(arg.lstrip("=").split(",")[0])
        except ValueError:
            return ["ERROR"]
        if cml not in _KINDS or not any(v.startswith(f"{cml},") for v in self.model.vsm):
            return ["ERROR"]
        self.kind = _KINDS[cml]
        return ["OK"]

    def _vls(self, arg: str) -> list[str]:
        if not self.voice or arg not in ("=0", "=1", "?"):
            return ["ERROR"]
        if arg == "?":
            return ["1" if self.off_hook else "0", "OK"]
        if arg == "=1":
            self._go_off_hook()
        else:
            self._hang("")
        return ["OK"]

    def _vsd(self, arg: str) -> list[str]:
        try:
            self.silence_tenths = int(arg.lstrip("=").split(",")[1])
        except (ValueError, IndexError):
            return ["ERROR"]
        return ["OK"]

    def _start(self, kind: str) -> list[str] | None:
        if not self.voice or not self.off_hook:
            return ["ERROR"]
        self.stream = kind
        self._tx.clear()
        self._tx_ending = False
        self._dle.reset()
        self._silent_ms = 0
        self._silence_reported = False
        self._heard_voice = False
        self._send("CONNECT")
        return None

    def _vrx(self, arg: str) -> list[str] | None:
        return self._start("rx")

    def _vtx(self, arg: str) -> list[str] | None:
        return self._start("tx")

    def _vtr(self, arg: str) -> list[str] | None:
        if not self.model.full_duplex:
            return ["ERROR"]
        return self._start("duplex")

    def _vts(self, arg: str) -> list[str]:
        digits = [d.strip("[]{} ") for d in arg.lstrip("=").split(",")]
        if not self.off_hook or not all(len(d) == 1 and d in "0123456789*#ABCD" for d in digits):
            return ["ERROR"]
        self.far_heard_dtmf += "".join(digits)
        return ["OK"]

    far_heard_dtmf = ""

    # -- the line ------------------------------------------------------------------------
    def _go_off_hook(self) -> None:
        self.off_hook = True
        if self._ringing is not None:  # answering: the caller is now on the line
            self._stop_ringing()
            self.in_call = True
        if self._tick_timer is None:
            self._t0 = self.clock.monotonic()
            self._ticks = 0
            self._schedule()

    def _hang(self, arg: str) -> list[str]:
        self.off_hook = False
        self.in_call = False
        self.stream = None
        if self._tick_timer is not None:
            self._tick_timer.cancel()
            self._tick_timer = None
        return ["OK"]

    def _schedule(self) -> None:
        self._ticks += 1
        due = self._t0 + self._ticks * FRAME_MS / 1000 - self.clock.monotonic()
        self._tick_timer = self.clock.call_later(due, self._tick)

    def _tick(self) -> None:
        """One 20 ms of line time: play a frame of ours, hear a frame of the far end."""
        if not self.off_hook:
            self._tick_timer = None
            return
        size = FRAME_SAMPLES * (2 if self.kind == "s16" else 1)
        sent = bytes(FRAME_BYTES)
        if self.stream in ("tx", "duplex"):
            if len(self._tx) >= size:
                sent = _decode(self.kind, bytes(self._tx[:size]))
                del self._tx[:size]
            elif self._tx_ending:
                self._tx.clear()
                self._tx_ending = False
                self.stream = None
                self._send("OK")
            else:
                self.underruns += 1
                if self.stream == "duplex":  # V.253 <DLE>u: played silence, we are late
                    self.event("u")
        heard = self.far.exchange(sent) if self.in_call else bytes(FRAME_BYTES)
        if self.stream in ("rx", "duplex"):
            self.out(shield(_encode(self.kind, heard)))
            self._detect_silence(heard)
        self._report_busy()
        self._schedule()

    def _detect_silence(self, heard: bytes) -> None:
        if not self.model.reports_silence or not self.silence_tenths:
            return
        if audioop.rms(heard, 2) < 60:
            self._silent_ms += FRAME_MS
        else:
            self._silent_ms = 0
            self._heard_voice = True
        if self._silent_ms >= self.silence_tenths * 100 and not self._silence_reported:
            self._silence_reported = True
            self.event("q" if self._heard_voice else "s")

    def _report_busy(self) -> None:
        at = self._busy_report_at
        if at is not None and self.clock.monotonic() >= at:
            self._busy_report_at = at + 4.0  # repeated every 4 s while it lasts
            self.event("b")

    def event(self, code: str) -> None:
        """A <DLE> event towards the host (in a stream or in voice command state)."""
        self.events_sent.append(code)
        self.out(event_bytes(code))

    # -- control: what the outside world does --------------------------------------------
    def ring(self, number: str = "", name: str = "", date: str = "0321", time: str = "1405",
             rings: int = 10) -> None:
        """An incoming call: RING cadence, caller id after the first ring."""
        self._ringing = {"number": number, "name": name, "date": date, "time": time,
                         "left": rings, "count": 0}
        self._ring()

    def _ring(self) -> None:
        ringing = self._ringing
        if ringing is None or self.off_hook:
            return
        if ringing["left"] <= 0:
            self._stop_ringing()  # the caller gave up
            return
        ringing["left"] -= 1
        ringing["count"] += 1
        self._send("RING")
        if ringing["count"] == 1 and self.cid:
            self.clock.call_later(self.ring_on + self.ring_off / 4, self._caller_id)
        self._ring_timer = self.clock.call_later(self.ring_on + self.ring_off, self._ring)

    def _caller_id(self) -> None:
        ringing = self._ringing
        if ringing is None or self.off_hook:
            return
        lines = [f"DATE = {ringing['date']}", f"TIME = {ringing['time']}",
                 f"NMBR = {ringing['number']}"]
        if ringing["name"]:
            lines.append(f"NAME = {ringing['name']}")
        self._send(*lines)

    def _stop_ringing(self) -> None:
        self._ringing = None
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None

    def abandon(self) -> None:
        """The caller hangs up before we answer: the rings just stop."""
        self._stop_ringing()

    def far_dtmf(self, digits: str) -> None:
        for digit in digits:
            self.event(digit)

    def far_hangup(self, how: str) -> None:
        """``loop_break``, ``busy`` or ``silence``: how the exchange tells (or doesn't)."""
        self.in_call = how == "busy"  # the exchange keeps the line to play its tone
        if how == "loop_break":
            self.far.hang_up_silently()
            if self.model.reports_loop_break:
                self.event("l")
        elif how == "busy":
            self.far.play("busy")
            if self.model.reports_busy:
                self._busy_report_at = self.clock.monotonic() + 1.0  # after two cadences
        else:
            self.far.hang_up_silently()

    def garbage(self, data: bytes) -> None:
        self.out(data)

    # -- voice dialling ------------------------------------------------------------------
    def _dial(self, arg: str) -> list[str] | None:
        if not self.voice:
            return ["NO CARRIER"]
        number = "".join(c for c in arg if c in "0123456789*#")
        outcome = self.dial_outcomes.get(number, "answer")
        if not self.off_hook:
            self._go_off_hook()
        self.clock.call_later(0.3, self._progress, outcome, self.ringback_cycles)
        return None

    def _progress(self, outcome: str, cycles: int) -> None:
        if not self.off_hook:
            return
        if outcome == "busy":
            self.event("b")
            self._send("BUSY")
            return
        if cycles > 0:
            self.event("r")
            self.clock.call_later(0.4, self._progress, outcome, cycles - 1)
            return
        if outcome == "no_answer":
            self._send("NO ANSWER")
            return
        self.in_call = True
        self._send("VCON")


if __name__ == "__main__":
    from .v253_cli import main

    main()
