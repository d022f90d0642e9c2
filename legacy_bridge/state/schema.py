"""The state store's tables and their versioned migrations.

``schema_version`` holds one row: the number of migration steps applied.  ``migrate``
runs at every open: a fast read when the schema is current; otherwise, in ONE
transaction that holds a database-wide lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory transaction lock on PostgreSQL), it re-reads the version and applies the
missing steps, so two processes opening a fresh store at once create it exactly once.

A step is the DDL of the schema as it was at that version, written once for both
databases: ``{ts}`` is a UTC timestamp column (``DATETIME`` holding naive UTC text on
SQLite, ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL), ``{serial}`` an auto-numbered
integer key, ``{double}`` a float.  The text is what SQLAlchemy generated for the
stores created before the store moved to the drivers, so old and new stores are alike.
Every CREATE says IF NOT EXISTS, as SQLAlchemy's ``create_all`` checked first.  Never edit a
released step; append a new one (``ALTER TABLE``, new tables, new indexes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from legacy_bridge.errors import StateError
from legacy_bridge.state.db import Database

TYPES = {
    "sqlite": {"ts": "DATETIME", "serial": "INTEGER", "double": "DOUBLE"},
    "postgresql": {"ts": "TIMESTAMP WITH TIME ZONE", "serial": "SERIAL", "double": "DOUBLE PRECISION"},
}


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- the steps ----------------------------------------------------------------------------------

_SCHEMA_VERSION = (
    """CREATE TABLE IF NOT EXISTS schema_version (
    id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated {ts} NOT NULL,
    PRIMARY KEY (id)
)""",
)

# 1: runs, watermarks, file ledger, record hashes, rejects, leases
_V1_CORE = (
    """CREATE TABLE IF NOT EXISTS runs (
    id {serial} NOT NULL,
    job VARCHAR(200) NOT NULL,
    flow VARCHAR(200) NOT NULL,
    started {ts} NOT NULL,
    ended {ts},
    status VARCHAR(20) NOT NULL,
    read BIGINT NOT NULL,
    sent BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    retried BIGINT NOT NULL,
    files BIGINT NOT NULL,
    watermark_before TEXT,
    watermark_after TEXT,
    error TEXT,
    host VARCHAR(255) NOT NULL,
    pid INTEGER NOT NULL,
    dry_run BOOLEAN NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX IF NOT EXISTS ix_runs_job_flow_id ON runs (job, flow, id)""",
    """CREATE TABLE IF NOT EXISTS watermarks (
    job VARCHAR(200) NOT NULL,
    flow VARCHAR(200) NOT NULL,
    value TEXT NOT NULL,
    updated {ts} NOT NULL,
    PRIMARY KEY (job, flow)
)""",
    """CREATE TABLE IF NOT EXISTS files (
    id {serial} NOT NULL,
    job VARCHAR(200) NOT NULL,
    flow VARCHAR(200) NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    mtime {double} NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    status VARCHAR(20) NOT NULL,
    records_total BIGINT,
    records_done BIGINT NOT NULL,
    rejects BIGINT NOT NULL,
    encoding VARCHAR(60),
    reason TEXT,
    first_seen {ts} NOT NULL,
    updated {ts} NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX IF NOT EXISTS ix_files_job_flow_name ON files (job, flow, name)""",
    """CREATE INDEX IF NOT EXISTS ix_files_job_flow_sha256 ON files (job, flow, sha256)""",
    """CREATE TABLE IF NOT EXISTS hashes (
    job VARCHAR(200) NOT NULL,
    flow VARCHAR(200) NOT NULL,
    "key" TEXT NOT NULL,
    hash VARCHAR(128) NOT NULL,
    PRIMARY KEY (job, flow, "key")
)""",
    """CREATE TABLE IF NOT EXISTS rejects (
    id {serial} NOT NULL,
    job VARCHAR(200) NOT NULL,
    flow VARCHAR(200) NOT NULL,
    run_id INTEGER,
    origin TEXT NOT NULL,
    position VARCHAR(100) NOT NULL,
    "key" TEXT,
    field TEXT,
    value TEXT,
    reason TEXT NOT NULL,
    raw TEXT,
    stage VARCHAR(20) NOT NULL,
    status VARCHAR(20) NOT NULL,
    created {ts} NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE SET NULL
)""",
    """CREATE INDEX IF NOT EXISTS ix_rejects_job_flow_status_id ON rejects (job, flow, status, id)""",
    """CREATE TABLE IF NOT EXISTS leases (
    job VARCHAR(200) NOT NULL,
    flow VARCHAR(200) NOT NULL,
    holder VARCHAR(255) NOT NULL,
    host VARCHAR(255) NOT NULL,
    pid INTEGER NOT NULL,
    acquired {ts} NOT NULL,
    expires {ts} NOT NULL,
    PRIMARY KEY (job, flow)
)""",
)

# 2: liveness of long-running processes (scheduler, watcher)
_V2_HEARTBEATS = (
    """CREATE TABLE IF NOT EXISTS heartbeats (
    id {serial} NOT NULL,
    kind VARCHAR(40) NOT NULL,
    host VARCHAR(255) NOT NULL,
    pid INTEGER NOT NULL,
    started {ts} NOT NULL,
    last_beat {ts} NOT NULL,
    info TEXT,
    PRIMARY KEY (id)
)""",
)

# 3: open alert incidents (observe/alert_state.py), so each incident alerts once (stores that ran an
# earlier development build may have created the table outside the versioning: IF NOT EXISTS)
_V3_ALERT_INCIDENTS = (
    """CREATE TABLE IF NOT EXISTS alert_incidents (
    job VARCHAR(200) NOT NULL,
    flow VARCHAR(200) NOT NULL,
    kind VARCHAR(20) NOT NULL,
    opened {ts} NOT NULL,
    last_seen {ts} NOT NULL,
    run_id INTEGER,
    summary TEXT NOT NULL,
    notified BOOLEAN NOT NULL,
    PRIMARY KEY (job, flow, kind)
)""",
)


def _ddl(db: Database, cursor: Any, statements: tuple[str, ...]) -> None:
    for statement in statements:
        db.execute(cursor, statement.format(**TYPES[db.kind]))


MIGRATIONS: list[tuple[str, Callable[[Database, Any], None]]] = [
    ("core tables", lambda db, cursor: _ddl(db, cursor, _V1_CORE)),
    ("process heartbeats", lambda db, cursor: _ddl(db, cursor, _V2_HEARTBEATS)),
    ("alert incidents", lambda db, cursor: _ddl(db, cursor, _V3_ALERT_INCIDENTS)),
]
LATEST = len(MIGRATIONS)
_PG_LOCK_KEY = 0x4C42_5354  # "LBST": serialises migrations of one PostgreSQL database


def current_version(db: Database, cursor: Any) -> int:
    """The applied version, 0 for an empty database."""
    if db.kind == "sqlite":
        exists = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    else:
        exists = "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'schema_version' " \
                 "AND schemaname = ANY(current_schemas(false))"
    if not db.execute(cursor, exists).fetchone()[0]:
        return 0
    found = db.execute(cursor, "SELECT version FROM schema_version WHERE id = 1").fetchone()
    return int(found[0]) if found and found[0] else 0


def lock_for_migration(db: Database, cursor: Any) -> None:
    """Inside the migration transaction: make every other migrator wait for us."""
    if db.kind == "postgresql":
        db.execute(cursor, "SELECT pg_advisory_xact_lock(:k)", {"k": _PG_LOCK_KEY})
    # SQLite: the transaction was begun with BEGIN IMMEDIATE


def apply_migrations(db: Database, cursor: Any, upto: int = LATEST) -> int:
    """Apply the missing steps up to ``upto`` inside the caller's transaction (which
    already holds the migration lock); returns the version reached."""
    _ddl(db, cursor, _SCHEMA_VERSION)
    version = current_version(db, cursor)
    if version > LATEST:
        raise StateError(
            f"the state store's schema is version {version}, newer than this legacy_bridge knows ({LATEST})",
            hint="upgrade legacy_bridge on this machine (pip install -U legacy-bridge) to match the others",
        )
    for number in range(version + 1, upto + 1):
        MIGRATIONS[number - 1][1](db, cursor)
    if upto > version:
        if version == 0:
            db.execute(cursor, "INSERT INTO schema_version (id, version, updated) VALUES (1, :v, :now)",
                       {"v": upto, "now": utcnow()})
        else:
            db.execute(cursor, "UPDATE schema_version SET version = :v, updated = :now WHERE id = 1",
                       {"v": upto, "now": utcnow()})
    return max(version, upto)
