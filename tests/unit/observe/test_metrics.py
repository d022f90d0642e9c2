"""Metrics come out in the Prometheus text format a scraper accepts, with the figures of
the state store, and the textfile is replaced atomically."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from legacy_bridge.observe.metrics import ProcessCounters, render, state_families, write_textfile
from legacy_bridge.records import Counts

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = rf'({_NAME})="((?:[^"\\\n]|\\["\\n])*)"'
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)\}})? (\S+)$")


def parse(text: str) -> dict[str, Any]:
    """A strict reader of the text exposition format: every sample belongs to a family
    declared by HELP and TYPE before it; returns {family: {"type", "samples": [(name, labels, value)]}}."""
    families: dict[str, Any] = {}
    current = None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in families, f"family {name} declared twice"
            families[name] = {"help": line.split(" ", 3)[3], "samples": []}
            current = name
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == current and kind in ("gauge", "counter", "histogram", "summary", "untyped")
            families[name]["type"] = kind
        else:
            m = _SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name = m.group(1)
            assert current is not None and name.startswith(current), f"{name} outside its family"
            labels = dict((k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
                          for k, v in re.findall(_LABEL, m.group(2) or ""))
            value = float(m.group(len(m.groups())).replace("+Inf", "inf"))
            families[current]["samples"].append((name, labels, value))
    return families


def value(fams: dict[str, Any], family: str, **labels: str) -> float:
    hits = [v for n, lab, v in fams[family]["samples"] if all(lab.get(k) == x for k, x in labels.items())]
    assert len(hits) == 1, (family, labels, hits)
    return hits[0]


def status_doc(**over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    doc: dict[str, Any] = {
        "job": "erp_to_crm", "flow": 'cust"omers', "state": "failed", "health": "fail",
        "last_success": now - timedelta(hours=2), "lag_s": 7200.0, "max_lag_s": 3600.0, "late": True,
        "open_rejects": 4, "files_waiting": 2, "oldest_file_waiting": {"age_s": 95.0}, "running": None,
        "workers": [{"kind": "scheduler", "host": "h1", "pid": 42, "age_s": 300.0, "stale": True}],
        "last_run": {"status": "failed", "started": now - timedelta(minutes=5), "duration_s": 12.5,
                     "counts": {"read": 1000, "sent": 990, "rejected": 10, "retried": 3, "skipped": 0, "files": 1}},
    }
    doc.update(over)
    return doc


def test_state_metrics_parse_back_with_the_flow_figures() -> None:
    text = render(state_families([status_doc(), status_doc(flow="orders", state="ok", health="ok", lag_s=60.0,
                                                           late=False, oldest_file_waiting=None, files_waiting=0)]))
    fams = parse(text)
    assert fams["legacy_bridge_last_run_records"]["type"] == "gauge"
    assert value(fams, "legacy_bridge_last_run_records", flow='cust"omers', kind="read") == 1000
    assert value(fams, "legacy_bridge_last_run_records", flow='cust"omers', kind="rejected") == 10
    assert value(fams, "legacy_bridge_last_run_records", flow='cust"omers', kind="retried") == 3
    assert value(fams, "legacy_bridge_last_run_duration_seconds", flow="orders") == 12.5
    assert value(fams, "legacy_bridge_lag_seconds", flow='cust"omers') == 7200
    assert value(fams, "legacy_bridge_flow_healthy", flow='cust"omers') == 0
    assert value(fams, "legacy_bridge_flow_healthy", flow="orders") == 1
    assert value(fams, "legacy_bridge_open_rejects", flow="orders") == 4
    assert value(fams, "legacy_bridge_oldest_file_waiting_seconds", flow='cust"omers') == 95
    success = value(fams, "legacy_bridge_last_success_timestamp_seconds", flow="orders")
    assert abs(success - (datetime.now(UTC) - timedelta(hours=2)).timestamp()) < 60
    assert value(fams, "legacy_bridge_worker_stale", kind="scheduler", host="h1", pid="42") == 1


def test_process_counters_add_up_batches_and_runs_as_counters_and_a_histogram() -> None:
    counters = ProcessCounters()
    counters.batch("j", "f", Counts(read=100, sent=98, rejected=2, retried=1))
    counters.batch("j", "f", Counts(read=50, sent=50))
    counters.run("j", "f", "rejects", 4.0)
    counters.run("j", "f", "ok", 30.0)
    fams = parse(render(counters.families()))
    assert fams["legacy_bridge_records_total"]["type"] == "counter"
    assert value(fams, "legacy_bridge_records_total", kind="read") == 150
    assert value(fams, "legacy_bridge_records_total", kind="rejected") == 2
    assert value(fams, "legacy_bridge_runs_total", status="ok") == 1
    assert fams["legacy_bridge_run_duration_seconds"]["type"] == "histogram"
    buckets = {lab["le"]: v for n, lab, v in fams["legacy_bridge_run_duration_seconds"]["samples"]
               if n.endswith("_bucket")}
    assert buckets["5"] == 1 and buckets["60"] == 2 and buckets["+Inf"] == 2
    sums = [v for n, _, v in fams["legacy_bridge_run_duration_seconds"]["samples"] if n.endswith("_sum")]
    assert sums == [34.0]


def test_textfile_is_replaced_whole_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "textfile" / "legacy_bridge.prom"
    write_textfile(target, "a 1\n")
    write_textfile(target, "b 2\n")
    assert target.read_text() == "b 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["legacy_bridge.prom"]
