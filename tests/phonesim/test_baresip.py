"""The simulated phone calls baresip, a real softphone, directly: SDP offer/answer and
RTP interoperate, a tone crosses each way (Goertzel on both recordings)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import tempfile
import wave
from pathlib import Path

import pytest

from appliance.media.goertzel import tone_present
from appliance.media.tones import synthesize
from appliance.media.wav import write_wav
from drivers.sim.sip_phone import AnswerPolicy, CallState, SimPhone, Voice
from tests.conftest import require_tool
from tests.phonesim.conftest import wait_until

pytestmark = pytest.mark.peers

BARESIP_TONE = 1000.0
PHONE_TONE = 600.0


def _port_pair() -> int:
    """A port free for UDP and TCP with the next one free for TCP too (baresip's TLS)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                with socket.socket() as a, socket.socket() as b:
                    a.bind(("127.0.0.1", port))
                    b.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair")


def _received(conf: Path) -> bytes:
    """What baresip heard: its sndfile module writes dump-*-dec.wav."""
    for path in sorted(conf.glob("dump-*-dec.wav")):
        with contextlib.suppress(wave.Error, EOFError), wave.open(str(path), "rb") as wav:
            pcm = wav.readframes(wav.getnframes())
            if len(pcm) > 16000:
                return pcm
    return b""


async def test_phone_calls_baresip_and_tones_cross_both_ways():
    baresip = require_tool("baresip")
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp)
        write_wav(conf / "send.wav", synthesize((BARESIP_TONE,), 20_000, -12.0))
        write_wav(conf / "alert.wav", synthesize((440.0,), 200, -12.0))
        port = _port_pair()
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
            "<sip:bob@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMA,PCMU\n")
        proc = await asyncio.create_subprocess_exec(
            baresip, "-n", "127.0.0.1", "-f", str(conf),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        phone = SimPhone("101", "unused", ("127.0.0.1", port), voice=Voice.tone(PHONE_TONE),
                         policy=AnswerPolicy(talk_seconds=None), t1=0.2)
        try:
            await phone.start(register=False)
            # baresip may take a moment to listen: the INVITE's retransmissions cover that
            call = await phone.dial("bob")
            assert await call.wait(CallState.ANSWERED, timeout=10) is CallState.ANSWERED, call
            agreement = call.media.agreement
            assert agreement is not None and agreement.pt == agreement.remote.payloads[0]
            await wait_until(lambda: call.frames_heard >= 75, 10, "audio from baresip")
            heard = call.heard_audio(1.0)
            assert tone_present(heard, BARESIP_TONE) and not tone_present(heard, PHONE_TONE)
            await wait_until(lambda: call.frames_spoken >= 100, 10, "2 s of our voice")
            call.hangup()
            pcm = await wait_until(lambda: _received(conf), 10, "baresip's recording")
        finally:
            await phone.stop()
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        middle = pcm[len(pcm) // 4: len(pcm) * 3 // 4]
        assert tone_present(middle, PHONE_TONE) and not tone_present(middle, BARESIP_TONE)
