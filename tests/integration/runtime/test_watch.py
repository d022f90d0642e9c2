"""``legacy-bridge watch`` on real folders, as real processes: complete files only, every file
delivered exactly once, the backlog first, and never twice beside an ad-hoc run."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from legacy_bridge.state import open_store
from tests.fixtures.project import Project
from tests.integration.runtime.support import (
    delivered,
    files_job,
    order_lines,
    start_cli,
    stop_cli,
    wait_for,
    write_drop,
)


@pytest.fixture
def orders() -> list[str]:
    return order_lines()[1]


def keys_of(lines: list[str]) -> set[str]:
    return {line.split(";", 1)[0] for line in lines}


def test_a_file_copied_in_slowly_is_taken_only_when_complete(project: Project, orders: list[str]) -> None:
    project.write_job("drops", files_job("drops", min_age="1s"))
    drop, sink = project.root / "drop", project.root / "var" / "sink.jsonl"
    drop.mkdir()
    watcher = start_cli(project.root, "watch", "drops", log=project.root / "watch.log")
    try:
        header, _ = order_lines()
        lines = orders[:120]
        data = ("\n".join([header, *lines]) + "\n").encode()
        step = len(data) // 8 + 1
        with (drop / "ORDERS_SLOW.csv").open("wb") as out:  # the final name from the first byte
            for i in range(0, len(data), step):
                out.write(data[i:i + step])
                out.flush()
                time.sleep(0.4)  # a slow copy over a WAN link: events on every chunk
        wait_for(lambda: sum(delivered(sink).values()) >= len(lines), what="the slow file to be delivered")
        wait_for(lambda: (drop / "archive" / "ORDERS_SLOW.csv").exists(), what="the file to be archived")
    finally:
        assert stop_cli(watcher) == 0, (project.root / "watch.log").read_text()
    got = delivered(sink)
    assert set(got) == keys_of(lines) and set(got.values()) == {1}
    store = open_store(str(project.state))
    try:
        runs = store.history("drops", "orders", limit=100)
        assert sum(r.read for r in runs) == len(lines)  # no run ever read a piece of the file
        assert sum(r.rejected for r in runs) == 0
        [entry] = store.list_files("drops", "orders")
        assert entry.status == "done" and entry.records_done == len(lines)
    finally:
        store.close()


def test_500_files_dropped_at_once_are_each_delivered_exactly_once(project: Project, orders: list[str]) -> None:
    project.write_job("drops", files_job("drops", batch_size=20, concurrency=4))
    drop, sink = project.root / "drop", project.root / "var" / "sink.jsonl"
    drop.mkdir()
    watcher = start_cli(project.root, "watch", "drops", log=project.root / "watch.log")
    try:
        wait_for(lambda: "watching" in (project.root / "watch.log").read_text(), what="the watcher to start")
        for i, line in enumerate(orders[:500]):
            write_drop(drop, f"ORDERS_{i:04d}.csv", [line])
        wait_for(lambda: len(delivered(sink)) >= 500, timeout=180, what="500 files delivered")
        wait_for(lambda: len(list((drop / "archive").glob("*.csv"))) == 500, what="500 files archived")
    finally:
        assert stop_cli(watcher) == 0, (project.root / "watch.log").read_text()
    got = delivered(sink)
    assert set(got) == keys_of(orders[:500])
    assert max(got.values()) == 1, [k for k, n in got.items() if n > 1][:10]
    assert list(drop.glob("*.csv")) == []


def test_files_dropped_while_the_watcher_was_down_are_taken_at_start(project: Project, orders: list[str]) -> None:
    project.write_job("drops", files_job("drops"))
    drop, sink = project.root / "drop", project.root / "var" / "sink.jsonl"
    for i in range(6):
        write_drop(drop, f"ORDERS_B{i}.csv", orders[i * 10:(i + 1) * 10])
    watcher = start_cli(project.root, "watch", "drops", log=project.root / "watch.log")
    try:
        wait_for(lambda: len(delivered(sink)) >= 60, what="the backlog to be delivered")
        store = open_store(str(project.state))
        try:  # the watcher says it is alive while it watches
            beats = [b for b in store.list_heartbeats() if b.kind == "watcher"]
            assert [b.pid for b in beats] == [watcher.pid]
        finally:
            store.close()
    finally:
        assert stop_cli(watcher) == 0, (project.root / "watch.log").read_text()
    got = delivered(sink)
    assert set(got) == keys_of(orders[:60]) and set(got.values()) == {1}
    store = open_store(str(project.state))
    try:
        assert [b for b in store.list_heartbeats() if b.kind == "watcher"] == []  # gone on a clean stop
    finally:
        store.close()


def test_a_watch_and_ad_hoc_runs_at_once_never_deliver_a_file_twice(project: Project, orders: list[str]) -> None:
    project.write_job("drops", files_job("drops", batch_size=5, delay=0.02))
    drop, sink = project.root / "drop", project.root / "var" / "sink.jsonl"
    drop.mkdir()
    watcher = start_cli(project.root, "watch", "drops", log=project.root / "watch.log")
    codes: list[int] = []
    try:
        wait_for(lambda: "watching" in (project.root / "watch.log").read_text(), what="the watcher to start")
        for wave in range(8):
            for i in range(25):
                n = wave * 25 + i
                write_drop(drop, f"ORDERS_{n:04d}.csv", [orders[n]])
            adhoc = start_cli(project.root, "run", "drops", log=project.root / "adhoc.log")
            codes.append(adhoc.wait(timeout=120))
        wait_for(lambda: len(delivered(sink)) >= 200, timeout=120, what="200 files delivered")
    finally:
        assert stop_cli(watcher) == 0, (project.root / "watch.log").read_text()
    got = delivered(sink)
    assert set(got) == keys_of(orders[:200])
    assert max(got.values()) == 1, [k for k, n in got.items() if n > 1][:10]
    assert set(codes) <= {0, 1}  # 1: "flow orders is running in pid N" while the watcher held it


def test_the_watcher_recovers_when_the_drop_folder_disappears(project: Project, orders: list[str]) -> None:
    project.write_job("drops", files_job("drops", extra_source="poll_interval = \"2s\""))
    drop, sink = project.root / "drop", project.root / "var" / "sink.jsonl"
    write_drop(drop, "ORDERS_A.csv", orders[:5])
    log = project.root / "watch.log"
    watcher = start_cli(project.root, "watch", "drops", log=log)
    try:
        wait_for(lambda: len(delivered(sink)) >= 5, what="the first file")
        wait_for(lambda: _gone(drop), what="the drop folder removed")  # the share went away ...
        time.sleep(1.5)
        write_drop(drop, "ORDERS_B.csv", orders[5:10])  # ... and came back with a new file
        wait_for(lambda: len(delivered(sink)) >= 10, what="the file dropped after the folder came back")
    finally:
        assert stop_cli(watcher) == 0, log.read_text()
    assert set(delivered(sink)) == keys_of(orders[:10])
    assert "restarting it" in log.read_text() or "not there" in log.read_text()


def _gone(folder: Path) -> bool:
    """Remove ``folder``; False while the watcher is still moving a delivered file inside it."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return not folder.exists()
