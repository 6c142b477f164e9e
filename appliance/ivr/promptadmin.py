"""What the prompts page does: prompts with their text, length and the flows using them;
upload, generate, retext and delete; music on hold uploaded or back to the built-in.

A prompt that an active flow names is never deleted from under it: ``delete`` refuses
with :class:`PromptInUse`, which lists the flows, so the installer changes them first.
Uploads and the TTS replace a prompt only once the new sound is ready, so a refused
file leaves the old prompt as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from appliance.admin import Admin
from appliance.store import Store

from .audioin import PromptError, decode_upload
from .flowstore import FlowStore
from .moh import MOH_SETTING, custom_moh_path, ensure_moh_file
from .prompts import (
    PromptLibrary,
    check_name,
    clean_text,
    wav_bytes,
    wav_seconds,
    write_atomically,
)


class PromptInUse(Exception):
    """An active flow plays this prompt; ``flows`` names them."""

    def __init__(self, name: str, flows: list[str]) -> None:
        super().__init__(f"prompt {name!r} is used by {', '.join(flows)}")
        self.name = name
        self.flows = flows


def prompt_fields(node: Mapping[str, Any]) -> Iterator[str]:
    """The prompt names a node plays: ``prompt`` and every ``*_prompt`` (invalid_,
    no_input_, confirm_, thanks_...), so a new node field needs no change here."""
    for key, value in node.items():
        if (key == "prompt" or key.endswith("_prompt")) and isinstance(value, str) and value:
            yield value


class PromptAdmin:
    def __init__(self, store: Store, admin: Admin, data_dir: Path | str, *,
                 library: PromptLibrary | None = None) -> None:
        self.store = store
        self.admin = admin
        self.data_dir = Path(data_dir)
        self.library = library or PromptLibrary(store, data_dir)
        self.flows = FlowStore(store)

    # -- reading ---------------------------------------------------------------------------
    def users(self) -> dict[str, list[str]]:
        """Prompt name -> the flows whose active version plays it (sorted)."""
        used: dict[str, set[str]] = {}
        for flow_name in self.flows.names():
            flow = self.flows.active(flow_name)
            if flow is None:
                continue
            for node in flow.graph.get("nodes", {}).values():
                if isinstance(node, Mapping):
                    for prompt in prompt_fields(node):
                        used.setdefault(prompt, set()).add(flow_name)
        return {name: sorted(flows) for name, flows in used.items()}

    async def prompts(self) -> list[dict[str, Any]]:
        """Every prompt (name, language, text, source, duration) with ``used_by``."""
        users = self.users()
        return [{**row, "used_by": users.get(row["name"], [])}
                for row in await self.library.details()]

    def audio_file(self, name: str, language: str) -> Path | None:
        return self.library.audio_file(name, language)

    # -- changing --------------------------------------------------------------------------
    async def generate(self, name: str, language: str, text: str) -> dict[str, Any]:
        return await self.library.generate(name, language, text)

    async def upload(self, name: str, language: str, data: bytes, text: str) -> dict[str, Any]:
        """A new recording, or (no file) a new text for an uploaded prompt's recording."""
        check_name(name, language)
        if not clean_text(text):
            raise PromptError("no_recording_text")
        if not data:
            # only a recording's text: a spoken prompt's text is what it says, so it
            # changes by speaking it again
            row = self.library.get(name, language)
            if row is None or row["source"] != "upload":
                raise PromptError("no_file")
            await self.library.set_text(name, language, text)
            return {**row, "text": clean_text(text)}
        return await self.library.upload(name, language, data, text)

    async def delete(self, name: str, language: str) -> bool:
        """Delete one language's prompt; False if there was none.  Refused (PromptInUse)
        while an active flow plays a prompt of that name."""
        check_name(name, language)
        flows = self.users().get(name)
        if flows:
            raise PromptInUse(name, flows)
        if self.library.get(name, language) is None:
            return False
        await self.library.delete(name, language)
        return True

    # -- music on hold ---------------------------------------------------------------------
    async def moh(self) -> dict[str, Any]:
        """Which music callers hear on hold: ``source`` is "builtin", "upload" or "other"
        (a file set by hand, e.g. with the CLI); ``file`` is the WAV the page may play
        (None for "other": only files under ``prompts/`` are served), ``duration`` its
        length.  An upload whose file has gone is reported as the built-in, which is what
        the media layer then plays."""
        setting = str(self.store.setting(MOH_SETTING, "") or "")
        custom = custom_moh_path(self.data_dir)
        if setting and Path(setting) != custom:
            return {"source": "other", "path": setting, "file": None, "duration": None}
        if setting and await asyncio.to_thread(custom.is_file):
            seconds = await asyncio.to_thread(wav_seconds, custom)
            return {"source": "upload", "path": setting, "file": custom, "duration": seconds}
        path = await asyncio.to_thread(ensure_moh_file, self.data_dir)
        seconds = await asyncio.to_thread(wav_seconds, path)
        return {"source": "builtin", "path": "", "file": path, "duration": seconds}

    async def upload_moh(self, data: bytes) -> Path:
        """Music on hold from an uploaded WAV/MP3 (converted like a prompt)."""
        if not data:
            raise PromptError("no_file")
        pcm = await decode_upload(data, self.library.sox)
        path = custom_moh_path(self.data_dir)
        await asyncio.to_thread(write_atomically, path, wav_bytes(pcm))
        await self.admin.set_setting(MOH_SETTING, str(path))
        return path

    async def builtin_moh(self) -> None:
        """Back to the melody the box ships; the uploaded file is removed."""
        await self.admin.set_setting(MOH_SETTING, "")
        await asyncio.to_thread(custom_moh_path(self.data_dir).unlink, True)
