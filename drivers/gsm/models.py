"""Supported GSM modems: USB identity, which interface carries AT and which the voice PCM,
and where that came from.  Used by hotplug (to recognise a modem whatever its tty number),
by the udev rule (stable names), by the CLI and the web (model choice, validation).

Interfaces are the USB interface numbers (``bInterfaceNumber``), not ttyUSB numbers,
which change with plug order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .words import N_


@dataclass(frozen=True, slots=True)
class ModemModel:
    key: str
    name: str
    family: str  # the profile: huawei, quectel, simcom
    usb_ids: tuple[tuple[int, int], ...]  # (vendor id, product id) in the mode that has voice
    at_interface: int
    audio_interface: int | None  # None: this model carries no voice over USB
    source: str


MODELS: dict[str, ModemModel] = {
    m.key: m
    for m in (
        ModemModel("e1550", "Huawei E1550", "huawei", ((0x12D1, 0x1001),), 2, 1,
                   "chan_dongle wiki, device list: PCUI (AT) on interface 2, voice on 1"),
        ModemModel("e173", "Huawei E173", "huawei", ((0x12D1, 0x1436), (0x12D1, 0x140C)), 2, 1,
                   "chan_dongle wiki, device list: same layout as E1550 in voice firmware"),
        ModemModel("e3372", "Huawei E3372 (no voice)", "huawei", ((0x12D1, 0x1506),), 2, None,
                   "Huawei E3372 stick-mode interface list; firmware answers ERROR to ^CVOICE"),
        ModemModel("ec25", "Quectel EC25 / EG25-G", "quectel", ((0x2C7C, 0x0125),), 2, 1,
                   "Quectel WCDMA&LTE Linux USB Driver User Guide: if0 DM, if1 NMEA, if2 AT, "
                   "if3 modem; Voice over USB note: AT+QPCMV=1,0 puts PCM on the NMEA port"),
        ModemModel("ec21", "Quectel EC21", "quectel", ((0x2C7C, 0x0121),), 2, 1,
                   "Quectel WCDMA&LTE Linux USB Driver User Guide (same layout as EC25)"),
        ModemModel("sim7600", "SIMCom SIM7600", "simcom", ((0x1E0E, 0x9001),), 2, 4,
                   "SIMCom SIM7500_SIM7600 Linux USB user guide: if0 diag, if1 NMEA, if2 AT, "
                   "if3 modem, if4 audio (AT+CPCMREG)"),
    )
}


def model_for_usb(vendor: int, product: int) -> ModemModel | None:
    for model in MODELS.values():
        if (vendor, product) in model.usb_ids:
            return model
    return None


class SettingsError(ValueError):
    """A line setting is wrong; ``field`` says which, the message (a translation key)
    says what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_PIN = re.compile(r"^\d{4,8}$")


def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise a GSM line's settings: {"at", "audio", "model", "pin"}.

    Returns the cleaned dict (empty optional fields dropped); raises SettingsError.
    """
    unknown = set(settings) - {"at", "audio", "model", "pin"}
    if unknown:
        raise SettingsError(sorted(unknown)[0], N_("unknown setting for a GSM line"))
    at = str(settings.get("at") or "").strip()
    if not at:
        raise SettingsError("at", N_("the modem's AT port is required, e.g. /dev/callbox/gsm1-at"))
    clean: dict[str, Any] = {"at": _device_path("at", at)}
    audio = str(settings.get("audio") or "").strip()
    if audio:
        clean["audio"] = _device_path("audio", audio)
        if clean["audio"] == clean["at"]:
            raise SettingsError("audio", N_("the audio port must differ from the AT port"))
    model = str(settings.get("model") or "").strip().lower()
    if model:
        if model not in MODELS:
            raise SettingsError("model", N_("unknown modem model"))
        clean["model"] = model
    pin = str(settings.get("pin") or "").strip()
    if pin:
        if not _PIN.match(pin):
            raise SettingsError("pin", N_("a SIM PIN is 4 to 8 digits"))
        clean["pin"] = pin
    return clean


def _device_path(field: str, path: str) -> str:
    # absolute paths only; outside /dev/ too, for ptys and stable links made by tests and
    # the demo's simulators (the issue: "ports can also be given by path")
    if not path.startswith("/") or any(c.isspace() for c in path) or ".." in path.split("/"):
        raise SettingsError(field, N_("a device path is absolute, e.g. /dev/callbox/gsm1-at"))
    return path


def cli_line_settings(at: str, audio: str | None = None, model: str | None = None,
                      pin: str | None = None) -> dict[str, Any]:
    """For ``callbox line add gsm --at PATH [--audio PATH] [--model MODEL] [--pin PIN]``:
    the settings JSON to store in ``lines.settings`` (raises SettingsError)."""
    raw = {"at": at, "audio": audio, "model": model, "pin": pin}
    return validate_settings({k: v for k, v in raw.items() if v})


def cli_line_row(name: str, settings: Mapping[str, Any],
                 status: Mapping[str, Any] | None = None) -> dict[str, str]:
    """For ``callbox line list``: one row of plain columns (status when the daemon runs)."""
    status = status or {}
    model = MODELS.get(str(settings.get("model", "")))
    signal = status.get("signal_dbm")
    return {
        "name": name,
        "kind": "gsm",
        "port": str(settings.get("at", "")),
        "model": status.get("model") or (model.name if model else ""),
        "state": str(status.get("state", "")),
        "operator": str(status.get("operator", "")),
        "signal": f"{signal} dBm" if signal is not None else "",
        "imei": str(status.get("imei", "")),
    }
