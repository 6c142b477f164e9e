"""SDP (RFC 4566) for one audio stream, and the offer/answer rules of RFC 3264.

We speak G.711 only (PCMU, PCMA: what every desk phone has, and the box's CPU budget
has no room for transcoding) plus telephone-event (RFC 4733) for DTMF, ptime 20.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATIC = {0: "PCMU", 8: "PCMA"}  # RFC 3551 static payload types
CODECS = ("PCMU", "PCMA")
DTMF_PT = 101
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
REVERSE = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
           "inactive": "inactive"}


class SdpError(Exception):
    """An SDP we cannot use; the status to answer is 488 (RFC 3261 21.4.26)."""

    status = 488


@dataclass(slots=True)
class AudioSdp:
    address: str
    port: int
    payloads: list[int]
    names: dict[int, str] = field(default_factory=dict)  # pt -> "PCMU", "TELEPHONE-EVENT"
    direction: str = "sendrecv"
    ptime: int = 20

    @property
    def on_hold(self) -> bool:
        """The far end holds us: it will not listen (RFC 3264 8.4, RFC 2543 0.0.0.0)."""
        return self.direction in ("sendonly", "inactive") or self.address == "0.0.0.0"

    def pt_of(self, name: str) -> int | None:
        for pt in self.payloads:
            if self.names.get(pt, STATIC.get(pt, "")).upper() == name:
                return pt
        return None


def parse_sdp(body: bytes) -> AudioSdp:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SdpError("SDP is not UTF-8") from None
    session_addr, audio, direction = "", None, "sendrecv"
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "c":
            parts = value.split()
            if len(parts) < 3 or parts[0] != "IN":
                raise SdpError("bad c= line")
            addr = parts[2].split("/")[0]
            if audio is None:
                session_addr = addr
            else:
                audio.address = addr
        elif kind == "m":
            if audio is not None:
                continue  # only the first audio stream; others get port 0 in our answer
            parts = value.split()
            if len(parts) < 4 or parts[0] != "audio" or not parts[1].split("/")[0].isdigit():
                continue
            payloads = [int(p) for p in parts[3:] if p.isdigit() and int(p) < 128]
            audio = AudioSdp(session_addr, int(parts[1].split("/")[0]), payloads)
            audio.direction = direction
        elif kind == "a":
            name, _, rest = value.partition(":")
            if name in DIRECTIONS:
                if audio is None:
                    direction = name
                else:
                    audio.direction = name
            elif name == "rtpmap" and audio is not None:
                pt, _, encoding = rest.partition(" ")
                if pt.isdigit():
                    audio.names[int(pt)] = encoding.split("/")[0].upper()
            elif name == "ptime" and audio is not None and rest.strip().isdigit():
                audio.ptime = int(rest.strip())
    if audio is None:
        raise SdpError("no audio stream")
    if not audio.address:
        raise SdpError("no connection address")
    return audio


@dataclass(slots=True)
class Agreement:
    """What offer and answer agreed: the codec to send and the DTMF payload type."""

    codec: str
    pt: int
    dtmf_pt: int | None
    remote: AudioSdp


def negotiate(offer: AudioSdp, allowed: tuple[str, ...] = CODECS) -> Agreement:
    """Pick the offerer's most preferred codec we have (RFC 3264 6.1)."""
    for pt in offer.payloads:
        name = offer.names.get(pt, STATIC.get(pt, "")).upper()
        if name in allowed:
            return Agreement(name, pt, offer.pt_of("TELEPHONE-EVENT"), offer)
    raise SdpError("no common codec")


def build_sdp(
    address: str, port: int, session_id: int, version: int, codecs: list[tuple[int, str]],
    dtmf_pt: int | None = DTMF_PT, direction: str = "sendrecv",
) -> bytes:
    family = "IP6" if ":" in address else "IP4"
    pts = [str(pt) for pt, _ in codecs] + ([str(dtmf_pt)] if dtmf_pt is not None else [])
    lines = [
        "v=0",
        f"o=callbox {session_id} {version} IN {family} {address}",
        "s=callbox",
        f"c=IN {family} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(pts)}",
    ]
    lines += [f"a=rtpmap:{pt} {name}/8000" for pt, name in codecs]
    if dtmf_pt is not None:
        lines += [f"a=rtpmap:{dtmf_pt} telephone-event/8000", f"a=fmtp:{dtmf_pt} 0-16"]
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_codecs(allowed: tuple[str, ...] = CODECS) -> list[tuple[int, str]]:
    pts = {"PCMU": 0, "PCMA": 8}
    return [(pts[name], name) for name in allowed]
