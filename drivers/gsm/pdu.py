"""SMS in PDU mode (3GPP TS 23.040 TPDUs as 27.005 hands them over: SMSC address first).

Decodes SMS-DELIVER and SMS-STATUS-REPORT, encodes SMS-SUBMIT; GSM 7-bit with the
extension table, 8-bit, UCS2 (UTF-16 code units, so emoji travel as surrogate pairs);
concatenation headers with 8- and 16-bit references (23.040 9.2.3.24.1 and .8).
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass

from . import gsm7

# 23.040 9.2.3.1 TP-Message-Type-Indicator (MS -> SC direction differs)
MTI_DELIVER = 0
MTI_SUBMIT = 1
MTI_STATUS_REPORT = 2
# 23.040 9.1.2.5 type of address
TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
TON_ALPHANUMERIC = 5
# 23.040 9.2.3.24 information element identifiers
IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08
# 23.038 4: alphabets named by the data coding scheme
GSM7, DATA8, UCS2 = "gsm7", "8bit", "ucs2"

SINGLE_GSM7 = 160  # septets in one message
SINGLE_UCS2 = 70  # UTF-16 code units in one message
PART_GSM7 = 153  # with a 6-octet concatenation header
PART_UCS2 = 67


class PduError(ValueError):
    """The modem handed us a PDU we cannot read (truncated, bad hex, unknown type)."""


@dataclass(frozen=True, slots=True)
class Concat:
    reference: int
    total: int
    sequence: int
    wide: bool = False  # 16-bit reference


@dataclass(frozen=True, slots=True)
class Deliver:
    smsc: str
    sender: str
    timestamp: float  # UTC epoch seconds from TP-SCTS
    text: str
    alphabet: str
    concat: Concat | None = None
    status_report: bool = False  # TP-SRI: the sender asked for a report


@dataclass(frozen=True, slots=True)
class StatusReport:
    reference: int  # TP-MR of the SMS-SUBMIT this reports on
    recipient: str
    status: int  # 23.040 9.2.3.15 TP-ST
    discharged: float

    @property
    def delivered(self) -> bool:
        return self.status < 0x20

    @property
    def final(self) -> bool:
        """0x20-0x3F: the SC is still trying; anything else is the last word."""
        return not 0x20 <= self.status < 0x40


@dataclass(frozen=True, slots=True)
class Submit:
    tpdu_length: int  # what AT+CMGS=<length> wants: octets after the SMSC part
    hex: str


# -- reading -------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def octet(self) -> int:
        return self.take(1)[0]

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PduError(f"PDU truncated at octet {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


def _from_hex(pdu_hex: str) -> bytes:
    try:
        return bytes.fromhex(pdu_hex.strip())
    except ValueError as exc:
        raise PduError(f"PDU is not hex: {exc}") from exc


def semi_octets(data: bytes, digits: int | None = None) -> str:
    """23.040 9.1.2.3: swapped nibbles, F fills; '*', '#', a, b, c for 0xA-0xE."""
    out = []
    for octet in data:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble == 0x0F:
                continue
            out.append("0123456789*#abc"[nibble])
    text = "".join(out)
    return text[:digits] if digits is not None else text


def _address(reader: _Reader) -> str:
    """23.040 9.1.2.5: length in useful semi-octets, type, value."""
    digits = reader.octet()
    toa = reader.octet()
    raw = reader.take((digits + 1) // 2)
    if (toa >> 4) & 0x07 == TON_ALPHANUMERIC:
        return gsm7.from_septets(gsm7.unpack(raw, digits * 4 // 7))
    number = semi_octets(raw, digits)
    return "+" + number if toa & 0x70 == 0x10 and number else number


def _smsc(reader: _Reader) -> str:
    length = reader.octet()
    if length == 0:
        return ""
    toa = reader.octet()
    number = semi_octets(reader.take(length - 1))
    return "+" + number if toa & 0x70 == 0x10 else number


def _timestamp(raw: bytes) -> float:
    """23.040 9.2.3.11: local time plus quarter hours to UTC, sign in bit 3 of the zone."""
    digits = [int(semi_octets(bytes([b])) or 0) for b in raw[:6]]
    year, month, day, hour, minute, second = digits
    year += 1900 if year >= 90 else 2000  # two-digit years: 1990-2089
    zone_octet = raw[6]
    quarters = (zone_octet & 0x07) * 10 + (zone_octet >> 4)
    offset = quarters * 15 * 60 * (-1 if zone_octet & 0x08 else 1)
    try:
        local = calendar.timegm((year, month, day, hour, minute, second))
    except (ValueError, OverflowError):
        return 0.0
    return float(local - offset)


def _alphabet(dcs: int) -> str:
    """23.038 4: the data coding scheme's character set."""
    group = dcs >> 4
    if group <= 0x07:  # general data coding (bit 5: compressed, bit 4: class given)
        return {0: GSM7, 1: DATA8, 2: UCS2}.get((dcs >> 2) & 0x03, GSM7)
    if group in (0x0C, 0x0D):  # message waiting, discard/store, default alphabet
        return GSM7
    if group == 0x0E:  # message waiting, store, UCS2
        return UCS2
    if group == 0x0F:
        return DATA8 if dcs & 0x04 else GSM7
    return GSM7


def _concat(udh: bytes) -> Concat | None:
    pos = 0
    while pos + 2 <= len(udh):
        iei, length = udh[pos], udh[pos + 1]
        body = udh[pos + 2 : pos + 2 + length]
        if iei == IEI_CONCAT_8 and length == 3 and body[1]:
            return Concat(body[0], body[1], body[2])
        if iei == IEI_CONCAT_16 and length == 4 and body[2]:
            return Concat(int.from_bytes(body[:2], "big"), body[2], body[3], wide=True)
        pos += 2 + length
    return None


def _user_data(reader: _Reader, dcs: int, udhi: bool) -> tuple[str, str, Concat | None]:
    udl = reader.octet()
    ud = reader.rest()
    alphabet = _alphabet(dcs)
    concat = None
    header_octets = 0
    if udhi:
        if not ud:
            raise PduError("user data header flagged but no user data")
        header_octets = ud[0] + 1
        if header_octets > len(ud):
            raise PduError("user data header longer than the user data")
        concat = _concat(ud[1:header_octets])
    if alphabet == GSM7:
        header_septets = math.ceil(header_octets * 8 / 7)
        fill = header_septets * 7 - header_octets * 8
        septets = gsm7.unpack(ud[header_octets:], udl - header_septets, fill)
        return gsm7.from_septets(septets), alphabet, concat
    body = ud[header_octets:udl]
    if alphabet == UCS2:
        if len(body) % 2:
            body = body[:-1]  # a torn last code unit cannot be read
        return body.decode("utf-16-be", "surrogatepass"), alphabet, concat
    return body.decode("latin-1"), alphabet, concat


def decode(pdu_hex: str) -> Deliver | StatusReport:
    """A PDU as +CMT, +CMGR, +CMGL or +CDS give it (SMSC address first)."""
    reader = _Reader(_from_hex(pdu_hex))
    smsc = _smsc(reader)
    first = reader.octet()
    mti = first & 0x03
    if mti == MTI_DELIVER:
        sender = _address(reader)
        reader.octet()  # TP-PID
        dcs = reader.octet()
        timestamp = _timestamp(reader.take(7))
        text, alphabet, concat = _user_data(reader, dcs, bool(first & 0x40))
        return Deliver(smsc, sender, timestamp, text, alphabet, concat, bool(first & 0x20))
    if mti == MTI_STATUS_REPORT:
        reference = reader.octet()
        recipient = _address(reader)
        reader.take(7)  # TP-SCTS: when the SC took it
        discharged = _timestamp(reader.take(7))
        status = reader.octet()
        return StatusReport(reference, recipient, status, discharged)
    raise PduError(f"not an SMS-DELIVER or SMS-STATUS-REPORT (first octet {first:02X})")


# -- writing -------------------------------------------------------------------------------
def encode_address(number: str) -> bytes:
    digits = number.lstrip("+")
    if not digits or not all(c in "0123456789*#" for c in digits):
        raise ValueError(f"{number!r} is not a phone number")
    toa = TOA_INTERNATIONAL if number.startswith("+") else TOA_UNKNOWN
    padded = digits + ("F" if len(digits) % 2 else "")
    swapped = "".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2))
    swapped = swapped.replace("*", "A").replace("#", "B")
    return bytes([len(digits), toa]) + bytes.fromhex(swapped)


def split(text: str) -> tuple[str, list[str]]:
    """Choose the alphabet and cut the text into message parts."""
    if gsm7.encodable(text):
        if gsm7.septet_length(text) <= SINGLE_GSM7:
            return GSM7, [text]
        return GSM7, _cut(text, PART_GSM7, gsm7.septet_length)
    if len(text.encode("utf-16-be")) // 2 <= SINGLE_UCS2:
        return UCS2, [text]
    return UCS2, _cut(text, PART_UCS2, lambda s: len(s.encode("utf-16-be")) // 2)


def _cut(text: str, limit: int, size) -> list[str]:
    """Cut at character boundaries, so an escape pair or a surrogate pair never splits."""
    parts, current, used = [], [], 0
    for ch in text:
        cost = size(ch)
        if used + cost > limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cost
    parts.append("".join(current))
    return parts


def _concat_header(reference: int, total: int, seq: int, wide: bool) -> bytes:
    if wide:
        return bytes([6, IEI_CONCAT_16, 4]) + (reference & 0xFFFF).to_bytes(2, "big") + bytes(
            [total, seq]
        )
    return bytes([5, IEI_CONCAT_8, 3, reference & 0xFF, total, seq])


def _encode_ud(part: str, alphabet: str, udh: bytes) -> tuple[int, int, bytes]:
    """(DCS, TP-UDL, TP-UD) for one part."""
    if alphabet == GSM7:
        header_septets = math.ceil(len(udh) * 8 / 7)
        fill = header_septets * 7 - len(udh) * 8
        septets = gsm7.to_septets(part)
        return 0x00, header_septets + len(septets), udh + gsm7.pack(septets, fill)
    ud = udh + part.encode("utf-16-be", "surrogatepass")
    return 0x08, len(ud), ud


def _parts(text: str, reference: int, wide_ref: bool):
    alphabet, parts = split(text)
    for seq, part in enumerate(parts, 1):
        udh = _concat_header(reference, len(parts), seq, wide_ref) if len(parts) > 1 else b""
        yield alphabet, part, udh


def encode_submit(
    number: str, text: str, reference: int = 0, *, report: bool = False, wide_ref: bool = False
) -> list[Submit]:
    """SMS-SUBMIT PDUs for ``text`` (one per part), SMSC left to the SIM (length 00).

    ``reference`` is the concatenation reference shared by the parts.
    """
    destination = encode_address(number)
    out = []
    for alphabet, part, udh in _parts(text, reference, wide_ref):
        first = MTI_SUBMIT | 0x10  # TP-VPF relative (23.040 9.2.3.3)
        first |= 0x20 if report else 0
        first |= 0x40 if udh else 0
        dcs, udl, ud = _encode_ud(part, alphabet, udh)
        # TP-MR 00: the modem numbers it; TP-PID 00; TP-VP AA = 4 days (23.040 9.2.3.12.1)
        tpdu = bytes([first, 0]) + destination + bytes([0, dcs, 0xAA, udl]) + ud
        out.append(Submit(len(tpdu), "00" + tpdu.hex().upper()))
    return out


@dataclass(frozen=True, slots=True)
class Submitted:
    """An SMS-SUBMIT read back (the simulator's network side reads what we send)."""

    destination: str
    text: str
    alphabet: str
    concat: Concat | None
    report: bool


def decode_submit(pdu_hex: str) -> Submitted:
    reader = _Reader(_from_hex(pdu_hex))
    _smsc(reader)
    first = reader.octet()
    if first & 0x03 != MTI_SUBMIT:
        raise PduError(f"not an SMS-SUBMIT (first octet {first:02X})")
    reader.octet()  # TP-MR
    destination = _address(reader)
    reader.octet()  # TP-PID
    dcs = reader.octet()
    vpf = (first >> 3) & 0x03
    reader.take({0: 0, 1: 7, 2: 1, 3: 7}[vpf])  # 23.040 9.2.3.3
    text, alphabet, concat = _user_data(reader, dcs, bool(first & 0x40))
    return Submitted(destination, text, alphabet, concat, bool(first & 0x20))


def encode_timestamp(epoch: float) -> bytes:
    """TP-SCTS in UTC (zone 00)."""
    t = time.gmtime(epoch)
    fields = (t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0)
    return bytes(((v % 10) << 4) | (v // 10) for v in fields)


SMSC_EXAMPLE = "+79168999100"  # what the simulators' SIMs say their SMSC is


def encode_deliver(
    sender: str, text: str, timestamp: float, reference: int = 0, *, wide_ref: bool = False,
    smsc: str = SMSC_EXAMPLE,
) -> list[str]:
    """SMS-DELIVER PDUs as a modem hands them over (SMSC first): the network side of the
    simulators, and test fixtures."""
    sca = encode_address(smsc)
    sca = bytes([len(sca) - 1]) + sca[1:]  # 24.011: SMSC length counts octets, not digits
    out = []
    for alphabet, part, udh in _parts(text, reference, wide_ref):
        first = MTI_DELIVER | 0x04 | (0x40 if udh else 0)  # TP-MMS: no more messages
        dcs, udl, ud = _encode_ud(part, alphabet, udh)
        tpdu = bytes([first]) + encode_address(sender) + bytes([0, dcs])
        tpdu += encode_timestamp(timestamp) + bytes([udl]) + ud
        out.append((sca + tpdu).hex().upper())
    return out


def encode_status_report(reference: int, recipient: str, status: int, when: float) -> str:
    sca = encode_address(SMSC_EXAMPLE)
    sca = bytes([len(sca) - 1]) + sca[1:]
    stamp = encode_timestamp(when)
    tpdu = bytes([MTI_STATUS_REPORT, reference & 0xFF]) + encode_address(recipient)
    tpdu += stamp + stamp + bytes([status])
    return (sca + tpdu).hex().upper()
