"""The Box protocol is checked when the app is made: a missing or wrongly async method is
a clear start-up error, not a 500 on some page later."""

from __future__ import annotations

import pytest
from fakebox import FakeBox

from web.box import check_box


def test_fakebox_is_a_box(tmp_path):
    box = FakeBox(tmp_path)
    try:
        check_box(box)
    finally:
        box.close()


def test_missing_and_mistyped_members_are_named(tmp_path):
    box = FakeBox(tmp_path)
    try:
        class Broken:
            store, bus, admin = box.store, box.bus, box.admin
            wallboard = box.wallboard
            lines_status = box.lines_status
            phones_status = box.phones_status

            def set_operator_state(self, name, state, reason=""):  # should be async
                return None

        with pytest.raises(TypeError) as error:
            check_box(Broken())
        message = str(error.value)
        assert "set_operator_state() must be async" in message
        assert "missing method click_to_call()" in message
        assert "missing method provisioning()" in message
    finally:
        box.close()
