"""The schema is versioned and upgraded automatically when a store is opened."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from legacy_bridge.errors import StateError
from legacy_bridge.observe.alert_state import IncidentBook
from legacy_bridge.records import Checkpoint, Counts, FileProgress
from legacy_bridge.state import open_store
from legacy_bridge.state.db import Database, connect, locate
from legacy_bridge.state.schema import LATEST, apply_migrations, current_version

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _db(url: str) -> Database:
    return connect(locate(url))


def _version(url: str) -> list[int]:
    db = _db(url)
    try:
        with db.transaction() as cur:
            return [version for (version,) in db.execute(cur, "SELECT version FROM schema_version")]
    finally:
        db.close()


def test_a_new_store_is_created_at_the_latest_version(store_url: str) -> None:
    open_store(store_url).close()
    assert _version(store_url) == [LATEST]


def test_a_version_1_store_is_upgraded_on_open_and_keeps_its_data(store_url: str) -> None:
    db = _db(store_url)
    with db.transaction(write=True) as cur:
        assert apply_migrations(db, cur, upto=1) == 1
        db.execute(cur, "INSERT INTO runs (job, flow, started, status, host, pid, read, sent, rejected, skipped, "
                        "retried, files, dry_run) VALUES ('erp_to_crm', 'customers', :started, 'ok', 'old-host', "
                        "42, 7, 7, 0, 0, 0, 1, :no)",
                   {"started": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "no": False})
    with db.transaction() as cur:
        assert current_version(db, cur) == 1
    db.close()

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
    db = _db(store_url)
    with db.transaction(write=True) as cur:
        db.execute(cur, "UPDATE schema_version SET version = :v", {"v": LATEST + 1})
    db.close()
    with pytest.raises(StateError, match="newer than this legacy_bridge knows") as caught:
        open_store(store_url)
    assert "upgrade legacy_bridge" in str(caught.value)


def test_a_store_written_by_the_sqlalchemy_based_store_opens_and_carries_on(tmp_path: Path) -> None:
    """tests/fixtures/state/made_by_sqlalchemy_store.db was written by the store as it was on
    SQLAlchemy (commit ccf92ea): a finished run with a watermark, a file half read, hashes, a reject,
    a lease that has long expired, a heartbeat and an open alert incident."""
    path = tmp_path / "state.db"
    shutil.copyfile(FIXTURES / "state" / "made_by_sqlalchemy_store.db", path)
    store = open_store(str(path))
    try:
        (run,) = store.last_runs("erp_to_crm")
        assert (run.id, run.status, run.read, run.sent, run.rejected) == (1, "ok", 9, 8, 1)
        assert run.started.tzinfo is not None and run.ended is not None and run.ended >= run.started
        mark = (datetime(2024, 3, 1, 12, 30, tzinfo=UTC), 42)
        assert run.watermark_after == mark and store.get_watermark("erp_to_crm", "customers") == mark
        assert store.get_hashes("erp_to_crm", "customers", ["C1", "C2", "C3"]) == {"C1": "h1", "C2": "h2"}
        (reject,) = store.list_rejects("erp_to_crm")
        assert (reject.position, reject.field, reject.value, reject.raw) == ("row 7", "birthday", "31/02/2024",
                                                                            {"id": "C7"})
        entry = store.find_file("erp_to_crm", "orders_drop", "in/ORDERS_1.csv", size=2048, mtime=1700000000.5)
        assert entry is not None and (entry.status, entry.records_done, entry.encoding) == ("in_progress", 6, "cp1252")
        (beat,) = store.list_heartbeats()
        assert (beat.kind, beat.info) == ("scheduler", {"jobs": 1})
        book = IncidentBook(store)
        incident = book.get("erp_to_crm", "customers", "failed")
        assert incident is not None and incident.run_id == 1 and not incident.notified
        assert book.claim_notification("erp_to_crm", "customers", "failed")

        # carrying on: the old lease's expiry (text written by SQLAlchemy) compares with ours
        assert store.current_lease("erp_to_crm", "customers") is None
        assert store.acquire_lease("erp_to_crm", "customers", "newhost:1:t", ttl_s=60) is None
        again = store.begin_run("erp_to_crm", "orders_drop")
        store.commit_batch(run_id=again, job="erp_to_crm", flow="orders_drop",
                           checkpoint=Checkpoint(file=FileProgress(entry.id, 10, finished=True)), rejects=[],
                           counts=Counts(read=4, sent=4, files=1))
        done = store.find_file("erp_to_crm", "orders_drop", "in/ORDERS_1.csv")
        assert done is not None and (done.status, done.records_done) == ("done", 10)
        assert [r.id for r in store.history("erp_to_crm")] == [again, 1]
    finally:
        store.close()
    with sqlite3.connect(path) as conn:  # the text the new store writes is the old store's format
        old, new = (text for (text,) in conn.execute("SELECT started FROM runs ORDER BY id"))
    assert len(old) == len(new) == len("2024-03-01 12:30:00.000000") and old < new
