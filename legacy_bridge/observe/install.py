"""Attach observability to this process's runs: alerts always, the metrics textfile when
``--metrics-file`` is given, the progress line on an interactive terminal.  Called once by
the CLI before a command runs; the runner only calls ``observe.events`` hooks."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legacy_bridge.observe import events
from legacy_bridge.observe.logs import LOGGER_NAME, get_logger
from legacy_bridge.observe.metrics import ProcessCounters, render, state_families, write_textfile
from legacy_bridge.observe.progress import ClearProgress, ProgressDisplay

if TYPE_CHECKING:
    from legacy_bridge.config.loader import LoadedJob
    from legacy_bridge.runtime.runner import FlowResult
    from legacy_bridge.state.base import StateStore

RUN_COMMANDS = {"run", "schedule", "watch", "replay"}


class MetricsFile:
    """Rewrites the textfile after every flow run with the latest picture of each job seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counters = ProcessCounters()
        self.docs: dict[str, list[dict[str, Any]]] = {}

    def batch(self, job: str, flow: str, counts: Any) -> None:
        self.counters.batch(job, flow, counts)

    def flow_finished(self, job: LoadedJob, flow_spec: Any, result: FlowResult, store: StateStore) -> None:
        from legacy_bridge.observe.overview import job_status

        self.counters.run(job.name, result.flow, result.status, result.duration_s)
        self.docs[job.name] = job_status(job, store)
        self.write()

    def write(self) -> None:
        docs = [d for job in sorted(self.docs) for d in self.docs[job]]
        try:
            write_textfile(self.path, render([*state_families(docs), *self.counters.families()]))
        except OSError as exc:
            get_logger().warning("cannot write the metrics file %s: %s (check the folder exists and is "
                                 "writable)", self.path, exc.strerror or exc)


def progress_wanted(args: argparse.Namespace) -> bool:
    if getattr(args, "command", None) not in RUN_COMMANDS or getattr(args, "dry_run", False):
        return False
    if os.environ.get("LEGACY_BRIDGE_PROGRESS", "").lower() in ("0", "no", "off", "false"):
        return False
    return sys.stderr.isatty() and getattr(args, "log_format", "text") == "text"


_installed: dict[str, Any] = {}


def install(args: argparse.Namespace) -> None:
    """Register the hooks this command needs (idempotent per process)."""
    from legacy_bridge.observe import alerts

    events.on_flow_finished(alerts.on_flow_finished)
    path = getattr(args, "metrics_file", None)
    if path and "metrics" not in _installed:
        metrics = MetricsFile(Path(path))
        events.on_batch_committed(metrics.batch)
        events.on_flow_finished(metrics.flow_finished)
        _installed["metrics"] = metrics
    if progress_wanted(args) and "progress" not in _installed:
        display = ProgressDisplay()
        events.on_batch_committed(display.batch)
        events.on_flow_finished(lambda job, spec, result, store: display.finished(job.name, result.flow,
                                                                                  result.status))
        for handler in logging.getLogger(LOGGER_NAME).handlers:
            handler.addFilter(ClearProgress(display))
        _installed["progress"] = display
