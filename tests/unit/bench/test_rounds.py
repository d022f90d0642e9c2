"""bench/harness.py runs a workload's tools in rounds: the repeats of the tools compared are
interleaved in time, and a tool that failed is not run again (real child processes)."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.harness import run_workload
from bench.workloads import Tool, Workload


def _tool(name: str, log: Path, *, exit_code: int = 0, records: int = 10) -> Tool:
    code = (f"import sys; open({str(log)!r}, 'a').write({name!r} + str(sys.argv[1]) + ' '); "
            f"print('{{\"records\": {records}}}'); sys.exit({exit_code})")
    return Tool(name, "alternative", lambda rep: [sys.executable, "-c", code, str(rep)], expect=10, sends=False)


def test_each_round_runs_every_tool_once_in_turn(tmp_path: Path) -> None:
    log = tmp_path / "order"
    w = Workload("w", [_tool("a", log), _tool("b", log), _tool("c", log)], sink="none")
    results = run_workload(w, None, 3, 60, None)
    assert log.read_text().split() == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    assert [len(r.rates) for r in results] == [3, 3, 3]
    assert all(r.note == "" for r in results)


def test_a_failed_tool_is_not_run_again_and_says_why_while_the_others_go_on(tmp_path: Path) -> None:
    log = tmp_path / "order"
    w = Workload("w", [_tool("a", log), _tool("bad", log, exit_code=2), _tool("short", log, records=7)],
                 sink="none")
    results = run_workload(w, None, 2, 60, None)
    assert log.read_text().split() == ["a0", "bad0", "short0", "a1", "short1"]
    good, bad, short = results
    assert len(good.rates) == 2 and good.note == ""
    assert bad.rates == [] and bad.note.startswith("failed (exit 2)")
    # a count that differs is said once however many rounds saw it
    assert len(short.rates) == 2 and short.note == "count check: got 7 of 10"


def test_an_unavailable_tool_is_reported_not_run(tmp_path: Path) -> None:
    log = tmp_path / "order"
    missing = Tool("dlt", "alternative", None, expect=10, unavailable="not installed: dlt")
    results = run_workload(Workload("w", [_tool("a", log), missing], sink="none"), None, 2, 60, None)
    assert log.read_text().split() == ["a0", "a1"]
    assert results[1].rates == [] and results[1].note == "not installed: dlt"
