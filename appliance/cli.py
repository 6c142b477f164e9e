"""``callbox``: run the daemon, and the installer's admin commands for scripts.

Every command honours ``--data DIR`` and ``CALLBOX_DATA`` so several boxes can run
side by side.  Errors are one line on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import re
import shlex
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import config as bootstrap
from .acd.config import STRATEGIES, QueueConfig, field_help
from .admin import Admin, ValidationError
from .provisioning import ata_ports
from .store import StoreError, open_store

EXIT_USAGE = 2
CALL_COLUMNS = [
    "id", "linked_id", "direction", "line", "caller_number", "caller_name", "dialled", "queue",
    "operator", "started_at", "queued_at", "answered_at", "ended_at", "wait_seconds",
    "talk_seconds", "hold_seconds", "wrapup_seconds", "disposition", "hangup_cause",
    "hangup_by", "recording", "note",
]
TIME_COLUMNS = {"started_at", "queued_at", "answered_at", "ended_at"}


class CliError(Exception):
    """Shown as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, not usage + message
        raise CliError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's copy of the flag must not reset a value given before it
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="bootstrap file (callbox.toml)")
    common.add_argument("--data", default=argparse.SUPPRESS,
                        help="data directory (also CALLBOX_DATA)")

    parser = _Parser(prog="callbox", description="callbox call-center appliance",
                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="run the daemon")
    run.add_argument("--web", help="web listen ADDR:PORT")
    run.add_argument("--sip", help="SIP listen ADDR:PORT")
    run.add_argument("--log-level", choices=bootstrap.LOG_LEVELS)

    sub.add_parser("check", parents=[common], help="check the database and configuration")

    phone = sub.add_parser("phone", parents=[common], help="operators' phones")
    phone_sub = phone.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = phone_sub.add_parser("add", parents=[common])
    add.add_argument("extension")
    add.add_argument("--password", help="SIP secret (default: a long random one)")
    add.add_argument("--name", default="")
    add.add_argument("--mac", default="", help="for provisioning by MAC address")
    add.add_argument("--model", default="", help="e.g. Yealink T31P, or an ATA: HT801, HT802, "
                     "SPA112")
    add.add_argument("--port", default="1", help="the ATA's phone port (FXS) for this "
                     "extension: 1 or 2 on an HT802 or SPA112; one phone per port")
    phone_sub.add_parser("list", parents=[common])
    rm = phone_sub.add_parser("remove", parents=[common])
    rm.add_argument("extension")

    op = sub.add_parser("operator", parents=[common], help="operators")
    op_sub = op.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = op_sub.add_parser("add", parents=[common])
    add.add_argument("name")
    add.add_argument("--ext", default="", help="the extension of their phone")
    add.add_argument("--code", default="", help="login code for *45<code> on any phone")
    add.add_argument("--queue", action="append", default=[], metavar="QUEUE[:PENALTY]")
    op_sub.add_parser("list", parents=[common])
    rm = op_sub.add_parser("remove", parents=[common])
    rm.add_argument("name")

    queue = sub.add_parser("queue", parents=[common], help="queues")
    q_sub = queue.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = q_sub.add_parser("add", parents=[common])
    add.add_argument("name")
    add.add_argument("--strategy", choices=STRATEGIES, default="longest-idle")
    for name, text in field_help().items():
        if name not in ("name", "strategy"):
            add.add_argument("--" + name.replace("_", "-"), dest=name, help=text)
    q_sub.add_parser("list", parents=[common])
    rm = q_sub.add_parser("remove", parents=[common])
    rm.add_argument("name")

    line = sub.add_parser("line", parents=[common], help="lines: GSM modems, analog lines")
    l_sub = line.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = l_sub.add_parser("add", parents=[common])
    add.add_argument("kind", help="gsm, fxo, loopback ...")
    add.add_argument("--name", help="default: KIND plus a number")
    add.add_argument("--at", help="GSM: the modem's AT command port")
    add.add_argument("--audio", help="GSM: the modem's audio port")
    add.add_argument("--port", help="FXO: the voice modem's port")
    add.add_argument("--model", help="modem model, when it cannot be identified")
    add.add_argument("--pin", help="SIM PIN")
    add.add_argument("--destination", default="", help="queue:NAME, flow:NAME, extension:EXT")
    add.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="any other driver setting")
    l_sub.add_parser("list", parents=[common])
    rm = l_sub.add_parser("remove", parents=[common])
    rm.add_argument("name")

    setting = sub.add_parser("setting", parents=[common], help="site settings")
    s_sub = setting.add_subparsers(dest="action", required=True, parser_class=_Parser)
    put = s_sub.add_parser("set", parents=[common])
    put.add_argument("key")
    put.add_argument("value", help="JSON (true, 5, \"text\", {...}) or plain text")
    s_sub.add_parser("list", parents=[common])

    calls = sub.add_parser("calls", parents=[common], help="call records")
    calls.add_argument("--since", help="ISO date/time (UTC) or 7d / 12h / 30m ago")
    calls.add_argument("--until", help="ISO date/time (UTC)")
    calls.add_argument("--limit", type=int, default=0)
    calls.add_argument("--csv", action="store_true", help="CSV with a header row")
    return parser


def parse_when(text: str, now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"(\d+)([dhm])", text.strip())
    if match:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
        return (now - timedelta(**{unit: int(match.group(1))})).timestamp()
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise CliError(f"cannot read the time {text!r}: use 2026-11-23, "
                       "2026-11-23T10:00 or 7d / 12h / 30m") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return dispatch(args)
    except CliError as exc:
        print(f"callbox: error: {exc}" if not str(exc).startswith("callbox") else str(exc),
              file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:
        print(f"callbox: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, bootstrap.ConfigError) as exc:
        print(f"callbox: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.OperationalError as exc:  # e.g. another process holds the write lock
        print(f"callbox: error: database: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def dispatch(args: argparse.Namespace) -> int:
    config = bootstrap.load(getattr(args, "config", None), data=getattr(args, "data", None),
                            web=getattr(args, "web", None), sip=getattr(args, "sip", None))
    if args.command == "run":
        return cmd_run(config, args.log_level or config.log_level)
    if args.command == "check":
        return cmd_check(config)
    store = open_store(config.data_dir, create=False)
    try:
        admin = Admin(store)
        handler = COMMANDS[(args.command, getattr(args, "action", None))]
        return handler(admin, args)
    finally:
        store.close()


def cmd_run(config: bootstrap.Config, level: str) -> int:
    from .daemon import serve

    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(config))
    return 0


def cmd_check(config: bootstrap.Config) -> int:
    from drivers.base import available_kinds

    from .store.schema import latest_version

    store = open_store(config.data_dir, create=False)
    try:
        result = store.query("PRAGMA integrity_check")[0]["integrity_check"]
        version = store.query("PRAGMA user_version")[0]["user_version"]
        mode = store.query("PRAGMA journal_mode")[0]["journal_mode"]
    finally:
        store.close()
    print(f"config: {config.source}")
    print(f"data: {config.data_dir}")
    print(f"database: integrity {result}, schema {version}/{latest_version()}, journal {mode}")
    print(f"drivers: {', '.join(available_kinds())}")
    if result != "ok":
        raise CliError(f"database integrity check failed: {result}")
    return 0


def _run(coro):
    return asyncio.run(coro)


def phone_add(admin: Admin, args) -> int:
    row = _run(admin.add_phone(args.extension, args.password, args.name, args.mac, args.model,
                               args.port))
    print(f"phone {row['extension']} added; SIP password: {row['password']}")
    return 0


def phone_list(admin: Admin, args) -> int:
    for p in admin.phones():
        port = f" port {p['port']}" if ata_ports(p["model"]) else ""
        print(f"{p['extension']:>6}  {p['name'] or '-':20} {p['mac'] or '-':12} "
              f"{p['model']}{port}")
    return 0


def phone_remove(admin: Admin, args) -> int:
    _run(admin.delete_phone(args.extension))
    return 0


def operator_add(admin: Admin, args) -> int:
    queues: dict[str, int] = {}
    for spec in args.queue:
        name, _, penalty = spec.partition(":")
        if penalty and not penalty.isdigit():
            raise CliError(f"--queue {spec}: the penalty after ':' is a whole number")
        queues[name] = int(penalty or 0)
    _run(admin.save_operator(args.name, args.ext, args.code, queues, create=True))
    print(f"operator {args.name} added")
    return 0


def operator_list(admin: Admin, args) -> int:
    for o in admin.operators():
        queues = ", ".join(f"{q}:{p}" for q, p in o["queues"].items()) or "-"
        print(f"{o['name']:20} ext {o['extension'] or '-':6} code {o['login_code'] or '-':8} "
              f"queues {queues}")
    return 0


def operator_remove(admin: Admin, args) -> int:
    _run(admin.delete_operator(args.name))
    return 0


def queue_add(admin: Admin, args) -> int:
    raw = {k: v for k, v in vars(args).items() if k in field_help() and v is not None}
    config, errors = QueueConfig.coerce(raw)
    if errors:
        raise ValidationError(errors)
    _run(admin.save_queue(config, create=True))
    print(f"queue {config.name} added ({config.strategy})")
    return 0


def queue_list(admin: Admin, args) -> int:
    for q in admin.queues():
        print(f"{q.name:20} {q.strategy:18} ring {q.ring_timeout}s wrap-up {q.wrapup_seconds}s "
              f"max wait {q.max_wait}s overflow {q.overflow or '-'}")
    return 0


def queue_remove(admin: Admin, args) -> int:
    _run(admin.delete_queue(args.name))
    return 0


def line_add(admin: Admin, args) -> int:
    settings: dict[str, str] = {}
    for key in ("at", "audio", "port", "model", "pin"):
        if getattr(args, key):
            settings[key] = getattr(args, key)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--set {item}: use KEY=VALUE")
        settings[key] = value
    name = args.name or admin.free_line_name(args.kind)
    _run(admin.save_line(name, args.kind, settings, args.destination, create=True))
    print(f"line {name} added")
    return 0


def line_list(admin: Admin, args) -> int:
    status = admin.store.setting("line_status", {}) or {}
    for line in admin.lines():
        state = status.get(line["name"], {})
        facts = _line_facts(line["kind"], line["settings"], state)
        text = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in facts.items() if v != "")
        print(f"{line['name']:12} {line['kind']:10} -> {line['destination'] or '-':16} "
              f"{text or 'state=not running'}")
    return 0


def _line_facts(kind: str, settings: dict, status: dict) -> dict:
    """The driver's own columns for its lines (FXO: state, model, caller id, duplex),
    else every fact the running line reports."""
    from drivers.base import load_channel_class

    try:
        list_facts = getattr(load_channel_class(kind), "list_facts", None)
    except LookupError:  # a line whose driver is not installed
        list_facts = None
    return list_facts(settings, status) if list_facts is not None else dict(status)


def line_remove(admin: Admin, args) -> int:
    _run(admin.delete_line(args.name))
    return 0


def calls_list(admin: Admin, args) -> int:
    sql = f"SELECT {', '.join(CALL_COLUMNS)} FROM calls WHERE 1=1"
    params: list = []
    if args.since:
        sql += " AND started_at >= ?"
        params.append(parse_when(args.since))
    if args.until:
        sql += " AND started_at < ?"
        params.append(parse_when(args.until))
    sql += " ORDER BY started_at"
    if args.limit:
        sql += f" LIMIT {int(args.limit)}"
    cursor = admin.store._conn.execute(sql, params)
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(CALL_COLUMNS)
        for row in cursor:
            writer.writerow([iso(v) if c in TIME_COLUMNS else ("" if v is None else v)
                             for c, v in zip(CALL_COLUMNS, row, strict=True)])
        return 0
    for row in cursor:
        r = dict(zip(CALL_COLUMNS, row, strict=True))
        print(f"{iso(r['started_at'])} {r['direction']:8} {r['caller_number'] or '-':16} "
              f"{r['queue'] or '-':12} {r['operator'] or '-':12} wait {r['wait_seconds']:.0f}s "
              f"talk {r['talk_seconds']:.0f}s {r['disposition'] or ''}")
    return 0


SETTING_KEY_RE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def setting_set(admin: Admin, args) -> int:
    if not SETTING_KEY_RE.match(args.key):
        raise CliError(f"setting name {args.key!r}: lower-case letters, digits, _ and .")
    try:
        value = json.loads(args.value)
    except json.JSONDecodeError:
        value = args.value  # plain text needs no quotes
    _run(admin.set_setting(args.key, value))
    return 0


def setting_list(admin: Admin, args) -> int:
    for key, value in sorted(admin.store.settings().items()):
        print(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return 0


COMMANDS = {
    ("phone", "add"): phone_add, ("phone", "list"): phone_list,
    ("phone", "remove"): phone_remove,
    ("operator", "add"): operator_add, ("operator", "list"): operator_list,
    ("operator", "remove"): operator_remove,
    ("queue", "add"): queue_add, ("queue", "list"): queue_list,
    ("queue", "remove"): queue_remove,
    ("line", "add"): line_add, ("line", "list"): line_list, ("line", "remove"): line_remove,
    ("calls", None): calls_list,
    ("setting", "set"): setting_set, ("setting", "list"): setting_list,
}


if __name__ == "__main__":
    sys.exit(main())
