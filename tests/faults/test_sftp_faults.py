"""SFTP faults against the real sshd: the connection cut mid-download, the server's connections
all killed between listing and fetch (what a restart does to a client), a file renamed away
between listing and fetch, and a file still growing while the run looks at it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.faults.harness import RECORDS, Outcome, compare, crm_env, job_toml, rows, tail
from tests.faults.sources import FIELDS, csv_bytes, write_csv
from tests.fixtures.project import ROOT, Project
from tests.fixtures.sshd import SftpDrop, SshdServer

pytestmark = [pytest.mark.faults, pytest.mark.sshd]
N = max(2000, RECORDS // 4)


def sftp_job(project: Project, server: SshdServer, drop: SftpDrop, ready: str = "") -> None:
    source = f"""
kind = "files"
transport = {{ kind = "sftp", host = "{server.host}", port = {server.port}, username = "{server.user}", key_file = "{server.key_file}", known_hosts = "{server.known_hosts}", backoff = "100ms", connect_timeout = "5s", read_timeout = "10s" }}
path = "{drop.remote}"
pattern = ["CUST_*.csv"]
format = {{ kind = "csv", delimiter = ";" }}
after = {{ success = "leave" }}
{ready}
"""
    project.write_job("sftp", job_toml("sftp", source, FIELDS, "ID"))


def hooked_run(project: Project, crm: SandboxProcess, fault: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **crm_env(crm), **fault}
    return subprocess.run([sys.executable, "-m", "tests.faults.hooked_cli", "run", "sftp"], cwd=project.root,
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def finish(project: Project, crm: SandboxProcess, outcome: Outcome, expected: Mapping[str, Mapping[str, str]],
           first: subprocess.CompletedProcess[str], bound: int = 0) -> None:
    """Rerun if the faulty run stopped, then compare; the fault must have fired."""
    outcome.expect("fault injected" in first.stderr, f"the fault never fired: {tail(first)}")
    runs = 1
    if first.returncode != 0:
        again = project.cli("run", "sftp", env=crm_env(crm), timeout=600)
        runs += 1
        outcome.expect(again.returncode == 0, f"the rerun failed: {tail(again)}")
    compare(outcome, expected, crm)
    outcome.bound = bound
    summary = next((ln.strip() for ln in first.stdout.splitlines() if " read " in ln), "no summary")
    outcome.note = f"{len(expected)} records, {runs} run(s); first exit {first.returncode}: {summary}"


def test_sftp_connection_cut_mid_download(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                          outcome: Outcome, sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    expected = {k: {**v, "name": v["name"] + " " + "x" * 150} for k, v in rows(max(N, 20_000)).items()}
    write_csv(sftp_drop.local, expected, parts=1)  # one file of ~3.5 MB: the cut lands inside it
    sftp_job(project, sshd_server, sftp_drop)
    crm = sandbox_factory()
    first = hooked_run(project, crm, {"LB_FAULT_MID_DOWNLOAD": f"kill_sessions:{sshd_server.pid}"})
    finish(project, crm, outcome, expected, first)
    outcome.check()


def test_sftp_server_restarted_between_listing_and_fetch(project: Project,
                                                         sandbox_factory: Callable[..., SandboxProcess],
                                                         outcome: Outcome, sshd_server: SshdServer,
                                                         sftp_drop: SftpDrop) -> None:
    expected = rows(N)
    write_csv(sftp_drop.local, expected, parts=3)
    sftp_job(project, sshd_server, sftp_drop)
    crm = sandbox_factory()
    first = hooked_run(project, crm, {"LB_FAULT_AFTER_LIST": f"kill_sessions:{sshd_server.pid}"})
    finish(project, crm, outcome, expected, first)
    outcome.check()


def test_sftp_file_renamed_away_between_listing_and_fetch(project: Project,
                                                          sandbox_factory: Callable[..., SandboxProcess],
                                                          outcome: Outcome, sshd_server: SshdServer,
                                                          sftp_drop: SftpDrop) -> None:
    expected = rows(N)
    paths = write_csv(sftp_drop.local, expected, parts=3)
    gone = paths[0]  # the oldest: the first one fetched
    moved = gone.with_name("moved_" + gone.name)  # no longer matches CUST_*.csv
    sftp_job(project, sshd_server, sftp_drop)
    crm = sandbox_factory()
    first = hooked_run(project, crm, {"LB_FAULT_AFTER_LIST": f"rename:{gone}:{moved}"})
    first_keys = {line.split(";")[0] for line in moved.read_text(encoding="utf-8").splitlines()[1:]}
    still_there = {k: v for k, v in expected.items() if k not in first_keys}
    finish(project, crm, outcome, still_there, first)
    text = first.stdout + first.stderr
    outcome.expect(gone.name in text, f"the run did not say that {gone.name} went away: {tail(first)}")
    outcome.check()


def test_sftp_file_still_growing(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                 outcome: Outcome, sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    expected = rows(N)
    data = csv_bytes(list(expected.values()), "utf-8")
    path = sftp_drop.local / "CUST_growing.csv"
    stop = threading.Event()
    pieces = 200  # at least 10 s of writing: a piece, then at least 50 ms
    step = max(1, -(-len(data) // pieces))
    written = [0]

    def grow() -> None:  # an ERP writing the export slowly
        with open(path, "wb") as f:
            for i in range(0, len(data), step):
                f.write(data[i:i + step])
                f.flush()
                written[0] += 1
                if stop.wait(0.05):
                    break

    sftp_job(project, sshd_server, sftp_drop, ready='ready = { min_age = "2s" }')
    crm = sandbox_factory()
    writer = threading.Thread(target=grow)
    writer.start()
    time.sleep(0.3)
    during = []
    # a run starts only while at least 5 s of writing remain (sleeps only ever stretch under load),
    # so its listing and min_age wait end while the file still grows: the run must take nothing.
    # (A run that lists the finished file may send it, rightly: that was the race of an earlier version.)
    while written[0] < pieces // 2:
        during.append(project.cli("run", "sftp", env=crm_env(crm), timeout=120))
    outcome.expect(len(crm.objects("contacts")) == 0, "records were sent while the file was still being written")
    writer.join()
    time.sleep(2.5)  # now stable for min_age
    final = project.cli("run", "sftp", env=crm_env(crm), timeout=300)
    outcome.expect(final.returncode == 0, f"the run after the file settled failed: {tail(final)}")
    compare(outcome, expected, crm)
    outcome.expect(len(during) >= 1, "no run started while the file grew")
    outcome.note = f"{N} records, {len(during)} run(s) while it grew took nothing"
    outcome.check()
