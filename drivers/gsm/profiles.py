"""Vendor differences, one profile object per modem family, picked after identification
(+CGMI/+CGMM).  The driver asks its profile; it never tests a vendor name itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from drivers.at.engine import AtError

from . import words

if TYPE_CHECKING:
    from drivers.at.engine import AtEngine
    from drivers.at.protocol import Urc


class Profile:
    """Plain 27.007: progress by +CLCC polling, DTMF by +VTS, in-band DTMF detection."""

    family: ClassVar[str] = "generic"
    iccid_command: ClassVar[tuple[str, str]] = ("AT+CCID", "+CCID")
    call_urcs: ClassVar[bool] = False  # vendor call-state URCs make +CLCC polling needless
    dtmf_urc: ClassVar[str | None] = None
    ussd_packed: ClassVar[bool] = False  # send the USSD string as packed 7-bit hex
    init_commands: ClassVar[tuple[str, ...]] = ()

    async def check_voice(self, engine: AtEngine) -> str | None:
        """None when calls carry audio on the USB audio port, else the reason in words."""
        return None

    async def audio_on(self, engine: AtEngine) -> None:
        """Start PCM on the audio port; called once the call is connected."""

    async def audio_off(self, engine: AtEngine) -> None:
        """Stop PCM after the call (some firmwares need it before the next call)."""

    async def send_dtmf(self, engine: AtEngine, digit: str) -> None:
        await engine.command(f"AT+VTS={digit}")

    def dtmf_digit(self, urc: Urc) -> str | None:
        return None


class HuaweiProfile(Profile):
    """Huawei voice sticks (E1550, E173...): ^CVOICE tells whether the firmware has voice,
    ^DDSETEX=2 routes PCM to the voice port after ^CONN, ^ORIG/^CONF/^CONN/^CEND report
    progress, ^DTMF sends keys.  No DTMF URC: keys are detected in-band."""

    family = "huawei"
    iccid_command = ("AT^ICCID?", "^ICCID")
    call_urcs = True
    ussd_packed = True
    init_commands = ("AT^CURC=1",)

    async def check_voice(self, engine: AtEngine) -> str | None:
        try:
            response = await engine.command("AT^CVOICE?", expect="^CVOICE")
        except AtError:
            return words.NO_VOICE
        value = response.value("^CVOICE") or ""
        return None if value.startswith("0") else words.NO_VOICE

    async def audio_on(self, engine: AtEngine) -> None:
        await engine.command("AT^DDSETEX=2")

    async def send_dtmf(self, engine: AtEngine, digit: str) -> None:
        await engine.command(f"AT^DTMF=1,{digit}")


class QuectelProfile(Profile):
    """Quectel EC2x/EG25: +QPCMV=1,0 puts 8 kHz PCM on the USB NMEA port; +QTONEDET
    reports far-end keys as ASCII codes."""

    family = "quectel"
    iccid_command = ("AT+QCCID", "+QCCID")
    dtmf_urc = "+QTONEDET"
    init_commands = ("AT+QPCMV=1,0", "AT+QTONEDET=1")

    async def audio_on(self, engine: AtEngine) -> None:
        await engine.command("AT+QPCMV=1,0")

    def dtmf_digit(self, urc: Urc) -> str | None:
        try:
            return chr(int(urc.args))
        except ValueError:
            return None


class SimcomProfile(Profile):
    """SIMCom SIM7600: AT+CPCMREG=1 once the call is connected (VOICE CALL: BEGIN) and
    =0 after it, or the next call is silent; +DDET/+RXDTMF report far-end keys."""

    family = "simcom"
    iccid_command = ("AT+CICCID", "+ICCID")
    dtmf_urc = "+RXDTMF"
    init_commands = ("AT+DDET=1",)

    async def audio_on(self, engine: AtEngine) -> None:
        await engine.command("AT+CPCMREG=1")

    async def audio_off(self, engine: AtEngine) -> None:
        await engine.command("AT+CPCMREG=0", check=False)

    def dtmf_digit(self, urc: Urc) -> str | None:
        return urc.args[:1] or None


PROFILES: dict[str, type[Profile]] = {
    "generic": Profile,
    "huawei": HuaweiProfile,
    "quectel": QuectelProfile,
    "simcom": SimcomProfile,
}


def pick_profile(manufacturer: str, model: str, family: str | None = None) -> Profile:
    """The profile for what +CGMI/+CGMM said (or the family the installer chose)."""
    if family and family in PROFILES:
        return PROFILES[family]()
    maker = manufacturer.lower()
    for key in ("huawei", "quectel", "simcom"):
        if key in maker or key in model.lower():
            return PROFILES[key]()
    return Profile()
