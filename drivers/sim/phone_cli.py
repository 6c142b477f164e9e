"""``python -m drivers.sim.sip_phone``: simulated phones from the command line, for
trying a box by hand.  Events are printed one a line; Ctrl-C or SIGTERM unregisters
the phones and exits."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .phone_media import Voice
from .phone_policy import AnswerPolicy
from .sip_phone import PhoneBank, PhoneEvent


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _account(text: str) -> tuple[str, str]:
    ext, sep, password = text.partition(":")
    if not sep or not ext:
        raise argparse.ArgumentTypeError(f"expected EXT:PASSWORD, got {text!r}")
    return ext, password


def _span(text: str) -> tuple[float, float] | None:
    if text == "never":
        return None
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m drivers.sim.sip_phone",
                                description="Simulated IP phones that register to a box.")
    p.add_argument("--registrar", type=_hostport, default=("127.0.0.1", 5060))
    p.add_argument("--ext", type=_account, action="append", required=True,
                   metavar="EXT:PASSWORD", help="a phone (repeat for more)")
    p.add_argument("--local-host", default="127.0.0.1")
    p.add_argument("--answer-after", type=_span, default=(2.0, 7.0),
                   metavar="LOW-HIGH|never", help="seconds of ringing before picking up")
    p.add_argument("--talk", type=_span, default=(20.0, 90.0), metavar="LOW-HIGH|never")
    p.add_argument("--no-answer-ratio", type=float, default=0.1)
    p.add_argument("--busy-ratio", type=float, default=0.0)
    p.add_argument("--seed", default=None)
    p.add_argument("--voice", default="tone:440", help="tone:HZ, silence, or an audio file")
    p.add_argument("--expires", type=int, default=3600)
    p.add_argument("--dial", action="append", default=[], metavar="EXT:NUMBER",
                   help="after registering, phone EXT dials NUMBER")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


async def _run(args: argparse.Namespace) -> int:
    try:
        policy = AnswerPolicy(args.answer_after, args.talk, args.no_answer_ratio,
                              args.busy_ratio, seed=args.seed)
    except ValueError as error:
        print(f"policy: {error}", flush=True)
        return 2

    def show(event: PhoneEvent) -> None:
        what = event.call.remote if event.call is not None else ""
        print(f"{event.extension}: {event.kind} {what} {event.detail or ''}".rstrip(), flush=True)

    try:
        voice = await Voice.parse(args.voice)
    except (ValueError, OSError) as error:
        print(f"--voice {args.voice}: {error}", flush=True)
        return 2
    bank = PhoneBank(dict(args.ext), args.registrar, args.local_host, policy, on_event=show,
                     voice=voice, expires=args.expires)
    failures = await bank.start()
    for ext, reason in failures.items():
        print(f"{ext}: {reason}", flush=True)
    if not bank.registered:
        return 1
    for order in args.dial:
        ext, number = _account(order)
        if ext in bank.registered:
            await bank[ext].dial(number)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await bank.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    return asyncio.run(_run(args))


