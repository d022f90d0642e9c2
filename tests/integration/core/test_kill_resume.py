"""A run killed with SIGKILL at any point, then run again, leaves the CRM holding exactly what an
uninterrupted run leaves; at most concurrency x batch_size records are sent twice per kill."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.project import ROOT, Project
from tests.fixtures.sandbox import SANDBOX_TOKEN

BATCH, CONCURRENCY = 50, 4
FILES, ROWS_PER_FILE = 3, 2000

JOB = f"""
name = "killme"

[[flows]]
name = "contacts"
[flows.source]
kind = "files"
transport = {{ kind = "local" }}
path = "drop"
pattern = ["CUST_*.csv"]
format = {{ kind = "csv", encoding = "cp1252", delimiter = ";" }}
after = {{ success = "leave" }}
[flows.mapping]
key = "CUSTNO"
[flows.mapping.fields]
erp_id = "CUSTNO"
name = "NAME"
city = "CITY"
[flows.target]
kind = "hubspot"
base_url = "${{env:CRM_URL}}"
object = "contacts"
id_property = "erp_id"
auth = {{ type = "bearer", token = "${{env:CRM_TOKEN}}" }}
batch_size = {BATCH}
concurrency = {CONCURRENCY}
"""


def write_drop(folder: Path) -> dict[str, dict[str, str]]:
    folder.mkdir(parents=True)
    expected: dict[str, dict[str, str]] = {}
    for f in range(FILES):
        with open(folder / f"CUST_{f}.csv", "w", encoding="cp1252", newline="") as fh:
            w = csv.writer(fh, delimiter=";")
            w.writerow(["CUSTNO", "NAME", "CITY"])
            for i in range(ROWS_PER_FILE):
                key = f"C{f}{i:05d}"
                row = [key, f"Société {f}-{i}", ["Köln", "Zürich", "Málaga"][i % 3]]
                w.writerow(row)
                expected[key] = {"erp_id": key, "name": row[1], "city": row[2]}
    return expected


def start_run(project: Project, crm: SandboxProcess) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRM_URL": crm.url, "CRM_TOKEN": SANDBOX_TOKEN}
    return subprocess.Popen([sys.executable, "-m", "legacy_bridge", "run", "killme"], cwd=project.root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_after(proc: subprocess.Popen[str], crm: SandboxProcess, calls: int, timeout: float = 60) -> bool:
    """SIGKILL the run once the CRM has received ``calls`` calls in all; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if calls == 0 or len(crm.calls()) >= calls:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    raise AssertionError("the run made no progress")


@pytest.mark.faults
def test_sigkill_at_several_points_loses_nothing_and_duplicates_at_most_the_window(
        project: Project, sandbox_factory: Callable[..., SandboxProcess]) -> None:
    crm = sandbox_factory()
    expected = write_drop(project.root / "drop")
    project.write_job("killme", JOB)
    total_calls = FILES * ROWS_PER_FILE // BATCH
    kills = 0
    for point in (0, 7, 41, 42, 95):  # 0: while starting up; 41/42: around a file boundary
        proc = start_run(project, crm)
        if kill_after(proc, crm, point):
            kills += 1
    final = project.cli("run", "killme", env={"CRM_URL": crm.url, "CRM_TOKEN": SANDBOX_TOKEN})
    assert final.returncode == 0, final.stdout + final.stderr
    assert kills >= 4, "the runs ended before they could be killed: make the transfer larger"

    held = crm.objects("contacts")
    assert set(held) == set(expected), f"lost: {sorted(set(expected) - set(held))[:5]}"
    for key, props in expected.items():
        assert {k: held[key].get(k) for k in props} == props
    repeated = sum(n - 1 for n in crm.writes("contacts").values())
    print(f"\n{kills} kills, {len(crm.calls())} calls for {total_calls} batches, {repeated} records sent twice")
    assert repeated <= kills * CONCURRENCY * BATCH

    again = project.cli("run", "killme", env={"CRM_URL": crm.url, "CRM_TOKEN": SANDBOX_TOKEN})
    assert again.returncode == 0 and "sent 0," in again.stdout, again.stdout
