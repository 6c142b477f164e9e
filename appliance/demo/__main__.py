"""``make demo``: the daemon on simulated hardware with live traffic.

A small site is set up in ``var/demo`` (idempotent, so history accumulates across
runs): two queues, operators at their phones, lines with calls arriving at random.
The web page is on http://127.0.0.1:8080 and the demo login is printed.  Ctrl-C
stops everything cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from appliance.config import Config
from appliance.daemon import serve

from .site import DemoSite


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="callbox-demo", description=__doc__)
    parser.add_argument("--data", default="var/demo", help="data directory")
    parser.add_argument("--web", default="127.0.0.1:8080")
    parser.add_argument("--sip", default="127.0.0.1:5060")
    parser.add_argument("--rate", type=float, default=6.0, help="calls per minute")
    parser.add_argument("--operators", type=int, default=6)
    parser.add_argument("--lines", default="loopback,gsm,fxo",
                        help="comma list of line kinds to simulate")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = Config(data_dir=Path(args.data).resolve(), web_listen=args.web, sip_listen=args.sip,
                    source="make demo")
    site = DemoSite(args)
    try:
        # a second Ctrl-C during shutdown: stop quietly
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config, setup=site.setup))
    except OSError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    print("demo stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
