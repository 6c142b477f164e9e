"""Music on hold uploaded on the prompts page reaches callers: read on a thread the first
time (never on the loop), looped, and a broken file leaves the built-in melody playing."""

from __future__ import annotations

import asyncio
import threading

from appliance.callmedia import CallMedia
from appliance.ivr.moh import MOH_SETTING, custom_moh_path, melody_pcm
from appliance.media.source import PcmSource
from drivers.base import FRAME_BYTES
from tests.ivr.audio import make_wav, samples_8k

from .site import Site


def start(tmp_path):
    site = Site(tmp_path)
    media = CallMedia(site.board, tmp_path)
    readers: list[threading.Thread] = []
    real = media.cache.get_pcm

    def spy(path):
        readers.append(threading.current_thread())
        return real(path)

    media.cache.get_pcm = spy
    return site, media, readers


def test_uploaded_music_is_read_off_the_loop_then_looped(tmp_path):
    site, media, readers = start(tmp_path)
    wav = make_wav(8000, 1, 2, 1.0, freq=440)
    path = custom_moh_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(wav)

    async def scenario():
        await site.admin.set_setting(MOH_SETTING, str(path))  # what the page does
        first = media.moh_source()
        assert not isinstance(first, PcmSource)  # not in memory yet: the built-in
        assert first.read_frame() == melody_pcm()[:FRAME_BYTES]
        await asyncio.gather(*site.board.tasks)
        second = media.moh_source()
        return [second.read_frame() for _ in range(75)]  # 1.5 s of a 1 s file

    try:
        frames = asyncio.run(scenario())
    finally:
        media.close()
        site.store.close()
    assert readers and threading.main_thread() not in readers
    pcm = b"".join(frames)
    expected = b"".join(v.to_bytes(2, "little", signed=True) for v in samples_8k(wav))
    assert pcm[:16000] == expected and pcm[16000:] == expected[:len(pcm) - 16000]


def test_broken_music_keeps_the_melody_and_is_read_once(tmp_path):
    site, media, readers = start(tmp_path)
    path = custom_moh_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")

    async def scenario():
        await site.admin.set_setting(MOH_SETTING, str(path))
        for _ in range(3):
            source = media.moh_source()
            assert source.read_frame() == melody_pcm()[:FRAME_BYTES]
            await asyncio.gather(*site.board.tasks, return_exceptions=True)

    try:
        asyncio.run(scenario())
    finally:
        media.close()
        site.store.close()
    assert len(readers) == 1  # not again for every caller put on hold
