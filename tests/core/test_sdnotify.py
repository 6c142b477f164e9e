"""`callbox run` speaks systemd's notify protocol: READY=1 once serving, WATCHDOG=1 fed
from the event loop, STOPPING=1 on SIGTERM, and the call records are flushed."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ready_watchdog_and_clean_stop(tmp_path):
    sock_path = tmp_path / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(sock_path))
    listener.settimeout(30)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": str(sock_path),
           "WATCHDOG_USEC": "400000"}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "run", "--data", str(tmp_path / "data"),
         "--web", "127.0.0.1:0", "--sip", "127.0.0.1:0"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        messages = []
        while not any(m.startswith("READY=1") for m in messages):
            messages.append(listener.recv(4096).decode())
        # the watchdog is fed every half WATCHDOG_USEC: several pings in a couple of seconds
        pings = 0
        deadline = time.monotonic() + 10
        while pings < 3 and time.monotonic() < deadline:
            if listener.recv(4096).decode() == "WATCHDOG=1":
                pings += 1
        assert pings == 3
        daemon.send_signal(signal.SIGTERM)
        message = listener.recv(4096).decode()
        while message == "WATCHDOG=1":  # pings still in flight before the stop
            message = listener.recv(4096).decode()
        assert message == "STOPPING=1"
        assert daemon.wait(30) == 0
        assert b"Traceback" not in daemon.stderr.read()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        listener.close()
