"""Metrics in the Prometheus text exposition format (version 0.0.4).

Two sources, one text:

* the state store's picture of every flow (``overview.flow_status`` documents): the last
  run's records, its duration, the last success time, the lag, rejects and files waiting,
  and the heartbeats of schedulers/watchers - the same whichever process renders it
  (the dashboard's ``/metrics``, or ``--metrics-file`` after each flow);
* counters kept by this process from the runner's hooks (``legacy_bridge_records_total``,
  ``legacy_bridge_runs_total``, ``legacy_bridge_run_duration_seconds_*``), present in a
  ``run``/``schedule``/``watch`` process.

``write_textfile`` writes atomically (temp file + rename in the same folder), as the
node-exporter textfile collector requires.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

PREFIX = "legacy_bridge"
_KINDS = ("read", "sent", "rejected", "retried", "skipped", "files")


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, Any]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Family:
    """One metric family: HELP, TYPE and its samples."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = f"{PREFIX}_{name}", kind, help_text
        self.samples: list[tuple[str, dict[str, Any], float]] = []

    def add(self, value: float | None, suffix: str = "", **labels: Any) -> None:
        if value is not None:
            self.samples.append((self.name + suffix, labels, float(value)))

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        lines += [f"{name}{_labels(labels)} {_number(v)}" for name, labels, v in self.samples]
        return "\n".join(lines)


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def state_families(docs: Sequence[dict[str, Any]]) -> list[Family]:
    """Gauges from status documents (see ``overview.flow_status``)."""
    f = {
        "records": Family("last_run_records", "gauge", "Records in the flow's last run, by kind."),
        "duration": Family("last_run_duration_seconds", "gauge", "Duration of the flow's last finished run."),
        "last_run": Family("last_run_timestamp_seconds", "gauge", "When the flow's last run started (Unix time)."),
        "failed": Family("last_run_failed", "gauge", "1 if the flow's last run failed, else 0."),
        "success": Family("last_success_timestamp_seconds", "gauge",
                          "When the flow last finished a run that delivered (Unix time)."),
        "lag": Family("lag_seconds", "gauge", "Seconds since the flow's last success."),
        "max_lag": Family("max_lag_seconds", "gauge", "The flow's declared max_lag."),
        "healthy": Family("flow_healthy", "gauge", "1 unless the flow failed or is later than its max_lag."),
        "rejects": Family("open_rejects", "gauge", "Rejected records waiting to be fixed and replayed."),
        "files": Family("files_waiting", "gauge", "Files taken from the drop but not yet delivered."),
        "oldest": Family("oldest_file_waiting_seconds", "gauge", "Age of the oldest file not yet delivered."),
        "running": Family("flow_running", "gauge", "1 while a process holds the flow's lease."),
    }
    workers: dict[tuple[Any, ...], dict[str, Any]] = {}
    for d in docs:
        lab = {"job": d["job"], "flow": d["flow"]}
        run = d.get("last_run")
        if run:
            for kind in _KINDS:
                f["records"].add(run["counts"][kind], **lab, kind=kind)
            f["duration"].add(run["duration_s"], **lab)
            f["last_run"].add(_ts(run["started"]), **lab)
            f["failed"].add(1 if run["status"] == "failed" else 0, **lab)
        f["success"].add(_ts(d.get("last_success")), **lab)
        f["lag"].add(d.get("lag_s"), **lab)
        f["max_lag"].add(d.get("max_lag_s"), **lab)
        f["healthy"].add(0 if d.get("health") == "fail" else 1, **lab)
        f["rejects"].add(d.get("open_rejects", 0), **lab)
        f["files"].add(d.get("files_waiting", 0), **lab)
        oldest = d.get("oldest_file_waiting")
        f["oldest"].add(oldest["age_s"] if oldest else 0, **lab)
        f["running"].add(1 if d.get("running") else 0, **lab)
        for w in d.get("workers", []):
            workers[(w.get("kind"), w.get("host"), w.get("pid"))] = w
    hb = Family("worker_heartbeat_age_seconds", "gauge", "Seconds since a scheduler/watcher last beat.")
    stale = Family("worker_stale", "gauge", "1 if a scheduler/watcher stopped beating.")
    for (kind, host, pid), w in sorted(workers.items(), key=lambda kv: str(kv[0])):
        hb.add(w.get("age_s"), kind=kind or "", host=host or "", pid=pid or "")
        stale.add(1 if w.get("stale") else 0, kind=kind or "", host=host or "", pid=pid or "")
    return [*f.values(), hb, stale]


class ProcessCounters:
    """Counters this process adds up from the runner's hooks (thread-safe)."""

    BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, math.inf)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: dict[tuple[str, str, str], float] = defaultdict(float)
        self.runs: dict[tuple[str, str, str], float] = defaultdict(float)
        self.durations: dict[tuple[str, str], list[float]] = {}

    def batch(self, job: str, flow: str, counts: Any) -> None:
        with self._lock:
            for kind in _KINDS:
                self.records[(job, flow, kind)] += getattr(counts, kind, 0)

    def run(self, job: str, flow: str, status: str, duration_s: float) -> None:
        with self._lock:
            self.runs[(job, flow, status)] += 1
            self.durations.setdefault((job, flow), []).append(duration_s)

    def families(self) -> list[Family]:
        records = Family("records_total", "counter", "Records processed by this process, by kind.")
        runs = Family("runs_total", "counter", "Flow runs finished by this process, by status.")
        hist = Family("run_duration_seconds", "histogram", "Durations of flow runs finished by this process.")
        with self._lock:
            for (job, flow, kind), v in sorted(self.records.items()):
                records.add(v, job=job, flow=flow, kind=kind)
            for (job, flow, status), v in sorted(self.runs.items()):
                runs.add(v, job=job, flow=flow, status=status)
            for (job, flow), values in sorted(self.durations.items()):
                for le in self.BUCKETS:
                    hist.add(sum(1 for x in values if x <= le), "_bucket", job=job, flow=flow,
                             le="+Inf" if math.isinf(le) else _number(le))
                hist.add(sum(values), "_sum", job=job, flow=flow)
                hist.add(len(values), "_count", job=job, flow=flow)
        return [records, runs, hist]


def render(families: Iterable[Family]) -> str:
    return "\n".join(f.render() for f in families) + "\n"


def write_textfile(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (readers never see half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
