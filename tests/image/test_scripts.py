"""Lint of the image's shell scripts (shellcheck) and Python helpers (ruff)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import require_tool

from .conftest import IMAGE_BUILD, REPO, SYSTEMD_DIR

SHELL_SCRIPTS = [
    SYSTEMD_DIR / "callbox-firstboot",
    IMAGE_BUILD / "build",
    IMAGE_BUILD / "customize",
    IMAGE_BUILD / "make-disk",
    IMAGE_BUILD / "test-hooks" / "callbox-test-generator",
]
PYTHON_SCRIPTS = [
    IMAGE_BUILD / "test-boot",
    IMAGE_BUILD / "bootvm.py",
    IMAGE_BUILD / "websetup.py",
    IMAGE_BUILD / "test-hooks" / "callbox-test-agent",
]


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_script_is_shellcheck_clean(script) -> None:
    result = subprocess.run([require_tool("shellcheck"), "--severity=info", str(script)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", SHELL_SCRIPTS + PYTHON_SCRIPTS, ids=lambda p: p.name)
def test_script_is_executable_or_module(script) -> None:
    assert script.suffix == ".py" or script.stat().st_mode & 0o111


def test_python_helpers_are_ruff_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(REPO / "pyproject.toml"),
         *map(str, PYTHON_SCRIPTS)],
        capture_output=True, text=True, check=False, cwd=REPO,
    )
    assert result.returncode == 0, result.stdout
