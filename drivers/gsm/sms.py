"""SMS on one GSM modem (27.005, PDU mode): receive, reassemble, store, then delete;
send (split into parts); delivery reports.

Order matters for "loses nothing": a message is written to SQLite, the write awaited
(committed), and only then deleted from the SIM with AT+CMGD.  Parts of a concatenated
message stay on the SIM until the whole message is stored.  Without a store (a host that
offers none) messages are announced but left on the SIM.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drivers.at.engine import AtEngine, AtError, AtTimeout, PortLost
from drivers.at.protocol import Urc

from . import pdu
from .tasks import TaskSet

if TYPE_CHECKING:
    from .channel import GsmChannel

log = logging.getLogger(__name__)

STALE_PARTS = 24 * 3600.0  # a part whose siblings never came is stored alone after this
SEND_TIMEOUT = 60.0  # 27.005: +CMGS can take tens of seconds on a busy network


@dataclass
class _Partial:
    sender: str
    total: int
    first_seen: float
    parts: dict[int, tuple[int, pdu.Deliver]] = field(default_factory=dict)  # seq -> (index, part)


class SmsService:
    def __init__(self, channel: GsmChannel, engine: AtEngine) -> None:
        self.channel = channel
        self.engine = engine
        self.clock = channel.host.clock
        self.store = getattr(channel.host, "store", None)
        self.tasks = TaskSet(f"{channel.name} sms")
        self.received = 0
        self.rejected = 0
        self._partials: dict[tuple[str, int, int], _Partial] = {}
        self._seen: set[int] = set()  # SIM indexes being handled
        self._concat_ref = 0
        self._lock = asyncio.Lock()
        self._direct = -1  # pseudo indexes for messages that never touched the SIM
        self._unsubscribe = [
            engine.on_urc("+CMTI", self._cmti),
            engine.on_urc("+CMT", self._cmt),
            engine.on_urc("+CDS", self._cds),
        ]

    def close(self) -> None:
        self.tasks.cancel_all()
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    # -- receiving ---------------------------------------------------------------------------
    def _cmti(self, urc: Urc) -> None:
        """+CMTI: <mem>,<index> (27.005 3.4.1)."""
        index = urc.args.rsplit(",", 1)[-1].strip()
        if index.isdigit():
            self.tasks.spawn(self.fetch(int(index)), f"read SMS {index}")

    def _cmt(self, urc: Urc) -> None:
        """+CMT: [<alpha>],<length> + PDU line: a message routed straight to us (class 0
        "flash" messages are, whatever +CNMI says).  Nothing to delete from the SIM."""
        self._direct -= 1
        self.tasks.spawn(self._handle_direct(self._direct, urc.pdu or ""), "direct SMS")

    async def _handle_direct(self, index: int, pdu_hex: str) -> None:
        async with self._lock:
            await self._handle(index, pdu_hex)

    async def fetch_all(self) -> None:
        """Everything already on the SIM (arrived while we were down): AT+CMGL=4."""
        async with self._lock:  # one reader at a time, so no message is read twice
            response = await self.engine.command("AT+CMGL=4", expect="+CMGL", bare=True,
                                                 timeout=30)
            index = None
            for line in response.lines:
                if line.startswith("+CMGL:"):
                    index = int(line[6:].split(",")[0])
                elif index is not None:
                    await self._handle(index, line)
                    index = None

    async def fetch(self, index: int) -> None:
        async with self._lock:
            if index in self._seen:
                return
            try:
                response = await self.engine.command(f"AT+CMGR={index}", expect="+CMGR",
                                                     bare=True)
            except AtError as exc:  # already read and deleted through AT+CMGL: nothing to do
                log.debug("%s: AT+CMGR=%d: %s", self.channel.name, index, exc)
                return
            body = [ln for ln in response.lines if not ln.startswith("+CMGR")]
            if body:
                await self._handle(index, body[0])

    async def _handle(self, index: int, pdu_hex: str) -> None:
        """Called with the lock held."""
        if index in self._seen:
            return
        self._seen.add(index)
        try:
            message = pdu.decode(pdu_hex)
        except pdu.PduError as exc:
            # unreadable: keep it on the SIM for a person to look at; never lose it
            self.rejected += 1
            log.warning("%s: SMS %d unreadable, left on the SIM: %s", self.channel.name,
                        index, exc)
            return
        if isinstance(message, pdu.StatusReport):
            await self._report(message)
            await self._delete([index])
            return
        if message.concat is None or message.concat.total <= 1:
            await self._deliver(message.sender, message.text, message.timestamp, [index])
            return
        await self._part(index, message)

    async def _part(self, index: int, message: pdu.Deliver) -> None:
        concat = message.concat
        assert concat is not None
        key = (message.sender, concat.reference, concat.total)
        partial = self._partials.setdefault(
            key, _Partial(message.sender, concat.total, self.clock.monotonic()))
        partial.parts[concat.sequence] = (index, message)
        if len(partial.parts) < partial.total:
            self.clock.call_later(STALE_PARTS, self._flush_stale, key)
            return
        del self._partials[key]
        await self._deliver_partial(partial)

    async def _deliver_partial(self, partial: _Partial) -> None:
        ordered = [partial.parts[s] for s in sorted(partial.parts)]
        # UCS2 parts may split a surrogate pair (emoji): join code units, then decode
        text = "".join(m.text for _, m in ordered)
        text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
        if len(ordered) < partial.total:
            text += " […]"
        await self._deliver(partial.sender, text, ordered[0][1].timestamp,
                            [i for i, _ in ordered])

    def _flush_stale(self, key: tuple[str, int, int]) -> None:
        partial = self._partials.get(key)
        if partial and self.clock.monotonic() - partial.first_seen >= STALE_PARTS:
            del self._partials[key]
            self.tasks.spawn(self._deliver_stale(partial), "stale SMS parts")

    async def _deliver_stale(self, partial: _Partial) -> None:
        async with self._lock:
            await self._deliver_partial(partial)

    async def _deliver(self, sender: str, text: str, timestamp: float, indexes: list[int]) -> None:
        row = {"line": self.channel.name, "direction": "in", "number": sender, "text": text,
               "ts": timestamp or self.clock.time(), "status": "received", "reference": ""}
        stored = await self._write_row(row)
        self.received += 1
        self.channel.host.bus.publish("sms.received", line=self.channel.name, number=sender,
                                      text=text, id=stored)
        if stored is not None:
            await self._delete(indexes)
        # else: not durable, so it stays on the SIM (and in _seen, so it is announced once
        # per session); the next start's AT+CMGL reads it again

    async def _write_row(self, row: dict[str, Any]) -> int | None:
        if self.store is None:
            return None
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        values = tuple(row.values())
        try:
            return await self.store.writer.awrite(
                lambda conn: conn.execute(f"INSERT INTO sms({columns}) VALUES ({marks})",
                                          values).lastrowid)
        except Exception:  # a full disk must not lose the message: it stays on the SIM
            log.exception("%s: could not store an SMS", self.channel.name)
            return None

    async def _delete(self, indexes: list[int]) -> None:
        for index in indexes:
            if index < 0:  # delivered straight to us: not on the SIM
                self._seen.discard(index)
                continue
            try:
                await self.engine.command(f"AT+CMGD={index}")
            except (AtError, AtTimeout, PortLost) as exc:
                log.warning("%s: AT+CMGD=%d failed: %s", self.channel.name, index, exc)
            self._seen.discard(index)

    # -- delivery reports --------------------------------------------------------------------
    def _cds(self, urc: Urc) -> None:
        """+CDS: <length> + PDU line (27.005 3.4.1, CNMI <ds>=1)."""
        try:
            report = pdu.decode(urc.pdu or "")
        except pdu.PduError as exc:
            log.warning("%s: unreadable delivery report: %s", self.channel.name, exc)
            return
        if isinstance(report, pdu.StatusReport):
            self.tasks.spawn(self._report(report), "delivery report")

    async def _report(self, report: pdu.StatusReport) -> None:
        if not report.final or self.store is None:
            return
        status = "delivered" if report.delivered else "failed"
        line, mr = self.channel.name, str(report.reference)

        def update(conn) -> int:
            row = conn.execute(
                "SELECT id FROM sms WHERE line = ? AND direction = 'out' AND "
                "(',' || reference || ',') LIKE ? ORDER BY id DESC LIMIT 1",
                (line, f"%,{mr},%")).fetchone()
            if row is None:
                return 0
            return conn.execute("UPDATE sms SET status = ? WHERE id = ?", (status, row[0])).rowcount

        await self.store.writer.awrite(update)
        self.channel.host.bus.publish("sms.status", line=line, reference=mr, status=status)

    # -- sending -----------------------------------------------------------------------------
    async def send(self, number: str, text: str, *, report: bool = True) -> list[int]:
        """Send ``text`` to ``number``; returns the message references (TP-MR) of the parts.

        Raises ValueError for a bad number, AtError when the network refuses."""
        self._concat_ref = (self._concat_ref + 1) % 256
        parts = pdu.encode_submit(number, text, self._concat_ref, report=report)
        references: list[int] = []
        status = "sent"
        try:
            for part in parts:
                response = await self.engine.command(
                    f"AT+CMGS={part.tpdu_length}", expect="+CMGS", pdu=part.hex,
                    timeout=SEND_TIMEOUT)
                references.append(int((response.value("+CMGS") or "0").split(",")[0]))
        except (AtError, AtTimeout, PortLost):
            status = "failed"
            raise
        finally:
            await self._write_row({
                "line": self.channel.name, "direction": "out", "number": number, "text": text,
                "ts": self.clock.time(), "status": status,
                "reference": ",".join(map(str, references))})
        return references
