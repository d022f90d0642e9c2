"""The state store's contract, run on SQLite and PostgreSQL alike (see conftest.py)."""

from __future__ import annotations

import os
import socket
import types
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from legacy_bridge.errors import StateError
from legacy_bridge.records import Checkpoint, Counts, FileProgress, Reject
from legacy_bridge.state import StateStore, open_store

JOB, FLOW = "erp_to_crm", "customers"


def _aware_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


def _commit(store: StateStore, run_id: int, *, checkpoint: Checkpoint | None = None,
            rejects: list[Reject] | None = None, counts: Counts | None = None, flow: str = FLOW) -> None:
    store.commit_batch(run_id=run_id, job=JOB, flow=flow, checkpoint=checkpoint or Checkpoint(),
                       rejects=rejects or [], counts=counts or Counts())


def _watch_statements(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every statement the store runs from now on (each goes through its database's
    ``execute`` or ``execute_many``)."""
    db: Any = getattr(store, "db")  # noqa: B009 - the SQL implementation's database
    statements: list[str] = []
    for name in ("execute", "execute_many"):
        real = getattr(db, name)

        def watched(cursor: Any, sql: str, *rest: Any, _real: Any = real) -> Any:
            statements.append(sql)
            return _real(cursor, sql, *rest)

        monkeypatch.setattr(db, name, watched)
    return statements


def _file(store: StateStore, name: str = "ORDERS_1.csv", flow: str = FLOW, **kw: Any) -> int:
    args: dict[str, Any] = {"size": 10, "mtime": 1700000000.25, "sha256": "a" * 64,
                            "records_total": None, "encoding": "cp1252", **kw}
    return store.register_file(JOB, flow, name, **args).id


# --- runs -------------------------------------------------------------------------------------


def test_a_new_run_starts_running_with_zero_counts_and_this_host_and_pid(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW, watermark_before=("2024-01-01", 7), dry_run=True)
    run = store.get_run(run_id)
    assert (run.job, run.flow, run.status, run.dry_run) == (JOB, FLOW, "running", True)
    assert (run.read, run.sent, run.rejected, run.skipped, run.retried, run.files) == (0, 0, 0, 0, 0, 0)
    assert (run.host, run.pid) == (socket.gethostname(), os.getpid())
    assert run.watermark_before == ("2024-01-01", 7)
    assert run.ended is None and run.duration_s is None and _aware_utc(run.started)


def test_finishing_a_run_records_end_status_error_and_final_watermark(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    store.finish_run(run_id, status="failed", watermark_after=(date(2024, 5, 1), "C-9"), error="CRM said 401")
    run = store.get_run(run_id)
    assert (run.status, run.error, run.watermark_after) == ("failed", "CRM said 401", (date(2024, 5, 1), "C-9"))
    assert run.ended is not None and _aware_utc(run.ended) and run.ended >= run.started


def test_run_counts_add_up_from_batches_and_extra_counts(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    _commit(store, run_id, counts=Counts(read=100, sent=98, rejected=2, retried=1))
    _commit(store, run_id, counts=Counts(read=50, sent=50))
    store.add_run_counts(run_id, Counts(skipped=3, files=2))
    run = store.get_run(run_id)
    assert (run.read, run.sent, run.rejected, run.skipped, run.retried, run.files) == (150, 148, 2, 3, 1, 2)


def test_an_unknown_run_is_a_state_error(store: StateStore) -> None:
    with pytest.raises(StateError, match="run 4242"):
        store.get_run(4242)
    with pytest.raises(StateError):
        store.finish_run(4242, status="ok")
    with pytest.raises(StateError):
        store.add_run_counts(4242, Counts(read=1))
    with pytest.raises(StateError):  # nothing to add still finds out that the run is not there
        store.add_run_counts(4242, Counts())


def test_a_commit_moving_no_count_leaves_the_counts_and_one_moving_some_adds_only_those(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    _commit(store, run_id, counts=Counts())
    _commit(store, run_id, counts=Counts(skipped=4))
    _commit(store, run_id, counts=Counts(read=7, rejected=7))
    run = store.get_run(run_id)
    assert (run.read, run.sent, run.rejected, run.skipped, run.retried, run.files) == (7, 0, 7, 4, 0, 0)


def test_last_runs_gives_the_latest_run_of_every_flow(store: StateStore) -> None:
    store.begin_run(JOB, "customers")
    latest_customers = store.begin_run(JOB, "customers")
    latest_orders = store.begin_run(JOB, "orders")
    other = store.begin_run("other_job", "customers")
    assert [r.id for r in store.last_runs()] == [latest_customers, latest_orders, other]
    assert [(r.flow, r.id) for r in store.last_runs(JOB)] == [("customers", latest_customers),
                                                              ("orders", latest_orders)]
    assert store.last_runs("never_ran") == []


def test_history_is_newest_first_limited_and_filtered_by_flow(store: StateStore) -> None:
    ids = [store.begin_run(JOB, "customers" if i % 2 else "orders") for i in range(6)]
    assert [r.id for r in store.history(JOB)] == ids[::-1]
    assert [r.id for r in store.history(JOB, limit=2)] == ids[::-1][:2]
    assert [r.id for r in store.history(JOB, "customers")] == [ids[5], ids[3], ids[1]]
    assert store.history("other_job") == []


# --- checkpoints --------------------------------------------------------------------------------

WATERMARKS: list[Any] = [
    None, 0, -17, 2**70, 1.5, -0.0, "C-0042", "", True,
    Decimal("12.3400"), Decimal("-1E+3"), Decimal("0.1000000000000000000000000001"),
    date(1999, 12, 31), time(23, 59, 59, 999999), time(8, 0, tzinfo=timezone(timedelta(hours=2))),
    datetime(2024, 3, 31, 1, 59, 59, 123456),  # naive, as an ERP gives it
    datetime(2024, 3, 31, 1, 59, 59, 123456, tzinfo=UTC),
    datetime(2024, 10, 27, 2, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2024, 10, 27, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"), fold=1),
    b"\x00\xffrowversion", (datetime(2024, 1, 1, 12, 0), 1234), ["a", ("b", Decimal("1"))],
    {"last_changed": datetime(2024, 1, 1), "keys": (1, 2)},
]


@pytest.mark.parametrize("watermark", WATERMARKS, ids=lambda v: type(v).__name__)
def test_a_watermark_comes_back_with_its_type_and_value(store: StateStore, watermark: Any) -> None:
    run_id = store.begin_run(JOB, FLOW, watermark_before=watermark)
    _commit(store, run_id, checkpoint=Checkpoint(watermark=watermark))
    for got in (store.get_watermark(JOB, FLOW), store.get_run(run_id).watermark_before):
        assert got == watermark and type(got) is type(watermark)
        if isinstance(watermark, (datetime, time)):
            assert got.tzinfo == watermark.tzinfo and got.fold == watermark.fold
        if isinstance(watermark, Decimal):
            assert str(got) == str(watermark)


def test_a_batch_without_a_watermark_keeps_the_last_one(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    assert store.get_watermark(JOB, FLOW) is None
    _commit(store, run_id, checkpoint=Checkpoint(watermark=(datetime(2024, 1, 1, tzinfo=UTC), 5)))
    _commit(store, run_id, checkpoint=Checkpoint(watermark=None, hashes=[("k", "h")]))
    assert store.get_watermark(JOB, FLOW) == (datetime(2024, 1, 1, tzinfo=UTC), 5)
    assert store.get_watermark(JOB, "orders") is None


def test_a_batch_commits_file_progress_hashes_deletions_rejects_and_counts(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    file_id = _file(store, records_total=4)
    _commit(store, run_id, checkpoint=Checkpoint(hashes=[("K1", "h1"), ("K2", "h2"), ("K3", "h3")]))
    rejects = [Reject("email: does not match ^[^@]+@[^@]+$", origin="ORDERS_1.csv", position="line 3",
                      key="K9", field="email", value="nobody", raw={"EMAIL": "nobody", "N": 1}),
               Reject("HTTP 400 for this record", origin="ORDERS_1.csv", position="line 4", stage="target")]
    _commit(store, run_id, counts=Counts(read=4, sent=2, rejected=2), rejects=rejects,
            checkpoint=Checkpoint(watermark="w1", file=FileProgress(file_id, 4, finished=True),
                                  hashes=[("K2", "h2b"), ("K4", "h4"), ("K4", "h4b")], deleted_keys=["K1"]))
    entry = store.list_files(JOB)[0]
    assert (entry.status, entry.records_done, entry.rejects) == ("done", 4, 2)
    assert store.get_hashes(JOB, FLOW, ["K1", "K2", "K3", "K4"]) == {"K2": "h2b", "K3": "h3", "K4": "h4b"}
    stored = store.list_rejects(JOB, FLOW)
    assert [(r.position, r.key, r.field, r.value, r.stage, r.status, r.run_id) for r in stored] == [
        ("line 3", "K9", "email", "nobody", "mapping", "open", run_id),
        ("line 4", None, None, None, "target", "open", run_id)]
    assert stored[0].raw == {"EMAIL": "nobody", "N": 1} and stored[0].origin == "ORDERS_1.csv"
    assert stored[0].reason == "email: does not match ^[^@]+@[^@]+$" and _aware_utc(stored[0].created)
    run = store.get_run(run_id)
    assert (run.read, run.sent, run.rejected) == (4, 2, 2)


def test_file_progress_before_the_last_batch_keeps_the_file_in_progress(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    file_id = _file(store)
    _commit(store, run_id, checkpoint=Checkpoint(file=FileProgress(file_id, 1000)),
            rejects=[Reject("bad date", position="line 17")])
    _commit(store, run_id, checkpoint=Checkpoint(file=FileProgress(file_id, 2000)),
            rejects=[Reject("bad date", position="line 1017")])
    entry = store.find_file(JOB, FLOW, "ORDERS_1.csv")
    assert entry is not None and (entry.status, entry.records_done, entry.rejects) == ("in_progress", 2000, 2)


def _snapshot(store: StateStore, run_id: int) -> Any:
    run = store.get_run(run_id)
    return (store.get_watermark(JOB, FLOW), store.get_hashes(JOB, FLOW, ["K1", "K2", "K3"]),
            store.list_rejects(JOB, status=None), store.list_files(JOB),
            (run.read, run.sent, run.rejected))


def _failing_batches(file_id: int) -> dict[str, dict[str, Any]]:
    full = Checkpoint(watermark="w2", file=FileProgress(file_id, 10, finished=True),
                      hashes=[("K2", "new"), ("K3", "h3")], deleted_keys=["K1"])
    good_reject = Reject("bad", raw={"A": 1})
    return {
        # the last statement (the run's counts) finds no run: everything before it must go too
        "unknown run": {"run_id": 987654, "checkpoint": full, "rejects": [good_reject]},
        # the database refuses a reject row (reason is NOT NULL) after watermark, file and hashes
        "reject refused": {"checkpoint": full, "rejects": [good_reject, Reject(None)]},  # type: ignore[arg-type]
        # the ledger has no such file: the watermark written just before must go
        "unknown file": {"checkpoint": Checkpoint(watermark="w2", file=FileProgress(999999, 5))},
        # positions and counts only (the driver-level commit): the run is unknown after both were written
        "unknown run, positions only": {"run_id": 987654,
                                        "checkpoint": Checkpoint(watermark="w2", file=FileProgress(file_id, 7))},
        # a raw record JSON cannot hold at all (it contains itself)
        "raw unserialisable": {"checkpoint": full, "rejects": [Reject("loop", raw=_looping())]},
    }


def _looping() -> dict[str, Any]:
    raw: dict[str, Any] = {"A": 1}
    raw["self"] = raw
    return raw


@pytest.mark.parametrize("case", ["unknown run", "reject refused", "unknown file", "unknown run, positions only",
                                  "raw unserialisable"])
def test_a_failing_batch_commit_leaves_nothing_behind(store: StateStore, case: str) -> None:
    run_id = store.begin_run(JOB, FLOW)
    file_id = _file(store)
    _commit(store, run_id, checkpoint=Checkpoint(watermark="w1", hashes=[("K1", "h1"), ("K2", "h2")]),
            rejects=[Reject("old", position="line 2")], counts=Counts(read=5, sent=4, rejected=1))
    before = _snapshot(store, run_id)
    batch = {"run_id": run_id, "rejects": [], **_failing_batches(file_id)[case]}
    with pytest.raises(StateError, match="commit a batch"):
        store.commit_batch(job=JOB, flow=FLOW, counts=Counts(read=10, sent=9, rejected=1), **batch)
    assert _snapshot(store, run_id) == before


@pytest.mark.parametrize("hashes", [[("K2", "h2")], []], ids=["with hashes", "positions only"])
def test_a_failure_in_the_middle_of_a_commit_rolls_back_every_earlier_statement(
        store: StateStore, monkeypatch: pytest.MonkeyPatch, hashes: list[tuple[str, str]]) -> None:
    run_id = store.begin_run(JOB, FLOW)
    file_id = _file(store)
    _commit(store, run_id, checkpoint=Checkpoint(watermark="w1", hashes=[("K1", "h1")]))
    before = _snapshot(store, run_id)
    impl: Any = store
    real = impl._advance
    seen: list[str] = []

    def advance_then_fail(self: Any, *args: Any) -> None:
        real(*args)  # watermark, file position and counts are written ...
        seen.append("written")
        raise OSError("disk unplugged")  # ... and then the transaction dies

    monkeypatch.setattr(impl, "_advance", types.MethodType(advance_then_fail, impl))
    with pytest.raises(StateError, match="disk unplugged") as caught:
        _commit(store, run_id, checkpoint=Checkpoint(watermark="w2", file=FileProgress(file_id, 3, True),
                                                     hashes=hashes), counts=Counts(read=3))
    assert isinstance(caught.value.__cause__, OSError)
    assert seen == ["written"]
    assert _snapshot(store, run_id) == before


def test_batches_committed_together_end_where_the_last_one_ends(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    first, second = _file(store), _file(store, "ORDERS_2.csv")
    store.commit_batches(run_id=run_id, job=JOB, flow=FLOW, items=[
        (Checkpoint(watermark="w1", file=FileProgress(first, 100)), [Reject("r1", raw={"A": 1})],
         Counts(read=100, sent=99, rejected=1)),
        (Checkpoint(watermark="w2", file=FileProgress(first, 150, finished=True), hashes=[("K1", "a")]),
         [Reject("r2"), Reject("r3")], Counts(read=50, sent=48, rejected=2, files=1)),
        (Checkpoint(file=FileProgress(second, 30), hashes=[("K1", "b"), ("K2", "c")]), [],
         Counts(read=30, sent=30)),
    ])
    assert store.get_watermark(JOB, FLOW) == "w2"  # the third batch leaves the watermark as it is
    by_name = {f.name: f for f in store.list_files(JOB)}
    done, going = by_name["ORDERS_1.csv"], by_name["ORDERS_2.csv"]
    assert (done.status, done.records_done, done.rejects) == ("done", 150, 3)
    assert (going.status, going.records_done, going.rejects) == ("in_progress", 30, 0)
    assert store.get_hashes(JOB, FLOW, ["K1", "K2"]) == {"K1": "b", "K2": "c"}
    assert sorted(r.reason for r in store.list_rejects(JOB, FLOW)) == ["r1", "r2", "r3"]
    run = store.get_run(run_id)
    assert (run.read, run.sent, run.rejected, run.files) == (180, 177, 3, 1)


def test_positions_only_commits_are_durable_and_add_up(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    file_id = _file(store)
    for done in range(100, 1100, 100):
        store.commit_batches(run_id=run_id, job=JOB, flow=FLOW, items=[
            (Checkpoint(watermark=["2024-01-01", done], file=FileProgress(file_id, done, finished=done == 1000)),
             [], Counts(read=100, sent=100, files=int(done == 1000)))])
    assert store.get_watermark(JOB, FLOW) == ["2024-01-01", 1000]
    (entry,) = store.list_files(JOB)
    assert (entry.status, entry.records_done) == ("done", 1000)
    assert _aware_utc(entry.updated)
    run = store.get_run(run_id)
    assert (run.read, run.sent, run.files) == (1000, 1000, 1)


def test_a_commit_of_a_hundred_records_is_a_handful_of_statements(store: StateStore,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = store.begin_run(JOB, FLOW)
    file_id = _file(store)
    statements = _watch_statements(store, monkeypatch)
    _commit(store, run_id, counts=Counts(read=100, sent=100), checkpoint=Checkpoint(
        watermark=(datetime(2024, 1, 1, tzinfo=UTC), 100), file=FileProgress(file_id, 100),
        hashes=[(f"K{i}", f"h{i}") for i in range(100)]))
    writes = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "SELECT 1"))]
    assert len(writes) <= 5, writes
    assert len(store.get_hashes(JOB, FLOW, [f"K{i}" for i in range(100)])) == 100


def test_reset_forgets_watermark_hashes_and_ledger_but_keeps_runs_and_rejects(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    file_id = _file(store)
    checkpoint = Checkpoint(watermark="w", file=FileProgress(file_id, 1), hashes=[("K1", "h1")])
    _commit(store, run_id, checkpoint=checkpoint, rejects=[Reject("bad")])
    other_run = store.begin_run(JOB, "orders")
    _commit(store, other_run, flow="orders", checkpoint=Checkpoint(watermark="o", hashes=[("K1", "o1")]))
    store.reset(JOB, FLOW)
    assert store.get_watermark(JOB, FLOW) is None
    assert store.get_hashes(JOB, FLOW, ["K1"]) == {} and list(store.iter_hash_keys(JOB, FLOW)) == []
    assert store.list_files(JOB, FLOW) == [] and store.find_file(JOB, FLOW, "ORDERS_1.csv") is None
    assert store.get_run(run_id).id == run_id and len(store.list_rejects(JOB, FLOW)) == 1
    assert store.get_watermark(JOB, "orders") == "o" and store.get_hashes(JOB, "orders", ["K1"]) == {"K1": "o1"}


# --- file ledger ----------------------------------------------------------------------------------


def test_a_registered_file_is_in_progress_with_nothing_done(store: StateStore) -> None:
    entry = store.register_file(JOB, FLOW, "in/ORDERS_1.csv", size=2048, mtime=1700000000.123456,
                                sha256="b" * 64, records_total=17, encoding="utf-8")
    assert (entry.name, entry.size, entry.mtime, entry.sha256) == ("in/ORDERS_1.csv", 2048, 1700000000.123456,
                                                                   "b" * 64)
    assert (entry.status, entry.records_total, entry.records_done, entry.rejects) == ("in_progress", 17, 0, 0)
    assert (entry.encoding, entry.reason) == ("utf-8", None)
    assert _aware_utc(entry.first_seen) and _aware_utc(entry.updated)
    assert store.find_file(JOB, FLOW, "in/ORDERS_1.csv") == entry


def test_find_file_gives_the_newest_entry_matching_every_fingerprint_given(store: StateStore) -> None:
    old = _file(store, sha256="1" * 64, size=10, mtime=100.5)
    new = _file(store, sha256="2" * 64, size=20, mtime=200.5)
    found = store.find_file(JOB, FLOW, "ORDERS_1.csv")
    assert found is not None and found.id == new
    assert (store.find_file(JOB, FLOW, "ORDERS_1.csv", sha256="1" * 64) or found).id == old
    assert (store.find_file(JOB, FLOW, "ORDERS_1.csv", size=10, mtime=100.5) or found).id == old
    assert store.find_file(JOB, FLOW, "ORDERS_1.csv", size=10, mtime=200.5) is None
    assert store.find_file(JOB, FLOW, "ORDERS_2.csv") is None
    assert store.find_file(JOB, "orders", "ORDERS_1.csv") is None


def test_find_files_answers_a_whole_listing_as_find_file_would_in_a_few_queries(
        store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(1_200):  # more names than one IN list takes
        _file(store, name=f"in/ORDERS_{i}.csv", size=10 + i, mtime=1700000000.25 + i)
    again = _file(store, name="in/ORDERS_7.csv", size=99, mtime=1.5)  # the same name dropped again
    _file(store, name="in/ORDERS_7.csv", size=17, mtime=1700000007.25)  # and its first fingerprint again
    moved = _file(store, name="in/MOVED.csv", size=18, mtime=8.25)
    store.set_file_status(moved, "quarantined", reason="bad", name="failed/MOVED.csv")
    _file(store, name="in/ORDERS_9.csv", flow="orders", size=1, mtime=2.0)  # another flow's entry
    listed = [(f"in/ORDERS_{i}.csv", 10 + i, 1700000000.25 + i) for i in range(1_200)]
    listed += [("in/ORDERS_7.csv", 99, 1.5), ("in/ORDERS_9.csv", 1, 2.0), ("in/NEW.csv", 5, 5.0),
               ("in/MOVED.csv", 18, 8.25), listed[0]]
    statements = _watch_statements(store, monkeypatch)
    found = store.find_files(JOB, FLOW, listed)
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "files" in s]
    assert 1 <= len(queries) <= 3, len(queries)
    expected = {}
    for name, size, mtime in listed:
        entry = store.find_file(JOB, FLOW, name, size=size, mtime=mtime)
        if entry is not None:
            expected[(name, size, mtime)] = entry
    assert found == expected
    assert found[("in/ORDERS_7.csv", 17, 1700000007.25)].id > again  # the newest entry of that fingerprint
    assert found[("in/ORDERS_7.csv", 99, 1.5)].id == again
    assert ("in/MOVED.csv", 18, 8.25) not in found  # quarantined and moved: its name changed
    assert ("in/ORDERS_9.csv", 1, 2.0) not in found and ("in/NEW.csv", 5, 5.0) not in found
    assert len(found) == 1_201 and store.find_files(JOB, FLOW, []) == {}


def test_a_file_can_be_quarantined_with_its_reason_and_new_place(store: StateStore) -> None:
    file_id = _file(store)
    store.set_file_status(file_id, "quarantined", reason="line 3: NUL byte", name="failed/ORDERS_1.csv")
    entry = store.list_files(JOB)[0]
    assert (entry.status, entry.reason, entry.name) == ("quarantined", "line 3: NUL byte", "failed/ORDERS_1.csv")
    with pytest.raises(StateError, match="file 999999"):
        store.set_file_status(999999, "done")


def test_list_files_is_newest_first_and_filters(store: StateStore) -> None:
    a = _file(store, "a.csv")
    b = _file(store, "b.csv", flow="orders")
    c = _file(store, "c.csv")
    store.set_file_status(c, "done")
    assert [f.id for f in store.list_files(JOB)] == [c, b, a]
    assert [f.id for f in store.list_files(JOB, FLOW)] == [c, a]
    assert [f.id for f in store.list_files(JOB, status="in_progress")] == [b, a]
    assert [f.id for f in store.list_files(JOB, limit=1)] == [c]
    assert store.list_files("other_job") == []


# --- record hashes ---------------------------------------------------------------------------------


def test_hashes_of_many_keys_are_found_in_chunks_and_kept_per_flow(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    pairs = [(f"C{i:05d}", f"h{i}") for i in range(2600)]
    _commit(store, run_id, checkpoint=Checkpoint(hashes=pairs))
    wanted = [k for k, _ in pairs] + ["missing"]
    assert store.get_hashes(JOB, FLOW, wanted) == dict(pairs)
    assert store.get_hashes(JOB, "orders", wanted) == {}
    assert store.get_hashes(JOB, FLOW, []) == {}


def test_hash_keys_are_streamed_not_loaded(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    keys = [f"C{i:05d}" for i in range(1500)]
    _commit(store, run_id, checkpoint=Checkpoint(hashes=[(k, "h") for k in keys]))
    stream = store.iter_hash_keys(JOB, FLOW)
    assert not isinstance(stream, (list, tuple, set))
    first = next(stream)
    _commit(store, run_id, checkpoint=Checkpoint(deleted_keys=["C01499"]))  # writers are not blocked
    assert sorted([first, *stream]) == keys
    assert list(store.iter_hash_keys(JOB, "orders")) == []


# --- rejects ----------------------------------------------------------------------------------------


def test_rejects_are_listed_oldest_first_with_filters(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    other = store.begin_run(JOB, "orders")
    _commit(store, run_id, rejects=[Reject(f"r{i}", position=f"line {i}") for i in range(5)])
    _commit(store, other, flow="orders", rejects=[Reject("o1")])
    everything = store.list_rejects(JOB, status=None)
    assert [r.reason for r in everything] == ["r0", "r1", "r2", "r3", "r4", "o1"]
    ids = [r.id for r in everything]
    store.set_reject_status(ids[:2], "replayed")
    store.set_reject_status([ids[2]], "resolved")
    assert [r.reason for r in store.list_rejects(JOB)] == ["r3", "r4", "o1"]
    assert [r.reason for r in store.list_rejects(JOB, FLOW)] == ["r3", "r4"]
    assert [r.reason for r in store.list_rejects(JOB, status="replayed")] == ["r0", "r1"]
    assert [r.reason for r in store.list_rejects(JOB, status=None, ids=[ids[4], ids[0]])] == ["r0", "r4"]
    assert [r.reason for r in store.list_rejects(JOB, status=None, limit=2)] == ["r0", "r1"]
    assert [r.reason for r in store.list_rejects(JOB, status=None, ids=ids, limit=3)] == ["r0", "r1", "r2"]
    assert store.list_rejects(JOB, ids=[]) == []
    assert (store.count_rejects(JOB), store.count_rejects(JOB, FLOW), store.count_rejects(JOB, status=None),
            store.count_rejects(JOB, FLOW, status="replayed"), store.count_rejects("other-job")) == (3, 2, 6, 2, 0)


def test_a_reject_keeps_its_raw_record_with_odd_values_as_text(store: StateStore) -> None:
    run_id = store.begin_run(JOB, FLOW)
    raw = {"AMOUNT": Decimal("12.50"), "WHEN": datetime(2024, 2, 29, 13, 5), "BLOB": b"ab", "N": None,
           "LIST": [1, "x"], "Ünïcode": "Zoë"}
    _commit(store, run_id, rejects=[Reject("bad amount", field="AMOUNT", value=Decimal("12.50"),  # type: ignore[arg-type]
                                           raw=raw)])
    stored = store.list_rejects(JOB)[0]
    assert stored.raw == {"AMOUNT": "12.50", "WHEN": "2024-02-29T13:05:00", "BLOB": "ab", "N": None,
                          "LIST": [1, "x"], "Ünïcode": "Zoë"}
    assert stored.value == "12.50"


# --- heartbeats -------------------------------------------------------------------------------------


def test_processes_register_beat_and_end_their_heartbeats(store: StateStore) -> None:
    scheduler = store.beat("scheduler", {"jobs": ["erp_to_crm"]})
    watcher = store.beat("watcher")
    beats = store.list_heartbeats()
    assert [(b.id, b.kind, b.info) for b in beats] == [(scheduler, "scheduler", {"jobs": ["erp_to_crm"]}),
                                                       (watcher, "watcher", {})]
    assert all((b.host, b.pid) == (socket.gethostname(), os.getpid()) for b in beats)
    first = beats[0].last_beat
    store.heartbeat(scheduler, {"jobs": ["erp_to_crm"], "next": "06:15"})
    store.heartbeat(watcher)
    again = {b.id: b for b in store.list_heartbeats()}
    assert again[scheduler].last_beat >= first and _aware_utc(again[scheduler].last_beat)
    assert again[scheduler].info == {"jobs": ["erp_to_crm"], "next": "06:15"} and again[watcher].info == {}
    store.end_heartbeat(watcher)
    assert [b.id for b in store.list_heartbeats()] == [scheduler]
    with pytest.raises(StateError):
        store.heartbeat(watcher)


# --- opening ----------------------------------------------------------------------------------------


def test_reopening_a_store_sees_everything_committed(store_url: str) -> None:
    first = open_store(store_url)
    run_id = first.begin_run(JOB, FLOW)
    _commit(first, run_id, checkpoint=Checkpoint(watermark=Decimal("3.14")))
    first.close()
    second = open_store(store_url)
    try:
        assert second.get_watermark(JOB, FLOW) == Decimal("3.14") and second.get_run(run_id).id == run_id
    finally:
        second.close()
