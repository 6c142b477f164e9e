"""Run a simulated modem as its own process and talk to its control socket: what the
demo and the end-to-end tests use to play the public network's side of a line.

    modem = await SimModemProcess.start("ec25", workdir)
    settings = modem.line_settings()           # {"at": ..., "audio": ..., "model": ...}
    await modem.command("call +79161234567")   # "ok" or "error ..."
    await modem.stop()
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT = 15.0


class SimProcessError(RuntimeError):
    """The simulator process did not start or answered its control socket with an error."""


def _die_with_parent() -> None:
    """prctl(PR_SET_PDEATHSIG, SIGTERM) in the child, so a killed demo leaves no modem."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class SimModemProcess:
    def __init__(self, model: str, workdir: Path, process: asyncio.subprocess.Process,
                 enumerated: dict[str, Any]) -> None:
        self.model = model
        self.workdir = workdir
        self.process = process
        self.enumerated = enumerated
        self.control_path = workdir / f"{model}.control"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, model: str, workdir: Path | str, *, sim_busy: float | None = None,
                    extra: list[str] | None = None) -> SimModemProcess:
        workdir = Path(workdir).resolve()  # the line's settings need absolute port paths
        workdir.mkdir(parents=True, exist_ok=True)
        control = workdir / f"{model}.control"
        if control.exists():
            control.unlink()
        argv = [sys.executable, "-m", "drivers.sim.gsm", "--model", model, "--no-stdin",
                "--control", str(control), "--link-dir", str(workdir)]
        if sim_busy is not None:
            argv += ["--sim-busy", str(sim_busy)]
        argv += extra or []
        # its own session: Ctrl-C on the demo must not kill the modem before the line
        # that uses it has hung up; and it dies with its parent, never left behind
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
            preexec_fn=_die_with_parent)
        try:
            line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT)
            enumerated = json.loads(line)
            deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
            while not control.exists():  # the socket appears right after enumeration
                if asyncio.get_running_loop().time() > deadline:
                    raise SimProcessError(f"{model}: no control socket")
                await asyncio.sleep(0.02)
        except (TimeoutError, json.JSONDecodeError) as exc:
            process.kill()
            await process.wait()
            raise SimProcessError(f"simulated {model} did not start: {exc!r}") from exc
        sim = cls(model, workdir, process, enumerated)
        sim._drain_task = asyncio.get_running_loop().create_task(sim._drain())
        return sim

    async def _drain(self) -> None:
        """Keep reading the simulator's announcements (re-enumeration) so its pipe never
        fills."""
        while line := await self.process.stdout.readline():
            try:
                self.enumerated = json.loads(line)
            except json.JSONDecodeError:
                continue  # a stray line; the next announcement will do

    def line_settings(self) -> dict[str, str]:
        """Stable symlinks that survive the simulator's re-enumeration (as udev names)."""
        return {"at": str(self.workdir / f"{self.model}-at"),
                "audio": str(self.workdir / f"{self.model}-audio"), "model": self.model}

    @property
    def imei(self) -> str:
        return str(self.enumerated.get("imei", ""))

    async def command(self, line: str) -> str:
        async with self._lock:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_unix_connection(
                    str(self.control_path))
            self._writer.write(line.encode() + b"\n")
            await self._writer.drain()
            reply = await asyncio.wait_for(self._reader.readline(), 10.0)
            return reply.decode().strip()

    async def status(self) -> dict[str, Any]:
        reply = await self.command("status")
        if not reply.startswith("ok "):
            raise SimProcessError(reply)
        return json.loads(reply[3:])

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5.0)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
