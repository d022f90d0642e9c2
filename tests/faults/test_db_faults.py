"""Database faults on a PostgreSQL table read over ODBC by the real CLI: the source connection
killed mid-read (pg_terminate_backend), a throwaway PostgreSQL cluster (initdb/pg_ctl on a free
port, as the postgres user) restarted between runs, and rows updated while the table is read."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from legacy_bridge.sandbox.procs import free_port
from tests.faults.harness import (
    CONCURRENCY,
    RECORDS,
    Outcome,
    compare,
    crm_env,
    job_toml,
    rows,
    start_run,
    tail,
    upserts,
)
from tests.faults.sources import FIELDS, make_customers, odbc_connection, pg_execute, postgres_db
from tests.fixtures.databases import DbInfo
from tests.fixtures.project import Project

pytestmark = [pytest.mark.faults, pytest.mark.odbc, pytest.mark.postgres]
N = max(4000, RECORDS // 2)


def odbc_job(project: Project, db: DbInfo, extra: str = "") -> None:
    source = f"""
kind = "odbc"
connection = "{odbc_connection(db)}"
table = "customers"
mode = "incremental"
cursor = ["CHANGED", "ID"]
batch_size = 500
page_rows = 1000
reconnect_backoff = "200ms"
{extra}
"""
    project.write_job("db", job_toml("db", source, FIELDS, "ID"))


def wait_upserts(crm: SandboxProcess, proc: subprocess.Popen[str], n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while upserts(crm) < n and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_db_connection_killed_mid_read(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                      outcome: Outcome) -> None:
    expected = rows(N)
    with postgres_db() as db:
        make_customers(db, expected)
        odbc_job(project, db)
        crm = sandbox_factory()
        proc = start_run(project, "db", crm_env(crm))
        wait_upserts(crm, proc, 5)
        killed = pg_execute(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (db.database,))
        code = proc.wait(timeout=600)
        runs = 1
        if code != 0:
            runs += 1
            again = project.cli("run", "db", env=crm_env(crm), timeout=600)
            outcome.expect(again.returncode == 0, f"the rerun failed: {tail(again)}")
        outcome.expect(len(killed) >= 1, "no source connection was open to kill")
        compare(outcome, expected, crm)
        outcome.bound = CONCURRENCY
        outcome.note = f"{len(killed)} backend(s) terminated, first run exit {code}, {runs} run(s), {N} records"
    outcome.check()


def test_db_row_updated_while_being_read(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                         outcome: Outcome) -> None:
    expected = rows(N)
    with postgres_db() as db:
        make_customers(db, expected)
        odbc_job(project, db)
        crm = sandbox_factory()
        proc = start_run(project, "db", crm_env(crm))
        wait_upserts(crm, proc, 8)
        keys = list(expected)
        touched = keys[:50] + keys[len(keys) // 2: len(keys) // 2 + 50] + keys[-50:]  # read, being read, not yet
        for k in touched:
            pg_execute(db, 'UPDATE customers SET "NAME" = %s, "CHANGED" = %s WHERE "ID" = %s',
                       (f"updated {k}", datetime(2030, 1, 1), k))
            expected[k] = {**expected[k], "name": f"updated {k}"}
        code = proc.wait(timeout=600)
        again = project.cli("run", "db", env=crm_env(crm), timeout=600)  # the next scheduled run
        outcome.expect(code == 0 and again.returncode == 0, f"runs exited {code}/{again.returncode}: {tail(again)}")
        compare(outcome, expected, crm)
        # the updated rows are (rightly) sent again with their new content: not counted as repeats
        outcome.resent = max(0, outcome.resent - len(touched))
        outcome.repeated = -(-outcome.resent // 100)
        outcome.bound = 0
        outcome.note = f"{len(touched)} rows updated mid-read (already read, in flight, not yet read), {N} records"
    outcome.check()


# --- a throwaway cluster ------------------------------------------------------------------------


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, check=False,
                          timeout=120)


@pytest.fixture
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DbInfo, Callable[[], None]]]:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if os.geteuid() != 0 or not initdb or not pg_ctl or not shutil.which("runuser"):
        pytest.skip("needs root, runuser, initdb and pg_ctl for a throwaway cluster")
    base = Path("/var/lib/legacy-bridge-tests") / f"pg-{os.getpid()}-{time.monotonic_ns()}"
    base.mkdir(parents=True)
    shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()
    got = _as_postgres(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    if got.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {got.stderr.strip()[-300:]}")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"

    def ctl(action: str) -> None:
        res = _as_postgres(pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", action)
        assert res.returncode == 0, f"pg_ctl {action}: {res.stderr}{(base / 'log').read_text()[-500:]}"

    ctl("start")
    try:
        info = DbInfo("postgres", "127.0.0.1", port, "postgres", "", "postgres")
        yield info, lambda: ctl("restart")
    finally:
        _as_postgres(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_db_database_restarted_between_runs(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                            outcome: Outcome, own_cluster: tuple[DbInfo, Callable[[], None]]) -> None:
    db, restart = own_cluster
    expected = rows(N)
    make_customers(db, expected)
    odbc_job(project, db)
    crm = sandbox_factory()
    proc = start_run(project, "db", crm_env(crm))
    wait_upserts(crm, proc, 6)
    restart()  # mid-run: the source connection dies with the server
    first = proc.wait(timeout=600)
    restart()  # and again between runs
    later = {f"L{i:06d}": {"erp_id": f"L{i:06d}", "name": f"late {i}", "city": "Bonn"} for i in range(100)}
    pg_execute(db, 'INSERT INTO customers SELECT "ID", "NAME", "CITY", "CHANGED" + INTERVAL \'1 day\' FROM '
                   "(SELECT 'L' || lpad(i::text, 6, '0') AS \"ID\", 'late ' || i AS \"NAME\", 'Bonn' AS \"CITY\", "
                   "(SELECT max(\"CHANGED\") FROM customers) AS \"CHANGED\" FROM generate_series(0, 99) i) s")
    expected.update(later)
    again = project.cli("run", "db", env=crm_env(crm), timeout=600)
    outcome.expect(again.returncode == 0, f"the run after the restart failed: {tail(again)}")
    compare(outcome, expected, crm)
    outcome.bound = CONCURRENCY
    outcome.note = f"own cluster on port {db.port} restarted mid-run and between runs; first run exit {first}"
    outcome.check()
