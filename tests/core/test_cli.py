import csv
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def callbox(*args, data=None, env_data=None):
    env = {k: v for k, v in os.environ.items() if k != "CALLBOX_DATA"}
    env["PYTHONPATH"] = str(ROOT)
    if env_data:
        env["CALLBOX_DATA"] = str(env_data)
    argv = [sys.executable, "-m", "appliance.cli", *args]
    if data is not None:
        argv[3:3] = ["--data", str(data)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)


@pytest.fixture
def box(tmp_path):
    from appliance.store import open_store

    open_store(tmp_path).close()  # a database as `callbox run` leaves it
    return tmp_path


def one_line_error(result):
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_admin_commands_configure_a_site(box):
    assert callbox("queue", "add", "support", "--strategy", "ring-all",
                   "--ring-timeout", "20", data=box).returncode == 0
    added = callbox("phone", "add", "101", "--name", "Anna's desk", data=box)
    assert added.returncode == 0
    password = added.stdout.strip().rsplit(" ", 1)[1]
    assert len(password) >= 20
    assert callbox("operator", "add", "Anna", "--ext", "101", "--queue", "support:1",
                   data=box).returncode == 0
    listing = callbox("queue", "list", data=box)
    assert "support" in listing.stdout and "ring-all" in listing.stdout
    ops = callbox("operator", "list", env_data=box)  # CALLBOX_DATA works as well as --data
    assert "Anna" in ops.stdout and "support:1" in ops.stdout
    conn = sqlite3.connect(box / "callbox.db")
    assert conn.execute("SELECT password FROM phones WHERE extension='101'").fetchone()[0] \
        == password


def test_bad_arguments_give_one_line_and_exit_2(box):
    assert "invalid choice" in one_line_error(callbox("queue", "add", "q", "--strategy",
                                                      "fastest", data=box))
    assert "ring_timeout" in one_line_error(callbox("queue", "add", "q", "--ring-timeout",
                                                    "soon", data=box))
    assert "extension" in one_line_error(callbox("phone", "add", "0", data=box))
    assert "no queue" in one_line_error(callbox("operator", "add", "Bob", "--queue", "nope",
                                                data=box))
    assert "penalty" in one_line_error(callbox("operator", "add", "Bob", "--queue", "q:x",
                                               data=box))
    assert one_line_error(callbox("frobnicate", data=box))
    assert "cannot read the time" in one_line_error(callbox("calls", "--since", "yesterday-ish",
                                                            data=box))


def test_missing_database_is_one_line(tmp_path):
    line = one_line_error(callbox("queue", "list", data=tmp_path / "nowhere"))
    assert "does not exist" in line


def test_locked_database_is_one_line(box):
    holder = sqlite3.connect(box / "callbox.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO settings(key, value) VALUES ('x', '1')")
    try:
        line = one_line_error(callbox("phone", "add", "102", data=box))
        assert "locked" in line
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_calls_csv_has_header_and_record_columns(box):
    conn = sqlite3.connect(box / "callbox.db")
    conn.execute("INSERT INTO calls(id, linked_id, direction, line, caller_number, queue, "
                 "operator, started_at, answered_at, ended_at, wait_seconds, talk_seconds) "
                 "VALUES ('c1', 'c1', 'inbound', 'gsm1', '+7916', 'support', 'Anna', "
                 "1767225600, 1767225612, 1767225700, 12, 88)")
    conn.commit()
    result = callbox("calls", "--since", "2026-01-01", "--csv", data=box)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == "c1" and row["queue"] == "support" and row["operator"] == "Anna"
    assert row["started_at"] == "2026-01-01T00:00:00Z"
    assert float(row["wait_seconds"]) == 12 and float(row["talk_seconds"]) == 88
    later = callbox("calls", "--since", "2026-01-02", "--csv", data=box)
    assert len(list(csv.DictReader(io.StringIO(later.stdout)))) == 0


def test_check_reports_integrity_and_schema(box):
    result = callbox("check", data=box)
    assert result.returncode == 0, result.stderr
    assert "integrity ok" in result.stdout
    assert "loopback" in result.stdout


def test_settings_are_set_as_json_or_text(box):
    assert callbox("setting", "set", "login_on_registration", "true", data=box).returncode == 0
    assert callbox("setting", "set", "site_name", "Acme", data=box).returncode == 0
    listing = callbox("setting", "list", data=box).stdout
    assert "login_on_registration = true" in listing and 'site_name = "Acme"' in listing
    assert "setting name" in one_line_error(callbox("setting", "set", "Bad Key", "1", data=box))


def test_gsm_line_ports_are_checked(box):
    line = one_line_error(callbox("line", "add", "gsm", "--at", "ttyUSB0", data=box))
    assert "absolute" in line
    ok = callbox("line", "add", "gsm", "--at", "/dev/callbox/gsm0-at", "--audio",
                 "/dev/callbox/gsm0-audio", data=box)
    assert ok.returncode == 0, ok.stderr
    listing = callbox("line", "list", data=box).stdout
    assert listing.startswith("gsm1")
    assert "state='not running'" in listing and "port=/dev/callbox/gsm0-at" in listing
