"""One simulator class per real modem model, with that model's quirks.

Sources for the behaviour (vendor manuals, as summarised in docs/gsm.md):
Huawei "HSPA USB Stick AT Command Interface Specification" (^CVOICE, ^DDSETEX, ^ORIG,
^CONF, ^CONN, ^CEND, ^DTMF, USSD as packed 7-bit hex), Quectel "EC25&EC21 AT Commands
Manual" and "Voice Over USB" note (+QPCMV=1,0 puts PCM on the NMEA port, +QTONEDET,
+QCCID), SIMCom "SIM7500_SIM7600 Series AT Command Manual" and "USB Audio" note
(+CPCMREG once the call is connected and =0 after it, VOICE CALL: BEGIN/END, +DDET
and +RXDTMF, +CICCID).
"""

from __future__ import annotations

from typing import ClassVar

from .modem import GsmModemSim, Reply
from .simcalls import ACTIVE, SimCall


class HuaweiE1550(GsmModemSim):
    manufacturer = "huawei"
    model = "E1550"
    revision = "11.608.12.02.143"
    ussd_packed = True  # Huawei sticks take and give USSD as packed 7-bit hex

    def _register_handlers(self) -> None:
        super()._register_handlers()
        self.handle("^CVOICE", self._cvoice)
        self.handle("^DDSETEX", self._ddsetex)
        self.handle("^ICCID", self.iccid_handler("^ICCID"))
        self.handle("^DTMF", self._dtmf)
        self.handle("^CURC", lambda kind, args: self.ok())

    def _cvoice(self, kind: str, args: str) -> Reply:
        if not self.has_voice:
            return self.error()
        # ^CVOICE: <mode>,<sampling rate>,<data bits>,<frame period ms>
        return self.ok("^CVOICE: 0,8000,16,20") if kind == "read" else self.ok()

    def _ddsetex(self, kind: str, args: str) -> Reply:
        if not self.has_voice:
            return self.error()
        if kind == "set" and args.strip() == "2":
            if any(c.stat == ACTIVE for c in self.calls):
                self.audio.start()  # PCM on the voice port from now on
                return self.ok()
            return self.cme(3)
        return self.error()

    def _dtmf(self, kind: str, args: str) -> Reply:
        # AT^DTMF=<call_x>,<digit>
        parts = args.split(",")
        if kind != "set" or len(parts) != 2:
            return self.error()
        return self._vts("set", parts[1])

    def dial_started(self, call: SimCall) -> None:
        self.urc(f"^ORIG:{call.index},0")

    def far_alerting(self, call: SimCall) -> None:
        self.urc(f"^CONF:{call.index}")

    def call_connected(self, call: SimCall) -> None:
        self.urc(f"^CONN:{call.index},0")

    def call_ended(self, call: SimCall, cause: int, remote: bool, result: str) -> None:
        duration = int(self.clock.monotonic() - call.started) if call.started else 0
        # ^CEND:<call_x>,<duration>,<end_status>,<cc_cause> (cc_cause: 24.008 cause value)
        self.urc(f"^CEND:{call.index},{duration},104,{cause}")

    def interleaved_urc(self) -> str:
        return f"^RSSI:{self.signal}"


class HuaweiE173(HuaweiE1550):
    model = "E173"
    revision = "21.017.09.00.314"


class HuaweiE3372(HuaweiE1550):
    """An LTE stick whose firmware has no voice: ^CVOICE and ^DDSETEX answer ERROR."""

    model = "E3372"
    revision = "22.315.01.00.143"
    has_voice: ClassVar[bool] = False


class QuectelEC25(GsmModemSim):
    manufacturer = "Quectel"
    model = "EC25"
    revision = "EC25EFAR06A06M4G"

    def _boot(self) -> None:
        super()._boot()
        self.qpcmv = False
        self.tonedet = False

    def _register_handlers(self) -> None:
        super()._register_handlers()
        self.handle("+QPCMV", self._qpcmv)
        self.handle("+QTONEDET", self._qtonedet)
        self.handle("+QCCID", self.iccid_handler("+QCCID"))
        self.handle("+QURCCFG", lambda kind, args: self.ok())

    def _qpcmv(self, kind: str, args: str) -> Reply:
        if kind == "read":
            return self.ok(f"+QPCMV: {int(self.qpcmv)},0")
        if kind == "set":
            values = [v.strip() for v in args.split(",")]
            self.qpcmv = values[0] == "1"
            if self.qpcmv and any(c.stat == ACTIVE for c in self.calls):
                self.audio.start()
            elif not self.qpcmv:
                self.audio.stop()
            return self.ok()
        return self.error()

    def _qtonedet(self, kind: str, args: str) -> Reply:
        if kind == "set" and args.strip() in ("0", "1"):
            self.tonedet = args.strip() == "1"
            return self.ok()
        return self.ok(f"+QTONEDET: {int(self.tonedet)}") if kind == "read" else self.error()

    def call_connected(self, call: SimCall) -> None:
        if self.qpcmv:
            self.audio.start()

    def far_dtmf(self, digit: str) -> None:
        if self.tonedet:
            self.urc(f"+QTONEDET: {ord(digit)}")  # the key's ASCII code
        else:
            self.audio.press(digit)


class SimcomSIM7600(GsmModemSim):
    manufacturer = "SIMCOM INCORPORATED"
    model = "SIMCOM_SIM7600E-H"
    revision = "LE20B04SIM7600M22"
    ussd_ucs2 = True

    def _boot(self) -> None:
        super()._boot()
        self.pcm_registered = False
        self.ddet = False

    def _register_handlers(self) -> None:
        super()._register_handlers()
        self.handle("+CPCMREG", self._cpcmreg)
        self.handle("+DDET", self._ddet)
        self.handle("+CICCID", self.iccid_handler("+ICCID"))

    def _cpcmreg(self, kind: str, args: str) -> Reply:
        if kind == "read":
            return self.ok(f"+CPCMREG: {int(self.pcm_registered)}")
        if kind != "set" or args.strip() not in ("0", "1"):
            return self.error()
        if args.strip() == "0":
            self.pcm_registered = False
            self.audio.stop()
            return self.ok()
        # the manual: register only once the call is up, and deregister after every call
        if self.pcm_registered or not any(c.stat == ACTIVE for c in self.calls):
            return self.cme(3)
        self.pcm_registered = True
        self.audio.start()
        return self.ok()

    def _ddet(self, kind: str, args: str) -> Reply:
        if kind == "set":
            self.ddet = args.split(",")[0].strip() == "1"
            return self.ok()
        return self.ok(f"+DDET: {int(self.ddet)}") if kind == "read" else self.error()

    def call_connected(self, call: SimCall) -> None:
        self.urc("VOICE CALL: BEGIN")

    def call_ended(self, call: SimCall, cause: int, remote: bool, result: str) -> None:
        if call.started:
            secs = int(self.clock.monotonic() - call.started)
            self.urc(f"VOICE CALL: END: {secs // 3600:02d}{secs // 60 % 60:02d}{secs % 60:02d}")
        elif call.mobile_terminated and remote:
            self.urc(f"MISSED_CALL: 12:00AM {call.number}")
        if remote:
            self.urc(result)

    def far_dtmf(self, digit: str) -> None:
        if self.ddet:
            self.urc(f"+RXDTMF: {digit}")
        else:
            self.audio.press(digit)


MODELS: dict[str, type[GsmModemSim]] = {
    "e1550": HuaweiE1550,
    "e173": HuaweiE173,
    "e3372": HuaweiE3372,
    "ec25": QuectelEC25,
    "sim7600": SimcomSIM7600,
}
