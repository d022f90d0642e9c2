"""What several commands share: loading jobs, opening the state store, printing tables."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from legacy_bridge.config.loader import LoadedJob, all_job_files, jobs_dir, load_job
from legacy_bridge.config.refs import resolve_refs
from legacy_bridge.errors import ConfigError
from legacy_bridge.state import open_store
from legacy_bridge.state.base import StateStore


def add_job_arg(parser: argparse.ArgumentParser, nargs: str | None = None) -> None:
    parser.add_argument("job", nargs=nargs, help="job name (file stem in jobs/) or path to a job file")


def state_url(args: argparse.Namespace, job: LoadedJob | None = None) -> str:
    """Where the state store is: --state, then $LEGACY_BRIDGE_STATE, then the job's [state] url
    (references resolved), then var/state.db beside jobs/.  Every command asks this one function."""
    if getattr(args, "state", None):
        return str(args.state)
    env = os.environ.get("LEGACY_BRIDGE_STATE")
    if env:
        return env
    if job is None:
        return str(jobs_dir().parent / "var" / "state.db")
    return resolved_state_for(job) or str(job.base_dir / "var" / "state.db")


def open_job_state(args: argparse.Namespace, job: LoadedJob) -> StateStore:
    """The state store of a job (see ``state_url``)."""
    return open_store(state_url(args, job))


def load_jobs(refs: Sequence[str] | None, *, resolve_secrets: bool = False) -> list[LoadedJob]:
    paths = list(refs) if refs else [str(p) for p in all_job_files()]
    if not paths:
        raise ConfigError(f"no job files in {jobs_dir()}", hint="create jobs/<name>.toml or pass a path")
    return [load_job(p, resolve_secrets=resolve_secrets) for p in paths]


def resolved_state_for(job: LoadedJob) -> str | None:
    """The job's [state] url with references resolved (unresolved jobs keep ${...})."""
    if job.spec.state is None or not job.spec.state.url:
        return None
    problems: list[str] = []
    value = resolve_refs(job.spec.state.url, job.base_dir, problems, ("state", "url"))
    if problems:
        raise ConfigError("cannot resolve the state store URL", problems=problems)
    return str(value)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
