"""``legacy-bridge schedule``: jobs fire on one-second cron steps, a flow never overlaps itself,
missed slots are caught up, job files reload, and SIGTERM ends cleanly with every
acknowledged batch committed."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from legacy_bridge.cli.schedule import job_state_url
from legacy_bridge.runtime.jobfiles import JobFiles
from legacy_bridge.runtime.scheduler import Scheduler, SchedulerOptions
from legacy_bridge.state import open_store
from legacy_bridge.state.base import StateStore
from tests.fixtures.project import Project
from tests.integration.runtime.support import (
    delivered,
    files_job,
    install,
    order_lines,
    start_cli,
    stop_cli,
    wait_for,
    write_drop,
)

EVERY_SECOND = "* * * * * *"  # a sixth field counts seconds


@pytest.fixture(autouse=True)
def _sink() -> None:
    install()


@pytest.fixture
def orders() -> list[str]:
    return order_lines()[1]


@pytest.fixture
def store(project: Project) -> Iterator[StateStore]:
    s = open_store(str(project.state))
    yield s
    s.close()


def scheduler(project: Project, refs: list[str] | None = None) -> tuple[Scheduler, threading.Event]:
    import argparse

    stop = threading.Event()
    pool = job_state_url(argparse.Namespace(state=str(project.state)))
    return Scheduler(JobFiles(refs), pool, stop, SchedulerOptions(reload_s=0.2, heartbeat_s=0.5)), stop


def test_jobs_fire_on_their_schedule_and_the_next_run_is_logged(project: Project, orders: list[str],
                                                                 store: StateStore) -> None:
    project.write_job("drops", files_job("drops", schedule=EVERY_SECOND))
    drop, sink, log = project.root / "drop", project.root / "var" / "sink.jsonl", project.root / "schedule.log"
    write_drop(drop, "ORDERS_1.csv", orders[:30])
    proc = start_cli(project.root, "schedule", log=log)
    try:
        wait_for(lambda: len(delivered(sink)) >= 30, what="the first slot's delivery")
        write_drop(drop, "ORDERS_2.csv", orders[30:50])  # picked up by a later slot
        wait_for(lambda: len(delivered(sink)) >= 50, what="a later slot's delivery")
        wait_for(lambda: any(b.kind == "scheduler" for b in store.list_heartbeats()), what="the heartbeat")
    finally:
        assert stop_cli(proc) == 0, log.read_text()
    text = log.read_text()
    assert "job drops scheduled (* * * * * *): next run" in text
    got = delivered(sink)
    assert set(got) == {line.split(";")[0] for line in orders[:50]} and set(got.values()) == {1}
    runs = store.history("drops", "orders", limit=100)
    assert len(runs) >= 2 and all(r.ended is not None for r in runs)
    assert not [b for b in store.list_heartbeats() if b.kind == "scheduler"]


def test_a_job_still_running_at_its_next_slot_is_skipped_not_overlapped(
        project: Project, orders: list[str], store: StateStore, caplog: pytest.LogCaptureFixture) -> None:
    # each call takes 0.3s and there are 12 of them: the run spans several one-second slots
    project.write_job("drops", files_job("drops", schedule=EVERY_SECOND, batch_size=10, concurrency=1,
                                         delay=0.3))
    write_drop(project.root / "drop", "ORDERS_1.csv", orders[:120])
    sched, stop = scheduler(project)
    caplog.set_level(logging.INFO, logger="legacy_bridge")
    thread = threading.Thread(target=sched.run)
    thread.start()
    try:
        wait_for(lambda: len(delivered(project.root / "var" / "sink.jsonl")) >= 120, what="the slow run")
        wait_for(lambda: len(store.history("drops", limit=100)) >= 2, what="a later run")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert "job drops is still running" in caplog.text and "skipping the slot" in caplog.text
    runs = sorted(store.history("drops", "orders", limit=100), key=lambda r: r.started)
    for earlier, later in itertools.pairwise(runs):
        assert earlier.ended is not None and later.started >= earlier.ended  # never two at once
    assert set(delivered(project.root / "var" / "sink.jsonl").values()) == {1}


def test_sigterm_mid_run_commits_the_batches_in_flight_and_exits_0(project: Project, orders: list[str],
                                                                   store: StateStore) -> None:
    project.write_job("drops", files_job("drops", schedule=EVERY_SECOND, batch_size=5, concurrency=2,
                                         delay=0.2))
    drop, sink, log = project.root / "drop", project.root / "var" / "sink.jsonl", project.root / "schedule.log"
    write_drop(drop, "ORDERS_BIG.csv", orders[:300])
    proc = start_cli(project.root, "schedule", log=log)
    try:
        wait_for(lambda: len(delivered(sink)) >= 40, what="the run to be well under way")
    finally:
        assert stop_cli(proc) == 0, log.read_text()
    assert "waiting for drops to commit the batches in flight" in log.read_text()
    [run] = store.history("drops", "orders", limit=10)
    assert run.status == "interrupted" and run.ended is not None
    [entry] = store.list_files("drops", "orders")
    sent = sum(delivered(sink).values())
    # every acknowledged batch was committed: the checkpoint is exactly what the target holds
    assert entry.status == "in_progress" and entry.records_done == sent == run.sent and 0 < sent < 300
    assert store.current_lease("drops", "orders") is None
    # the next run resumes there: every order delivered exactly once in the end
    rerun = start_cli(project.root, "run", "drops", log=project.root / "run.log")
    assert rerun.wait(timeout=120) == 0, (project.root / "run.log").read_text()
    got = delivered(sink)
    assert set(got) == {line.split(";")[0] for line in orders[:300]} and set(got.values()) == {1}


def test_a_missed_slot_is_caught_up_once_at_start(project: Project, orders: list[str], store: StateStore) -> None:
    yearly = "0 0 1 1 *"
    project.write_job("late", files_job("late", schedule=yearly, catch_up=True, drop="drop_late",
                                        sink="var/late.jsonl"))
    project.write_job("punctual", files_job("punctual", schedule=yearly, drop="drop_punctual",
                                            sink="var/punctual.jsonl"))
    write_drop(project.root / "drop_late", "ORDERS_1.csv", orders[:10])
    write_drop(project.root / "drop_punctual", "ORDERS_1.csv", orders[:10])
    sched, stop = scheduler(project)
    sched.start()
    wait_for(lambda: not sched.running(), what="the catch-up run")
    stop.set()
    sched.shutdown()
    assert len(delivered(project.root / "var" / "late.jsonl")) == 10
    assert not (project.root / "var" / "punctual.jsonl").exists()
    # started again: this year's slot now has a run, so nothing is caught up twice
    sched, stop = scheduler(project)
    sched.start()
    wait_for(lambda: not sched.running(), what="the start")
    stop.set()
    sched.shutdown()
    assert len(store.history("late", limit=10)) == 1


def test_an_invalid_change_keeps_the_previous_version_in_service(
        project: Project, caplog: pytest.LogCaptureFixture) -> None:
    path = project.write_job("drops", files_job("drops", schedule="*/5 * * * *"))
    sched, stop = scheduler(project)
    caplog.set_level(logging.INFO, logger="legacy_bridge")
    sched.start()
    [entry] = sched.entries.values()
    assert entry.cron.expression == "*/5 * * * *"

    path.write_text(path.read_text().replace("batch_size = 50", "batch_size = 50\nbatch_sise = 3"))
    for change in sched.files.scan():
        sched._apply(change, entry.next_slot, starting=False)
    assert "is invalid, keeping its previous version in service" in caplog.text
    assert "flows[0].target.batch_sise: unknown key" in caplog.text
    assert [e.cron.expression for e in sched.entries.values()] == ["*/5 * * * *"]

    path.write_text(files_job("drops", schedule="0 6 * * 1-5"))
    for change in sched.files.scan():
        sched._apply(change, entry.next_slot, starting=False)
    assert [e.cron.expression for e in sched.entries.values()] == ["0 6 * * 1-5"]
    assert "job drops reloaded (0 6 * * 1-5): next run" in caplog.text
    stop.set()
    sched.shutdown()


def test_schedule_with_nothing_to_schedule_is_a_usage_error(project: Project) -> None:
    project.write_job("adhoc", files_job("adhoc"))  # no schedule line
    log = project.root / "schedule.log"
    proc = start_cli(project.root, "schedule", log=log)
    assert proc.wait(timeout=60) == 2
    assert "nothing to schedule" in log.read_text() and "has no schedule" in log.read_text()


def test_a_path_not_a_job(tmp_path: Path) -> None:
    from legacy_bridge.errors import ConfigError

    with pytest.raises(ConfigError, match="no job"):
        JobFiles([str(tmp_path / "missing.toml")])
