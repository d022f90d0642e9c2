"""The state store's tables and their versioned migrations.

``schema_version`` holds one row: the number of migration steps applied.  ``migrate``
runs at every open: a fast read when the schema is current; otherwise, in ONE
transaction that holds a database-wide lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory transaction lock on PostgreSQL), it re-reads the version and applies the
missing steps, so two processes opening a fresh store at once create it exactly once.

A step describes the schema as it was at that version: never edit a released step;
append a new one (``ALTER TABLE``, new tables, new indexes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Dialect

from legacy_bridge.errors import StateError

# --- types ------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out: ``timestamptz`` on PostgreSQL; on SQLite naive UTC
    text (which also sorts and compares correctly)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the state store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- tables (current shape) --------------------------------------------------------------

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("version", Integer, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(200), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("ended", UTCDateTime),
    Column("status", String(20), nullable=False),
    Column("read", BigInteger, nullable=False, default=0),
    Column("sent", BigInteger, nullable=False, default=0),
    Column("rejected", BigInteger, nullable=False, default=0),
    Column("skipped", BigInteger, nullable=False, default=0),
    Column("retried", BigInteger, nullable=False, default=0),
    Column("files", BigInteger, nullable=False, default=0),
    Column("watermark_before", Text),
    Column("watermark_after", Text),
    Column("error", Text),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Index("ix_runs_job_flow_id", "job", "flow", "id"),
)

watermarks = Table(
    "watermarks", metadata,
    Column("job", String(200), primary_key=True),
    Column("flow", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
)

files = Table(
    "files", metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(200), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("name", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime", Double, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("records_total", BigInteger),
    Column("records_done", BigInteger, nullable=False, default=0),
    Column("rejects", BigInteger, nullable=False, default=0),
    Column("encoding", String(60)),
    Column("reason", Text),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Index("ix_files_job_flow_name", "job", "flow", "name"),
    Index("ix_files_job_flow_sha256", "job", "flow", "sha256"),
)

hashes = Table(
    "hashes", metadata,
    Column("job", String(200), primary_key=True),
    Column("flow", String(200), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("hash", String(128), nullable=False),
)

reject_table = Table(
    "rejects", metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(200), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("origin", Text, nullable=False),
    Column("position", String(100), nullable=False),
    Column("key", Text),
    Column("field", Text),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("stage", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Index("ix_rejects_job_flow_status_id", "job", "flow", "status", "id"),
)

leases = Table(
    "leases", metadata,
    Column("job", String(200), primary_key=True),
    Column("flow", String(200), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime, nullable=False),
)

heartbeats = Table(
    "heartbeats", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("last_beat", UTCDateTime, nullable=False),
    Column("info", Text),
)

alert_incidents = Table(  # one open incident per (job, flow, kind): one alert, then one "recovered"
    "alert_incidents", metadata,
    Column("job", String(200), primary_key=True),
    Column("flow", String(200), primary_key=True),
    Column("kind", String(20), primary_key=True),  # failed | rejects | lag
    Column("opened", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("run_id", Integer),
    Column("summary", Text, nullable=False),
    Column("notified", Boolean, nullable=False, default=False),
)


# --- migrations ---------------------------------------------------------------------------


def _v1_core(conn: Connection) -> None:
    """Runs, watermarks, file ledger, record hashes, rejects, leases."""
    metadata.create_all(conn, tables=[runs, watermarks, files, hashes, reject_table, leases])


def _v2_heartbeats(conn: Connection) -> None:
    """Liveness of long-running processes (scheduler, watcher)."""
    metadata.create_all(conn, tables=[heartbeats])


def _v3_alert_incidents(conn: Connection) -> None:
    """Open alert incidents (observe/alerts.py), so each incident alerts once.  checkfirst: stores
    that ran an earlier development build may have created the table outside the versioning."""
    metadata.create_all(conn, tables=[alert_incidents], checkfirst=True)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("core tables", _v1_core),
    ("process heartbeats", _v2_heartbeats),
    ("alert incidents", _v3_alert_incidents),
]
LATEST = len(MIGRATIONS)
_PG_LOCK_KEY = 0x4C42_5354  # "LBST": serialises migrations of one PostgreSQL database


def current_version(conn: Connection) -> int:
    """The applied version, 0 for an empty database."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    found: Any = conn.execute(select(schema_version.c.version).where(schema_version.c.id == 1)).scalar()
    return int(found or 0)


def lock_for_migration(conn: Connection) -> None:
    """Inside the migration transaction: make every other migrator wait for us."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    # SQLite: the transaction was begun with BEGIN IMMEDIATE (see sql.py)


def apply_migrations(conn: Connection, upto: int = LATEST) -> int:
    """Apply the missing steps up to ``upto`` inside the caller's transaction (which
    already holds the migration lock); returns the version reached."""
    metadata.create_all(conn, tables=[schema_version])
    version = current_version(conn)
    if version > LATEST:
        raise StateError(
            f"the state store's schema is version {version}, newer than this legacy_bridge knows ({LATEST})",
            hint="upgrade legacy_bridge on this machine (pip install -U legacy-bridge) to match the others",
        )
    for number in range(version + 1, upto + 1):
        MIGRATIONS[number - 1][1](conn)
    if upto > version:
        if version == 0:
            conn.execute(schema_version.insert().values(id=1, version=upto, updated=utcnow()))
        else:
            conn.execute(schema_version.update().where(schema_version.c.id == 1)
                         .values(version=upto, updated=utcnow()))
    return max(version, upto)
