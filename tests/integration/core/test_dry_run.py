"""--dry-run shows what a run would send, secrets redacted, and changes nothing; with
--full-refresh it shows what a full refresh would send, still changing nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.project import Project
from tests.fixtures.sandbox import SANDBOX_TOKEN
from tests.integration.core.test_kill_resume import JOB, ROWS_PER_FILE, write_drop


def test_dry_run_full_refresh_after_a_real_run(project: Project,
                                               sandbox_factory: Callable[..., SandboxProcess]) -> None:
    crm = sandbox_factory()
    write_drop(project.root / "drop")
    project.write_job("killme", JOB)
    env = {"CRM_URL": crm.url, "CRM_TOKEN": SANDBOX_TOKEN}
    assert project.cli("run", "killme", env=env).returncode == 0
    calls_before = len(crm.calls())

    plain = project.cli("run", "killme", "--dry-run", env=env)
    assert plain.returncode == 0 and "read 0," in plain.stdout  # nothing new: nothing to show

    full = project.cli("run", "killme", "--dry-run", "--full-refresh", env=env)
    assert full.returncode == 0, full.stdout + full.stderr
    posts = [line for line in full.stdout.splitlines() if line.startswith("POST ")]
    assert len(posts) == 3 * ROWS_PER_FILE // 50  # every batch of every file, as a full refresh sends them
    assert SANDBOX_TOKEN not in full.stdout + full.stderr
    assert '"idProperty":"erp_id"' in posts[0]

    assert len(crm.calls()) == calls_before, "a dry run sends nothing"
    history = json.loads(project.cli("history", "killme", "--json", check=True).stdout)
    assert [r["dry_run"] for r in history[:2]] == [True, True]
    assert history[0]["counts"]["read"] == 3 * ROWS_PER_FILE, "the dry run's record says what it read"
    files = json.loads(project.cli("files", "killme", "--json", check=True).stdout)
    assert {f["status"] for f in files} == {"done"}, "the ledger is untouched"
    again = project.cli("run", "killme", env=env)
    assert again.returncode == 0 and "sent 0," in again.stdout
