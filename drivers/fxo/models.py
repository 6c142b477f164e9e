"""Voice modems we know, told apart by USB identity first and ATI answers second.

Each entry says what the chip does for us: full duplex voice (+VTR), the caller id
command's name, whether it reports busy and silence itself.  Sources, per row:

* Linux ``drivers/usb/class/cdc-acm.c`` quirk table: 0803:3095 "Zoom Telephonics Model
  3095F", 0572:1321 "Conexant USB MODEM CX93010", 0572:1324 "RD02-D400",
  0572:1328 "Shiro / Aztech UM-3100", 0572:1329 "Hummingbird huc56s (Conexant)".
* 0baf:0303 USRobotics USR5637: lsusb reports of owners (the usb.ids name list lags);
  the USR "56K Softmodem/USB command reference" documents +VTR, +VSM 128..133, +VCID.
* Conexant "AT Commands for CX930xx Modems" (102752B): +VTR voice duplex, <DLE>^ to
  leave it, +VCID, +VSD silence detection, busy <DLE>b.

A modem we cannot place gets :data:`GENERIC`: half duplex, +VCID, and our own busy and
silence detection on the audio, which is always safe.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModemModel:
    key: str
    name: str
    chip: str
    usb_ids: tuple[tuple[int, int], ...] = ()
    ati_words: tuple[str, ...] = ()  # substrings of ATI0/ATI3/+FMM answers, upper case
    full_duplex: bool = True  # +VTR works
    cid_command: str = "AT+VCID=1"
    reports_busy: bool = True  # <DLE>b while receiving
    reports_silence: bool = True  # <DLE>s after +VSD's interval
    reports_loop_break: bool = True  # <DLE>l when loop current drops
    reports_dtmf: bool = True  # <DLE>0..D for keys the far end presses
    source: str = ""


MODELS: tuple[ModemModel, ...] = (
    ModemModel(
        "usr5637", "USRobotics USR5637", "Conexant CX93010", ((0x0BAF, 0x0303),),
        ("USR5637", "5637", "U.S. ROBOTICS 56K"),
        source="USR 56K command reference; cdc-acm owners' lsusb",
    ),
    ModemModel(
        "zoom3095", "Zoom 3095", "Conexant CX93010", ((0x0803, 0x3095),),
        ("ZOOM", "3095"),
        source="cdc-acm.c quirk table (3095F)",
    ),
    ModemModel(
        "cx93010", "Conexant CX93010 USB modem", "Conexant CX93010",
        ((0x0572, 0x1321), (0x0572, 0x1324), (0x0572, 0x1328), (0x0572, 0x1329)),
        ("CX93001", "CX93010", "CONEXANT"),
        source="cdc-acm.c quirk table; Conexant CX930xx reference 102752B",
    ),
    ModemModel(
        "rockwell", "Rockwell/Conexant ACF voice modem", "Rockwell RC56",
        (), ("ROCKWELL", "RC56"),
        full_duplex=False, cid_command="AT#CID=1", reports_silence=True,
        source="Rockwell RC56 command reference (voice: #CID, +VRX/+VTX, no +VTR)",
    ),
)

GENERIC = ModemModel(
    "generic", "V.253 voice modem", "unknown", full_duplex=False,
    reports_busy=False, reports_silence=False, reports_loop_break=False, reports_dtmf=False,
    source="V.253 minimum: +FCLASS=8, +VLS, +VRX/+VTX",
)

BY_KEY = {m.key: m for m in (*MODELS, GENERIC)}


def by_usb(vid: int, pid: int) -> ModemModel | None:
    for model in MODELS:
        if (vid, pid) in model.usb_ids:
            return model
    return None


def by_ati(answers: str) -> ModemModel | None:
    text = answers.upper()
    for model in MODELS:
        if any(word in text for word in model.ati_words):
            return model
    return None


def identify(key: str | None, usb: tuple[int, int] | None, ati: str) -> ModemModel:
    """The installer's choice wins, then USB identity, then what ATI said."""
    if key and key in BY_KEY:
        return BY_KEY[key]
    if usb is not None and (model := by_usb(*usb)) is not None:
        return model
    return by_ati(ati) or GENERIC


def usb_identity(port: str) -> tuple[int, int] | None:
    """VID:PID of the USB device behind a tty, from sysfs (pyudev); None for a pty."""
    try:
        import pyudev

        context = pyudev.Context()
        device = pyudev.Devices.from_device_file(context, port)
    except Exception:  # no udev (container, pty), or the node is gone
        return None
    usb = device.find_parent("usb", "usb_device")
    if usb is None:
        return None
    try:
        return int(usb.properties["ID_VENDOR_ID"], 16), int(usb.properties["ID_MODEL_ID"], 16)
    except (KeyError, ValueError):
        return None


def usb_key(port: str) -> str | None:
    """The identity :mod:`.locate` finds the modem by again: VID:PID and the physical
    USB socket (the USB device's sysfs name), which a renumbered tty keeps."""
    try:
        import pyudev

        device = pyudev.Devices.from_device_file(pyudev.Context(), port)
    except Exception:
        return None
    usb = device.find_parent("usb", "usb_device")
    if usb is None:
        return None
    try:
        vendor = int(usb.attributes.asstring("idVendor"), 16)
        product = int(usb.attributes.asstring("idProduct"), 16)
    except (KeyError, ValueError):
        return None
    from .locate import identity_for

    return identity_for(vendor, product, usb.sys_path)
