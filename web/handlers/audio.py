"""Sending a recording to the browser's <audio> player, with byte ranges.

A player seeks by asking for ``Range: bytes=START-[END]``; without an answer it can only
seek within what it has already fetched, and some players refuse to seek at all.  One
range is enough for a player (several ranges are answered with the whole file, which the
RFC allows).  A range that starts past the end gets 416 with the file's size.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import tornado.web

RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single satisfiable range; None for "the whole file".
    Raises ValueError for a range that cannot be satisfied (start past the end)."""
    match = RANGE.fullmatch((header or "").strip())
    if match is None or (not match[1] and not match[2]):
        return None  # absent, malformed or several ranges: send it all
    if not match[1]:  # "-N": the last N bytes
        suffix = int(match[2])
        if suffix == 0:
            raise ValueError("empty suffix range")
        return max(0, size - suffix), size - 1
    first = int(match[1])
    last = min(int(match[2]), size - 1) if match[2] else size - 1
    if first >= size or last < first:
        raise ValueError("range outside the file")
    return first, last


async def send_wav(handler: tornado.web.RequestHandler, path: Path,
                   cache: str = "private, no-cache") -> None:
    data = await asyncio.to_thread(path.read_bytes)  # recordings are minutes of 8 kHz audio
    handler.set_header("Content-Type", "audio/wav")
    handler.set_header("Cache-Control", cache)
    handler.set_header("Accept-Ranges", "bytes")
    try:
        wanted = byte_range(handler.request.headers.get("Range"), len(data))
    except ValueError:
        handler.set_status(416)
        handler.set_header("Content-Range", f"bytes */{len(data)}")
        handler.finish()
        return
    if wanted is None:
        handler.finish(data)
        return
    first, last = wanted
    handler.set_status(206)
    handler.set_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
    handler.finish(data[first:last + 1])
