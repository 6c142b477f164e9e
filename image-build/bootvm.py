"""One QEMU boot of the callbox image, driven from the host (used by image-build/test-boot).

The guest is a throw-away sparse copy of the image (or a qcow2 overlay), booted straight into
its kernel under TCG (KVM is not usable on the CI machines), with user-mode networking that
forwards the web port to a free port on 127.0.0.1 and nowhere else (restrict=on).  The kernel
command line carries ``callbox.test=1``, which starts the test agent inside (test-hooks/); the
agent answers one JSON line per command on the virtio serial port ``callbox.test``, a unix
socket here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


class BootError(Exception):
    """The guest did not do what the test waited for; the message says what and how long."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deadline:
    def __init__(self, seconds: float, what: str) -> None:
        self.end = time.monotonic() + seconds
        self.what = what
        self.seconds = seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.left() <= 0:
            raise BootError(f"gave up after {self.seconds:.0f} s waiting for {self.what}")


# How each architecture is emulated: amd64 as a q35 PC, arm64 as QEMU's "virt" board with a
# Cortex-A53 (the Pi 3's core; -cpu max is slower under TCG).  Both get virtio disk and net.
MACHINES = {
    "amd64": (["qemu-system-x86_64", "-M", "q35", "-cpu", "max"], "ttyS0"),
    "arm64": (["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53"], "ttyAMA0"),
}


class Vm:
    def __init__(self, disk: Path, kernel: Path, initrd: Path, workdir: Path, *, name: str,
                 watchdog_s: int | None = None, arch: str = "amd64") -> None:
        self.disk, self.kernel, self.initrd = disk, kernel, initrd
        self.arch = arch
        self.disk_format = "qcow2" if disk.suffix == ".qcow2" else "raw"
        self.name = name
        self.console = workdir / f"console-{name}.log"
        self.control_path = workdir / f"control-{name}.sock"
        self.web_port = free_port()
        self.watchdog_s = watchdog_s
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self._sock: socket.socket | None = None
        self._buffer = b""

    # -- life cycle ----------------------------------------------------------------------------
    def command_line(self) -> list[str]:
        machine, console = MACHINES[self.arch]
        append = f"root=PARTUUID=c0ffee00-02 ro console={console} net.ifnames=0 callbox.test=1"
        if self.watchdog_s:
            append += f" callbox.test.watchdog={self.watchdog_s}"
        return [
            # -nodefaults: no CD-ROM, parallel port or VGA for the guest to probe.
            *machine, "-nodefaults", "-accel", "tcg", "-m", "1024", "-smp", "2",
            "-kernel", str(self.kernel), "-initrd", str(self.initrd), "-append", append,
            "-drive", f"file={self.disk},format={self.disk_format},if=none,id=sd",
            "-device", "virtio-blk-pci,drive=sd",
            "-netdev", f"user,id=lan,restrict=on,hostfwd=tcp:127.0.0.1:{self.web_port}-:80",
            "-device", "virtio-net-pci,netdev=lan",
            "-device", "virtio-serial-pci",
            "-chardev", f"socket,id=ctl,path={self.control_path},server=on,wait=off",
            "-device", "virtserialport,chardev=ctl,name=callbox.test",
            "-display", "none", "-no-reboot",
            "-serial", f"file:{self.console}",
        ]

    def start(self) -> None:
        self.control_path.unlink(missing_ok=True)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.command_line(), stdin=subprocess.DEVNULL)
        deadline = Deadline(20, "QEMU's control socket")
        while not self.control_path.exists():
            self._check_alive()
            deadline.check()
            time.sleep(0.05)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(str(self.control_path))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def power_cut(self) -> None:
        """SIGKILL QEMU: the guest loses RAM and every write it had not yet issued."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._close()

    def shutdown(self, seconds: float = 90) -> None:
        """Clean poweroff through the agent; QEMU exits by itself (-no-reboot)."""
        try:
            self.request("poweroff", 10)
            self.proc.wait(timeout=seconds)
        except (BootError, subprocess.TimeoutExpired, OSError) as exc:
            self.power_cut()
            raise BootError(f"{self.name}: no clean poweroff within {seconds:.0f} s") from exc
        finally:
            self._close()

    def _close(self) -> None:
        if self._sock:
            self._sock.close()
            self._sock = None

    def _check_alive(self) -> None:
        if self.proc and self.proc.poll() is not None:
            raise BootError(f"{self.name}: QEMU exited with {self.proc.returncode}; "
                            f"console tail:\n{self.console_tail()}")

    def console_tail(self, lines: int = 25) -> str:
        try:
            text = self.console.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- the agent -----------------------------------------------------------------------------
    def _read_message(self, deadline: Deadline) -> dict:
        while b"\n" not in self._buffer:
            self._check_alive()
            deadline.check()
            self._sock.settimeout(max(0.1, min(1.0, deadline.left())))
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise BootError(f"{self.name}: control channel closed")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def wait_agent(self, seconds: float) -> float:
        """Wait for the agent to greet; returns the guest's uptime at that moment."""
        deadline = Deadline(seconds, f"{self.name}: the test agent (booting)")
        while True:
            message = self._read_message(deadline)
            if message.get("event") == "hello":
                return message["uptime"]

    def request(self, command: str, seconds: float = 60) -> dict:
        self._sock.sendall(command.encode() + b"\n")
        deadline = Deadline(seconds, f"{self.name}: answer to {command!r}")
        while True:
            message = self._read_message(deadline)
            if "event" not in message:
                return message

    def stream(self, command: str, seconds: float) -> Iterator[dict]:
        self._sock.sendall(command.encode() + b"\n")
        deadline = Deadline(seconds, f"{self.name}: output of {command!r}")
        while True:
            yield self._read_message(deadline)

    def daemon_journal(self, lines: int = 40) -> list[str] | None:
        """The daemon's last log lines, for a failure report (None if the agent is gone)."""
        try:
            return self.request("journal callbox", 20)["lines"][-lines:]
        except (BootError, OSError, KeyError, AttributeError):
            return None

    def wait_for(self, what: str, predicate, seconds: float, poll: str = "status") -> dict:
        """Ask the agent ``poll`` until ``predicate(answer)`` holds or the deadline passes."""
        deadline = Deadline(seconds, f"{self.name}: {what}")
        while True:
            answer = self.request(poll, max(5.0, deadline.left()))
            if predicate(answer):
                return answer
            deadline.check()
            time.sleep(0.5)  # one status query per half second is plenty for a booting guest
