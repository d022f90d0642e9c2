"""Job files a long-running process serves, reloaded when they change.

A changed file that no longer validates is reported (every problem, with key paths)
and its previous valid version stays in service until it is fixed.  Without explicit
job names, every ``*.toml`` in the jobs folder is served, and files added or removed
there are picked up too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from legacy_bridge.config.loader import LoadedJob, all_job_files, find_job_file, load_job
from legacy_bridge.errors import ConfigError

ChangeKind = Literal["added", "changed", "invalid", "removed"]


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: Path
    job: LoadedJob | None = None  # the new valid version ("added", "changed")
    error: str | None = None  # why the file was refused ("invalid")


def _fingerprint(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class JobFiles:
    def __init__(self, refs: Sequence[str] | None = None,
                 loader: Callable[[Path], LoadedJob] = load_job) -> None:
        # an explicit name that matches no file is a usage error at start (ConfigError)
        self.fixed = [find_job_file(ref) for ref in refs] if refs else None
        self.loader = loader
        self.jobs: dict[Path, LoadedJob] = {}  # the version in service, per file
        self._seen: dict[Path, tuple[int, int] | None] = {}

    def _paths(self) -> list[Path]:
        return list(self.fixed) if self.fixed is not None else all_job_files()

    def scan(self) -> list[Change]:
        """Compare the files with the versions in service; load what changed."""
        changes: list[Change] = []
        paths = self._paths()
        for path in paths:
            fp = _fingerprint(path)
            if path in self._seen and self._seen[path] == fp:
                continue
            self._seen[path] = fp
            if fp is None:
                if self.jobs.pop(path, None) is not None:
                    changes.append(Change("removed", path))
                continue
            try:
                job = self.loader(path)
            except ConfigError as exc:
                changes.append(Change("invalid", path, job=self.jobs.get(path), error=str(exc)))
                continue
            changes.append(Change("changed" if path in self.jobs else "added", path, job=job))
            self.jobs[path] = job
        for path in [p for p in self._seen if p not in paths]:
            del self._seen[path]
            if self.jobs.pop(path, None) is not None:
                changes.append(Change("removed", path))
        return changes
