"""State-store faults: the process SIGKILLed inside a commit of the state store (SQLite in WAL
mode, and PostgreSQL) - the writes done, COMMIT not yet sent - and a full disk under the SFTP
spool folder (a 1 MB tmpfs mounted for the test)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.faults.harness import CONCURRENCY, RECORDS, Outcome, compare, crm_env, job_toml, rows, tail
from tests.faults.sources import FIELDS, write_csv
from tests.fixtures.databases import DbInfo, create_database, drop_database, require_server
from tests.fixtures.project import ROOT, Project
from tests.fixtures.sshd import SftpDrop, SshdServer

pytestmark = pytest.mark.faults
N = max(2000, RECORDS // 4)
COMMITS = [3, 8, 21, 34]  # which commit of each run is killed (lease, ledger and batch commits alike)
SOURCE = """
kind = "files"
transport = { kind = "local" }
path = "drop"
pattern = ["CUST_*.csv"]
format = { kind = "csv", delimiter = ";" }
after = { success = "leave" }
"""


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""  # the default: var/state.db, WAL mode
        return
    require_server("postgres")
    info: DbInfo = create_database("postgres")
    try:
        yield info.url.replace("postgresql+psycopg://", "postgresql://", 1)
    finally:
        drop_database(info)


def test_state_killed_during_commit(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                    outcome: Outcome, state_url: str) -> None:
    expected = rows(N)
    write_csv(project.root / "drop", expected, parts=3)
    project.write_job("st", job_toml("st", SOURCE, FIELDS, "ID", state=state_url))
    crm = sandbox_factory()
    kills = 0
    for n in COMMITS:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **crm_env(crm), "LB_FAULT_KILL_AT_COMMIT": str(n)}
        env.pop("LEGACY_BRIDGE_STATE", None)
        p = subprocess.run([sys.executable, "-m", "tests.faults.hooked_cli", "run", "st"], cwd=project.root,
                           env=env, capture_output=True, text=True, timeout=600, check=False)
        kills += p.returncode == -signal.SIGKILL
        if not state_url:
            check = sqlite3.connect(project.state)
            try:
                ok = check.execute("PRAGMA integrity_check").fetchone()[0]
                mode = check.execute("PRAGMA journal_mode").fetchone()[0]
            finally:
                check.close()
            outcome.expect(ok == "ok" and mode == "wal", f"after a kill the SQLite store is {ok!r} ({mode})")
    final = project.cli("run", "st", env=crm_env(crm), timeout=600)
    outcome.expect(final.returncode == 0, f"the run after the kills failed: {tail(final)}")
    outcome.expect(kills >= 3, f"only {kills} of {len(COMMITS)} runs were killed inside a commit")
    compare(outcome, expected, crm)
    outcome.bound = kills * CONCURRENCY
    outcome.note = f"{'postgres' if state_url else 'sqlite-wal'}, {kills} kills inside commits, {N} records"
    outcome.check()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "spool"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a 1 MB tmpfs")
    got = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True,
                         text=True, check=False)
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {got.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.sshd
def test_state_disk_full_on_the_spool(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                      outcome: Outcome, sshd_server: SshdServer, sftp_drop: SftpDrop,
                                      tiny_disk: Path) -> None:
    expected = {k: {**v, "name": v["name"] + " " + "z" * 800} for k, v in rows(N).items()}
    write_csv(sftp_drop.local, expected, parts=2)  # two files of ~2 MB each: neither fits in 1 MB
    source = f"""
kind = "files"
transport = {{ kind = "sftp", host = "{sshd_server.host}", port = {sshd_server.port}, username = "{sshd_server.user}", key_file = "{sshd_server.key_file}", known_hosts = "{sshd_server.known_hosts}", retries = 1, backoff = "50ms" }}
path = "{sftp_drop.remote}"
pattern = ["CUST_*.csv"]
format = {{ kind = "csv", delimiter = ";" }}
after = {{ success = "leave" }}
spool_dir = "{tiny_disk}"
"""
    project.write_job("full", job_toml("full", source, FIELDS, "ID"))
    crm = sandbox_factory()
    first = project.cli("run", "full", env=crm_env(crm), timeout=300)
    text = first.stdout + first.stderr
    outcome.expect(first.returncode != 0, "the run with a full spool disk reported success")
    outcome.expect("space" in text.lower() and "Traceback" not in text and "internal error" not in text
                   and str(tiny_disk) in text,
                   f"the full disk is not reported as a typed error naming the spool folder: {tail(first)}")
    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)  # the operator frees space
    again = project.cli("run", "full", env=crm_env(crm), timeout=300)
    outcome.expect(again.returncode == 0, f"the rerun with space failed: {tail(again)}")
    compare(outcome, expected, crm)
    outcome.bound = CONCURRENCY
    outcome.note = "1 MB tmpfs spool: " + next((ln.strip() for ln in text.splitlines() if "space" in ln.lower()),
                                                "no message")[:140]
    outcome.check()
