"""`python -m legacy_bridge.jobs.<name>` is the same CLI: run by default, watch with --watch."""

from __future__ import annotations

import pytest

from legacy_bridge.jobs import main_for
from tests.fixtures.project import Project

JOB = """
name = "demo"
[[flows]]
name = "orders"
[flows.source]
kind = "files"
transport = { kind = "local" }
path = "drop"
format = { kind = "csv" }
[flows.mapping]
key = "ID"
fields = { id = "ID", name = "NAME" }
[flows.target]
kind = "jsonl"
path = "out.jsonl"
"""


def test_watch_refuses_run_only_options_instead_of_dropping_them(
        project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.write_job("demo", JOB)
    assert main_for("demo", ["--watch", "--dry-run"]) == 2  # never a real watcher when a dry run was asked
    assert "--dry-run" in capsys.readouterr().err


def test_run_is_the_default_and_takes_global_options_anywhere(project: Project) -> None:
    (project.root / "drop").mkdir()
    (project.root / "drop" / "a.csv").write_text("ID,NAME\n1,x\n")
    project.write_job("demo", JOB)
    assert main_for("demo", ["--flow", "orders", "--state", str(project.root / "s.db"), "--log-level", "error"]) == 0
    assert (project.root / "out.jsonl").read_text().count("\n") == 1
