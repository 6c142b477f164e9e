"""SMS (27.005, PDU mode) and USSD (27.007 7.15) in the GSM simulator, with the network
side: deliver a message (multipart, UCS2), answer a USSD request."""

from __future__ import annotations

from typing import Any

from drivers.gsm import gsm7, pdu

SIM_SLOTS = 30  # message slots on a typical SIM


class SmsMixin:
    storage: dict[int, tuple[int, str]]  # index -> (27.005 <stat>, PDU hex)
    sent_sms: list[pdu.Submitted]
    ussd_requests: list[str]

    def _boot_sms(self: Any) -> None:
        # what the SIM holds survives a reboot; only the settings reset
        if not hasattr(self, "storage"):
            self.storage = {}
            self.sent_sms = []
            self.ussd_requests = []
            self.ussd_replies = {"*100#": "Баланс 123.45 р."}
            self._mr = 0
        self.cmgf = 0
        self.cnmi = [0, 0, 0, 0, 0]
        self._pdu_wait: tuple[int, str] | None = None
        self._pdu_buf = bytearray()

    def _register_sms_handlers(self: Any) -> None:
        self.handle("+CMGF", self._cmgf)
        self.handle("+CNMI", self._cnmi)
        self.handle("+CPMS", lambda kind, args: self.sim_error() or self.ok(
            f'+CPMS: {len(self.storage)},{SIM_SLOTS},{len(self.storage)},{SIM_SLOTS},'
            f'{len(self.storage)},{SIM_SLOTS}'))
        self.handle("+CSMS", lambda kind, args: self.ok("+CSMS: 1,1,1"))
        self.handle("+CMGR", self._cmgr)
        self.handle("+CMGL", self._cmgl)
        self.handle("+CMGD", self._cmgd)
        self.handle("+CMGS", self._cmgs)
        self.handle("+CUSD", self._cusd)
        self.handle("+CSCS", lambda kind, args: self.ok('+CSCS: "GSM"') if kind == "read"
                    else self.ok())

    # -- the network side -------------------------------------------------------------------
    def deliver_sms(self: Any, sender: str, text: str, *, wide_ref: bool = False) -> list[int]:
        """A message arrives (split in parts when long); returns the SIM indexes used."""
        self._mr = (self._mr + 1) % 256
        indexes = []
        for part in pdu.encode_deliver(sender, text, self.clock.time(), self._mr,
                                       wide_ref=wide_ref):
            if self.cnmi[1] == 2:  # 27.005 3.4.1 mt=2: routed straight to the TE
                self.urc(f"+CMT: ,{self._tpdu_len(part)}", part)
                continue
            index = next(i for i in range(SIM_SLOTS) if i not in self.storage)
            self.storage[index] = (0, part)
            indexes.append(index)
            if self.cnmi[1] == 1:
                self.urc(f'+CMTI: "SM",{index}')
        return indexes

    # -- commands ---------------------------------------------------------------------------
    def _cmgf(self: Any, kind: str, args: str):
        if kind == "set" and args in ("0", "1"):
            self.cmgf = int(args)
            return self.ok()
        return self.ok(f"+CMGF: {self.cmgf}") if kind == "read" else self.error()

    def _cnmi(self: Any, kind: str, args: str):
        if kind == "set":
            values = [int(v) if v.strip() else 0 for v in args.split(",")]
            self.cnmi = (values + [0] * 5)[:5]
            return self.ok()
        if kind == "read":
            return self.ok("+CNMI: " + ",".join(map(str, self.cnmi)))
        return self.error()

    def _cms(self: Any, code: int):
        return [], f"+CMS ERROR: {code}" if self.cmee else "ERROR"

    def _tpdu_len(self: Any, part: str) -> int:
        return len(part) // 2 - 1 - int(part[:2], 16)

    def _cmgr(self: Any, kind: str, args: str):
        err = self.sim_error()
        if err:
            return err
        index = int(args) if args.strip().isdigit() else -1
        if index not in self.storage:
            return self._cms(321)  # 27.005 3.2.5: invalid memory index
        stat, part = self.storage[index]
        self.storage[index] = (1 if stat == 0 else stat, part)
        return self.ok(f"+CMGR: {stat},,{self._tpdu_len(part)}", part)

    def _cmgl(self: Any, kind: str, args: str):
        err = self.sim_error()
        if err:
            return err
        lines = []
        for index, (stat, part) in sorted(self.storage.items()):
            lines += [f"+CMGL: {index},{stat},,{self._tpdu_len(part)}", part]
        return self.ok(*lines)

    def _cmgd(self: Any, kind: str, args: str):
        err = self.sim_error()
        if err:
            return err
        index = args.split(",")[0].strip()
        if not index.isdigit():
            return self._cms(321)
        self.storage.pop(int(index), None)
        return self.ok()

    def _cmgs(self: Any, kind: str, args: str):
        err = self.sim_error()
        if err:
            return err
        if kind != "set" or not args.strip().isdigit():
            return self.error()
        self._pdu_wait = (int(args), "")
        self._pdu_buf.clear()
        self.at_out(b"\r\n> ")
        return None

    def awaiting_pdu(self: Any) -> bool:
        return self._pdu_wait is not None

    def _take_pdu(self: Any) -> bool:
        """Collect the PDU after the prompt; True when it ended (Ctrl-Z or Esc)."""
        for end in (b"\x1a", b"\x1b"):
            cut = self._rx.find(end)
            if cut >= 0:
                text = bytes(self._rx[:cut]).decode("latin-1").strip()
                del self._rx[: cut + 1]
                self._pdu_wait = None
                if end == b"\x1b":
                    self.respond([], "OK")  # 27.005 3.5.1: Esc quits without sending
                else:
                    self._submit(text)
                return True
        return False

    def _submit(self: Any, pdu_hex: str) -> None:
        try:
            message = pdu.decode_submit(pdu_hex)
        except (pdu.PduError, ValueError):
            self.respond(*self._cms(304))  # invalid PDU mode parameter
            return
        self.sent_sms.append(message)
        self._mr = (self._mr + 1) % 256
        reference = self._mr
        self.respond([f"+CMGS: {reference}"], "OK")
        if message.report and self.cnmi[3] == 1:
            report = pdu.encode_status_report(reference, message.destination, 0, self.clock.time())
            self.clock.call_later(0.2, self.urc, f"+CDS: {self._tpdu_len(report)}", report)

    # -- USSD ---------------------------------------------------------------------------------
    ussd_packed: bool = False  # the request string comes as packed 7-bit hex (Huawei)
    ussd_ucs2: bool = False  # replies come as UCS2 hex with DCS 72

    def _cusd(self: Any, kind: str, args: str):
        if kind == "read":
            return self.ok("+CUSD: 1")
        if kind != "set":
            return self.error()
        parts = [p.strip() for p in args.split(",")]
        if len(parts) < 2:
            return self.ok()
        request = parts[1].strip('"')
        if self.ussd_packed:
            try:
                request = gsm7.unpack_ussd(bytes.fromhex(request))
            except ValueError:
                return self.cme(100)
        err = self.sim_error()
        if err:
            return err
        self.ussd_requests.append(request)
        self.clock.call_later(0.2, self._ussd_reply, request)
        return self.ok()

    def _ussd_reply(self: Any, request: str) -> None:
        reply = self.ussd_replies.get(request)
        if reply is None:
            self.urc("+CUSD: 4")  # 27.007 7.15: operation not supported
        elif self.ussd_ucs2 or not gsm7.encodable(reply):
            self.urc(f'+CUSD: 0,"{reply.encode("utf-16-be").hex().upper()}",72')
        elif self.ussd_packed:
            self.urc(f'+CUSD: 0,"{gsm7.pack_ussd(reply).hex().upper()}",15')
        else:
            self.urc(f'+CUSD: 0,"{reply}",15')
