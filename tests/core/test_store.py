import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.store import StoreError, open_store
from appliance.store.schema import MIGRATIONS, latest_version, migrate

ROOT = Path(__file__).resolve().parents[2]


def test_new_database_is_wal_and_at_latest_schema(tmp_path):
    store = open_store(tmp_path)
    assert store.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert store.query("PRAGMA user_version")[0]["user_version"] == latest_version()
    tables = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"settings", "lines", "phones", "operators", "queues", "queue_members", "calls",
            "call_events", "operator_sessions"} <= tables
    store.close()


@pytest.mark.parametrize("start", range(0, len(MIGRATIONS)))
def test_migrates_from_every_earlier_version(tmp_path, start):
    path = tmp_path / "callbox.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=start)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == start
    conn.close()
    store = open_store(tmp_path)
    assert store.query("PRAGMA user_version")[0]["user_version"] == latest_version()
    store.close()


def test_a_newer_schema_is_refused_in_words(tmp_path):
    conn = sqlite3.connect(tmp_path / "callbox.db")
    conn.execute(f"PRAGMA user_version = {latest_version() + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        open_store(tmp_path)


def test_not_a_database_is_refused_in_words(tmp_path):
    (tmp_path / "callbox.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a callbox database"):
        open_store(tmp_path)


def test_one_bad_write_in_a_batch_fails_alone(tmp_path):
    store = open_store(tmp_path)
    good = store.writer.execute("INSERT INTO settings(key, value) VALUES ('a', '1')")
    bad = store.writer.execute("INSERT INTO no_such_table VALUES (1)")
    also_good = store.writer.execute("INSERT INTO settings(key, value) VALUES ('b', '2')")
    good.result(5)
    also_good.result(5)
    with pytest.raises(sqlite3.OperationalError):
        bad.result(5)
    assert store.settings() == {"a": 1, "b": 2}
    store.close()


def test_writes_are_grouped_into_few_commits(tmp_path):
    store = open_store(tmp_path)
    futures = [store.writer.execute("INSERT INTO settings(key, value) VALUES (?, '0')",
                                    (f"k{i}",)) for i in range(2000)]
    for f in futures:
        f.result(30)
    assert store.writer.writes == 2000
    assert store.writer.batches < 2000  # group commit: fewer fsyncs than writes
    store.close()


def test_acknowledged_records_survive_sigkill(tmp_path):
    """A child writes call records under load; it is killed with SIGKILL at a random
    moment 50 times; every record it had reported as acknowledged must be there and
    the file must pass integrity_check."""
    rng = random.Random(1234)
    acknowledged: list[str] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(50):
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/core/crash_writer.py"), str(tmp_path)],
            stdout=subprocess.PIPE, env=env, text=True)
        wanted = rng.randint(1, 120)
        for _ in range(wanted):
            line = child.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(child.pid, signal.SIGKILL)
        # whatever was acknowledged before the kill but not yet read is also durable
        rest = child.stdout.read()
        acknowledged.extend(x for x in rest.split("\n") if x)
        child.wait()
    assert len(acknowledged) >= 50
    conn = sqlite3.connect(tmp_path / "callbox.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    present = {r[0] for r in conn.execute("SELECT id FROM calls")}
    missing = [a for a in acknowledged if a not in present]
    assert missing == []
    conn.close()
