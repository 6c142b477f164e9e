"""The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 6.2.1), and
septet packing (23.038 6.1.2.1.1).

Used by SMS (TP-UD with DCS 0) and by USSD strings (DCS 15, packed like a cell
broadcast page, 23.038 6.1.2.3).
"""

from __future__ import annotations

# 23.038 6.2.1: the default alphabet, position = septet value.
DEFAULT = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(DEFAULT) == 128

ESCAPE = 0x1B  # 23.038 6.2.1.1: escape to the extension table
# 23.038 6.2.1.1: the extension table (default language).
EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_ENCODE = {ch: i for i, ch in enumerate(DEFAULT) if i != ESCAPE}
_ENCODE_EXT = {ch: code for code, ch in EXTENSION.items()}


def encodable(text: str) -> bool:
    """Whether every character has a septet (otherwise the message goes as UCS2)."""
    return all(ch in _ENCODE or ch in _ENCODE_EXT for ch in text)


def to_septets(text: str) -> list[int]:
    out: list[int] = []
    for ch in text:
        if ch in _ENCODE:
            out.append(_ENCODE[ch])
        elif ch in _ENCODE_EXT:
            out += [ESCAPE, _ENCODE_EXT[ch]]
        else:
            raise ValueError(f"{ch!r} is not in the GSM 7-bit alphabet")
    return out


def septet_length(text: str) -> int:
    return sum(2 if ch in _ENCODE_EXT else 1 for ch in text)


def from_septets(septets: list[int]) -> str:
    out: list[str] = []
    escaped = False
    for value in septets:
        if escaped:
            escaped = False
            # 23.038: an unknown extension shows as the default character (a space if absent)
            out.append(EXTENSION.get(value, DEFAULT[value] if value != ESCAPE else " "))
        elif value == ESCAPE:
            escaped = True
        else:
            out.append(DEFAULT[value])
    return "".join(out)


def pack(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first; ``fill_bits`` zero bits first (after a UDH, 23.040 9.2.3.24)."""
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for value in septets:
        acc |= (value & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """``count`` septets from packed ``data``, skipping ``fill_bits`` leading bits."""
    value = int.from_bytes(data, "little")
    value >>= fill_bits
    available = (len(data) * 8 - fill_bits) // 7
    return [(value >> (7 * i)) & 0x7F for i in range(min(count, available))]


def pack_ussd(text: str) -> bytes:
    """A USSD string as packed septets (23.038 6.1.2.3.1): a final lone 7 spare bits would
    read as '@', so they are filled with CR, which the receiver drops."""
    septets = to_septets(text)
    if len(septets) % 8 == 7:
        septets.append(0x0D)
    return pack(septets)


def unpack_ussd(data: bytes) -> str:
    septets = unpack(data, len(data) * 8 // 7)
    text = from_septets(septets)
    # 23.038 6.1.2.3.1: a CR in the last septet is padding, not text
    if len(data) % 7 == 0 and text.endswith("\r"):
        text = text[:-1]
    return text
