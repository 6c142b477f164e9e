"""Run a simulated GSM modem as its own process, for the demo and end-to-end tests.

    python -m drivers.sim.gsm --model ec25 [--imei N] [--pin 1234] [--control SOCKET]
                              [--link-dir DIR]

Prints one JSON line with the pty paths ({"event": "enumerated", "at": ..., "audio": ...})
and another each time the modem re-enumerates.  Control commands, one per line, on
stdin or on the unix socket given with --control; each gets one line back, "ok ..." or
"error ...":

    call +79161234567 | call withheld      a call comes in
    hangup [cause]                         the far end hangs up (Q.850 cause, default 16)
    outcome answer|busy|no_answer          what the far end does with our next ATD
    dtmf 5                                 the far end presses a key
    sms +79161234567 text...               a message arrives (long/Cyrillic: multipart)
    ussd *100# reply text...               what the network answers to a USSD code
    registration 1|5|3|0                   home, roaming, denied, none
    signal 0..31|99                        +CSQ rssi
    hang | silent SECONDS | replug         faults
    status                                 JSON: calls, dialled, DTMF sent, SMS sent
    heard FREQ [SECONDS]                   JSON: level and share of FREQ in what the far
                                           end heard
    loudness [SECONDS]                     JSON: RMS level of what the far end heard,
                                           seconds heard and said in the call
    voice FREQ                             the far end's voice becomes a FREQ Hz tone
    quit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable

from appliance.clock import LoopClock
from drivers.base import FRAME_MS

from .host import Ports, SimHost
from .models import MODELS
from .modem import GsmModemSim


class Control:
    """The control line protocol (no I/O: a line in, a line out)."""

    def __init__(self, sim: GsmModemSim, host: SimHost, stop: Callable[[], None]) -> None:
        self.sim = sim
        self.host = host
        self.stop = stop

    def handle(self, line: str) -> str:
        words = line.strip().split(" ", 2)
        if not words or not words[0]:
            return "error empty command"
        verb, args = words[0].lower(), words[1:]
        handler = getattr(self, f"do_{verb}", None)
        if handler is None:
            return f"error unknown command {verb!r}"
        try:
            return handler(*args) or "ok"
        except (TypeError, ValueError) as exc:
            return f"error {verb}: {exc}"

    def do_call(self, number: str) -> None:
        self.sim.incoming_call(None if number == "withheld" else number)

    def do_hangup(self, cause: str = "16") -> None:
        self.sim.remote_hangup(int(cause))

    def do_outcome(self, outcome: str) -> None:
        if outcome not in ("answer", "busy", "no_answer"):
            raise ValueError("answer, busy or no_answer")
        self.sim.next_outcome = outcome

    def do_dtmf(self, digit: str) -> None:
        self.sim.press_dtmf(digit)

    def do_sms(self, number: str, text: str) -> str:
        return "ok " + ",".join(map(str, self.sim.deliver_sms(number, text)))

    def do_ussd(self, code: str, reply: str) -> None:
        self.sim.ussd_replies[code] = reply

    def do_registration(self, stat: str) -> None:
        self.sim.set_registration(int(stat))

    def do_signal(self, rssi: str) -> None:
        self.sim.signal = int(rssi)

    def do_hang(self) -> None:
        self.sim.hang()

    def do_silent(self, seconds: str) -> None:
        self.sim.go_silent(float(seconds))

    def do_replug(self) -> None:
        self.host.reenumerate()

    def do_status(self) -> str:
        sim = self.sim
        return "ok " + json.dumps({
            "model": sim.model, "imei": sim.imei, "at": self.host.ports.at_path,
            "audio": self.host.ports.audio_path, "calls": [c.stat for c in sim.calls],
            "dialled": sim.dialled, "dtmf_sent": sim.dtmf_sent,
            "sms_sent": [{"to": m.destination, "text": m.text} for m in sim.sent_sms],
            "audio_active": sim.audio.active, "boots": sim.boots,
        }, ensure_ascii=False)

    def do_heard(self, freq: str, seconds: str = "2") -> str:
        """How loud ``freq`` Hz is in the last ``seconds`` of what the far end heard (dBFS),
        its share of all that was heard then (1.0: a pure tone, as a beep; speech that
        merely has some energy there scores low), and how many seconds were heard in all:
        a test checks audio through the box."""
        from appliance.media.goertzel import tone_fraction, tone_level_dbfs

        recorded = bytes(self.sim.audio.recorded)
        tail = recorded[-int(float(seconds) * 16000):]
        enough = len(tail) >= 320
        level = tone_level_dbfs(tail, float(freq)) if enough else None
        share = round(tone_fraction(tail, (float(freq),)), 3) if enough else None
        return "ok " + json.dumps({"freq": float(freq), "level_dbfs": level, "share": share,
                                   "heard_seconds": len(recorded) / 16000})

    def do_loudness(self, seconds: str = "0.5") -> str:
        """The overall level (dBFS) of the last ``seconds`` the far end heard: speech from
        the box has no one frequency, so a test waits on this to know a prompt is playing.
        ``said_seconds`` is how long the far end has talked in this call: the call's own
        clock, which runs on while the box is silent (recording a message)."""
        from appliance.media.goertzel import level_dbfs

        recorded = bytes(self.sim.audio.recorded)
        tail = recorded[-int(float(seconds) * 16000):]
        level = level_dbfs(tail) if len(tail) >= 320 else None
        return "ok " + json.dumps({"level_dbfs": level, "heard_seconds": len(recorded) / 16000,
                                   "said_seconds": self.sim.audio.frames_sent * FRAME_MS / 1000})

    def do_voice(self, freq: str) -> None:
        self.sim.audio.set_tone(float(freq))

    def do_quit(self) -> str:
        self.stop()
        return "ok bye"


def announce(model: str, imei: str, ports: Ports) -> None:
    print(json.dumps({"event": "enumerated", "model": model, "imei": imei,
                      "at": ports.at_path, "audio": ports.audio_path}), flush=True)


async def serve(args: argparse.Namespace) -> None:
    clock = LoopClock()
    sim = MODELS[args.model](clock, imei=args.imei, pin=args.pin,
                             sim_busy_seconds=args.sim_busy)
    if args.link_dir:
        os.makedirs(args.link_dir, exist_ok=True)
    host = SimHost(sim, on_enumerate=lambda ports: announce(args.model, sim.imei, ports),
                   link_dir=args.link_dir, link_name=args.model)
    done = asyncio.Event()
    control = Control(sim, host, done.set)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, done.set)
    host.start()
    if not args.no_stdin:
        _read_stdin(loop, control)
    server = None
    clients: set[asyncio.StreamWriter] = set()
    if args.control:
        server = await asyncio.start_unix_server(
            lambda r, w: _client(r, w, control, clients), path=args.control)
    await done.wait()
    if server is not None:
        server.close()
        for writer in list(clients):  # end client sessions before the loop goes away
            writer.close()
        await asyncio.sleep(0)  # let their tasks see end-of-file
        os.unlink(args.control)
    host.close()


def _read_stdin(loop: asyncio.AbstractEventLoop, control: Control) -> None:
    fd = sys.stdin.fileno()
    os.set_blocking(fd, False)
    buffer = bytearray()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if not data:  # stdin closed: keep running, the socket (or a signal) ends us
            loop.remove_reader(fd)
            return
        buffer.extend(data)
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            print(control.handle(line.decode("utf-8", "replace")), flush=True)

    loop.add_reader(fd, readable)


async def _client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  control: Control, clients: set[asyncio.StreamWriter]) -> None:
    clients.add(writer)
    try:
        # the controller going away, or our shutdown, just ends this client
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while line := await reader.readline():
                writer.write((control.handle(line.decode("utf-8", "replace")) + "\n").encode())
                await writer.drain()
    finally:
        clients.discard(writer)
        writer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m drivers.sim.gsm",
                                     description="A simulated USB GSM modem on two ptys.")
    parser.add_argument("--model", choices=sorted(MODELS), default="ec25")
    parser.add_argument("--imei", default="861234567890123")
    parser.add_argument("--pin", default=None)
    parser.add_argument("--sim-busy", type=float, default=2.0,
                        help="seconds the SIM answers +CME ERROR: 14 after power-up")
    parser.add_argument("--control", help="also take control commands on this unix socket")
    parser.add_argument("--no-stdin", action="store_true", help="do not read stdin")
    parser.add_argument("--link-dir", help="keep stable symlinks DIR/MODEL-at and DIR/MODEL-audio "
                        "to the current ptys, as the udev rule does under /dev/callbox")
    asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
