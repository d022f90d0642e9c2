"""End to end through the real HubSpot target and the CRM sandbox over HTTP: a watcher and
ad-hoc runs of the same flow at once, files arriving in waves; the sandbox counts every write."""

from __future__ import annotations

from pathlib import Path

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.project import Project
from tests.fixtures.sandbox import SANDBOX_TOKEN
from tests.integration.runtime.support import (
    files_job,
    order_lines,
    start_cli,
    stop_cli,
    wait_for,
    write_drop,
)

HUBSPOT = '''kind = "hubspot"
base_url = "${env:CRM_URL}"
object = "deals"
id_property = "order_no"
auth = { type = "bearer", token = "${env:CRM_TOKEN}" }
batch_size = 10
concurrency = 3'''


def test_watch_and_ad_hoc_runs_write_each_order_to_the_crm_once(project: Project, crm_sandbox: SandboxProcess,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_URL", crm_sandbox.url)  # the processes started below inherit these
    monkeypatch.setenv("CRM_TOKEN", SANDBOX_TOKEN)
    project.write_job("drops", files_job("drops", target=HUBSPOT))
    drop: Path = project.root / "drop"
    drop.mkdir()
    orders = order_lines()[1][:240]
    watcher = start_cli(project.root, "watch", "drops", log=project.root / "watch.log")
    try:
        wait_for(lambda: "watching" in (project.root / "watch.log").read_text(), what="the watcher to start")
        for wave in range(6):
            for i in range(40):
                n = wave * 40 + i
                write_drop(drop, f"ORDERS_{n:04d}.csv", [orders[n]])
            adhoc = start_cli(project.root, "run", "drops", log=project.root / "adhoc.log")
            assert adhoc.wait(timeout=120) in (0, 1)
        wait_for(lambda: len(crm_sandbox.objects("deals")) >= 240, timeout=120, what="240 deals in the CRM")
    finally:
        assert stop_cli(watcher) == 0, (project.root / "watch.log").read_text()
    writes = crm_sandbox.writes("deals")
    assert set(writes) == {line.split(";")[0] for line in orders}
    assert set(writes.values()) == {1}  # never written twice
    assert crm_sandbox.objects("deals")["10248"]["customer"] == "VINET"
