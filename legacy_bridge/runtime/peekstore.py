"""A state store that can only be read: what ``preview`` hands to a source.

Reads go to the real store (so a preview starts where the next run would), or, with
``from_start`` or no store at all, see an empty one (as after ``reset``).  Every write
raises ``StateError``: a preview can never move a watermark, register a file or record
a reject, whatever a source does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from legacy_bridge.errors import StateError
from legacy_bridge.records import Checkpoint, Counts, Reject
from legacy_bridge.state.base import (
    FileEntry,
    FileStatus,
    HeartbeatInfo,
    LeaseInfo,
    RejectEntry,
    RejectStatus,
    RunRecord,
    RunStatus,
    StateStore,
)


class PeekStore(StateStore):
    def __init__(self, inner: StateStore | None, *, from_start: bool = False) -> None:
        self._inner = None if from_start else inner
        self.display_url = inner.display_url if inner is not None else "(none)"

    def _refuse(self, what: str) -> NoReturn:
        raise StateError(f"a preview must not change the state store (it tried to {what})",
                         hint="this is a bug in the source plugin: report it with the command you ran")

    # --- reads -------------------------------------------------------------------------------
    def get_watermark(self, job: str, flow: str) -> Any:
        return None if self._inner is None else self._inner.get_watermark(job, flow)

    def find_file(self, job: str, flow: str, name: str, *, sha256: str | None = None,
                  size: int | None = None, mtime: float | None = None) -> FileEntry | None:
        if self._inner is None:
            return None
        return self._inner.find_file(job, flow, name, sha256=sha256, size=size, mtime=mtime)

    def find_files(self, job: str, flow: str,
                   listed: Sequence[tuple[str, int, float]]) -> dict[tuple[str, int, float], FileEntry]:
        return {} if self._inner is None else self._inner.find_files(job, flow, listed)

    def list_files(self, job: str, flow: str | None = None, status: FileStatus | None = None,
                   limit: int | None = None) -> list[FileEntry]:
        return [] if self._inner is None else self._inner.list_files(job, flow, status, limit)

    def get_hashes(self, job: str, flow: str, keys: Sequence[str]) -> dict[str, str]:
        return {} if self._inner is None else self._inner.get_hashes(job, flow, keys)

    def iter_hash_keys(self, job: str, flow: str) -> Iterator[str]:
        return iter(()) if self._inner is None else self._inner.iter_hash_keys(job, flow)

    def list_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open",
                     ids: Sequence[int] | None = None, limit: int | None = None) -> list[RejectEntry]:
        return [] if self._inner is None else self._inner.list_rejects(job, flow, status=status, ids=ids, limit=limit)

    def count_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open") -> int:
        return 0 if self._inner is None else self._inner.count_rejects(job, flow, status=status)

    def get_run(self, run_id: int) -> RunRecord:
        if self._inner is None:
            raise StateError(f"no run {run_id} in an empty state store")
        return self._inner.get_run(run_id)

    def last_runs(self, job: str | None = None) -> list[RunRecord]:
        return [] if self._inner is None else self._inner.last_runs(job)

    def history(self, job: str, flow: str | None = None, limit: int = 20) -> list[RunRecord]:
        return [] if self._inner is None else self._inner.history(job, flow, limit)

    def current_lease(self, job: str, flow: str) -> LeaseInfo | None:
        return None if self._inner is None else self._inner.current_lease(job, flow)

    def list_heartbeats(self) -> list[HeartbeatInfo]:
        return [] if self._inner is None else self._inner.list_heartbeats()

    def close(self) -> None:
        return None  # the caller closes the real store

    # --- writes: refused ---------------------------------------------------------------------
    def begin_run(self, job: str, flow: str, *, watermark_before: Any = None, dry_run: bool = False) -> int:
        self._refuse("begin a run")

    def finish_run(self, run_id: int, *, status: RunStatus, watermark_after: Any = None,
                   error: str | None = None) -> None:
        self._refuse("finish a run")

    def add_run_counts(self, run_id: int, counts: Counts) -> None:
        self._refuse("add run counts")

    def commit_batch(self, *, run_id: int, job: str, flow: str, checkpoint: Checkpoint,
                     rejects: Sequence[Reject], counts: Counts) -> None:
        self._refuse("commit a checkpoint")

    def reset(self, job: str, flow: str) -> None:
        self._refuse("reset the flow")

    def register_file(self, job: str, flow: str, name: str, *, size: int, mtime: float, sha256: str,
                      records_total: int | None, encoding: str | None) -> FileEntry:
        self._refuse(f"register {name} in the file ledger")

    def set_file_status(self, file_id: int, status: FileStatus, reason: str | None = None,
                        name: str | None = None) -> None:
        self._refuse(f"mark a file {status}")

    def set_reject_status(self, ids: Sequence[int], status: RejectStatus) -> None:
        self._refuse("change rejects")

    def settle_rejects(self, job: str, flow: str, *, statuses: Mapping[int, RejectStatus],
                       still_open: Sequence[tuple[int, Reject]] = ()) -> None:
        self._refuse("change rejects")

    def acquire_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> LeaseInfo | None:
        self._refuse("take the flow's lease")

    def renew_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> bool:
        self._refuse("renew a lease")

    def release_lease(self, job: str, flow: str, holder: str) -> None:
        self._refuse("release a lease")

    def beat(self, kind: str, info: Mapping[str, Any] | None = None) -> int:
        self._refuse("register a heartbeat")

    def heartbeat(self, beat_id: int, info: Mapping[str, Any] | None = None) -> None:
        self._refuse("beat")

    def end_heartbeat(self, beat_id: int) -> None:
        self._refuse("end a heartbeat")
