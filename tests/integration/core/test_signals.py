"""SIGTERM or SIGINT to `legacy-bridge run`: no new batch is taken, the batches in flight
finish and are committed, the run exits 1 as interrupted, and the next run continues
without sending anything twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.project import ROOT, Project
from tests.fixtures.sandbox import SANDBOX_TOKEN
from tests.integration.core.test_kill_resume import JOB, write_drop


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_after_committing_what_is_in_flight(
        project: Project, sandbox_factory: Callable[..., SandboxProcess], signum: int) -> None:
    crm = sandbox_factory()
    crm.set_faults(delay_rate=1.0, delay=0.05)  # every call takes 50 ms: the run lasts a few seconds
    expected = write_drop(project.root / "drop")
    project.write_job("killme", JOB)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRM_URL": crm.url, "CRM_TOKEN": SANDBOX_TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "legacy_bridge", "run", "killme"], cwd=project.root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while len(crm.calls()) < 10:
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended or stalled too early"
        time.sleep(0.02)
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "finishing the batches in flight" in out and "interrupted" in out

    history = json.loads(project.cli("history", "killme", "--json", check=True).stdout)
    assert history[0]["status"] == "interrupted"
    committed = history[0]["counts"]["sent"]
    held_after_stop = len(crm.objects("contacts"))
    assert committed == held_after_stop, "every record the CRM acknowledged was committed, no more, no less"

    crm.set_faults(delay_rate=0.0)
    rest = project.cli("run", "killme", env={"CRM_URL": crm.url, "CRM_TOKEN": SANDBOX_TOKEN})
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert set(crm.objects("contacts")) == set(expected)
    assert max(crm.writes("contacts").values()) == 1, "a clean stop sends nothing twice"
