"""baresip as an operator's phone: it registers with digest, auto-answers a call the box
rings it with, and audio crosses both ways (a tone each way, found with Goertzel)."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import struct
import tempfile
import wave
from pathlib import Path

import pytest

from drivers.base import CallerId, LegState
from tests.conftest import require_tool
from tests.sip.conftest import PHONES, Recorder, free_port, sip_channel, wait_until

pytestmark = pytest.mark.peers

PHONE_TONE = 1000.0  # what baresip plays (Hz)
BOX_TONE = 1500.0  # what the box sends


def tone_pcm(freq: float, seconds: float, amplitude: int = 8000) -> bytes:
    n = int(8000 * seconds)
    return struct.pack(f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * freq * i / 8000))
                                   for i in range(n)))


def write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)


def tone_share(pcm: bytes, freq: float, rate: int = 8000) -> float:
    """Share of the signal's energy at ``freq`` (Goertzel): ~1 for a pure tone."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    if not samples:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(x * x for x in samples)
    return power / (len(samples) / 2 * energy) if energy else 0.0


async def test_baresip_registers_answers_and_audio_flows_both_ways():
    baresip = require_tool("baresip")
    async with sip_channel() as (channel, host):
        with tempfile.TemporaryDirectory() as tmp:
            conf = Path(tmp)
            write_wav(conf / "send.wav", tone_pcm(PHONE_TONE, 30))
            write_wav(conf / "alert.wav", tone_pcm(440, 0.2))
            port = free_port()
            while not _free(port + 1):  # baresip's TLS listener takes the next port
                port = free_port()
            (conf / "config").write_text(f"""poll_method epoll
sip_listen 127.0.0.1:{port}
audio_source aufile,{conf}/send.wav
audio_player aubridge,x
audio_alert aufile,{conf}/alert.wav
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
snd_path {conf}
module account.so
""")
            (conf / "accounts").write_text(
                f'<sip:103@127.0.0.1>;auth_pass={PHONES["103"]};'
                f'outbound="sip:127.0.0.1:{channel.port}";regint=600;'
                f"answermode=auto;audio_codecs=PCMU\n")
            proc = await asyncio.create_subprocess_exec(
                baresip, "-n", "127.0.0.1", "-f", str(conf),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                await wait_until(lambda: channel.reaches("103"), 15, "baresip registration")
                binding = channel.status()["phones"]["103"][0]
                assert "baresip" in binding["user_agent"].lower()
                recorder = Recorder()
                leg = channel.originate("103", CallerId("5550100", "Caller"), recorder)
                await wait_until(lambda: leg.state is LegState.ANSWERED, 15, "auto-answer")
                frame_iter = _frames(tone_pcm(BOX_TONE, 3))
                sent = 0
                # pace our tone at 20 ms a frame, as the core's mixer would
                while sent < 150 and not leg.ended:
                    leg.send_frame(next(frame_iter))
                    sent += 1
                    await asyncio.sleep(0.02)
                await wait_until(lambda: len(recorder.frames) >= 50, 10, "audio from baresip")
                await leg.hangup()
                heard = b"".join(recorder.frames[-40:])
                assert tone_share(heard, PHONE_TONE) > 0.5
                assert tone_share(heard, BOX_TONE) < 0.05
                recording = await wait_until(lambda: _decoded_recording(conf), 10, "recording")
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(proc.wait(), 5)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
            pcm = _wav_pcm(recording)
            middle = pcm[len(pcm) // 4: len(pcm) * 3 // 4]
            assert len(middle) > 8000, "baresip recorded too little"
            assert tone_share(middle, BOX_TONE) > 0.5
            assert tone_share(middle, PHONE_TONE) < 0.05


def _frames(pcm: bytes):
    while True:
        for i in range(0, len(pcm) - 319, 320):
            yield pcm[i: i + 320]


def _free(port: int) -> bool:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _decoded_recording(conf: Path) -> Path | None:
    """baresip's sndfile module writes what it received to dump-*-dec.wav."""
    for path in sorted(conf.glob("dump-*-dec.wav")):
        if os.path.getsize(path) > 44 + 8000:
            return path
    return None


def _wav_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == 8000 and wav.getsampwidth() == 2
        return wav.readframes(wav.getnframes())
