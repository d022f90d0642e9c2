"""API faults from the CRM sandbox during a transfer: 429 storms with and without Retry-After,
5xx, timeouts, connections dropped before and after the server processed a batch, an expired
OAuth token, and a full outage (the flow stops with its checkpoint, the rerun resumes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.faults.harness import (
    BATCH,
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
from tests.faults.sources import FIELDS, write_csv
from tests.fixtures.project import Project
from tests.fixtures.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

pytestmark = pytest.mark.faults
N = max(1000, RECORDS // 5)
SOURCE = """
kind = "files"
transport = { kind = "local" }
path = "drop"
pattern = ["CUST_*.csv"]
format = { kind = "csv", delimiter = ";" }
after = { success = "leave" }
"""
TIMEOUT = 'timeout = { connect = "5s", read = "1s" }'
# a processed call whose answer the client never saw is (rightly) sent again
UNANSWERED = ("drop_after", "delay")

SCENARIOS: dict[str, tuple[dict[str, Any], str]] = {
    "429_storm_with_retry_after": ({"throttle_rate": 0.4, "throttle_retry_after": 0.2}, ""),
    "429_storm_without_retry_after": ({"throttle_rate": 0.4, "throttle_retry_after": None}, ""),
    "5xx_errors": ({"error_rate": 0.3}, ""),
    "timeouts": ({"delay_rate": 0.1, "delay": 2.5}, TIMEOUT),
    "dropped_before_processing": ({"drop_before_rate": 0.2}, ""),
    "dropped_after_processing": ({"drop_after_rate": 0.2}, ""),
}


def unanswered(crm: SandboxProcess) -> int:
    faults = crm.stats()["faults"]
    return sum(int(faults.get(name, 0)) for name in UNANSWERED)


def setup(project: Project, extra: str = "", auth: str | None = None) -> dict[str, dict[str, str]]:
    expected = rows(N)
    write_csv(project.root / "drop", expected, parts=2)
    text = (job_toml("api", SOURCE, FIELDS, "ID", target_extra=extra, auth=auth) if auth
            else job_toml("api", SOURCE, FIELDS, "ID", target_extra=extra))
    project.write_job("api", text)
    return expected


@pytest.mark.parametrize("fault", list(SCENARIOS))
def test_api_fault(project: Project, sandbox_factory: Callable[..., SandboxProcess], outcome: Outcome,
                   fault: str) -> None:
    switches, extra = SCENARIOS[fault]
    expected = setup(project, extra)
    crm = sandbox_factory()
    crm.set_faults(**switches)
    run = project.cli("run", "api", env=crm_env(crm), timeout=600)
    outcome.expect(run.returncode == 0, f"the run did not ride out the faults (exit {run.returncode}): {tail(run)}")
    compare(outcome, expected, crm)
    outcome.bound = unanswered(crm)
    stats = crm.stats()
    outcome.note = f"{N} records, faults met {stats['faults']}"
    outcome.expect(bool(stats["faults"]), "no fault was injected: the scenario proves nothing")
    outcome.check()


def test_api_expired_oauth_token(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                 outcome: Outcome) -> None:
    crm = sandbox_factory()
    auth = (f'{{ type = "oauth2", token_url = "{crm.url}/oauth/v1/token", client_id = "{SANDBOX_CLIENT_ID}", '
            'client_secret = "${env:CRM_SECRET}" }')
    expected = setup(project, auth=auth)
    crm.set_faults(expire_token_after=7)
    run = project.cli("run", "api", env=crm_env(crm, CRM_SECRET=SANDBOX_CLIENT_SECRET), timeout=600)
    outcome.expect(run.returncode == 0, f"the run did not refresh its token (exit {run.returncode}): {tail(run)}")
    compare(outcome, expected, crm)
    expired = sum(1 for c in crm.calls() if c["status"] == 401 and str(c["fault"]).startswith("auth_"))
    outcome.expect(expired >= 1, "no call met an expired token: the scenario proves nothing")
    outcome.note = f"{N} records, {expired} calls refused with an expired token, then refreshed"
    outcome.check()


def test_api_outage_stops_the_flow_and_the_rerun_resumes(project: Project,
                                                          sandbox_factory: Callable[..., SandboxProcess],
                                                          outcome: Outcome) -> None:
    expected = setup(project, "max_attempts = 2")
    crm = sandbox_factory()
    proc = start_run(project, "api", crm_env(crm))
    deadline = time.monotonic() + 120
    while upserts(crm) < N // BATCH // 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    crm.set_faults(error_rate=1.0)  # the API goes down a third of the way in
    code = proc.wait(timeout=600)
    outcome.expect(code not in (0, None), f"the run exited {code} although every call failed")
    status = project.cli("status", env=crm_env(crm))
    outcome.expect("error" in (status.stdout + status.stderr).lower() or "fail" in status.stdout.lower(),
                   f"status does not show the failure: {tail(status)}")
    crm.set_faults(error_rate=0.0)  # back up: the rerun resumes from the checkpoint
    rerun = project.cli("run", "api", env=crm_env(crm), timeout=600)
    outcome.expect(rerun.returncode == 0, f"the rerun failed (exit {rerun.returncode}): {tail(rerun)}")
    compare(outcome, expected, crm)
    outcome.bound = CONCURRENCY
    outcome.note = f"{N} records, first run exit {code}"
    outcome.check()
