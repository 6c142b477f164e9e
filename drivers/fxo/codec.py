"""The modem's voice formats (V.253 +VSM) and the conversion to the core's frames.

``AT+VSM=?`` lists one compression method a line: label, name, bits per sample, timing
marks, sample rates... (V.253 9.2.x; Conexant/USR manuals: ``128,"8-BIT LINEAR",8,0,
(7200,8000),(0),(0)``, ``131,"ULAW"``...).  We pick the best 8 kHz method the modem offers
and convert at the edge: everything past this module is 16-bit linear in 20 ms frames.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from appliance.media._audioop import audioop
from drivers.base import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE

_LINE = re.compile(
    r'^(?:\+VSM:\s*)?(\d+)\s*,\s*"?([^",]+)"?\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*\(?([\d,\s-]*)\)?'
)


@dataclass(frozen=True, slots=True)
class VoiceFormat:
    cml: int  # the modem's label, what AT+VSM=<cml>,8000 selects
    name: str  # as the modem spells it
    bits: int
    rates: tuple[int, ...]

    @property
    def kind(self) -> str | None:
        """ulaw, alaw, s8, u8 or s16, or None for what we do not convert (ADPCM, CELP)."""
        name = self.name.upper().replace(".", "").replace(" ", "")
        if any(k in name for k in ("ULAW", "G711U", "MULAW", "MU-LAW")):
            return "ulaw"
        if any(k in name for k in ("ALAW", "G711A")):
            return "alaw"
        if "ADPCM" in name or "CELP" in name:
            return None
        if self.bits == 8 and "UNSIGNED" in name:
            return "u8"
        if self.bits == 8 and ("LINEAR" in name or "SIGNED" in name):
            return "s8"
        if self.bits == 16 and "LINEAR" in name:
            return "s16"
        return None


# G.711 first: companded 8 bits carry ~13 bits of dynamic range; 8-bit linear is a
# last resort (audible noise floor).  16-bit doubles the serial load for little gain.
PREFERENCE = ("ulaw", "alaw", "s16", "s8", "u8")


def parse_vsm_list(lines: list[str]) -> list[VoiceFormat]:
    formats = []
    for line in lines:
        m = _LINE.match(line.strip())
        if not m:
            continue
        rates = tuple(int(r) for r in re.findall(r"\d+", m.group(5)))
        formats.append(VoiceFormat(int(m.group(1)), m.group(2).strip(), int(m.group(3)), rates))
    return formats


def choose_format(formats: list[VoiceFormat]) -> VoiceFormat | None:
    usable = [f for f in formats if f.kind is not None and (not f.rates or SAMPLE_RATE in f.rates)]
    usable.sort(key=lambda f: PREFERENCE.index(f.kind or ""))
    return usable[0] if usable else None


def _u8_decode(data: bytes) -> bytes:
    return audioop.lin2lin(audioop.bias(data, 1, -128), 1, 2)


def _u8_encode(pcm: bytes) -> bytes:
    return audioop.bias(audioop.lin2lin(pcm, 2, 1), 1, 128)


_DECODE: dict[str, Callable[[bytes], bytes]] = {
    "ulaw": lambda b: audioop.ulaw2lin(b, 2),
    "alaw": lambda b: audioop.alaw2lin(b, 2),
    "s8": lambda b: audioop.lin2lin(b, 1, 2),
    "u8": _u8_decode,
    "s16": bytes,
}
_ENCODE: dict[str, Callable[[bytes], bytes]] = {
    "ulaw": lambda p: audioop.lin2ulaw(p, 2),
    "alaw": lambda p: audioop.lin2alaw(p, 2),
    "s8": lambda p: audioop.lin2lin(p, 2, 1),
    "u8": _u8_encode,
    "s16": bytes,
}


class VoiceCodec:
    """Decode the modem's bytes into 320-byte frames; encode frames into the modem's
    bytes.  Holds the odd remainder between reads (a USB read rarely ends on a frame)."""

    def __init__(self, kind: str) -> None:
        if kind not in _DECODE:
            raise ValueError(f"unsupported voice format {kind!r}")
        self.kind = kind
        self.bytes_per_sample = 2 if kind == "s16" else 1
        self.frame_wire_bytes = FRAME_SAMPLES * self.bytes_per_sample
        self._decode = _DECODE[kind]
        self.encode = _ENCODE[kind]
        self._pending = bytearray()
        self.silence_wire = self.encode(bytes(FRAME_BYTES))

    def decode_frames(self, wire: bytes) -> list[bytes]:
        self._pending += wire
        size = self.frame_wire_bytes
        count = len(self._pending) // size
        if not count:
            return []
        chunk = bytes(self._pending[: count * size])
        del self._pending[: count * size]
        pcm = self._decode(chunk)
        return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]

    def reset(self) -> None:
        self._pending.clear()
