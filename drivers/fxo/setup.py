"""Setting a V.253 voice modem up: identify it, voice mode, caller id, codec, silence
detection, no inactivity timer, on hook.  Run at every (re)connect and soft reset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.at.engine import AtEngine, AtError

from . import models
from .codec import choose_format, parse_vsm_list

CID_COMMANDS = ("AT+VCID=1", "AT#CID=1")  # V.253 name first, or the chip's own first


@dataclass(frozen=True, slots=True)
class ModemFacts:
    model: models.ModemModel
    full_duplex: bool
    caller_id: bool
    codec: str


async def set_up(engine: AtEngine, settings: dict[str, Any], usb: tuple[int, int] | None,
                 silence_seconds: float) -> ModemFacts:
    await engine.command("ATZ", timeout=3, check=False)
    await engine.command("ATE0", timeout=2)
    ati = await engine.command("ATI3", bare=True, timeout=2, check=False)
    fmm = await engine.command("AT+FMM?", bare=True, timeout=2, check=False)
    model = models.identify(settings.get("model"), usb, " ".join(ati.lines + fmm.lines))
    duplex = settings.get("duplex")
    full_duplex = model.full_duplex if duplex is None else duplex == "full"
    await engine.command("AT+FCLASS=8", timeout=2)
    caller_id = False
    for command in sorted(CID_COMMANDS, key=lambda c: c != model.cid_command):
        if (await engine.command(command, timeout=2, check=False)).final.ok:
            caller_id = True
            break
    vsm = await engine.command("AT+VSM=?", bare=True, expect="+VSM", timeout=2)
    chosen = choose_format(parse_vsm_list(vsm.lines))
    if chosen is None or chosen.kind is None:
        raise AtError("AT+VSM=? (no 8 kHz PCM or G.711 method)", vsm.final)
    await engine.command(f"AT+VSM={chosen.cml},8000", timeout=2)
    if model.reports_silence and silence_seconds > 0:
        tenths = min(255, max(1, round(silence_seconds * 10)))
        await engine.command(f"AT+VSD=128,{tenths}", timeout=2, check=False)
    # no DTE/DCE inactivity timer: a quiet stretch must not end a call's stream
    await engine.command("AT+VIT=0", timeout=2, check=False)
    await engine.command("AT+VLS=0", timeout=2)
    return ModemFacts(model, full_duplex, caller_id, chosen.kind)
