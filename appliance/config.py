"""The bootstrap file: only what must be known before the database opens.

Everything an installer changes (lines, phones, queues, hours...) lives in the database
and takes effect without a restart.  This file holds the data directory, the listen
addresses and the log level.  Precedence, lowest first: built-in defaults, the file,
the environment (``CALLBOX_DATA``), command-line flags.

Where the file is looked for when ``--config`` is not given: ``/etc/callbox/callbox.toml``
(the image), then ``./var/callbox.toml`` (a development checkout).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

SYSTEM_CONFIG = Path("/etc/callbox/callbox.toml")
DEV_CONFIG = Path("var/callbox.toml")
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """The bootstrap file or a flag is wrong; the message says what and where."""


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("var/data")
    web_listen: str = "0.0.0.0:8080"
    sip_listen: str = "0.0.0.0:5060"
    rtp_ports: str = "10000-20000"
    log_level: str = "info"
    source: str = "defaults"

    @property
    def web_address(self) -> tuple[str, int]:
        return parse_listen(self.web_listen, "web")

    @property
    def sip_address(self) -> tuple[str, int]:
        return parse_listen(self.sip_listen, "sip")


def parse_listen(value: str, what: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[::1]:5060`` for IPv6) -> (addr, port), or a ConfigError in words."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{what} listen address {value!r} is not ADDR:PORT")
    return host, int(port)


def load(path: Path | None = None, *, data: str | None = None, web: str | None = None,
         sip: str | None = None, environ: dict[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    config = Config()
    if path is None:
        path = next((p for p in (SYSTEM_CONFIG, DEV_CONFIG) if p.exists()), None)
    elif not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path is not None:
        config = _read_file(path, config)
    if environ.get("CALLBOX_DATA"):
        config = replace(config, data_dir=Path(environ["CALLBOX_DATA"]))
    if data:
        config = replace(config, data_dir=Path(data))
    if web:
        config = replace(config, web_listen=web)
    if sip:
        config = replace(config, sip_listen=sip)
    config.web_address  # noqa: B018 - validate now, with a clear message
    config.sip_address  # noqa: B018
    return config


def _read_file(path: Path, config: Config) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {f.name for f in fields(Config)} - {"source"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    values: dict = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string")
        values[key] = Path(value) if key == "data_dir" else value
    if values.get("log_level", "info") not in LOG_LEVELS:
        raise ConfigError(f"{path}: log_level must be one of {', '.join(LOG_LEVELS)}")
    return replace(config, **values, source=str(path))
