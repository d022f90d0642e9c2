"""Open alert incidents, kept in the state store's database (table ``alert_incidents``), so
every process (ad-hoc runs, schedulers, watchers, on any host sharing the store) sends one
alert per incident and one "recovered" message.

The table belongs to observability, not to the store's core schema: it is created here on
first use, on the store's own SQLAlchemy engine (``store.engine``), in the same database.
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

incidents = alert_incidents  # in the versioned schema (state/schema.py, migration 3)


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


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(row: Any) -> Incident:
    return Incident(job=row.job, flow=row.flow, kind=row.kind, opened=_utc(row.opened),
                    last_seen=_utc(row.last_seen), run_id=row.run_id, summary=row.summary,
                    notified=bool(row.notified))





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
        where = and_(incidents.c.job == job, incidents.c.flow == flow, incidents.c.kind == kind)
        with self.engine.connect() as conn:
            row = conn.execute(select(incidents).where(where)).first()
        return _row(row) if row is not None else None

    def open(self, job: str, flow: str, kind: str, summary: str, run_id: int | None) -> Incident:
        """Open the incident unless it is open already (then only ``last_seen`` moves)."""
        now = datetime.now(UTC)
        summary = redact(summary)[:2000]
        try:
            with self._write() as conn:
                conn.execute(incidents.insert().values(job=job, flow=flow, kind=kind, opened=now, last_seen=now,
                                                       run_id=run_id, summary=summary, notified=False))
        except IntegrityError:  # open already (maybe by another process): keep its start
            with self._write() as conn:
                conn.execute(update(incidents).where(
                    and_(incidents.c.job == job, incidents.c.flow == flow, incidents.c.kind == kind))
                    .values(last_seen=now))
        found = self.get(job, flow, kind)
        assert found is not None
        return found

    def claim_notification(self, job: str, flow: str, kind: str) -> bool:
        """Mark the incident notified; True only for the one caller that flipped it."""
        where = and_(incidents.c.job == job, incidents.c.flow == flow, incidents.c.kind == kind,
                     incidents.c.notified.is_(False))
        with self._write() as conn:
            return bool(conn.execute(update(incidents).where(where).values(notified=True)).rowcount)

    def unclaim(self, job: str, flow: str, kind: str) -> None:
        """The alert could not be sent: let the next evaluation try again."""
        where = and_(incidents.c.job == job, incidents.c.flow == flow, incidents.c.kind == kind)
        with self._write() as conn:
            conn.execute(update(incidents).where(where).values(notified=False))

    def close(self, job: str, flow: str, kind: str) -> Incident | None:
        """Close the incident; return it if it was open (only the one caller that closed it)."""
        found = self.get(job, flow, kind)
        if found is None:
            return None
        where = and_(incidents.c.job == job, incidents.c.flow == flow, incidents.c.kind == kind)
        with self._write() as conn:
            gone = conn.execute(delete(incidents).where(where)).rowcount
        return found if gone else None

    def list_open(self, job: str | None = None) -> list[Incident]:
        query = select(incidents).order_by(incidents.c.opened)
        if job is not None:
            query = query.where(incidents.c.job == job)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]
