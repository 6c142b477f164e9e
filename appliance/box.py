"""The running appliance as the web page sees it (``web.box.Box``): live pictures built
from memory (ACD, channels), actions on live calls, and today's figures.

Nothing here blocks the loop for long: the wallboard's daily figures are cached for a
couple of seconds, reports run on a reader thread.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drivers.base import Unreachable

from . import reports
from .acd.api import OperatorStatus
from .admin import ValidationError

if TYPE_CHECKING:
    from .daemon import Daemon

KPI_CACHE_SECONDS = 2.0
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a prompt or music-on-hold file; nothing bigger


class Box:
    max_upload_bytes = MAX_UPLOAD_BYTES

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.store = daemon.store
        self.bus = daemon.bus
        self.admin = daemon.admin
        self.board = daemon.board
        self._kpi_cache: tuple[float, dict[str, dict[str, Any]]] | None = None
        self._kpi_refreshing = False

    # -- time ------------------------------------------------------------------------------
    def timezone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.store.setting("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def today_start(self) -> float:
        now = datetime.fromtimestamp(self.board.clock.time(), self.timezone())
        return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    # -- the live picture ----------------------------------------------------------------------
    def _today(self) -> dict[str, dict[str, Any]]:
        """Today's figures per queue, from a cache refreshed off the loop: the report
        reads the day's queue log (tens of ms on a busy day), too long to do inside
        every wallboard render."""
        now = self.board.clock.monotonic()
        stale = self._kpi_cache is None or now - self._kpi_cache[0] > KPI_CACHE_SECONDS
        if stale and not self._kpi_refreshing:
            self._kpi_refreshing = True
            self.board.spawn(self._refresh_today(now), "wallboard figures")
        return self._kpi_cache[1] if self._kpi_cache else {}

    async def _refresh_today(self, now: float) -> None:
        try:
            start = self.today_start()
            offset, thresholds = self._utc_offset(start), self._thresholds()
            report = await self.store.read(
                lambda conn: reports.report(conn, start, start + 86_400, utc_offset=offset,
                                            queue_thresholds=thresholds))
            self._kpi_cache = (now, {name: kpi.as_dict()
                                     for name, kpi in report.queues.items()})
        finally:
            self._kpi_refreshing = False

    def _thresholds(self) -> dict[str, tuple[int, int]]:
        return reports.thresholds_from_configs(self.board.queue_configs.values())

    def _utc_offset(self, at: float) -> float:
        offset = datetime.fromtimestamp(at, self.timezone()).utcoffset()
        return offset.total_seconds() if offset else 0.0

    def wallboard(self) -> dict[str, Any]:
        board, acd = self.board, self.board.acd
        now = board.clock.monotonic()
        views = acd.operators()
        today = self._today()
        queues = []
        for name in sorted(board.queue_configs):
            waiting = []
            for w in acd.waiting(name):
                call = board.calls.get(w.call_id)
                waiting.append({"call_id": w.call_id, "caller_number": w.caller_number,
                                "caller_name": call.caller_name if call else "",
                                "waited": round(w.waited), "callback": w.callback})
            figures = today.get(name, {})
            queues.append({
                "name": name,
                "waiting": waiting,
                "longest_wait": max((w["waited"] for w in waiting), default=0),
                "available": sum(1 for v in views if name in v.queues
                                 and v.status is OperatorStatus.AVAILABLE),
                "offered": figures.get("offered", 0),
                "answered": figures.get("answered", 0),
                "abandoned": figures.get("abandoned", 0),
                "service_level": figures.get("service_level"),
                "asa": figures.get("asa"),
                "aht": figures.get("aht"),
            })
        operators = []
        for v in views:
            call = board.calls.get(v.call_id) if v.call_id else None
            in_state = max(0.0, now - v.since)
            wrapup_left = None
            if v.status is OperatorStatus.WRAPUP:
                longest = max((board.queue_configs[q].wrapup_seconds for q in v.queues
                               if q in board.queue_configs), default=0)
                wrapup_left = max(0, round(longest - in_state))
            operators.append({
                "name": v.name, "status": v.status.value, "in_state": round(in_state),
                "reason": v.reason, "call_id": v.call_id,
                "caller_number": call.caller_number if call else "",
                "queues": sorted(v.queues), "wrapup_left": wrapup_left,
                "calls_taken": v.calls_taken,
            })
        return {"queues": queues, "operators": operators}

    def lines_status(self) -> list[dict[str, Any]]:
        rows = []
        for name, channel in sorted(self.board.channels.items()):
            if channel.role != "line":
                continue
            status = channel.status()
            rows.append({
                "name": name, "kind": channel.kind,
                # an analog line reports its model's key and its name; people read names
                "model": status.get("model_name") or status.get("model", ""),
                "imei": status.get("imei", ""),
                "port": status.get("port", ""),
                "caller_id": status.get("caller_id"), "duplex": status.get("duplex", ""),
                "operator": status.get("operator", ""),
                "signal_bars": status.get("signal_bars"),
                "sim": status.get("sim", ""), "registration": status.get("registration", ""),
                "state": _line_state(status), "error": status.get("error", ""),
                "details": status,
            })
        return rows + self.hardware_found()

    def hardware_found(self) -> list[dict[str, Any]]:
        """Modems plugged in but not yet set up as lines (GSM by USB identity through
        hotplug, voice modems by their USB ids), each with the settings to add it."""
        used = set()
        for row in self.board.directory.lines():
            used |= {str(v) for k, v in row["settings"].items() if k in ("at", "audio", "port")}
        found: list[dict[str, Any]] = []
        locator = self.board.locator
        for modem in (locator.modems() if locator is not None else []):
            settings = modem.suggested_settings()
            if settings.get("at") in used or modem.at in used:
                continue
            found.append({"name": "", "kind": "gsm", "model": modem.model.name,
                          "state": "found", "port": settings.get("at", ""),
                          "settings": settings})
        try:
            from drivers.fxo.locate import found_modems

            voice = found_modems()
        except Exception:  # no udev here (a container): nothing to list
            voice = []
        for modem in voice:
            if modem["port"] not in used:
                found.append({"name": "", "kind": "fxo", "model": modem["model_name"],
                              "state": "found", "port": modem["port"],
                              "settings": {"port": modem["port"], "model": modem["model"]}})
        return found

    def phones_status(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for channel in self.board.channels.values():
            if channel.role != "phones":
                continue
            status = channel.status()
            registered = status.get("phones", status.get("registered", {}))
            if isinstance(registered, list):  # the loopback driver lists extensions
                registered = {ext: [{}] for ext in registered}
            for ext, bindings in registered.items():
                info = (bindings[0] if isinstance(bindings, list) and bindings else
                        bindings if isinstance(bindings, dict) else {})
                result[ext] = {"registered": True, "contact": info.get("contact", ""),
                               "user_agent": info.get("user_agent", ""),
                               "expires_in": info.get("expires_in")}
        return result

    def banned(self) -> list[dict[str, Any]]:
        rows = []
        for channel in self.board.channels.values():
            listing = getattr(channel, "banned", None)
            if channel.role == "phones" and listing is not None:
                rows.extend(listing())
        return rows

    def unban(self, source: str) -> bool:
        done = False
        for channel in self.board.channels.values():
            lift = getattr(channel, "unban", None)
            if channel.role == "phones" and lift is not None:
                done = lift(source) or done
        return done

    # -- actions -------------------------------------------------------------------------------
    async def set_operator_state(self, name: str, state: str, reason: str = "") -> None:
        acd = self.board.acd
        view = self._operator_view(name)
        if state == "available":
            if view.status is OperatorStatus.LOGGED_OUT:
                acd.login(name, reason="web")
            elif view.status is OperatorStatus.PAUSED:
                acd.unpause(name)
        elif state == "paused":
            if view.status is OperatorStatus.LOGGED_OUT:
                acd.login(name, reason="web")
            acd.pause(name, reason or "pause")
        elif state == "logged_out":
            acd.logout(name, reason="web")
        else:
            raise ValidationError({"state": "choose available, paused or logged out"})
        self.board._sync_operator_states()

    def _operator_view(self, name: str):
        try:
            return self.board.acd.operator(name)
        except (KeyError, ValueError) as exc:
            raise ValidationError({"operator": "no such operator"}) from exc

    async def click_to_call(self, operator: str, number: str) -> str:
        self._operator_view(operator)
        number = number.strip().replace(" ", "").replace("-", "")
        try:
            call = self.board.click_to_call(operator, number)
        except Unreachable as exc:
            raise ValidationError({"number": str(exc)}) from exc
        return call.id

    async def test_flow(self, flow: str, extension: str) -> str:
        if self.board.media is None or self.board.media.flows.active(flow) is None:
            raise ValidationError({"flow": "no active flow has this name; save it first"})
        try:
            call = self.board.test_flow(flow, extension.strip())
        except Unreachable as exc:
            raise ValidationError({"extension": str(exc)}) from exc
        return call.id

    async def callback(self, callback_id: int, operator: str) -> str:
        rows = self.store.query("SELECT * FROM callbacks WHERE id = ?", (callback_id,))
        if not rows or rows[0]["status"] not in ("waiting", "failed"):
            raise ValidationError({"callback": "this callback is not waiting any more"})
        self._operator_view(operator)
        try:
            call = self.board.click_to_call(operator, rows[0]["number"],
                                            callback_id=callback_id, queue=rows[0]["queue"])
        except Unreachable as exc:
            raise ValidationError({"callback": str(exc)}) from exc
        await asyncio.wrap_future(self.board.recorder.callback_done(callback_id, "dialling",
                                                                    operator))
        return call.id

    async def request_callback(self, number: str, queue: str, call_id: str = "",
                               operator: str = "") -> int:
        if not number.strip():
            raise ValidationError({"number": "a callback needs a number"})
        return await asyncio.wrap_future(
            self.board.recorder.new_callback(number.strip(), queue, call_id, operator))

    async def set_disposition(self, call_id: str, disposition: str, note: str) -> None:
        if not self.store.query("SELECT 1 FROM calls WHERE id = ?", (call_id,)):
            raise ValidationError({"call": "no such call"})
        await asyncio.wrap_future(self.board.set_disposition(call_id, disposition, note))

    def provisioning(self, mac: str, user_agent: str, filename: str):
        from .provisioning import render_for_mac

        return render_for_mac(self, mac, user_agent, filename)

    async def reports(self, group: str, start: float, end: float, *, queue: str = "",
                      operator: str = "") -> list[dict[str, Any]]:
        from web.kpi import report_rows

        thresholds, offset = self._thresholds(), self._utc_offset(start)
        report = await self.store.read(
            lambda conn: reports.report(conn, start, end, utc_offset=offset,
                                        queue_thresholds=thresholds))
        return report_rows(report, group, queue=queue, operator=operator)


def _line_state(status: dict[str, Any]) -> str:
    state = status.get("state", "")
    if state in ("idle", "ringing", "in_call", "down"):
        return state
    if state in ("up", "ready"):
        return "in_call" if status.get("calls") or status.get("call") else "idle"
    return "down"
