"""What the watcher needs to know about a files flow's drop folder.

The files source stays the authority on which file is taken and when (stability over
``min_age``, the ledger's fingerprints); the watcher only asks "is there anything here
that could be taken now?" so that it does not start a run for nothing.  It applies the
source's own naming rules (patterns, ignore patterns, done markers, the archive and
quarantine folders) and leaves out files the ledger already settled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legacy_bridge.sources.files import FilesSpec, drop_files, unsettled
from legacy_bridge.sources.ready import with_markers
from legacy_bridge.state.base import StateStore
from legacy_bridge.transports.base import RemoteFile, Transport


@dataclass(frozen=True)
class Drop:
    """A flow's drop folder as the watcher sees it."""

    job: str
    flow: str
    spec: FilesSpec
    local_folder: str | None  # the folder on this machine, when the transport is local

    @property
    def transport_kind(self) -> str:
        return str(getattr(self.spec.transport, "kind", "local"))

    @property
    def path(self) -> str:
        return str(self.spec.path)

    @property
    def poll_s(self) -> float:
        return float(self.spec.poll_interval)

    @property
    def polling(self) -> bool:
        return bool(self.spec.polling)

    @property
    def recursive(self) -> bool:
        return bool(self.spec.recursive)

    def waiting(self, transport: Transport, store: StateStore) -> list[RemoteFile]:
        """Complete-looking files not settled in the ledger, oldest first."""
        spec = self.spec
        listing = transport.list(["*"], spec.recursive)
        every = {f.name for f in listing}
        files = drop_files(spec, listing)
        if spec.ready.done_marker:
            files = [c.file for c in with_markers(files, every, spec.ready.done_marker)]
        open_ = unsettled(files, lambda listed: store.find_files(self.job, self.flow, listed))
        return sorted((f for f in files if f.name in open_), key=lambda f: (f.mtime, f.name))

    def ready_at(self, f: RemoteFile) -> float:
        """The earliest time (epoch seconds) ``f`` can pass ``min_age``."""
        return f.mtime + float(self.spec.ready.min_age)

    def plausibly_ready(self, files: list[RemoteFile], now: float | None = None) -> list[RemoteFile]:
        now = time.time() if now is None else now
        return [f for f in files if self.ready_at(f) <= now]


def drop_of(job: str, flow_spec: Any, base_dir: Path) -> Drop | None:
    """The drop of a files flow, or None for other sources (tables are scheduled, not watched)."""
    source = flow_spec.source
    if not isinstance(source, FilesSpec):
        return None
    local = None
    if getattr(source.transport, "kind", None) == "local":
        p = Path(source.path)
        local = str(p if p.is_absolute() else (base_dir / p))
    return Drop(job=job, flow=flow_spec.name, spec=source, local_folder=local)


def build_transport(flow_spec: Any, base_dir: Path) -> Transport:
    """A transport for the flow's drop folder (the watcher's own, for listing only)."""
    from legacy_bridge.transports import REGISTRY as TRANSPORTS

    source = flow_spec.source
    return TRANSPORTS.build(source.transport, str(source.path), base_dir)
