"""The simulated voice modems' facts: what each model answers to +VSM=?, whether it has
+VTR, which caller id command it knows, what it reports about the far end; and the
voice formats' conversions (the modem's side, kept apart from the driver's codec)."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.media._audioop import audioop

CONEXANT_VSM = (  # USR 56K command reference, +VSM=? example
    '1,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
    '128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)',
    '129,"ADPCM",4,0,(7200,8000),(0),(0)',
    '130,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
    '131,"ULAW",8,0,(7200,8000),(0),(0)',
    '132,"ALAW",8,0,(7200,8000),(0),(0)',
    '133,"LINEAR",16,0,(7200,8000),(0),(0)',
)
ROCKWELL_VSM = ('1,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
                '128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)')


@dataclass
class SimModel:
    name: str = "USRobotics USR5637"
    ati3: str = "U.S. Robotics 56K FAX USB V1.2.23"
    vsm: tuple[str, ...] = CONEXANT_VSM
    full_duplex: bool = True
    cid_commands: tuple[str, ...] = ("+VCID", "#CID")
    reports_busy: bool = True
    reports_silence: bool = True
    reports_loop_break: bool = True
    reports_dtmf: bool = True


USR5637 = SimModel()
HALF_DUPLEX = SimModel("Rockwell RC56 voice", "ROCKWELL RC56 V.90", ROCKWELL_VSM, False,
                       ("#CID",), reports_busy=False, reports_silence=False,
                       reports_loop_break=False)


def _decode(kind: str, data: bytes) -> bytes:
    if kind == "ulaw":
        return audioop.ulaw2lin(data, 2)
    if kind == "alaw":
        return audioop.alaw2lin(data, 2)
    if kind == "u8":
        return audioop.lin2lin(audioop.bias(data, 1, -128), 1, 2)
    if kind == "s16":
        return data
    return audioop.lin2lin(data, 1, 2)


def _encode(kind: str, pcm: bytes) -> bytes:
    if kind == "ulaw":
        return audioop.lin2ulaw(pcm, 2)
    if kind == "alaw":
        return audioop.lin2alaw(pcm, 2)
    if kind == "u8":
        return audioop.bias(audioop.lin2lin(pcm, 2, 1), 1, 128)
    if kind == "s16":
        return pcm
    return audioop.lin2lin(pcm, 2, 1)


_KINDS = {1: "u8", 128: "s8", 130: "u8", 131: "ulaw", 132: "alaw", 133: "s16"}
