"""The state store's interface: runs, checkpoints, file ledger, rejects, record hashes, leases.

One implementation (``state/sql.py``) runs on SQLAlchemy 2.x against SQLite (WAL) and
PostgreSQL; both pass the same contract suite (tests/integration/state).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from legacy_bridge.records import Checkpoint, Counts, Reject

RunStatus = Literal["running", "ok", "rejects", "failed", "interrupted"]
FileStatus = Literal["in_progress", "done", "quarantined"]
RejectStatus = Literal["open", "replayed", "resolved"]


@dataclass(frozen=True)
class RunRecord:
    id: int
    job: str
    flow: str
    started: datetime
    ended: datetime | None
    status: RunStatus
    read: int
    sent: int
    rejected: int
    skipped: int
    retried: int
    files: int
    watermark_before: Any
    watermark_after: Any
    error: str | None
    host: str
    pid: int
    dry_run: bool

    @property
    def duration_s(self) -> float | None:
        return (self.ended - self.started).total_seconds() if self.ended else None


@dataclass(frozen=True)
class FileEntry:
    id: int
    job: str
    flow: str
    name: str
    size: int
    mtime: float
    sha256: str
    status: FileStatus
    records_total: int | None
    records_done: int
    rejects: int
    encoding: str | None
    reason: str | None
    first_seen: datetime
    updated: datetime


@dataclass(frozen=True)
class RejectEntry:
    id: int
    job: str
    flow: str
    run_id: int | None
    origin: str
    position: str
    key: str | None
    field: str | None
    value: str | None
    reason: str
    raw: dict[str, Any] | None
    stage: str
    status: RejectStatus
    created: datetime


@dataclass(frozen=True)
class LeaseInfo:
    job: str
    flow: str
    holder: str
    host: str
    pid: int
    acquired: datetime
    expires: datetime


@dataclass(frozen=True)
class HeartbeatInfo:
    """A long-running process (scheduler, watcher) saying it is alive."""

    id: int
    kind: str
    host: str
    pid: int
    started: datetime
    last_beat: datetime
    info: dict[str, Any]


class StateStore(ABC):
    """All timestamps are timezone-aware UTC.  Watermarks are JSON-able values; they are
    stored typed (see ``state/codec.py``) so dates and decimals come back as they went in."""

    display_url: str  # the URL with any password replaced by ***

    # --- runs -----------------------------------------------------------------------
    @abstractmethod
    def begin_run(self, job: str, flow: str, *, watermark_before: Any = None, dry_run: bool = False) -> int: ...

    @abstractmethod
    def finish_run(
        self, run_id: int, *, status: RunStatus, watermark_after: Any = None, error: str | None = None
    ) -> None:
        """Set end time, status, error and the final watermark.  Counts are already there:
        ``commit_batch`` adds each batch's counts to its run in the same transaction."""

    @abstractmethod
    def add_run_counts(self, run_id: int, counts: Counts) -> None:
        """Add counts that belong to no checkpoint (e.g. files skipped, dry-run figures)."""

    @abstractmethod
    def get_run(self, run_id: int) -> RunRecord: ...

    @abstractmethod
    def last_runs(self, job: str | None = None) -> list[RunRecord]:
        """The latest run of every (job, flow), or of one job's flows."""

    @abstractmethod
    def history(self, job: str, flow: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Runs newest first."""

    # --- checkpoints ----------------------------------------------------------------------
    @abstractmethod
    def get_watermark(self, job: str, flow: str) -> Any: ...

    @abstractmethod
    def commit_batch(
        self,
        *,
        run_id: int,
        job: str,
        flow: str,
        checkpoint: Checkpoint,
        rejects: Sequence[Reject],
        counts: Counts,
    ) -> None:
        """In ONE transaction: the new watermark (if not None), the file's progress (and
        its reject count, and status done when finished), the hashes to remember, the keys
        to forget, the rejects, and the run's counts.  Either all of it or none of it."""

    def commit_batches(self, *, run_id: int, job: str, flow: str,
                       items: Sequence[tuple[Checkpoint, Sequence[Reject], Counts]]) -> None:
        """``commit_batch`` for several batches in source order, in ONE transaction (the runner
        uses it when several contiguous batches were acknowledged together).  Stores that can
        must override this; the default commits them one by one, still in order."""
        for checkpoint, rejects, counts in items:
            self.commit_batch(run_id=run_id, job=job, flow=flow, checkpoint=checkpoint,
                              rejects=rejects, counts=counts)

    @abstractmethod
    def reset(self, job: str, flow: str) -> None:
        """Forget the flow's watermark, record hashes and file ledger (runs and rejects stay)."""

    # --- file ledger ------------------------------------------------------------------------
    @abstractmethod
    def find_file(self, job: str, flow: str, name: str, *, sha256: str | None = None,
                  size: int | None = None, mtime: float | None = None) -> FileEntry | None:
        """The newest entry for ``name`` matching every fingerprint part given."""

    @abstractmethod
    def find_files(self, job: str, flow: str,
                   listed: Sequence[tuple[str, int, float]]) -> dict[tuple[str, int, float], FileEntry]:
        """``find_file`` for each listed ``(name, size, mtime)`` at once: the newest entry of each
        that the ledger holds, keyed by the same triple (a file it has never seen is absent).  A
        listing asks this on every run and every watcher poll: a few queries, not one per file."""

    @abstractmethod
    def register_file(self, job: str, flow: str, name: str, *, size: int, mtime: float, sha256: str,
                      records_total: int | None, encoding: str | None) -> FileEntry:
        """A new ledger entry in status in_progress with records_done 0."""

    @abstractmethod
    def set_file_status(self, file_id: int, status: FileStatus, reason: str | None = None,
                        name: str | None = None) -> None:
        """Change a file's status (quarantined with its reason); ``name`` records where it moved."""

    @abstractmethod
    def list_files(self, job: str, flow: str | None = None, status: FileStatus | None = None,
                   limit: int | None = None) -> list[FileEntry]:
        """Newest first."""

    # --- record hashes ------------------------------------------------------------------------
    @abstractmethod
    def get_hashes(self, job: str, flow: str, keys: Sequence[str]) -> dict[str, str]: ...

    @abstractmethod
    def iter_hash_keys(self, job: str, flow: str) -> Iterator[str]:
        """Every remembered key (streamed; used by diff mode to find deletions)."""

    # --- rejects ------------------------------------------------------------------------------
    @abstractmethod
    def list_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open",
                     ids: Sequence[int] | None = None, limit: int | None = None) -> list[RejectEntry]:
        """Oldest first."""

    @abstractmethod
    def count_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open") -> int:
        """How many ``list_rejects`` would return without a limit (without reading them)."""

    @abstractmethod
    def set_reject_status(self, ids: Sequence[int], status: RejectStatus) -> None: ...

    @abstractmethod
    def settle_rejects(self, job: str, flow: str, *, statuses: Mapping[int, RejectStatus],
                       still_open: Sequence[tuple[int, Reject]] = ()) -> None:
        """After a replay, in ONE transaction: set the status of the rejects in ``statuses``
        (``replayed`` once the target acknowledged them), and for each (id, reject) in
        ``still_open`` keep the row open with its key, field, value, reason and stage replaced
        by the new outcome (origin, position, raw record and id stay).  Only rows of this
        job and flow are touched."""

    # --- leases -------------------------------------------------------------------------------
    @abstractmethod
    def acquire_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> LeaseInfo | None:
        """Take the flow's lease if it is free or expired: None on success, else the current holder.

        A holder id of the form ``HOST:PID:TOKEN`` (see ``runtime/locks.py``) records that
        host and pid; any other id records the calling process's host and pid."""

    @abstractmethod
    def renew_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> bool:
        """Extend our lease; False if we lost it."""

    @abstractmethod
    def release_lease(self, job: str, flow: str, holder: str) -> None: ...

    @abstractmethod
    def current_lease(self, job: str, flow: str) -> LeaseInfo | None:
        """The unexpired lease of the flow, if any."""

    # --- process heartbeats ----------------------------------------------------------------------
    @abstractmethod
    def beat(self, kind: str, info: Mapping[str, Any] | None = None) -> int:
        """Register this process (host, pid) as a live ``kind`` (scheduler, watcher); returns its id."""

    @abstractmethod
    def heartbeat(self, beat_id: int, info: Mapping[str, Any] | None = None) -> None:
        """Say we are still alive (and replace the info, if given)."""

    @abstractmethod
    def end_heartbeat(self, beat_id: int) -> None:
        """This process stops: forget its heartbeat."""

    @abstractmethod
    def list_heartbeats(self) -> list[HeartbeatInfo]:
        """Every registered process, oldest first (callers judge liveness by ``last_beat``)."""

    @abstractmethod
    def close(self) -> None: ...
