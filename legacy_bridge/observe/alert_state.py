"""Open alert incidents, kept in the state store's database (table ``alert_incidents``), so
every process (ad-hoc runs, schedulers, watchers, on any host sharing the store) sends one
alert per incident and one "recovered" message.  The table is part of the versioned schema
(state/schema.py, migration 3); this module reads and writes it on the store's own engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from legacy_bridge.errors import StateError
from legacy_bridge.observe.redact import redact
from legacy_bridge.state.base import StateStore
from legacy_bridge.state.engine import IMMEDIATE
from legacy_bridge.state.schema import alert_incidents


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


def _row(row: Any) -> Incident:  # the UTCDateTime columns already come back aware, in UTC
    return Incident(job=row.job, flow=row.flow, kind=row.kind, opened=row.opened, last_seen=row.last_seen,
                    run_id=row.run_id, summary=row.summary, notified=bool(row.notified))


def _one(job: str, flow: str, kind: str) -> Any:
    """The condition that picks one incident."""
    c = alert_incidents.c
    return and_(c.job == job, c.flow == flow, c.kind == kind)


class IncidentBook:
    """The open incidents of one state store."""

    def __init__(self, store: StateStore) -> None:
        engine = getattr(store, "engine", None)  # the SQL store's engine
        if not isinstance(engine, Engine):
            raise StateError(f"state store {store.display_url} does not expose its database engine; "
                             "alert incidents cannot be kept",
                             hint="use the SQL state store (a SQLite path or a PostgreSQL URL)")
        self.engine = engine

    def _write(self) -> Any:
        return self.engine.execution_options(**{IMMEDIATE: True}).begin()

    def get(self, job: str, flow: str, kind: str) -> Incident | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(alert_incidents).where(_one(job, flow, kind))).first()
        return _row(row) if row is not None else None

    def open(self, job: str, flow: str, kind: str, summary: str, run_id: int | None) -> None:
        """Open the incident unless it is open already (then only ``last_seen`` moves)."""
        now = datetime.now(UTC)
        summary = redact(summary)[:2000]
        try:
            with self._write() as conn:
                conn.execute(alert_incidents.insert().values(job=job, flow=flow, kind=kind, opened=now,
                                                             last_seen=now, run_id=run_id, summary=summary,
                                                             notified=False))
        except IntegrityError:  # open already (maybe by another process): keep its start
            with self._write() as conn:
                conn.execute(update(alert_incidents).where(_one(job, flow, kind)).values(last_seen=now))

    def claim_notification(self, job: str, flow: str, kind: str) -> bool:
        """Mark the incident notified; True only for the one caller that flipped it."""
        where = and_(_one(job, flow, kind), alert_incidents.c.notified.is_(False))
        with self._write() as conn:
            return bool(conn.execute(update(alert_incidents).where(where).values(notified=True)).rowcount)

    def unclaim(self, job: str, flow: str, kind: str) -> None:
        """The alert could not be sent: let the next evaluation try again."""
        with self._write() as conn:
            conn.execute(update(alert_incidents).where(_one(job, flow, kind)).values(notified=False))

    def close(self, job: str, flow: str, kind: str) -> Incident | None:
        """Close the incident; return it if it was open (only the one caller that closed it)."""
        found = self.get(job, flow, kind)
        if found is None:
            return None
        with self._write() as conn:
            gone = conn.execute(delete(alert_incidents).where(_one(job, flow, kind))).rowcount
        return found if gone else None
