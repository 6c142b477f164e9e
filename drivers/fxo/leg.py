"""A call on an analog line, as the core sees it (``drivers/base.py`` contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from drivers.base import CallerId, Cause, Leg, LegListener

if TYPE_CHECKING:
    from .call import VoiceCall
    from .channel import FxoChannel


class FxoLeg(Leg):
    def __init__(
        self,
        channel: FxoChannel,
        direction: Literal["inbound", "outbound"],
        caller: CallerId,
        dialled: str = "",
        listener: LegListener | None = None,
        caller_time: str = "",
    ) -> None:
        super().__init__(channel, direction, caller, dialled, listener)
        self.fxo = channel
        self.caller_time = caller_time  # "MM-DD HH:MM" from the caller id burst
        self.call: VoiceCall | None = None
        self.hangup_reason: str | None = None  # loop_break, busy, silence, abandoned...

    async def answer(self) -> None:
        await self.fxo._answer(self)

    async def hangup(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        await self.fxo._release(self, cause, remote=False, reason="local")

    async def send_dtmf(self, digits: str) -> None:
        digits = "".join(d for d in digits.upper() if d in "0123456789*#ABCD")
        if digits and self.call is not None and not self.ended:
            await self.call.send_dtmf(digits)

    def send_frame(self, frame: bytes) -> None:
        if self.call is not None and not self.ended:
            self.call.queue(frame)
