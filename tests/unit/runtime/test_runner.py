"""The runner's delivery semantics with in-memory parts: checkpoints only after
acknowledgement, in source order, rejects committed with their batch, clean stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.errors import DatabaseError, TargetRetryable
from legacy_bridge.mapping import Mapper
from legacy_bridge.records import Batch, Checkpoint, Delivery, MappedBatch, Payload, Reject
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.runtime.runner import FlowRun, RunOptions, _short, exit_code
from legacy_bridge.state import open_store
from legacy_bridge.state.base import StateStore


class ListSource:
    """Rows 0..n-1 in batches; watermark = index of the next row.  ``read[k]`` is set once the
    k-th batch (from 1) was read; ``fail_at=k`` raises instead of reading the k-th batch."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.committed_seqs: list[int] = []
        self.read = [threading.Event() for _ in range(n + 2)]
        self.gave_up = threading.Event()  # set when fail_at raised

    def batches(self, ctx: FlowContext) -> Iterator[Batch]:
        start = ctx.store.get_watermark(ctx.job, ctx.flow) or 0
        for k, i in enumerate(range(start, self.n, ctx.batch_size), start=1):
            if ctx.stopping():
                return
            if k == self.fail_at:
                self.gave_up.set()
                raise DatabaseError("the ERP dropped the connection")
            self.read[k].set()
            rows = [{"id": j, "name": f"n{j}"} for j in range(i, min(i + ctx.batch_size, self.n))]
            yield Batch(rows=rows, origin="list", checkpoint=Checkpoint(watermark=i + len(rows)),
                        positions=[r["id"] + 1 for r in rows], position_kind="record")

    def committed(self, batch: Batch, ctx: FlowContext) -> None:
        self.committed_seqs.append(batch.seq)

    def acts_on_commit(self, batch: Batch) -> bool:
        return True

    def close(self) -> None:
        pass


class IdMapper:
    def map_batch(self, batch: Batch) -> MappedBatch:
        payloads, rejects = [], []
        for i, row in enumerate(batch.rows):
            if row["id"] % 50 == 7:
                rejects.append(Reject(reason="id ends badly", origin=batch.origin, position=batch.where(i),
                                      key=str(row["id"]), field="id", value=str(row["id"]), raw=row))
            else:
                payloads.append(Payload(key=str(row["id"]), data={"name": row["name"]}, index=i))
        return MappedBatch(payloads=payloads, rejects=rejects)


class RecordingTarget:
    def __init__(self, max_batch: int = 10, concurrency: int = 3, delays: dict[int, float] | None = None,
                 fail_on: int | None = None, refuse_key: str | None = None,
                 hold: dict[int, threading.Event] | None = None) -> None:
        self.max_batch, self.concurrency = max_batch, concurrency
        self.delays = delays or {}
        self.hold = hold or {}  # call -> wait (up to 5 s) for this event before answering
        self.held: dict[int, bool] = {}  # call -> whether its event was set in time
        self.fail_on, self.refuse_key = fail_on, refuse_key
        self.received: list[str] = []
        self.calls = 0
        self.lock = threading.Lock()

    def open(self, ctx: FlowContext) -> None:
        pass

    def send(self, payloads: list[Payload]) -> Delivery:
        with self.lock:
            self.calls += 1
            call = self.calls
        time.sleep(self.delays.get(call, 0.0))
        if call in self.hold:
            self.held[call] = self.hold[call].wait(5)
        if self.fail_on is not None and call >= self.fail_on:
            raise TargetRetryable("the API kept answering 503")
        refused = [(i, "API says no", "name") for i, p in enumerate(payloads) if p.key == self.refuse_key]
        with self.lock:
            self.received.extend(p.key for i, p in enumerate(payloads) if p.key != self.refuse_key)
        return Delivery(sent=len(payloads) - len(refused), rejected=refused, calls=1)

    def describe(self, payloads: list[Payload]) -> list[str]:
        return [f"POST /x {[p.key for p in payloads]}"]

    def close(self) -> None:
        pass


class _Job:
    name = "job"
    base_dir = Path(".")


class _Flow:
    name = "flow"


class ScriptedRun(FlowRun):
    def __init__(self, store: StateStore, source: ListSource, target: RecordingTarget, **opts: Any) -> None:
        super().__init__(_Job(), _Flow(), store, RunOptions(**opts), threading.Event())  # type: ignore[arg-type]
        self.parts = (source, target)

    def _build(self) -> tuple[Any, Mapper, Any]:
        return self.parts[0], IdMapper(), self.parts[1]  # type: ignore[return-value]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(str(tmp_path / "state.db"))
    yield s
    s.close()


def test_everything_is_delivered_once_and_rejects_are_kept(store: StateStore) -> None:
    source, target = ListSource(95), RecordingTarget()
    result = ScriptedRun(store, source, target).execute()
    assert result.status == "rejects" and exit_code([result]) == 3
    expected = [str(i) for i in range(95) if i % 50 != 7]
    assert sorted(target.received, key=int) == expected
    assert len(set(target.received)) == len(target.received)
    assert (result.counts.read, result.counts.sent, result.counts.rejected) == (95, 93, 2)
    assert store.get_watermark("job", "flow") == 95
    rejects = store.list_rejects("job", "flow")
    assert [(r.key, r.position, r.field) for r in rejects] == [("7", "record 8", "id"), ("57", "record 58", "id")]
    assert source.committed_seqs == list(range(1, 11))  # in source order, every batch


def test_second_run_sends_nothing(store: StateStore) -> None:
    ScriptedRun(store, ListSource(30), RecordingTarget()).execute()
    target = RecordingTarget()
    result = ScriptedRun(store, ListSource(30), target).execute()
    assert target.received == [] and result.counts.sent == 0 and result.status == "ok"


def test_checkpoints_commit_in_source_order_when_later_batches_answer_first(store: StateStore) -> None:
    # call 1 is slow, calls 2 and 3 answer at once: batch 1's checkpoint must come first
    source, target = ListSource(30), RecordingTarget(delays={1: 0.3})
    ScriptedRun(store, source, target).execute()
    assert source.committed_seqs == [1, 2, 3]
    history = store.history("job", "flow")
    assert history[0].watermark_after == 30


def test_no_more_than_concurrency_batches_are_ever_sent_and_not_yet_committed(store: StateStore) -> None:
    # the crash bound: a batch counts against the window until it is committed, answered or not.
    # The source is far ahead (units wait to be sent), so answered batches wait for the window to
    # fill before they commit; a call must never start while `concurrency` are uncommitted.
    source, target = ListSource(600), RecordingTarget(concurrency=3)
    open_at_start: list[int] = []
    started = 0
    send = target.send

    def counting(payloads: list[Payload]) -> Delivery:
        nonlocal started
        with target.lock:
            started += 1
            open_at_start.append(started - len(source.committed_seqs))
        return send(payloads)

    target.send = counting  # type: ignore[method-assign]
    result = ScriptedRun(store, source, target).execute()
    assert result.status == "rejects" and result.counts.sent + result.counts.rejected == 600
    assert source.committed_seqs == list(range(1, 61))
    assert len(open_at_start) == 60 and max(open_at_start) <= 3


def test_failure_keeps_the_checkpoint_at_the_last_contiguous_acknowledged_batch(store: StateStore) -> None:
    target = RecordingTarget(concurrency=1, fail_on=4)
    result = ScriptedRun(store, ListSource(100), target).execute()
    assert result.status == "failed" and exit_code([result]) == 1
    assert "503" in (result.error or "") and "legacy-bridge run job --flow flow" in (result.error or "")
    assert store.get_watermark("job", "flow") == 30  # batches 1-3 acknowledged, 4 failed
    # the next run resumes at 30 and sends the rest exactly once
    again = RecordingTarget()
    ScriptedRun(store, ListSource(100), again).execute()
    assert sorted(map(int, again.received)) == [i for i in range(30, 100) if i % 50 != 7]


def test_target_refusals_become_rejects_with_the_raw_record(store: StateStore) -> None:
    result = ScriptedRun(store, ListSource(20), RecordingTarget(refuse_key="12")).execute()
    assert result.counts.rejected == 2  # key 7 by the mapping, key 12 by the target
    by_key = {r.key: r for r in store.list_rejects("job", "flow")}
    assert by_key["12"].stage == "target" and by_key["12"].reason == "API says no"
    assert by_key["12"].raw == {"id": 12, "name": "n12"}


def test_stop_request_commits_what_was_acknowledged_and_resumes(store: StateStore) -> None:
    source, target = ListSource(1000), RecordingTarget(delays={i: 0.02 for i in range(1, 200)})
    run = ScriptedRun(store, source, target)
    threading.Timer(0.15, run.stop.set).start()
    result = run.execute()
    assert result.status == "interrupted"
    mark = store.get_watermark("job", "flow")
    assert 0 < mark < 1000
    assert sorted(map(int, target.received))[:mark - 2] == [i for i in range(mark) if i % 50 != 7][:mark - 2]
    rest = RecordingTarget()
    ScriptedRun(store, ListSource(1000), rest).execute()
    delivered = set(target.received) | set(rest.received)
    assert delivered == {str(i) for i in range(1000) if i % 50 != 7}


def test_dry_run_sends_and_commits_nothing(store: StateStore) -> None:
    lines: list[str] = []
    target = RecordingTarget()
    result = ScriptedRun(store, ListSource(25), target, dry_run=True, dry_run_out=lines.append).execute()
    assert target.calls == 0 and store.get_watermark("job", "flow") is None
    assert result.counts.read == 25 and any(line.startswith("POST /x") for line in lines)


def test_a_second_runner_of_the_same_flow_is_refused_with_who_holds_it(store: StateStore) -> None:
    store.acquire_lease("job", "flow", "otherhost:1:abc", 60)
    result = ScriptedRun(store, ListSource(5), RecordingTarget()).execute()
    assert result.status == "failed"
    assert "is running in pid 1 on host otherhost" in (result.error or "")
    assert "--wait" in (result.error or "")


def test_the_source_is_read_and_mapped_on_while_every_slot_waits_on_the_target(store: StateStore) -> None:
    # concurrency 2: calls 1 and 2 fill the window and wait.  Batches 3 and 4 must be read and
    # mapped meanwhile (a slow remote API must not leave the reading idle), so call 1 sees batch 4
    # read; a runner that read only when a slot freed would leave call 1 waiting its 5 s out.
    source = ListSource(100)
    target = RecordingTarget(concurrency=2, hold={1: source.read[4], 2: source.read[4]})
    result = ScriptedRun(store, source, target).execute()
    assert target.held == {1: True, 2: True}
    assert result.status == "rejects" and store.get_watermark("job", "flow") == 100
    assert sorted(map(int, target.received)) == [i for i in range(100) if i % 50 != 7]
    assert source.committed_seqs == list(range(1, 11))


def test_a_source_failing_midway_first_commits_the_batches_the_target_acknowledged(store: StateStore) -> None:
    # batches 1-5 are read at once; reading batch 6 fails while calls 1-3 are in flight (50 ms
    # each) and 4-5 wait their turn: all five are acknowledged and committed, not sent again
    source = ListSource(100, fail_at=6)
    target = RecordingTarget(concurrency=3, delays={i: 0.05 for i in range(1, 20)})
    result = ScriptedRun(store, source, target).execute()
    assert result.status == "failed" and "dropped the connection" in (result.error or "")
    assert store.get_watermark("job", "flow") == 50
    assert result.counts.sent == 49 and source.committed_seqs == [1, 2, 3, 4, 5]
    again = RecordingTarget()
    ScriptedRun(store, ListSource(100), again).execute()
    assert sorted(map(int, target.received + again.received)) == [i for i in range(100) if i % 50 != 7]


def test_when_reading_and_delivering_both_fail_the_run_reports_the_reading_and_logs_the_delivery(
        store: StateStore, caplog: pytest.LogCaptureFixture) -> None:
    source = ListSource(100, fail_at=6)
    # call 4 fails, and only once reading batch 6 has failed: the reading error comes first
    target = RecordingTarget(concurrency=3, fail_on=4, hold={4: source.gave_up})
    with caplog.at_level("ERROR", logger="legacy_bridge"):
        result = ScriptedRun(store, source, target).execute()
    assert result.status == "failed" and "dropped the connection" in (result.error or "")
    assert any("failed too" in r.getMessage() and "503" in r.getMessage() for r in caplog.records)
    assert store.get_watermark("job", "flow") == 30  # batches 1-3 acknowledged, 4 failed


def test_the_run_log_shows_a_watermark_as_status_does() -> None:
    """A cursor of several columns, a timestamp and a key, reads in the log as ``status`` shows it."""
    assert _short(["2019-11-17 02:00:00", "WOLZA"]) == '["2019-11-17 02:00:00", "WOLZA"]'
    assert _short(None) == "none" and _short("ORDERS_1.csv") == "ORDERS_1.csv" and _short(42) == "42"
    assert len(_short(["x" * 300])) == 120
