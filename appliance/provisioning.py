"""Which provisioning file a phone or ATA gets when it asks the box for its MAC's file.

The installer types a MAC (and, for an ATA, its model) on the phone's row; the device
then fetches ``/provision/<file>`` and configures itself with its extension and secret.
Desk phones (Yealink, Grandstream, Fanvil) come from ``drivers.sip.provisioning``;
analog telephone adapters (Grandstream HT801/HT802, Cisco SPA112) from
``drivers.ata.provisioning``.
"""

from __future__ import annotations

import logging
import re
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .box import Box

log = logging.getLogger(__name__)


def box_address(box: Box) -> tuple[str, int]:
    """The SIP address phones should use: the installer's setting, else the address the
    daemon listens on, else this machine's address on its default route."""
    config = box.daemon.config
    host, port = config.sip_address
    phones = box.board.channels.get("phones")
    port = getattr(phones, "port", port) or port  # the port really bound (0 = any)
    public = box.store.setting("sip.public_host")
    if public:
        return str(public), port
    if host not in ("0.0.0.0", "::", ""):
        return host, port
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET: no packet is sent by a UDP connect
        return probe.getsockname()[0], port
    except OSError:
        return "127.0.0.1", port
    finally:
        probe.close()


def ata_ports(model: str | None) -> int | None:
    """How many FXS ports (one phone each) the ATA named by ``model`` has; None when the
    model is not an ATA the box provisions (a desk phone: one account)."""
    from drivers.ata.provisioning import ata_model

    found = ata_model(model)
    return found.ports if found else None


def ata_name(model: str | None) -> str | None:
    from drivers.ata.provisioning import ata_model

    found = ata_model(model)
    return found.name if found else None


def phone_rows(phones: list[dict]) -> list[dict]:
    """The phones page's rows: each ATA port its own analog handset row, and a row for
    every port of a known ATA that has no phone yet."""
    from drivers.ata.provisioning import analog_handsets

    return analog_handsets(phones)


def render_for_mac(box: Box, mac: str, user_agent: str,
                   filename: str) -> tuple[str, bytes] | None:
    """The file for the device with this MAC: a desk phone's own, or one ATA file with
    the account of every port that has a phone."""
    mac = re.sub(r"[^0-9a-f]", "", mac.lower())
    rows = box.store.query("SELECT * FROM phones WHERE mac = ? ORDER BY port", (mac,))
    if not rows:
        return None
    server, port = box_address(box)
    try:
        if ata_ports(rows[0]["model"]) is not None:
            return _ata(rows, mac, server, port)
        return _desk_phone(rows[0], mac, user_agent, server, port)
    except ValueError as exc:  # a record that cannot make a valid file
        log.warning("provisioning %s for %s refused: %s", filename, mac, exc)
        return None


def _desk_phone(phone, mac: str, user_agent: str, server: str, port: int):
    from drivers.sip.provisioning import CONTENT_TYPES, PhoneConfig, render, vendor_for

    vendor = vendor_for(mac, phone["model"] or user_agent.split("/")[0].split(" ")[0])
    if vendor is None:
        raise ValueError("unknown phone vendor: set the phone's model")
    config = PhoneConfig(extension=phone["extension"], password=phone["password"],
                         name=phone["name"] or phone["extension"], server=server, port=port,
                         mac=mac)
    return CONTENT_TYPES[vendor], render(vendor, config)


def _ata(phones: list, mac: str, server: str, port: int):
    from drivers.ata.provisioning import Account, ata_model, render

    model = ata_model(phones[0]["model"])
    assert model is not None  # the caller checked
    # admin validation keeps one model per MAC and ports within the model; a row that
    # disagrees (typed into the database by hand) is left out, the others still served
    accounts = {int(p["port"]): Account(extension=p["extension"], password=p["password"],
                                        server=server, port=port,
                                        name=p["name"] or p["extension"])
                for p in phones
                if ata_model(p["model"]) == model and 1 <= int(p["port"]) <= model.ports}
    if not accounts:
        raise ValueError(f"no valid port for {model.name} on {mac}")
    _filename, body = render(model.key, mac, accounts)
    return "application/xml", body
