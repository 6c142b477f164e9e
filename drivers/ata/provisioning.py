"""Analog handsets through SIP analog telephone adapters (FXS), provisioned over HTTP.

An ATA asks the provisioning server for a file named after its MAC address and
registers each of its phone ports to the appliance as a SIP extension; to the core the
handset is then an ordinary phone.  Formats, from the vendors' published references:

* Grandstream HT801 / HT802: XML ``<gs_provision>`` carrying P-values, file
  ``cfg<mac>.xml`` (Grandstream "HT80x configuration template"; P271 account active,
  P47 primary SIP server, P35 SIP user id, P36 authenticate id, P34 password, P3 name).
  Only FXS port 1 is provisioned: the HT802's second port is set on its web page.
* Cisco / Linksys SPA112: XML ``<flat-profile>`` with one element per parameter and the
  line number in the name (``Proxy_1_``, ``User_ID_2_``...), file ``spa<mac>.xml``
  (the profile rule ``/spa$MA.xml``, Cisco SPA100 series provisioning guide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
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
    port: int = 5060
    name: str = ""


@dataclass(frozen=True, slots=True)
class AtaModel:
    key: str
    vendor: str
    name: str
    ports: int  # FXS ports on the box
    provisioned_ports: int  # how many of them the file sets up
    filename: str  # with {mac}

    def file_for(self, mac: str) -> str:
        return self.filename.format(mac=normalize_mac(mac))


ATA_MODELS: dict[str, AtaModel] = {
    "ht801": AtaModel("ht801", "Grandstream", "HT801", 1, 1, "cfg{mac}.xml"),
    "ht802": AtaModel("ht802", "Grandstream", "HT802", 2, 1, "cfg{mac}.xml"),
    "spa112": AtaModel("spa112", "Cisco", "SPA112", 2, 2, "spa{mac}.xml"),
}


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


def render(model_key: str, mac: str, accounts: list[Account]) -> tuple[str, bytes]:
    """The file name the ATA will ask for and its content, for ``accounts`` in port
    order (port 1 first)."""
    model = ATA_MODELS.get(model_key)
    if model is None:
        raise ProvisioningError(f"unknown ATA model {model_key!r}")
    if not accounts:
        raise ProvisioningError("no account to provision")
    if len(accounts) > model.provisioned_ports:
        raise ProvisioningError(
            f"{model.name} takes {model.provisioned_ports} account(s) by provisioning")
    bare = normalize_mac(mac)
    if model.vendor == "Grandstream":
        text = _template("grandstream_ht80x.tmpl").substitute(mac=bare, **_values(accounts[0]))
    else:
        line = _template("cisco_spa112_line.tmpl")
        lines = "".join(line.substitute(n=i, **_values(a)) for i, a in enumerate(accounts, 1))
        text = _template("cisco_spa112.tmpl").substitute(lines=lines.rstrip("\n"))
    return model.file_for(bare), text.encode("utf-8")


def model_for_request(filename: str) -> tuple[str, str] | None:
    """Which (vendor family, mac) a provisioning request is for, from the file asked."""
    m = re.match(r"^/?(cfg|spa)([0-9a-fA-F]{12})\.xml$", filename)
    if m is None:
        return None
    return ("grandstream" if m.group(1) == "cfg" else "cisco"), m.group(2).lower()


def analog_handsets(atas: list[dict]) -> list[dict]:
    """Every FXS port of the installer's ATAs as an analog handset row:
    ``atas`` items are ``{"model", "mac", "accounts": [Account...]}``."""
    rows = []
    for ata in atas:
        model = ATA_MODELS[ata["model"]]
        accounts: list[Account] = list(ata.get("accounts", []))
        for port in range(1, model.ports + 1):
            account = accounts[port - 1] if port <= len(accounts) else None
            rows.append({
                "kind": "analog_handset",
                "device": f"{model.vendor} {model.name}",
                "mac": normalize_mac(ata["mac"]),
                "port": port,
                "extension": account.extension if account else "",
                "name": (account.name or account.extension) if account else "",
                "provisioned": account is not None and port <= model.provisioned_ports,
            })
    return rows
