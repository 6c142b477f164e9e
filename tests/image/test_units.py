"""The systemd side of the image: units verify, hardening holds, users and dirs come out right."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import missing, require_tool

from .conftest import IMAGE_BUILD, SYSTEMD_DIR, UNIT_FILES

UNITS = [Path(target).name for target in UNIT_FILES.values()]


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_tool("systemd-analyze"), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("unit", UNITS)
def test_unit_passes_systemd_analyze_verify(unit_root: Path, unit: str) -> None:
    result = analyze("verify", f"--root={unit_root}", "--man=no", unit)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_verify_rejects_a_broken_unit(unit_root: Path) -> None:
    """The check above can fail: a misspelt directive and a bad ordering are caught."""
    path = unit_root / "usr/lib/systemd/system/callbox.service"
    text = path.read_text().replace("Type=notify", "Type=notifi").replace(
        "ExecStart=/usr/local/bin/callbox", "ExecStart=/usr/local/bin/no-such-callbox"
    )
    path.write_text(text)
    result = analyze("verify", f"--root={unit_root}", "--man=no", "callbox.service")
    assert result.returncode != 0
    assert "no-such-callbox" in result.stderr


def test_daemon_unit_exposure_is_low(unit_root: Path) -> None:
    """systemd's own score of the sandbox: 10 is unprotected; the daemon must stay below 3."""
    result = analyze(
        "security", "--offline=true", f"--root={unit_root}", "--threshold=30", "callbox.service"
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    score = float(result.stdout.split("Overall exposure level for callbox.service:")[1].split()[0])
    assert score < 3.0


def test_daemon_unit_has_the_required_settings() -> None:
    text = (SYSTEMD_DIR / "callbox.service").read_text()
    settings = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    assert settings["Type"] == ["notify"]
    assert settings["Restart"] == ["always"]
    assert settings["User"] == ["callbox"] and settings["SupplementaryGroups"] == ["dialout"]
    assert settings["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["StateDirectory"] == ["callbox"]
    assert settings["NoNewPrivileges"] == ["yes"] and settings["PrivateTmp"] == ["yes"]
    assert set(settings["RestrictAddressFamilies"][0].split()) == {
        "AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"
    }
    assert int(settings["WatchdogSec"][0].rstrip("s")) > 0


def test_sysusers_and_tmpfiles_make_user_and_data_dirs(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        missing("systemd-sysusers --root needs root to chown (CI runs as root)")
    root = tmp_path / "root"
    etc = root / "etc"
    etc.mkdir(parents=True)
    # A minimal base: the dialout group exists on every Debian system before we run.
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\ndialout:x:20:\n")
    sysusers = subprocess.run(
        [require_tool("systemd-sysusers"), f"--root={root}",
         str(SYSTEMD_DIR / "sysusers.d" / "callbox.conf")],
        capture_output=True, text=True, check=False,
    )
    assert sysusers.returncode == 0, sysusers.stderr
    passwd = dict(
        (line.split(":")[0], line.split(":")) for line in (etc / "passwd").read_text().splitlines()
    )
    assert "callbox" in passwd
    uid = int(passwd["callbox"][2])
    assert 0 < uid < 1000  # a system user
    assert passwd["callbox"][5] == "/var/lib/callbox"
    dialout = next(g for g in (etc / "group").read_text().splitlines() if g.startswith("dialout:"))
    assert "callbox" in dialout.split(":")[3].split(",")

    tmpfiles = subprocess.run(
        [require_tool("systemd-tmpfiles"), f"--root={root}", "--create",
         str(SYSTEMD_DIR / "tmpfiles.d" / "callbox.conf")],
        capture_output=True, text=True, check=False,
    )
    assert tmpfiles.returncode == 0, tmpfiles.stderr
    for sub in ("var/lib/callbox", "var/lib/callbox/tls"):
        st = (root / sub).stat()
        assert st.st_uid == uid
        assert oct(st.st_mode & 0o777) == "0o750"


def test_generator_is_inert_without_the_test_flag(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    out.mkdir()
    env = {**os.environ, "CALLBOX_TEST_CMDLINE": "root=LABEL=root ro quiet callbox.testx=1"}
    subprocess.run([IMAGE_BUILD / "test-hooks" / "callbox-test-generator", str(out)],
                   env=env, check=True)
    assert list(out.iterdir()) == []


def test_generator_enables_agent_and_short_watchdog(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    out.mkdir()
    env = {**os.environ, "CALLBOX_TEST_CMDLINE": "ro callbox.test=1 callbox.test.watchdog=7"}
    subprocess.run([IMAGE_BUILD / "test-hooks" / "callbox-test-generator", str(out)],
                   env=env, check=True)
    link = out / "multi-user.target.wants" / "callbox-test-agent.service"
    assert os.readlink(link) == "/usr/lib/systemd/system/callbox-test-agent.service"
    dropin = (out / "callbox.service.d" / "50-test-watchdog.conf").read_text()
    assert "WatchdogSec=7s" in dropin


def test_generator_ignores_a_malformed_watchdog(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    out.mkdir()
    env = {**os.environ, "CALLBOX_TEST_CMDLINE": "callbox.test=1 callbox.test.watchdog=7;rm"}
    subprocess.run([IMAGE_BUILD / "test-hooks" / "callbox-test-generator", str(out)],
                   env=env, check=True)
    assert not (out / "callbox.service.d").exists()
    assert (out / "multi-user.target.wants" / "callbox-test-agent.service").is_symlink()
