"""The store records a replay's outcome in one go: statuses set, still-failing rows updated in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from legacy_bridge.errors import StateError
from legacy_bridge.records import Checkpoint, Counts, Reject
from legacy_bridge.runtime.peekstore import PeekStore
from legacy_bridge.state import open_store


def test_settle_rejects_marks_replayed_and_updates_the_ones_that_still_fail(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "state.db"))
    try:
        run = store.begin_run("job", "flow")
        raws = [{"NO": str(n), "DATE": "31/02/2024"} for n in range(3)]
        store.commit_batch(run_id=run, job="job", flow="flow", checkpoint=Checkpoint(), counts=Counts(rejected=3),
                           rejects=[Reject(reason="DATE '31/02/2024' is not a date", origin="A.csv",
                                           position=f"line {n + 2}", key=str(n), field="DATE", value="31/02/2024",
                                           raw=raw) for n, raw in enumerate(raws)])
        other = store.begin_run("job", "other")
        store.commit_batch(run_id=other, job="job", flow="other", checkpoint=Checkpoint(), counts=Counts(rejected=1),
                           rejects=[Reject(reason="x", raw={"NO": "9"})])
        a, b, c = (e.id for e in store.list_rejects("job", "flow"))
        [foreign] = [e.id for e in store.list_rejects("job", "other")]
        store.settle_rejects("job", "flow", statuses={a: "replayed", c: "resolved", foreign: "replayed"},
                             still_open=[(b, Reject(reason="AMOUNT '1.5' is not a number like 1.234,56", key="1",
                                                    field="AMOUNT", value="1.5", stage="mapping"))])
        [still] = store.list_rejects("job", "flow")
        assert (still.id, still.reason, still.field, still.value) == (b, "AMOUNT '1.5' is not a number like 1.234,56",
                                                                      "AMOUNT", "1.5")
        assert (still.origin, still.position, still.raw) == ("A.csv", "line 3", raws[1])
        assert [e.id for e in store.list_rejects("job", "flow", status="replayed")] == [a]
        assert [e.id for e in store.list_rejects("job", "flow", status="resolved")] == [c]
        assert [e.id for e in store.list_rejects("job", "other")] == [foreign], "another flow's rejects stay"
    finally:
        store.close()


def test_the_preview_store_reads_but_refuses_every_write(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "state.db"))
    try:
        peek = PeekStore(store)
        assert peek.find_file("job", "flow", "A.csv") is None
        with pytest.raises(StateError, match="must not change the state store"):
            peek.register_file("job", "flow", "A.csv", size=1, mtime=0.0, sha256="", records_total=1, encoding=None)
        with pytest.raises(StateError):
            peek.commit_batch(run_id=1, job="job", flow="flow", checkpoint=Checkpoint(), rejects=[], counts=Counts())
        assert store.list_files("job") == []
        entry = store.register_file("job", "flow", "B.csv", size=2, mtime=3.0, sha256="", records_total=1,
                                    encoding=None)
        assert peek.find_files("job", "flow", [("B.csv", 2, 3.0), ("A.csv", 1, 0.0)]) == {("B.csv", 2, 3.0): entry}
        assert PeekStore(store, from_start=True).find_files("job", "flow", [("B.csv", 2, 3.0)]) == {}
    finally:
        store.close()
