"""Built-in music on hold: a short original melody synthesized here, free to ship.

Commercial tracks need a licence; a box sold with them would be a liability.  This is a
plain I–vi–IV–V progression in C major, arpeggiated in eighth notes over a soft bass,
with bell-like notes (a fundamental with a quieter octave, a quick attack and an
exponential decay).  It is made from numbers at first use, so nothing binary lives
in the repository, and it loops seamlessly: the length is a whole number of frames
and notes still ringing at the end carry on at the start.

Level: peaks near -12 dBFS, quiet enough for a handset held to the ear and loud
enough not to make callers think the line has dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from drivers.base import FRAME_BYTES, SAMPLE_RATE

from .prompts import wav_bytes, write_atomically

BEAT = 0.25  # seconds per eighth note at 120 bpm
PEAK = 0.25  # of full scale: about -12 dBFS

# (bass MIDI note, arpeggio MIDI notes) per bar; each bar is eight eighth notes
PROGRESSION = [
    (48, [60, 64, 67, 72, 76, 72, 67, 64]),  # C
    (45, [57, 60, 64, 69, 72, 69, 64, 60]),  # Am
    (41, [53, 57, 60, 65, 69, 65, 60, 57]),  # F
    (43, [55, 59, 62, 67, 71, 67, 62, 59]),  # G
    (48, [64, 67, 72, 76, 79, 76, 72, 67]),  # C, a little higher
    (45, [60, 64, 69, 72, 76, 72, 69, 64]),  # Am
    (41, [57, 60, 65, 69, 72, 69, 65, 60]),  # F
    (43, [55, 59, 62, 67, 62, 59, 55, 50]),  # G, falling back to the start
]


def _freq(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _add_note(buffer: list[float], start: int, length: int, freq: float, level: float,
              decay: float) -> None:
    """Add one note; it wraps round the end of the loop, so the loop point never clicks."""
    attack = int(0.008 * SAMPLE_RATE)
    step = 2 * math.pi * freq / SAMPLE_RATE
    fade = math.exp(-1 / (decay * SAMPLE_RATE))
    total, envelope = len(buffer), level
    for i in range(length):
        phase = step * i
        rise = i / attack if i < attack else 1.0
        buffer[(start + i) % total] += rise * envelope * (math.sin(phase)
                                                          + 0.3 * math.sin(2 * phase))
        envelope *= fade


@lru_cache(maxsize=1)
def melody_pcm() -> bytes:
    """The whole loop as 8 kHz mono signed 16-bit little-endian samples."""
    bar = int(8 * BEAT * SAMPLE_RATE)
    total = bar * len(PROGRESSION)
    buffer = [0.0] * total
    note_len = int(BEAT * SAMPLE_RATE)
    for index, (bass, arpeggio) in enumerate(PROGRESSION):
        start = index * bar
        _add_note(buffer, start, bar, _freq(bass), 0.5, 0.45)
        for step, note in enumerate(arpeggio):
            begin = start + step * note_len
            _add_note(buffer, begin, note_len * 3, _freq(note), 0.35, 0.22)  # rings on
    peak = max(abs(v) for v in buffer) or 1.0
    scale = PEAK * 32767 / peak
    samples = bytearray()
    for value in buffer:
        samples += int(round(value * scale)).to_bytes(2, "little", signed=True)
    return bytes(samples)


def moh_frames() -> Iterator[bytes]:
    """20 ms frames of the melody, looping forever (for a player that wants frames)."""
    pcm = melody_pcm()
    while True:
        for offset in range(0, len(pcm), FRAME_BYTES):
            yield pcm[offset:offset + FRAME_BYTES]


def ensure_moh_file(data_dir: Path | str) -> Path:
    """Write the melody as a WAV under ``DATA_DIR/prompts`` once; returns its path.
    Call it off the event loop (it writes and fsyncs a file)."""
    path = Path(data_dir) / "prompts" / "moh-builtin.wav"
    data = wav_bytes(melody_pcm())
    if not path.exists() or path.stat().st_size != len(data):
        write_atomically(path, data)
    return path


#: The setting the media layer reads (``CallMedia.moh_source``): a path to a WAV to play
#: instead of the melody, or empty for the melody.
MOH_SETTING = "moh_file"


def custom_moh_path(data_dir: Path | str) -> Path:
    """Where an uploaded music on hold lives (already in the box's format)."""
    return Path(data_dir) / "prompts" / "moh-custom.wav"
