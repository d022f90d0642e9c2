"""Open alert incidents, kept in the state store's database (table ``alert_incidents``), so
every process (ad-hoc runs, schedulers, watchers, on any host sharing the store) sends one
alert per incident and one "recovered" message.  The table is part of the versioned schema
(state/schema.py, migration 3); this module reads and writes it on the store's own database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from legacy_bridge.errors import StateError
from legacy_bridge.observe.redact import redact
from legacy_bridge.state.base import StateStore
from legacy_bridge.state.db import Database, aware, first

_ONE = "job = :job AND flow = :flow AND kind = :kind"  # the condition that picks one incident
_OPEN = ("INSERT INTO alert_incidents (job, flow, kind, opened, last_seen, run_id, summary, notified) "
         "VALUES (:job, :flow, :kind, :now, :now, :run_id, :summary, :no) "
         "ON CONFLICT (job, flow, kind) DO UPDATE SET last_seen = excluded.last_seen")


@dataclass(frozen=True)
class Incident:
    job: str
    flow: str
    kind: str
    opened: datetime
    last_seen: datetime
    run_id: int | None
    summary: str
    notified: bool


def _row(row: dict[str, Any]) -> Incident:
    return Incident(job=row["job"], flow=row["flow"], kind=row["kind"], opened=aware(row["opened"]),
                    last_seen=aware(row["last_seen"]), run_id=row["run_id"], summary=row["summary"],
                    notified=bool(row["notified"]))


class IncidentBook:
    """The open incidents of one state store."""

    def __init__(self, store: StateStore) -> None:
        db = getattr(store, "db", None)  # the SQL store's database
        if not isinstance(db, Database):
            raise StateError(f"state store {store.display_url} does not expose its database; "
                             "alert incidents cannot be kept",
                             hint="use the SQL state store (a SQLite path or a PostgreSQL URL)")
        self.db = db

    def _change(self, sql: str, job: str, flow: str, kind: str, **values: Any) -> int:
        """Run one statement on one incident in a write transaction; the rows it changed."""
        with self.db.transaction(write=True) as cur:
            return int(self.db.execute(cur, sql, {"job": job, "flow": flow, "kind": kind, **values}).rowcount)

    def get(self, job: str, flow: str, kind: str) -> Incident | None:
        with self.db.transaction() as cur:
            row = first(self.db.execute(cur, f"SELECT * FROM alert_incidents WHERE {_ONE}",
                                        {"job": job, "flow": flow, "kind": kind}))
        return _row(row) if row is not None else None

    def open(self, job: str, flow: str, kind: str, summary: str, run_id: int | None) -> None:
        """Open the incident unless it is open already (then only ``last_seen`` moves: an incident
        opened by another process keeps its start)."""
        self._change(_OPEN, job, flow, kind, now=datetime.now(UTC), run_id=run_id,
                     summary=redact(summary)[:2000], no=False)

    def claim_notification(self, job: str, flow: str, kind: str) -> bool:
        """Mark the incident notified; True only for the one caller that flipped it."""
        return bool(self._change(f"UPDATE alert_incidents SET notified = :yes WHERE {_ONE} AND notified = :no",
                                 job, flow, kind, yes=True, no=False))

    def unclaim(self, job: str, flow: str, kind: str) -> None:
        """The alert could not be sent: let the next evaluation try again."""
        self._change(f"UPDATE alert_incidents SET notified = :no WHERE {_ONE}", job, flow, kind, no=False)

    def close(self, job: str, flow: str, kind: str) -> Incident | None:
        """Close the incident; return it if it was open (only the one caller that closed it)."""
        found = self.get(job, flow, kind)
        if found is None:
            return None
        gone = self._change(f"DELETE FROM alert_incidents WHERE {_ONE}", job, flow, kind)
        return found if gone else None
