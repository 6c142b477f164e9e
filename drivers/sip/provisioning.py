"""HTTP provisioning files for common desk phones (Yealink, Grandstream, Fanvil).

A phone that boots with the box's address as its provisioning server asks for a file
named after its MAC address; :func:`render` fills the vendor's template with the phone's
extension, secret and the box's SIP address.  The web layer serves the result at
``/provision/<file>``.  Values are escaped for the file's syntax: a display name with a
newline must not be able to add settings of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from string import Template
from xml.sax.saxutils import escape

VENDORS = ("yealink", "grandstream", "fanvil")
# IEEE OUI prefixes of each vendor's phones (first six hex digits of the MAC).
OUI = {
    "001565": "yealink", "805ec0": "yealink", "249ad8": "yealink", "44dbd2": "yealink",
    "000b82": "grandstream", "c074ad": "grandstream", "ec74d7": "grandstream",
    "0c383e": "fanvil",
}
CONTENT_TYPES = {"yealink": "text/plain", "grandstream": "application/xml", "fanvil": "text/plain"}


class ProvisioningError(ValueError):
    """The phone record cannot make a valid file (shown to the installer)."""


@dataclass(frozen=True, slots=True)
class PhoneConfig:
    extension: str
    password: str
    name: str
    server: str  # the box's address as the phone reaches it
    port: int = 5060
    transport: str = "udp"
    mac: str = ""
    expires: int = 600


def normalise_mac(mac: str) -> str:
    """``00:15:65:AB:CD:EF`` / ``0015.65ab.cdef`` -> ``001565abcdef`` (the phones table form)."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12:
        raise ProvisioningError(f"not a MAC address: {mac!r}")
    return digits


def vendor_for(mac: str = "", model: str = "") -> str | None:
    """The vendor from the phone's model name, else from the MAC's OUI."""
    lowered = model.lower()
    for vendor in VENDORS:
        if lowered.startswith(vendor):
            return vendor
    if mac:
        return OUI.get(normalise_mac(mac)[:6])
    return None


def filename_for(vendor: str, mac: str) -> str:
    """The file each vendor's firmware asks for by default."""
    mac = normalise_mac(mac)
    if vendor == "grandstream":
        return f"cfg{mac}.xml"
    if vendor in ("yealink", "fanvil"):
        return f"{mac}.cfg"
    raise ProvisioningError(f"unknown phone vendor {vendor!r}")


def _plain(value: str) -> str:
    """A value for a line-based file: no line breaks, no control characters."""
    return "".join(ch for ch in value if ch >= " " and ch != "\x7f")


def render(vendor: str, phone: PhoneConfig) -> bytes:
    if vendor not in VENDORS:
        raise ProvisioningError(f"unknown phone vendor {vendor!r}")
    if not phone.extension.isdigit():
        raise ProvisioningError("the extension must be digits")
    if len(phone.password) < 8:
        raise ProvisioningError("the SIP password is too short for a phone on a network")
    if phone.transport not in ("udp", "tcp"):
        raise ProvisioningError(f"unsupported transport {phone.transport!r}")
    tcp = phone.transport == "tcp"
    values = {
        "extension": phone.extension, "password": phone.password,
        "name": phone.name or phone.extension, "server": phone.server,
        "port": str(phone.port), "mac": normalise_mac(phone.mac) if phone.mac else "",
        "expires": str(phone.expires), "expires_minutes": str(max(1, phone.expires // 60)),
        "yealink_transport": "1" if tcp else "0", "grandstream_transport": "1" if tcp else "0",
        "fanvil_transport": "1" if tcp else "0",
    }
    quote = (lambda v: escape(v, {'"': "&quot;"})) if vendor == "grandstream" else _plain
    text = resources.files("drivers.sip").joinpath(f"templates/{vendor}.tmpl").read_text()
    return Template(text).substitute({k: quote(v) for k, v in values.items()}).encode()
