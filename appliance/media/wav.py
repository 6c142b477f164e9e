"""WAV in, 8 kHz mono s16 frames out; 8 kHz WAV out.

Prompts and music on hold arrive as whatever the installer uploads: 8/16/24/32-bit PCM,
32/64-bit float, G.711 mu-law or A-law, any rate, mono or stereo, plain or
WAVE_FORMAT_EXTENSIBLE headers.  The stdlib ``wave`` module of 3.11 reads only integer
PCM, so the RIFF chunks are walked here; samples are converted with ``audioop`` in C.
Other containers (MP3, FLAC, OGG) are converted by ``sox`` when it is installed.

Everything here reads or writes files: call it at start-up or in an executor, never on
the event loop while calls are up.
"""

from __future__ import annotations

import array
import shutil
import struct
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from drivers.base import SAMPLE_RATE

from ._audioop import audioop
from .g711 import split_frames

# RFC 2361 / mmreg.h format tags.
WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


class WavError(ValueError):
    """The file is not a WAV this module can read; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class WavFormat:
    tag: int
    channels: int
    rate: int
    bits: int
    block_align: int


def _chunks(data: bytes):
    pos = 12
    while pos + 8 <= len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]
        yield cid, body
        pos += 8 + size + (size & 1)  # chunks are word-aligned


def parse_wav(data: bytes) -> tuple[WavFormat, bytes]:
    """The format and the raw sample bytes of a RIFF/WAVE file held in memory."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    fmt: WavFormat | None = None
    samples: bytes | None = None
    for cid, body in _chunks(data):
        if cid == b"fmt " and len(body) >= 16:
            tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", body)
            if tag == WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack_from("<H", body, 24)[0]  # first 2 bytes of SubFormat
            fmt = WavFormat(tag, channels, rate, bits, align)
        elif cid == b"data":
            samples = body
    if fmt is None:
        raise WavError("no fmt chunk")
    if samples is None:
        raise WavError("no data chunk")
    if not (1 <= fmt.channels <= 32 and 1000 <= fmt.rate <= 384_000 and fmt.block_align >= 1):
        raise WavError(f"impossible format {fmt}")
    if fmt.block_align % fmt.channels:
        raise WavError(f"block size {fmt.block_align} does not fit {fmt.channels} channels")
    return fmt, samples[: len(samples) - len(samples) % fmt.block_align]


def _float_to_s16(raw: bytes, code: str) -> bytes:
    values = array.array(code, raw)
    if sys.byteorder != "little":
        values.byteswap()
    out = array.array("h", (int(max(-1.0, min(1.0, v)) * 32767.0) for v in values))
    return out.tobytes()


def _to_s16(fmt: WavFormat, raw: bytes) -> bytes:
    """Interleaved samples as signed 16-bit little-endian."""
    if fmt.tag == WAVE_FORMAT_PCM:
        width = fmt.block_align // fmt.channels
        if width == 1:  # 8-bit WAV is unsigned
            return audioop.lin2lin(audioop.bias(raw, 1, -128), 1, 2)
        if width in (2, 3, 4):
            return raw if width == 2 else audioop.lin2lin(raw, width, 2)
        raise WavError(f"unsupported PCM sample width {width * 8} bits")
    if fmt.tag == WAVE_FORMAT_IEEE_FLOAT:
        if fmt.block_align != fmt.channels * fmt.bits // 8:
            raise WavError(f"float block size {fmt.block_align} does not match {fmt.bits} bits")
        if fmt.bits == 32:
            return _float_to_s16(raw, "f")
        if fmt.bits == 64:
            return _float_to_s16(raw, "d")
        raise WavError(f"unsupported float width {fmt.bits} bits")
    if fmt.tag in (WAVE_FORMAT_MULAW, WAVE_FORMAT_ALAW):
        if fmt.block_align != fmt.channels:
            raise WavError("G.711 WAV must have one byte a sample")
        decode = audioop.ulaw2lin if fmt.tag == WAVE_FORMAT_MULAW else audioop.alaw2lin
        return decode(raw, 2)
    raise WavError(f"unsupported WAV format tag 0x{fmt.tag:04x}")


def _downmix(pcm: bytes, channels: int) -> bytes:
    if channels == 1:
        return pcm
    if channels == 2:
        return audioop.tomono(pcm, 2, 0.5, 0.5)
    samples = array.array("h", pcm)
    frames = len(samples) // channels
    return array.array(
        "h", (sum(samples[i * channels : (i + 1) * channels]) // channels for i in range(frames))
    ).tobytes()


def _smooth(pcm: bytes, taps: int) -> bytes:
    """A ``taps``-long moving average done with audioop in C.  ``ratecv`` interpolates
    without filtering, so going down from 44.1 kHz would fold everything above 4 kHz
    back into the voice band; this takes most of it off first."""
    if taps < 2 or len(pcm) < 2 * taps:
        return pcm
    scaled = audioop.mul(pcm, 2, 1.0 / taps)
    out = scaled
    for shift in range(1, taps):
        out = audioop.add(out, scaled[2 * shift :] + bytes(2 * shift), 2)
    return out


def resample_to_8k(pcm: bytes, rate: int) -> bytes:
    if rate == SAMPLE_RATE:
        return pcm
    if rate > SAMPLE_RATE:
        taps = rate // SAMPLE_RATE
        pcm = _smooth(_smooth(pcm, taps), taps)
    converted, _ = audioop.ratecv(pcm, 2, 1, rate, SAMPLE_RATE, None)
    return converted


def decode_wav(data: bytes) -> bytes:
    """A WAV file's bytes -> 8 kHz mono s16le PCM."""
    fmt, raw = parse_wav(data)
    return resample_to_8k(_downmix(_to_s16(fmt, raw), fmt.channels), fmt.rate)


def _sox_decode(path: Path) -> bytes:
    sox = shutil.which("sox")
    if sox is None:
        raise WavError(f"{path.name}: not a WAV file and sox is not installed to convert it")
    cmd = [sox, "-q", str(path), "-t", "raw", "-r", str(SAMPLE_RATE), "-c", "1",
           "-e", "signed-integer", "-b", "16", "-L", "-"]
    result = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip()
        raise WavError(f"{path.name}: sox could not convert it: {reason}")
    return result.stdout


def read_audio(path: str | Path) -> bytes:
    """Any WAV (or, with sox, any format sox reads) -> 8 kHz mono s16le PCM."""
    path = Path(path)
    data = path.read_bytes()
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            return decode_wav(data)
        except WavError:
            if shutil.which("sox") is None:
                raise
    return _sox_decode(path)


def read_frames(path: str | Path) -> list[bytes]:
    """A file as a list of 320-byte frames, the last one padded with silence."""
    return list(split_frames(read_audio(path)))


def write_wav(path: str | Path, pcm: bytes, rate: int = SAMPLE_RATE, channels: int = 1) -> None:
    """Write s16le PCM as a plain PCM WAV."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
