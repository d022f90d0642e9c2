"""What the CRM sandbox keeps, in SQLite (WAL): the objects, and every call it received.

``objects``: one row per (object type, id property value); upserts merge the properties
they carry (latest wins), count ``writes`` (a value above 1 is a repeated delivery) and
keep HubSpot-like numeric ids.  ``calls``: one row per request to the objects API, with
its path, number of inputs, status code, fault and ``Idempotency-Key`` header, so tests
can count calls and repeated deliveries.  Other processes (tests) read the file directly.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    hs_id INTEGER PRIMARY KEY AUTOINCREMENT,
    object_type TEXT NOT NULL,
    id_property TEXT NOT NULL,
    id_value TEXT NOT NULL,
    properties TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    writes INTEGER NOT NULL DEFAULT 1,
    UNIQUE (object_type, id_value)
);
CREATE TABLE IF NOT EXISTS archived (
    hs_id INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL,
    id_value TEXT NOT NULL,
    properties TEXT NOT NULL,
    archived_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS associations (
    from_type TEXT NOT NULL,
    from_id INTEGER NOT NULL,
    to_type TEXT NOT NULL,
    to_id INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (from_type, from_id, to_type, to_id, type_id)
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    t REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    inputs INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL,
    fault TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT
);
"""

_UPSERT = """
INSERT INTO objects (object_type, id_property, id_value, properties, created, updated)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (object_type, id_value) DO UPDATE SET
    properties = json_patch(objects.properties, excluded.properties),
    id_property = excluded.id_property,
    updated = excluded.updated,
    writes = objects.writes + 1
RETURNING hs_id, writes
"""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class SandboxStore:
    """One writer connection guarded by a lock: SQLite serialises writers anyway."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def upsert(self, object_type: str, inputs: list[tuple[str, str, dict[str, Any]]],
               call: tuple[str, str, int, int, str, str | None]) -> list[tuple[int, bool]]:
        """Upsert (id_property, id_value, properties) triples and log the call, in one transaction.
        Returns (hubspot id, new) per input."""
        now = time.time()
        out: list[tuple[int, bool]] = []
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                for id_property, id_value, props in inputs:
                    row = conn.execute(_UPSERT, (object_type, id_property, id_value, json.dumps(props), now, now)).fetchone()
                    out.append((int(row[0]), int(row[1]) == 1))
                self._log(call, now)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return out

    def log_call(self, method: str, path: str, inputs: int, status: int, fault: str = "",
                 idempotency_key: str | None = None) -> None:
        with self._lock:
            self._log((method, path, inputs, status, fault, idempotency_key), time.time())

    def _log(self, call: tuple[str, str, int, int, str, str | None], now: float) -> None:
        self._conn.execute(
            "INSERT INTO calls (t, method, path, inputs, status, fault, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now, *call))

    def page(self, object_type: str, after: int, limit: int) -> list[tuple[int, str, float, float]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT hs_id, properties, created, updated FROM objects WHERE object_type = ? AND hs_id > ? "
                "ORDER BY hs_id LIMIT ?", (object_type, after, limit)).fetchall()
        return [(int(r[0]), str(r[1]), float(r[2]), float(r[3])) for r in rows]

    # --- batch read, archive, associations (see sandbox/crm_more.py) -------------------------
    def read(self, object_type: str, id_property: str | None, ids: list[str]) -> dict[str, tuple[int, str]]:
        """Live objects by id property value (or by HubSpot id): requested id -> (hs id, properties)."""
        found: dict[str, tuple[int, str]] = {}
        with self._lock:
            for value in ids:
                if id_property:
                    row = self._conn.execute(
                        "SELECT hs_id, properties FROM objects WHERE object_type = ? AND id_value = ? AND "
                        "(id_property = ? OR json_extract(properties, '$.' || ?) = id_value)",
                        (object_type, value, id_property, id_property)).fetchone()
                else:
                    row = self._conn.execute("SELECT hs_id, properties FROM objects WHERE object_type = ? AND "
                                             "hs_id = ?", (object_type, value)).fetchone()
                if row is not None:
                    found[value] = (int(row[0]), str(row[1]))
        return found

    def archive(self, object_type: str, hs_ids: list[int], call: tuple[str, str, int, int, str, str | None]) -> int:
        """Move live objects to ``archived`` (unknown or already archived ids are ignored)."""
        now = time.time()
        moved = 0
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                for hs_id in hs_ids:
                    conn.execute("INSERT INTO archived (hs_id, object_type, id_value, properties, archived_at) "
                                 "SELECT hs_id, object_type, id_value, properties, ? FROM objects "
                                 "WHERE object_type = ? AND hs_id = ?", (now, object_type, hs_id))
                    moved += conn.execute("DELETE FROM objects WHERE object_type = ? AND hs_id = ?",
                                          (object_type, hs_id)).rowcount
                self._log(call, now)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return moved

    def exists(self, object_type: str, hs_id: int) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM objects WHERE object_type = ? AND hs_id = ?",
                                      (object_type, hs_id)).fetchone() is not None

    def associate(self, from_type: str, to_type: str, pairs: list[tuple[int, int]], type_id: int,
                  call: tuple[str, str, int, int, str, str | None]) -> None:
        """Store (from hs id, to hs id) associations (idempotent) and log the call, in one transaction."""
        now = time.time()
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO associations VALUES (?, ?, ?, ?, ?, ?)",
                                 [(from_type, f, to_type, t, type_id, now) for f, t in pairs])
                self._log(call, now)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return stats(self._conn)

    def reset(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM objects")
            self._conn.execute("DELETE FROM archived")
            self._conn.execute("DELETE FROM associations")
            self._conn.execute("DELETE FROM calls")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def stats(conn: sqlite3.Connection) -> dict[str, Any]:
    """Counts per object type, calls per status, repeated upserts and repeated idempotency keys."""
    objects = dict(conn.execute("SELECT object_type, COUNT(*) FROM objects GROUP BY object_type").fetchall())
    repeated = conn.execute("SELECT COALESCE(SUM(writes - 1), 0) FROM objects").fetchone()[0]
    by_status = {str(k): v for k, v in conn.execute("SELECT status, COUNT(*) FROM calls GROUP BY status")}
    by_fault = {str(k): v for k, v in conn.execute("SELECT fault, COUNT(*) FROM calls WHERE fault != '' GROUP BY fault")}
    upserts = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(inputs), 0) FROM calls WHERE path LIKE '%/batch/upsert' "
        "AND status IN (200, 207)").fetchone()
    repeated_keys = conn.execute(
        "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM calls WHERE idempotency_key IS NOT NULL "
        "AND status IN (200, 207) GROUP BY idempotency_key)").fetchone()[0]
    total = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    archived = dict(conn.execute("SELECT object_type, COUNT(*) FROM archived GROUP BY object_type").fetchall())
    associations = {f"{f}->{t}": n for f, t, n in conn.execute(
        "SELECT from_type, to_type, COUNT(*) FROM associations GROUP BY from_type, to_type")}
    return {"archived": archived, "associations": associations,
            "objects": objects, "calls": total, "calls_by_status": by_status, "faults": by_fault,
            "upsert_calls_processed": upserts[0], "inputs_processed": upserts[1],
            "repeated_upserts": repeated, "repeated_idempotency_keys": repeated_keys}
