"""Carries a simulated voice modem on a pty (or an in-memory link) and, as
``python -m drivers.sim.v253``, runs one for people: prints the pty path and takes
control commands on stdin, one a line:

    ring NUMBER [NAME...]   an incoming call with caller id (P = withheld, O = unavailable)
    abandon                 the caller hangs up before we answer
    dtmf DIGITS             the far end presses keys
    say HZ | quiet          the far end talks (a tone) or falls silent
    hangup loop_break|busy|silence
    dial NUMBER answer|busy|no_answer   how the next call to NUMBER ends
    unplug / plug           USB off and back on (a new pty path is printed)
    quit
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from appliance.clock import LoopClock
from drivers.at.transport import ByteLink, MemoryLink

from .pstn import FarEnd
from .v253 import HALF_DUPLEX, USR5637, V253ModemSim

try:  # the pty carrier is shared with the GSM simulators
    from .host import PtyEnd
except ImportError:  # pragma: no cover - only before the gsm branch is merged
    PtyEnd = None  # type: ignore[assignment,misc]


class V253Host:
    """One modem on one port; ``unplug``/``plug`` model USB re-enumeration."""

    def __init__(self, sim: V253ModemSim, carrier: str = "pty") -> None:
        if carrier not in ("pty", "memory"):
            raise ValueError("carrier is 'pty' or 'memory'")
        self.sim = sim
        self.carrier = carrier
        self.path = ""
        self.link: ByteLink | None = None
        self._end: object | None = None

    def plug(self) -> str | ByteLink:
        if self.carrier == "pty":
            end = PtyEnd()
            end.serve(self.sim.data_in)
            self.sim.out = end.write
            self._end = end
            self.path = end.path
            return end.path
        host, modem = MemoryLink.pair()
        modem.set_receiver(self.sim.data_in, lambda exc: None)
        self.sim.out = modem.write
        self._end = modem
        self.link = host
        return host

    def plug_fresh(self) -> object:
        """Plug back in on a new tty name (as after a USB reset); returns a pty held open
        meanwhile so the kernel cannot hand the old number back."""
        blocker = PtyEnd()
        self.plug()
        return blocker

    def unplug(self) -> None:
        self.sim._hang("")
        self.sim.out = lambda data: None
        if self._end is not None:
            self._end.close()  # type: ignore[attr-defined]
            self._end = None

    close = unplug


def _control(sim: V253ModemSim, host: V253Host, line: str) -> str:
    words = line.split()
    if not words:
        return ""
    cmd, args = words[0], words[1:]
    if cmd == "ring":
        sim.ring(args[0] if args else "", " ".join(args[1:]))
    elif cmd == "abandon":
        sim.abandon()
    elif cmd == "dtmf" and args:
        sim.far_dtmf(args[0])
    elif cmd == "say" and args:
        sim.far.say(float(args[0]))
    elif cmd == "quiet":
        sim.far.say(None)
    elif cmd == "hangup":
        sim.far_hangup(args[0] if args else "loop_break")
    elif cmd == "dial" and len(args) == 2:
        sim.dial_outcomes[args[0]] = args[1]
    elif cmd == "unplug":
        host.unplug()
    elif cmd == "plug":
        return f"port {host.plug()}"
    else:
        return f"unknown command: {line.strip()}"
    return "ok"


async def serve(args: argparse.Namespace) -> None:
    clock = LoopClock()
    model = HALF_DUPLEX if args.half_duplex else USR5637
    far = FarEnd(echo_delay_ms=args.echo_delay_ms, echo_loss_db=args.echo_loss_db)
    sim = V253ModemSim(clock, model, far, ring_on=args.ring_on, ring_off=args.ring_off)
    host = V253Host(sim)
    print(f"port {host.plug()}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode():
        if line.strip() == "quit":
            break
        print(_control(sim, host, line), flush=True)
    host.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m drivers.sim.v253",
                                     description="A simulated V.253 voice modem on a pty.")
    parser.add_argument("--half-duplex", action="store_true", help="a modem without +VTR")
    parser.add_argument("--echo-delay-ms", type=int, default=8)
    parser.add_argument("--echo-loss-db", type=float, default=12.0)
    parser.add_argument("--ring-on", type=float, default=2.0)
    parser.add_argument("--ring-off", type=float, default=4.0)
    asyncio.run(serve(parser.parse_args(argv)))
