"""The schema is versioned and upgraded automatically when a store is opened."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from legacy_bridge.errors import StateError
from legacy_bridge.state import open_store
from legacy_bridge.state.engine import make_engine, normalise_url
from legacy_bridge.state.schema import LATEST, apply_migrations, current_version, runs, schema_version


def _version(url: str) -> list[int]:
    engine = make_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return [row.version for row in conn.execute(select(schema_version))]
    finally:
        engine.dispose()


def test_a_new_store_is_created_at_the_latest_version(store_url: str) -> None:
    open_store(store_url).close()
    assert _version(store_url) == [LATEST]


def test_a_version_1_store_is_upgraded_on_open_and_keeps_its_data(store_url: str) -> None:
    engine = make_engine(normalise_url(store_url))
    with engine.begin() as conn:
        assert apply_migrations(conn, upto=1) == 1
        conn.execute(runs.insert().values(
            job="erp_to_crm", flow="customers", started=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            status="ok", host="old-host", pid=42, read=7, sent=7, rejected=0, skipped=0, retried=0,
            files=1, dry_run=False))
    with engine.connect() as conn:
        assert current_version(conn) == 1
    engine.dispose()

    store = open_store(store_url)
    try:
        assert _version(store_url) == [LATEST]
        (run,) = store.last_runs("erp_to_crm")
        assert (run.host, run.pid, run.read, run.started) == ("old-host", 42, 7,
                                                              datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
        beat = store.beat("scheduler")  # the table version 2 added
        assert [b.id for b in store.list_heartbeats()] == [beat]
    finally:
        store.close()


def test_a_store_from_a_newer_legacy_bridge_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    engine = make_engine(normalise_url(store_url))
    with engine.begin() as conn:
        conn.execute(schema_version.update().values(version=LATEST + 1))
    engine.dispose()
    with pytest.raises(StateError, match="newer than this legacy_bridge knows") as caught:
        open_store(store_url)
    assert "upgrade legacy_bridge" in str(caught.value)
