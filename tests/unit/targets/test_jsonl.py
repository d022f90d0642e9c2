"""The jsonl target appends one line per record, and survives reopening."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from legacy_bridge.records import Payload
from tests.fixtures.sandbox import build_target


def test_lines_are_appended_relative_to_the_project(tmp_path: Path) -> None:
    spec = {"kind": "jsonl", "path": "var/out/customers.jsonl"}
    for run in range(2):
        target = build_target(spec, tmp_path)
        delivery = target.send([Payload(key=f"K{run}", data={"since": date(2020, 1, 2), "n": run}, index=0)])
        target.close()
        assert delivery.sent == 1
    lines = (tmp_path / "var/out/customers.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"key": "K0", "data": {"since": "2020-01-02", "n": 0}},
        {"key": "K1", "data": {"since": "2020-01-02", "n": 1}},
    ]


def test_dry_run_describes_without_writing(tmp_path: Path) -> None:
    target = build_target({"kind": "jsonl", "path": "out.jsonl"}, tmp_path)
    [line] = target.describe([Payload(key="A", data={"x": 1}, index=0)])
    target.close()
    assert line.startswith("APPEND ") and '{"key":"A","data":{"x":1}}' in line
    assert (tmp_path / "out.jsonl").read_text() == ""
