"""Recordings the installer uploads, turned into the box's one format (8 kHz mono s16).

What a file is comes from its first bytes, never from its name: ``RIFF....WAVE`` is a
WAV, an ID3v2 tag or two consecutive MPEG audio frame headers make an MP3.  WAVs are
checked here (layout, length) before any decoding, so a bad or too long file costs no
work; the samples are then converted by sox when it is installed (it low-pass filters
before decimating) or by ``appliance.media.wav`` otherwise.  MP3 needs sox built with
MP3 support (Debian: ``libsox-fmt-mp3``); without it an MP3 is refused with a message
that says so.  sox runs as a child process and the Python conversion on a thread, so
the event loop never waits for either.

Errors are :class:`PromptError` with a ``code`` and ``values``, so the web can say the
same thing in the user's language.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from appliance.media.wav import WavError, decode_wav, parse_wav

RATE = 8000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 600
TOOL_TIMEOUT = 60.0

MESSAGES = {
    "bad_name": "a prompt name uses a-z, 0-9, '-' and '_' (up to 64 characters)",
    "bad_language": "language must be one of: %(languages)s",
    "no_text": "there is no text to speak",
    "no_recording_text": "type what the recording says",
    "no_file": "choose a WAV or MP3 file",
    "text_too_long": "the text is longer than %(limit)s characters",
    "too_big": "the file is larger than %(mb)s MB",
    "too_long": "the recording is longer than %(minutes)s minutes",
    "empty": "the recording is empty",
    "unknown_format": "this is neither a WAV nor an MP3 file",
    "bad_wav": "the WAV file cannot be read: %(reason)s",
    "no_mp3": "this box cannot decode MP3 (sox with MP3 support is not installed); "
              "upload a WAV file",
    "bad_audio": "the %(kind)s file cannot be decoded: %(reason)s",
    "tool_timeout": "%(tool)s took longer than %(seconds)s s",
    "tool_failed": "%(tool)s failed: %(reason)s",
}


class PromptError(ValueError):
    """A prompt cannot be made from this input; ``code`` and ``values`` say why (the
    English sentence is the exception's text, for logs and the CLI)."""

    def __init__(self, code: str, **values: object) -> None:
        self.code = code
        self.values = values
        super().__init__(MESSAGES[code] % values)


# -- what is it ---------------------------------------------------------------------------
# ISO/IEC 11172-3 2.4.2.3 and 13818-3: bitrate (kbit/s) by index 1..14, per version/layer.
_BITRATES = {
    (1, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mpeg_frame_length(header: bytes) -> int | None:
    """Bytes in the MPEG audio frame starting with ``header``; None if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version_bits, layer_bits = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
    if version_bits == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values, or "free format" that no common encoder writes
    layer = 4 - layer_bits  # bits 11 = layer I, 10 = II, 01 = III
    mpeg1 = version_bits == 3
    bitrate = _BITRATES[(1 if mpeg1 else 2, layer)][bitrate_index - 1] * 1000
    rate = _SAMPLE_RATES[version_bits][rate_index]
    padding = (header[2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    if layer == 3 and not mpeg1:
        return 72 * bitrate // rate + padding
    return 144 * bitrate // rate + padding


def sniff(data: bytes) -> str | None:
    """"wav", "mp3" or None, from the content."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" and len(data) >= 10:
        return "mp3"  # ID3v2 tag: what every MP3 tagger writes first
    first = mpeg_frame_length(data[:4])
    if first is None:
        return None
    # one sync word can happen by chance; a second frame right where the first ends cannot
    if len(data) < first + 4:
        return "mp3" if len(data) >= first else None
    return "mp3" if mpeg_frame_length(data[first:first + 4]) is not None else None


# -- sox ----------------------------------------------------------------------------------
async def run_tool(*argv: str, stdin: bytes = b"") -> bytes:
    """Run a child process, feed it ``stdin``, return its stdout; PromptError on failure."""
    tool = Path(argv[0]).name
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), TOOL_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PromptError("tool_timeout", tool=tool, seconds=f"{TOOL_TIMEOUT:.0f}") from None
    except asyncio.CancelledError:
        # the daemon is stopping (or the caller left) mid-run: no orphan espeak-ng or sox,
        # and the process is reaped while the loop still runs
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip()[:200]
        raise PromptError("tool_failed", tool=tool, reason=message or proc.returncode)
    return out


_sox_formats: dict[str, frozenset[str]] = {}


async def sox_formats(sox: str) -> frozenset[str]:
    """The file types this sox reads ("mp3" only with libsox-fmt-mp3); asked once."""
    if sox not in _sox_formats:
        try:
            text = (await run_tool(sox, "-h")).decode(errors="replace")
        except (OSError, PromptError):
            text = ""
        found: set[str] = set()
        for line in text.splitlines():
            if line.startswith("AUDIO FILE FORMATS:"):
                found.update(line.split(":", 1)[1].split())
        _sox_formats[sox] = frozenset(found)
    return _sox_formats[sox]


async def mp3_supported(sox: str | None) -> bool:
    return bool(sox) and "mp3" in await sox_formats(sox)


async def _sox_decode(sox: str, kind: str, data: bytes) -> bytes:
    # sox reads a temporary file written on a thread: piping megabytes through the
    # loop's stdin transport would copy them on the loop
    fd, name = await asyncio.to_thread(tempfile.mkstemp, suffix=f".{kind}")
    try:
        await asyncio.to_thread(_write_all, fd, data)
        # -G: lower the gain rather than clip when resampling overshoots; -V1: failures
        # only; trim: a long file is cut just past the limit, not decoded whole, then refused
        return await run_tool(sox, "-V1", "-G", "-t", kind, name, "-t", "raw", "-r", str(RATE),
                              "-c", "1", "-b", "16", "-e", "signed-integer", "-L", "-",
                              "trim", "0", str(MAX_SECONDS + 1))
    except PromptError as exc:
        if exc.code != "tool_failed":
            raise
        raise PromptError("bad_audio", kind=kind.upper(),
                          reason=sox_reason(str(exc.values.get("reason", "")), name)) from None
    finally:
        await asyncio.to_thread(os.unlink, name)


def _write_all(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def sox_reason(stderr: str, name: str = "-") -> str:
    """sox's complaint without its path, level and our file's name:
    "/usr/bin/sox FAIL formats: can't open input file `/tmp/x.mp3': ..." ->
    "can't open input file: ..."."""
    line = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    line = re.sub(r"^\S*sox (FAIL|WARN) \w+: ", "", line)
    line = " ".join(line.replace(f"`{name}'", "").split()).replace(" :", ":").rstrip(":")
    return line or "sox failed"


# -- decoding -----------------------------------------------------------------------------
def check_wav(data: bytes) -> None:
    """A WAV the box can read, and not too long; PromptError otherwise."""
    try:
        fmt, raw = parse_wav(data)
    except WavError as exc:
        raise PromptError("bad_wav", reason=str(exc)) from None
    if fmt.tag not in (0x0001, 0x0003, 0x0006, 0x0007):  # PCM, float, A-law, mu-law
        raise PromptError("bad_wav", reason=f"unsupported format tag 0x{fmt.tag:04x}")
    if len(raw) / fmt.block_align / fmt.rate > MAX_SECONDS:
        raise PromptError("too_long", minutes=MAX_SECONDS // 60)
    if not raw:
        raise PromptError("empty")


def _python_decode(data: bytes) -> bytes:
    try:
        return decode_wav(data)
    except WavError as exc:
        raise PromptError("bad_wav", reason=str(exc)) from None


async def decode_upload(data: bytes, sox: str | None) -> bytes:
    """An uploaded file's bytes -> 8 kHz mono signed 16-bit PCM (little-endian)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PromptError("too_big", mb=MAX_UPLOAD_BYTES // 2**20)
    kind = sniff(data)
    if kind is None:
        raise PromptError("unknown_format")
    if kind == "wav":
        await asyncio.to_thread(check_wav, data)
        pcm = await (_sox_decode(sox, "wav", data) if sox
                     else asyncio.to_thread(_python_decode, data))
    else:
        if not await mp3_supported(sox):
            raise PromptError("no_mp3")
        pcm = await _sox_decode(sox, "mp3", data)
    if len(pcm) > MAX_SECONDS * RATE * 2:
        raise PromptError("too_long", minutes=MAX_SECONDS // 60)
    if len(pcm) < 2:
        raise PromptError("empty")
    return pcm[: len(pcm) & ~1]
