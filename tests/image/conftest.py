"""Helpers for the image tests: a scratch root laid out like the image's /usr and /etc."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import missing

REPO = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = REPO / "systemd"
IMAGE_BUILD = REPO / "image-build"
HOST_UNITS = Path("/usr/lib/systemd/system")

# Where image-build/customize installs each file.
UNIT_FILES = {
    SYSTEMD_DIR / "callbox.service": "usr/lib/systemd/system/callbox.service",
    SYSTEMD_DIR / "callbox-firstboot.service": "usr/lib/systemd/system/callbox-firstboot.service",
    IMAGE_BUILD / "test-hooks" / "callbox-test-agent.service":
        "usr/lib/systemd/system/callbox-test-agent.service",
}
# The programs the units start.  The real ones are checked by booting the image
# (image-build/test-boot); here only their presence matters to systemd-analyze.
EXECUTABLES = ("usr/local/bin/callbox", "usr/lib/callbox/callbox-firstboot", "usr/bin/python3")


@pytest.fixture
def unit_root(tmp_path: Path) -> Path:
    """A root with the host's systemd units (targets to depend on) plus ours."""
    if not HOST_UNITS.is_dir():
        missing("systemd is not installed (apt-get install systemd)")
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    for source, target in UNIT_FILES.items():
        shutil.copy(source, root / target)
    for exe in EXECUTABLES:
        path = root / exe
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    (root / "etc").mkdir()
    return root
