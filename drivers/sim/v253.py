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

from appliance.clock import Clock, Timer
from appliance.media._audioop import audioop
from drivers.base import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES
from drivers.fxo.dle import DLE, ETX, DleDecoder, DleEvent, EndOfStream, event_bytes, shield

from .pstn import FarEnd
from .v253_calls import CallsMixin
from .v253_models import (  # noqa: F401  (HALF_DUPLEX and the VSM lists re-exported)
    _KINDS,
    CONEXANT_VSM,
    HALF_DUPLEX,
    ROCKWELL_VSM,
    USR5637,
    SimModel,
    _decode,
    _encode,
)

log = logging.getLogger(__name__)

class V253ModemSim(CallsMixin):
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
        self.dialling = False
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
        if self.dialling and data:
            self.abort_dial()
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
            self._busy_report_at = None  # a new call: nothing left of the last one's tone
            self.far.connect()
        if self._tick_timer is None:
            self._t0 = self.clock.monotonic()
            self._ticks = 0
            self._schedule()

    def _hang(self, arg: str) -> list[str]:
        self.off_hook = False
        self.in_call = False
        self._busy_report_at = None  # on hook: the exchange releases the line, no more busy
        self.far.play(None)
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
        heard = self.far.exchange(sent)  # off hook: the line echoes, caller or not
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


if __name__ == "__main__":
    from .v253_cli import main

    main()
