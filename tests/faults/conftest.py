"""The fault suite's pytest glue: an ``outcome`` per scenario, written (one JSON line per
scenario) to the file named by ``LEGACY_BRIDGE_FAULTS_REPORT`` - which ``scripts/faults`` reads
to print its table.  Scenarios that fail before recording counts are reported with the error."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.harness import Outcome

_KEY = pytest.StashKey[Outcome]()


def scenario_name(item: pytest.Item) -> str:
    return item.name.removeprefix("test_")


@pytest.fixture
def outcome(request: pytest.FixtureRequest) -> Iterator[Outcome]:
    result = Outcome(scenario=scenario_name(request.node))
    request.node.stash[_KEY] = result
    yield result


def _write(line: dict[str, Any]) -> None:
    path = os.environ.get("LEGACY_BRIDGE_FAULTS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield  # type: ignore[assignment]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        recorded = item.stash.get(_KEY, None)
        line: dict[str, Any] = json.loads(recorded.as_json()) if recorded else {"scenario": scenario_name(item)}
        line["status"] = "skipped" if report.skipped else ("passed" if report.passed else "failed")
        if not report.passed:
            text = str(report.longrepr.reprcrash.message if hasattr(report.longrepr, "reprcrash")  # type: ignore[union-attr]
                       else report.longrepr)
            line["error"] = " ".join(text.split())[:400]
        _write(line)
    return report  # type: ignore[return-value]
