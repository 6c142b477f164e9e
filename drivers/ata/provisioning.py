"""Analog handsets through SIP analog telephone adapters (FXS), provisioned over HTTP.

An ATA asks the provisioning server for a file named after its MAC address and
registers each of its phone ports to the appliance as a SIP extension; to the core each
port's handset is then an ordinary phone.  One file carries every port's account.
Formats, from the vendors' published references:

* Grandstream HT801 / HT802: XML ``<gs_provision>`` carrying P-values, file
  ``cfg<mac>.xml``.  Each FXS port has its own P-value numbers (the "HT80x
  configuration template"): port 1 account active P271, primary SIP server P47, SIP user
  id P35, authenticate id P36, password P34, name P3; port 2 the same as P401, P747,
  P735, P736, P734, P703.
* Cisco / Linksys SPA112: XML ``<flat-profile>`` with one element per parameter and the
  line number in the name (``Proxy_1_``, ``User_ID_2_``...), file ``spa<mac>.xml``
  (the profile rule ``/spa$MA.xml``, Cisco SPA100 series provisioning guide).

A port without a phone in callbox is left out of the file: the ATA keeps whatever that
port has (an account the installer typed on its web page is not wiped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

TEMPLATES = Path(__file__).with_name("templates")
_MAC = re.compile(r"^[0-9a-f]{12}$")


class ProvisioningError(ValueError):
    """Bad input for a provisioning file (the installer's to fix): the message says what."""


@dataclass(frozen=True, slots=True)
class Account:
    extension: str
    password: str
    server: str
    port: int = 5060  # the SIP server's UDP port, not the ATA's FXS port
    name: str = ""


@dataclass(frozen=True, slots=True)
class AtaModel:
    key: str
    vendor: str
    name: str
    ports: int  # FXS ports on the box: one SIP account (one phone in callbox) each
    filename: str  # with {mac}

    def file_for(self, mac: str) -> str:
        return self.filename.format(mac=normalize_mac(mac))


ATA_MODELS: dict[str, AtaModel] = {
    "ht801": AtaModel("ht801", "Grandstream", "HT801", 1, "cfg{mac}.xml"),
    "ht802": AtaModel("ht802", "Grandstream", "HT802", 2, "cfg{mac}.xml"),
    "spa112": AtaModel("spa112", "Cisco", "SPA112", 2, "spa{mac}.xml"),
}

_VENDOR_WORDS = re.compile(r"^(grandstream|cisco|linksys)")


def ata_model(model: str | None) -> AtaModel | None:
    """The ATA a phone record's typed model names ("HT802", "Grandstream HT-802",
    "spa112"), or None for anything else (a desk phone)."""
    key = re.sub(r"[\s\-_/.]", "", (model or "").lower())
    return ATA_MODELS.get(_VENDOR_WORDS.sub("", key))


@dataclass(frozen=True, slots=True)
class GrandstreamPort:
    """The P-value numbers of one FXS port's SIP account (HT80x configuration template)."""

    active: str
    server: str
    user_id: str
    auth_id: str
    password: str
    name: str
    registration: str
    expiration: str  # minutes
    transport: str  # 0 = UDP
    nat_traversal: str  # 2 = keep-alive


GRANDSTREAM_FXS: dict[int, GrandstreamPort] = {
    1: GrandstreamPort("P271", "P47", "P35", "P36", "P34", "P3", "P31", "P32", "P130", "P52"),
    2: GrandstreamPort("P401", "P747", "P735", "P736", "P734", "P703", "P731", "P732", "P830",
                       "P730"),
}
# No vocoder P-values: the ATA offers its whole list and the box answers with the G.711
# it speaks, so the ATA's defaults work and nothing here can pick a codec we lack.


def normalize_mac(mac: str) -> str:
    bare = re.sub(r"[\s:.\-]", "", mac).lower()
    if not _MAC.match(bare):
        raise ProvisioningError(f"not a MAC address: {mac!r}")
    return bare


def _values(account: Account) -> dict[str, str]:
    if not account.extension or not account.server:
        raise ProvisioningError("an account needs an extension and a server")
    if not 0 < int(account.port) < 65536:
        raise ProvisioningError(f"bad SIP port {account.port!r}")
    return {
        "extension": escape(account.extension),
        "password": escape(account.password),
        "server": escape(account.server),
        "port": str(int(account.port)),
        "name": escape(account.name or account.extension),
    }


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _grandstream_port(fxs: int, account: Account) -> str:
    p, v = GRANDSTREAM_FXS[fxs], _values(account)
    values = [(p.active, "1"), (p.server, f"{v['server']}:{v['port']}"),
              (p.user_id, v["extension"]), (p.auth_id, v["extension"]),
              (p.password, v["password"]), (p.name, v["name"]),
              (p.registration, "1"), (p.expiration, "60"), (p.transport, "0"),
              (p.nat_traversal, "2")]
    lines = [f"    <!-- FXS port {fxs}: account {v['extension']} -->"]
    lines += [f"    <{key}>{value}</{key}>" for key, value in values]
    return "\n".join(lines)


def render(model_key: str, mac: str, accounts: Mapping[int, Account]) -> tuple[str, bytes]:
    """The file name the ATA will ask for and its content; ``accounts`` maps FXS port
    (1..model's ports) to that port's SIP account."""
    model = ATA_MODELS.get(model_key)
    if model is None:
        raise ProvisioningError(f"unknown ATA model {model_key!r}")
    if not accounts:
        raise ProvisioningError("no account to provision")
    for fxs in accounts:
        if not isinstance(fxs, int) or not 1 <= fxs <= model.ports:
            raise ProvisioningError(f"{model.name} has ports 1 to {model.ports}, not {fxs!r}")
    bare = normalize_mac(mac)
    ports = sorted(accounts)
    if model.vendor == "Grandstream":
        blocks = "\n".join(_grandstream_port(n, accounts[n]) for n in ports)
        text = _template("grandstream_ht80x.tmpl").substitute(mac=bare, ports=blocks)
    else:
        line = _template("cisco_spa112_line.tmpl")
        lines = "".join(line.substitute(n=n, **_values(accounts[n])) for n in ports)
        text = _template("cisco_spa112.tmpl").substitute(lines=lines.rstrip("\n"))
    return model.file_for(bare), text.encode("utf-8")


def model_for_request(filename: str) -> tuple[str, str] | None:
    """Which (vendor family, mac) a provisioning request is for, from the file asked."""
    m = re.match(r"^/?(cfg|spa)([0-9a-fA-F]{12})\.xml$", filename)
    if m is None:
        return None
    return ("grandstream" if m.group(1) == "cfg" else "cisco"), m.group(2).lower()


def analog_handsets(phones: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The phones list as the installer sees it: each phone row gets ``device`` (the ATA,
    or None for a desk phone) and ``ports``; after an ATA's last phone, one row
    ``{"free_port": True, "mac", "port", "model", "device"}`` per port of it that has no
    phone yet.  ``phones`` rows are the database's (extension, mac, port, model...)."""
    taken: dict[str, set[int]] = {}
    last_row: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for phone in phones:
        model = ata_model(phone.get("model"))
        row = dict(phone, free_port=False, device=None, ports=1)
        if model is not None:
            row.update(device=f"{model.vendor} {model.name}", ports=model.ports)
        if model is not None and phone.get("mac"):  # without its MAC no other port is known
            taken.setdefault(phone["mac"], set()).add(int(phone.get("port") or 1))
            last_row[phone["mac"]] = len(rows)
        rows.append(row)
    for mac, index in sorted(last_row.items(), key=lambda item: -item[1]):
        model = ata_model(rows[index]["model"])
        assert model is not None  # only ATA rows were remembered
        free = [{"free_port": True, "mac": mac, "port": n, "model": rows[index]["model"],
                 "device": f"{model.vendor} {model.name}", "ports": model.ports}
                for n in range(1, model.ports + 1) if n not in taken[mac]]
        rows[index + 1:index + 1] = free
    return rows
