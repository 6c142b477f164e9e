"""Shared test fixtures.

Tests that drive real peers (sipp, baresip, chromium, espeak-ng, sox, kamailio) ask for
them with ``require_tool``: on a developer machine a missing tool skips the test with
the apt package to install; under CI (``CI=true``) it fails, because CI installs them.
"""

from __future__ import annotations

import os
import shutil

import pytest

from appliance.clock import VirtualClock

TOOL_PACKAGES = {
    "sipp": "sip-tester",
    "baresip": "baresip",
    "chromium": "chromium",
    "espeak-ng": "espeak-ng",
    "sox": "sox",
    "kamailio": "kamailio",
    "qemu-system-x86_64": "qemu-system-x86",
    "mmdebstrap": "mmdebstrap",
    "shellcheck": "shellcheck",
    "systemd-analyze": "systemd",
    "systemd-sysusers": "systemd",
    "systemd-tmpfiles": "systemd",
    "sfdisk": "fdisk",
    "blkid": "util-linux",
    "debugfs": "e2fsprogs",
    "mkfs.ext4": "e2fsprogs",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "mtype": "mtools",
}


def require_tool(name: str) -> str:
    """Return the tool's path; skip (or fail under CI) when it is not installed."""
    # system tools live in sbin, which a non-login root shell may not have on PATH
    fallbacks = [f"{d}/{name}" for d in ("/usr/bin", "/usr/sbin", "/sbin")]
    path = shutil.which(name) or next((f for f in fallbacks if os.path.exists(f)), None)
    if path:
        return path
    missing(f"{name} not installed (apt-get install {TOOL_PACKAGES.get(name, name)})")


def missing(message: str) -> None:
    """Something a test needs from the machine is not there: on a developer's machine the
    test is skipped with the reason; under CI (CI=true), which installs everything, it
    fails, so a missing install step can never pass as a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()
