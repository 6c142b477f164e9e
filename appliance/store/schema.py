"""Numbered schema migrations, tracked in ``PRAGMA user_version``.

Rule: a migration that has shipped is never edited; a change is a new entry at the
end.  Each migration runs in one transaction together with the ``user_version`` bump,
so a power cut in the middle leaves the file at the previous version, never between.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[tuple[str, str]] = []


def migration(name: str, sql: str) -> None:
    MIGRATIONS.append((name, sql))


migration(
    "core tables: settings, lines, phones, operators, queues, calls, queue log",
    """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL                      -- JSON
);

CREATE TABLE lines (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,                      -- driver kind: gsm, fxo, sip-trunk, loopback
    enabled INTEGER NOT NULL DEFAULT 1,
    destination TEXT NOT NULL DEFAULT '',    -- where inbound calls go: queue:NAME, flow:NAME
    settings TEXT NOT NULL DEFAULT '{}',     -- JSON: ports, model, PIN...
    identity TEXT NOT NULL DEFAULT '',       -- what the line really is (IMEI), kept across replugs
    created_at REAL NOT NULL
);

CREATE TABLE phones (
    id INTEGER PRIMARY KEY,
    extension TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    password TEXT NOT NULL,                  -- SIP digest secret (the phone must know it)
    mac TEXT UNIQUE,                         -- for HTTP provisioning, lower-case, no separators
    model TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);

CREATE TABLE operators (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    login_code TEXT UNIQUE,                  -- typed on the phone after the login feature code
    extension TEXT NOT NULL DEFAULT '',      -- the phone they sit at
    created_at REAL NOT NULL
);

CREATE TABLE queues (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    strategy TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',      -- JSON of appliance.acd.config.QueueConfig fields
    created_at REAL NOT NULL
);

CREATE TABLE queue_members (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    penalty INTEGER NOT NULL DEFAULT 0,      -- 0 is rung first; higher tiers join as the wait grows
    PRIMARY KEY (queue_id, operator_id)
);

-- Call detail records: one row per call, written when it starts, completed when it ends.
CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    linked_id TEXT NOT NULL,                 -- same for every record of one caller's journey
    direction TEXT NOT NULL,                 -- inbound, outbound, internal, callback
    line TEXT NOT NULL DEFAULT '',
    caller_number TEXT NOT NULL DEFAULT '',
    caller_name TEXT NOT NULL DEFAULT '',
    dialled TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',
    operator TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,                -- UTC epoch seconds
    queued_at REAL,
    answered_at REAL,
    ended_at REAL,
    wait_seconds REAL NOT NULL DEFAULT 0,
    talk_seconds REAL NOT NULL DEFAULT 0,
    hold_seconds REAL NOT NULL DEFAULT 0,
    wrapup_seconds REAL NOT NULL DEFAULT 0,
    disposition TEXT NOT NULL DEFAULT '',
    hangup_cause INTEGER,                    -- Q.850
    hangup_by TEXT NOT NULL DEFAULT '',      -- caller, operator, system
    recording TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'          -- JSON: digits collected, menu choices
);
CREATE INDEX calls_started ON calls(started_at);
CREATE INDEX calls_caller ON calls(caller_number, started_at);
CREATE INDEX calls_queue ON calls(queue, started_at);
CREATE INDEX calls_operator ON calls(operator, started_at);

-- The queue log, Asterisk queue_log style: every ACD decision, one row each.
CREATE TABLE call_events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    call_id TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',
    operator TEXT NOT NULL DEFAULT '',
    event TEXT NOT NULL,                     -- ENTERQUEUE, CONNECT, ABANDON, PAUSE, LOGIN...
    reason TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'          -- JSON: position, wait, talk, ring seconds...
);
CREATE INDEX call_events_ts ON call_events(ts);
CREATE INDEX call_events_call ON call_events(call_id);
CREATE INDEX call_events_queue ON call_events(queue, ts);
CREATE INDEX call_events_operator ON call_events(operator, ts);

CREATE TABLE operator_sessions (
    id INTEGER PRIMARY KEY,
    operator TEXT NOT NULL,
    login_at REAL NOT NULL,
    logout_at REAL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX operator_sessions_op ON operator_sessions(operator, login_at);

CREATE TABLE contacts (
    number TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0      -- above 0: a VIP, answered before others
);

CREATE TABLE callbacks (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',
    number TEXT NOT NULL,
    operator TEXT NOT NULL DEFAULT '',       -- who should make it; '' = anyone in the queue
    requested_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',  -- waiting, dialling, done, failed, cancelled
    attempts INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX callbacks_status ON callbacks(status, requested_at);

CREATE TABLE sms (
    id INTEGER PRIMARY KEY,
    line TEXT NOT NULL,
    direction TEXT NOT NULL,                 -- in, out
    number TEXT NOT NULL,
    text TEXT NOT NULL,
    ts REAL NOT NULL,
    status TEXT NOT NULL DEFAULT '',         -- received, sent, delivered, failed
    reference TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sms_number ON sms(number, ts);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,                      -- admin, supervisor, operator
    operator TEXT NOT NULL DEFAULT '',       -- the operator this login belongs to
    locale TEXT NOT NULL DEFAULT '',
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
""",
)


migration(
    "ivr: call flows (versioned), prompts, voicemail",
    """
-- A call flow is a graph of nodes kept as JSON.  Saving makes a new version; exactly one
-- version per name is active, and restoring an old one makes it a new version again.
CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    graph TEXT NOT NULL,                     -- JSON: start, language, operator, nodes
    created_at REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',           -- who saved it and why (restored from v3...)
    UNIQUE (name, version)
);
CREATE UNIQUE INDEX flows_one_active ON flows(name) WHERE active = 1;

CREATE TABLE prompts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT NOT NULL,                  -- en, ru
    text TEXT NOT NULL DEFAULT '',           -- what it says (the TTS input, or a note)
    path TEXT NOT NULL,                      -- 8 kHz mono 16-bit WAV on the data partition
    source TEXT NOT NULL,                    -- upload, tts
    created_at REAL NOT NULL,
    UNIQUE (name, language)
);

CREATE TABLE voicemail (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL DEFAULT '',
    line TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',
    caller_number TEXT NOT NULL DEFAULT '',
    digits TEXT NOT NULL DEFAULT '{}',       -- JSON: what the caller entered in the flow
    path TEXT NOT NULL,
    duration REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    heard INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX voicemail_queue ON voicemail(queue, created_at);
CREATE INDEX voicemail_heard ON voicemail(heard, created_at);
""",
)


migration(
    "call log: find a number among outbound calls too",
    """
-- The call log searches by the caller's number or the dialled one (outbound calls,
-- callbacks); without this index the dialled side is a scan of every call.
CREATE INDEX calls_dialled ON calls(dialled, started_at);
""",
)


migration(
    "queue-log KPIs: the numbers in call_events.data as generated columns, one covering index",
    # Reports group a period's outcome events by hour x queue x operator x event.  Reading
    # them in this index's order needs no sort and parses no JSON (the values live in the
    # index), so a day over a 1,000,000-call log takes tens of milliseconds.  Only outcome
    # events are indexed.  json_valid guards the insert: bad data yields NULLs, not an error.
    # Operators' LOGIN/LOGOUT/PAUSE/UNPAUSE get a small index of their own (staffed time).
    """
ALTER TABLE call_events ADD COLUMN kpi_hour INTEGER
    GENERATED ALWAYS AS (CAST(ts / 3600 AS INTEGER)) VIRTUAL;
ALTER TABLE call_events ADD COLUMN waited REAL
    GENERATED ALWAYS AS (CASE WHEN json_valid(data) THEN json_extract(data, '$.waited') END)
    VIRTUAL;
ALTER TABLE call_events ADD COLUMN talk REAL
    GENERATED ALWAYS AS (CASE WHEN json_valid(data) THEN json_extract(data, '$.talk') END)
    VIRTUAL;
ALTER TABLE call_events ADD COLUMN hold REAL
    GENERATED ALWAYS AS (CASE WHEN json_valid(data) THEN json_extract(data, '$.hold') END)
    VIRTUAL;
ALTER TABLE call_events ADD COLUMN wrapup REAL
    GENERATED ALWAYS AS (CASE WHEN json_valid(data) THEN json_extract(data, '$.wrapup') END)
    VIRTUAL;
CREATE INDEX call_events_kpi ON call_events
    (kpi_hour, queue, operator, event, reason, waited, talk, hold, wrapup)
    WHERE event IN ('CONNECT', 'CALLBACKCONNECT', 'ABANDON', 'EXITWITHTIMEOUT', 'EXITEMPTY',
                    'EXITFULL', 'TRANSFER', 'COMPLETECALLER', 'COMPLETEAGENT', 'RINGNOANSWER');
CREATE INDEX call_events_presence ON call_events (operator, ts)
    WHERE event IN ('LOGIN', 'LOGOUT', 'PAUSE', 'UNPAUSE');
""",
)


migration(
    "phones: one phone per ATA port, UNIQUE (mac, port) instead of UNIQUE mac",
    # A two-port ATA (HT802, SPA112) carries one SIP account per FXS port, so one MAC now
    # has up to N phones.  SQLite cannot drop a UNIQUE constraint in place: the table is
    # rebuilt (new table, copy every row with its id, drop, rename), nothing references
    # phones(id), and every existing phone becomes port 1 of its device.
    """
CREATE TABLE phones_by_port (
    id INTEGER PRIMARY KEY,
    extension TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    password TEXT NOT NULL,                  -- SIP digest secret (the phone must know it)
    mac TEXT,                                -- for HTTP provisioning, lower-case, no separators
    port INTEGER NOT NULL DEFAULT 1 CHECK (port >= 1),  -- the ATA's FXS port; 1 on a desk phone
    model TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (mac, port)
);
INSERT INTO phones_by_port (id, extension, name, password, mac, port, model, created_at)
    SELECT id, extension, name, password, mac, 1, model, created_at FROM phones;
DROP TABLE phones;
ALTER TABLE phones_by_port RENAME TO phones;
""",
)


def current_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def latest_version() -> int:
    return len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The file was written by a newer callbox: refuse rather than guess."""


def migrate(conn: sqlite3.Connection, target: int | None = None) -> list[int]:
    """Bring ``conn`` up to ``target`` (default: latest).  Returns versions applied."""
    target = latest_version() if target is None else target
    version = current_version(conn)
    if version > latest_version():
        raise SchemaTooNew(
            f"database schema version {version} is newer than this callbox ({latest_version()})"
        )
    applied = []
    for number in range(version + 1, target + 1):
        _name, sql = MIGRATIONS[number - 1]
        # executescript would commit on its own; run statements in one explicit transaction
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(number)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (none of ours has ';' inside a literal)."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
