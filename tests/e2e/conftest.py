"""Fixtures shared by the end-to-end tests (the real processes are in ``peers``)."""

from __future__ import annotations

import pytest

from tests.conftest import require_tool


@pytest.fixture
def site(tmp_path):
    """(baresip binary, the box's data directory, a work directory) for one test; skips
    (fails under CI) when baresip or Chromium is not installed."""
    baresip = require_tool("baresip")
    require_tool("chromium")
    data = tmp_path / "box"
    data.mkdir()
    return baresip, data, tmp_path
