"""Which listed files are complete: ignore patterns, done markers, and ``min_age``
(size and mtime unchanged across two looks that far apart - one wait for all)."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from legacy_bridge.transports.base import RemoteFile, Transport


@dataclass(frozen=True)
class Candidate:
    file: RemoteFile
    marker: str | None = None  # the done-marker file to consume with it


def marker_for(name: str, template: str) -> str:
    folder, base = posixpath.split(name)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    marker = template.replace("{name}", base).replace("{stem}", stem)
    return posixpath.join(folder, marker) if folder else marker


def is_ignored(name: str, ignore: Sequence[str]) -> bool:
    base = posixpath.basename(name)
    return any(fnmatch.fnmatchcase(base, p) for p in ignore)


def with_markers(files: Sequence[RemoteFile], every_name: set[str], template: str | None) -> list[Candidate]:
    """Files whose done marker exists (all files when no marker is declared)."""
    if template is None:
        return [Candidate(f) for f in files]
    out = []
    for f in files:
        marker = marker_for(f.name, template)
        if marker in every_name and marker != f.name:
            out.append(Candidate(f, marker))
    return out


def stable(transport: Transport, candidates: Sequence[Candidate], min_age: float,
           wait: Callable[[float], bool]) -> tuple[list[Candidate], list[Candidate]]:
    """(stable, still changing).  ``wait(seconds)`` returns True when the run should stop."""
    if min_age <= 0 or not candidates:
        return list(candidates), []
    if wait(min_age):
        return [], []
    ready, moving = [], []
    for cand in candidates:
        now = transport.stat(cand.file.name)
        if now is not None and now.size == cand.file.size and now.mtime == cand.file.mtime:
            ready.append(cand)
        elif now is not None:
            moving.append(cand)
    return ready, moving
