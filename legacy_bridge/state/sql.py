"""The state store on SQLite (a WAL file, the default) or PostgreSQL, through their drivers.

Every public method is one transaction.  Write transactions on SQLite begin with
``BEGIN IMMEDIATE`` (see ``db.py``), so concurrent processes queue for the write
lock instead of failing.  Database errors leave as ``StateError`` naming the store,
the operation and what to check.  The SQL is written once (``:name`` parameters) and
runs on both databases: both take ``INSERT ... ON CONFLICT ... DO UPDATE`` alike.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from legacy_bridge.errors import StateError
from legacy_bridge.observe.redact import redact
from legacy_bridge.records import Checkpoint, Counts, FileProgress, Reject
from legacy_bridge.state import codec, rows
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
from legacy_bridge.state.db import Database, connect, dicts, first, in_list, locate, translate
from legacy_bridge.state.schema import LATEST, apply_migrations, current_version, lock_for_migration, utcnow

CHUNK = 500  # keys per IN list: well under SQLite's bound-parameter limit
HOST = socket.gethostname()
_COUNT_FIELDS = ("read", "sent", "rejected", "skipped", "retried", "files")


def _quoted(column: str) -> str:
    return f'"{column}"' if column == "key" else column


def _insert(table: str, columns: Sequence[str]) -> str:
    """INSERT of one row, the parameters named as the columns."""
    return (f"INSERT INTO {table} ({', '.join(_quoted(c) for c in columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})")


_RUN_COLUMNS = ("job", "flow", "started", "status", "host", "pid", "watermark_before", "dry_run", *_COUNT_FIELDS)
_BEGIN_RUN = _insert("runs", _RUN_COLUMNS)
_ADD_COUNTS: dict[tuple[str, ...], str] = {}  # the UPDATE adding to a run's counts, per set of nonzero counts
_WATERMARK = ("INSERT INTO watermarks (job, flow, value, updated) VALUES (:job, :flow, :value, :updated) "
              "ON CONFLICT (job, flow) DO UPDATE SET value = excluded.value, updated = excluded.updated")
_FILE_PROGRESS = ("UPDATE files SET records_done = :b_done, rejects = rejects + :b_rejects, "
                  "status = CASE WHEN :b_finished THEN 'done' ELSE status END, updated = :b_now WHERE id = :b_file")
_HASH = ('INSERT INTO hashes (job, flow, "key", hash) VALUES (:job, :flow, :key, :hash) '
         'ON CONFLICT (job, flow, "key") DO UPDATE SET hash = excluded.hash')
_REGISTER_FILE = _insert("files", ("job", "flow", "name", "size", "mtime", "sha256", "status", "records_total",
                                  "records_done", "rejects", "encoding", "first_seen", "updated"))
_LEASE = (  # one atomic statement: free, expired or ours -> ours
    "INSERT INTO leases (job, flow, holder, host, pid, acquired, expires) "
    "VALUES (:job, :flow, :holder, :host, :pid, :acquired, :expires) "
    "ON CONFLICT (job, flow) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, "
    "expires = excluded.expires, "
    "acquired = CASE WHEN leases.holder = excluded.holder THEN leases.acquired ELSE excluded.acquired END "
    "WHERE leases.expires <= :now OR leases.holder = :holder")
_HEARTBEAT = ("INSERT INTO heartbeats (kind, host, pid, started, last_beat, info) "
              "VALUES (:kind, :host, :pid, :now, :now, :info)")
_REJECT = _insert("rejects", ("job", "flow", "run_id", "origin", "position", "key", "field", "value", "reason",
                              "raw", "stage", "status", "created"))


def holder_origin(holder: str) -> tuple[str, int]:
    """Host and pid of a lease holder: read from a ``HOST:PID:TOKEN`` holder id (what
    ``runtime/locks.py`` makes), else this process's own."""
    host, _, rest = holder.rpartition(":")
    host, _, pid = host.rpartition(":")
    if host and pid.isdigit() and rest:
        return host, int(pid)
    return HOST, os.getpid()


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _where(**equal: Any) -> tuple[str, dict[str, Any]]:
    """``a = :a AND b = :b`` for the given columns (None values left out) and its parameters."""
    given = {column: value for column, value in equal.items() if value is not None}
    return " AND ".join(f"{_quoted(c)} = :{c}" for c in given), given


def _limit(limit: int | None) -> str:
    return "" if limit is None else f" LIMIT {int(limit)}"


class SqlStateStore(StateStore):
    def __init__(self, url_or_path: str) -> None:
        where = locate(url_or_path)
        self.display_url = where.display
        self.db: Database = connect(where)
        self._hint = self.db.hint
        with self._op("open the store"):
            self._migrate()

    # --- plumbing ------------------------------------------------------------------------------
    @contextmanager
    def _op(self, operation: str, **where: Any) -> Iterator[None]:
        try:
            yield
        except StateError as exc:  # ours (e.g. a missing row): say which store and operation
            if not exc.message.startswith("state store "):
                exc.message = f"state store {self.display_url}: cannot {operation}: {exc.message}"
                exc.located(**where)
            raise
        except Exception as exc:
            if not isinstance(exc, (ValueError, OSError, *self.db.errors)):
                raise
            raise translate(exc, store=self.display_url, operation=operation, hint=self._hint,
                            where=where) from exc

    def _write(self) -> Any:
        return self.db.transaction(write=True)

    def _read(self) -> Any:
        return self.db.transaction()

    def _run(self, cursor: Any, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.db.execute(cursor, sql, params)

    def _migrate(self) -> None:
        with self._read() as cur:
            if current_version(self.db, cur) == LATEST:
                return
        with self._write() as cur:
            lock_for_migration(self.db, cur)
            apply_migrations(self.db, cur)

    @staticmethod
    def _must_touch(cursor: Any, what: str) -> None:
        if cursor.rowcount == 0:
            raise StateError(f"{what} is not in the state store",
                             hint="the store may have been reset or replaced; check --state / LEGACY_BRIDGE_STATE")

    # --- runs ----------------------------------------------------------------------------------
    def begin_run(self, job: str, flow: str, *, watermark_before: Any = None, dry_run: bool = False) -> int:
        with self._op("record the start of a run", job=job, flow=flow), self._write() as cur:
            return self.db.insert_id(cur, _BEGIN_RUN, {
                "job": job, "flow": flow, "started": utcnow(), "status": "running", "host": HOST,
                "pid": os.getpid(), "watermark_before": codec.encode(watermark_before), "dry_run": dry_run,
                **dict.fromkeys(_COUNT_FIELDS, 0)})

    def finish_run(self, run_id: int, *, status: RunStatus, watermark_after: Any = None,
                   error: str | None = None) -> None:
        with self._op("record the end of a run", run=run_id), self._write() as cur:
            self._must_touch(self._run(cur, "UPDATE runs SET ended = :ended, status = :status, "
                                            "watermark_after = :after, error = :error WHERE id = :id", {
                "ended": utcnow(), "status": status, "after": codec.encode(watermark_after),
                "error": redact(error) if error is not None else None, "id": run_id}), f"run {run_id}")

    def _add_counts(self, cursor: Any, run_id: int, counts: Counts) -> None:
        """Add ``counts`` to the run's: one UPDATE of the counts that are not 0 (a batch commit
        moves two or three of the six; binding all six cost a third of a commit's time)."""
        moved = tuple(f for f in _COUNT_FIELDS if getattr(counts, f))
        sql = _ADD_COUNTS.get(moved)
        if sql is None:  # with nothing to add, the UPDATE still says whether the run is there
            sets = [f"{f} = {f} + :b_{f}" for f in moved] or ["read = read"]
            sql = _ADD_COUNTS[moved] = f"UPDATE runs SET {', '.join(sets)} WHERE id = :b_run"
        params = {"b_run": run_id, **{f"b_{f}": getattr(counts, f) for f in moved}}
        self._must_touch(self._run(cursor, sql, params), f"run {run_id}")

    def add_run_counts(self, run_id: int, counts: Counts) -> None:
        with self._op("add to a run's counts", run=run_id), self._write() as cur:
            self._add_counts(cur, run_id, counts)

    def get_run(self, run_id: int) -> RunRecord:
        with self._op("read a run", run=run_id), self._read() as cur:
            row = first(self._run(cur, "SELECT * FROM runs WHERE id = :id", {"id": run_id}))
        if row is None:
            raise StateError(f"run {run_id} is not in the state store {self.display_url}",
                             hint="list the runs with: legacy-bridge history JOB")
        return rows.run_record(row)

    def last_runs(self, job: str | None = None) -> list[RunRecord]:
        of_job, params = ("", {}) if job is None else (" WHERE job = :job", {"job": job})
        query = (f"SELECT * FROM runs WHERE id IN (SELECT max(id) FROM runs{of_job} GROUP BY job, flow) "
                 "ORDER BY job, flow")
        with self._op("read the last runs", job=job), self._read() as cur:
            return [rows.run_record(r) for r in dicts(self._run(cur, query, params))]

    def history(self, job: str, flow: str | None = None, limit: int = 20) -> list[RunRecord]:
        where, params = _where(job=job, flow=flow)
        query = f"SELECT * FROM runs WHERE {where} ORDER BY id DESC{_limit(limit)}"
        with self._op("read the run history", job=job, flow=flow), self._read() as cur:
            return [rows.run_record(r) for r in dicts(self._run(cur, query, params))]

    # --- checkpoints ---------------------------------------------------------------------------
    def get_watermark(self, job: str, flow: str) -> Any:
        with self._op("read the watermark", job=job, flow=flow), self._read() as cur:
            found = self._run(cur, "SELECT value FROM watermarks WHERE job = :job AND flow = :flow",
                              {"job": job, "flow": flow}).fetchone()
        return codec.decode(found[0] if found else None)

    def commit_batch(self, *, run_id: int, job: str, flow: str, checkpoint: Checkpoint,
                     rejects: Sequence[Reject], counts: Counts) -> None:
        self.commit_batches(run_id=run_id, job=job, flow=flow, items=[(checkpoint, rejects, counts)])

    def commit_batches(self, *, run_id: int, job: str, flow: str,
                       items: Sequence[tuple[Checkpoint, Sequence[Reject], Counts]]) -> None:
        """The batches' checkpoints as ONE change: what a later batch's checkpoint overwrites (the
        watermark, a file's position) is written once, with the last batch's value; counts and
        reject counts are summed."""
        with self._op("commit a batch checkpoint (nothing of it was kept)", job=job, flow=flow, run=run_id):
            now = utcnow()
            total = Counts()
            watermark: Any = None
            progress: dict[int, tuple[FileProgress, int]] = {}  # file id -> its last position, rejects
            reject_rows: list[dict[str, Any]] = []
            for checkpoint, rejects, counts in items:
                total.add(counts)
                if checkpoint.watermark is not None:
                    watermark = checkpoint.watermark
                if checkpoint.file is not None:
                    _, before = progress.get(checkpoint.file.file_id, (None, 0))
                    progress[checkpoint.file.file_id] = (checkpoint.file, before + len(rejects))
                reject_rows += rows.reject_rows(rejects, job=job, flow=flow, run_id=run_id, now=now)
            with self._write() as cur:
                self._advance(cur, run_id, job, flow, watermark, progress, total, now)
                self._keys(cur, job, flow, [checkpoint for checkpoint, _, _ in items])
                if reject_rows:
                    self.db.execute_many(cur, _REJECT, reject_rows)

    def _advance(self, cursor: Any, run_id: int, job: str, flow: str, watermark: Any,
                 progress: Mapping[int, tuple[FileProgress, int]], total: Counts, now: Any) -> None:
        """The watermark, the files' positions and the run's counts after the batches."""
        if watermark is not None:
            self._run(cursor, _WATERMARK, {"job": job, "flow": flow, "value": codec.encode(watermark),
                                           "updated": now})
        for file_id, (file, n_rejects) in progress.items():
            self._must_touch(self._run(cursor, _FILE_PROGRESS, {
                "b_file": file_id, "b_done": file.records_done, "b_rejects": n_rejects,
                "b_finished": bool(file.finished), "b_now": now}), f"file {file_id} of the ledger")
        self._add_counts(cursor, run_id, total)

    def _keys(self, cursor: Any, job: str, flow: str, checkpoints: Sequence[Checkpoint]) -> None:
        """Remembered hashes and forgotten keys, in batch order (a key deleted in one batch may come
        back in a later one); with no deletes, one upsert where the last hash of a key wins."""
        def remember(latest: Mapping[str, str]) -> None:
            if latest:
                self.db.execute_many(cursor, _HASH, [{"job": job, "flow": flow, "key": k, "hash": h}
                                                     for k, h in latest.items()])

        if not any(c.deleted_keys for c in checkpoints):
            remember({k: h for c in checkpoints for k, h in c.hashes})
            return
        for checkpoint in checkpoints:
            remember(dict(checkpoint.hashes))
            for chunk in _chunks(list(checkpoint.deleted_keys)):
                keys, params = in_list("k", chunk)
                self._run(cursor, f'DELETE FROM hashes WHERE job = :job AND flow = :flow AND "key" IN {keys}',
                          {"job": job, "flow": flow, **params})

    def reset(self, job: str, flow: str) -> None:
        mine = {"job": job, "flow": flow}
        with self._op("reset the flow", job=job, flow=flow), self._write() as cur:
            for table in ("watermarks", "hashes", "files"):
                self._run(cur, f"DELETE FROM {table} WHERE job = :job AND flow = :flow", mine)

    # --- file ledger ---------------------------------------------------------------------------
    def find_file(self, job: str, flow: str, name: str, *, sha256: str | None = None,
                  size: int | None = None, mtime: float | None = None) -> FileEntry | None:
        where, params = _where(job=job, flow=flow, name=name, sha256=sha256, size=size, mtime=mtime)
        query = f"SELECT * FROM files WHERE {where} ORDER BY id DESC LIMIT 1"
        with self._op("look up a file in the ledger", job=job, flow=flow, file=name), self._read() as cur:
            row = first(self._run(cur, query, params))
        return rows.file_entry(row) if row is not None else None

    def find_files(self, job: str, flow: str,
                   listed: Sequence[tuple[str, int, float]]) -> dict[tuple[str, int, float], FileEntry]:
        wanted = set(listed)
        found: dict[tuple[str, int, float], FileEntry] = {}
        with self._op("look up the listed files in the ledger", job=job, flow=flow), self._read() as cur:
            for chunk in _chunks(list(dict.fromkeys(name for name, _size, _mtime in listed))):
                names, params = in_list("n", chunk)
                # every entry of these names, newest first: the first with a listed fingerprint wins
                query = f"SELECT * FROM files WHERE job = :job AND flow = :flow AND name IN {names} ORDER BY id DESC"
                for row in dicts(self._run(cur, query, {"job": job, "flow": flow, **params})):
                    key = (row["name"], row["size"], row["mtime"])
                    if key in wanted and key not in found:
                        found[key] = rows.file_entry(row)
        return found

    def register_file(self, job: str, flow: str, name: str, *, size: int, mtime: float, sha256: str,
                      records_total: int | None, encoding: str | None) -> FileEntry:
        now = utcnow()
        values = {"job": job, "flow": flow, "name": name, "size": size, "mtime": mtime, "sha256": sha256,
                  "status": "in_progress", "records_total": records_total, "records_done": 0, "rejects": 0,
                  "encoding": encoding, "first_seen": now, "updated": now}
        with self._op("add a file to the ledger", job=job, flow=flow, file=name), self._write() as cur:
            file_id = self.db.insert_id(cur, _REGISTER_FILE, values)
            row = first(self._run(cur, "SELECT * FROM files WHERE id = :id", {"id": file_id}))
            assert row is not None
            return rows.file_entry(row)

    def set_file_status(self, file_id: int, status: FileStatus, reason: str | None = None,
                        name: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "reason": reason, "updated": utcnow()}
        if name is not None:
            values["name"] = name
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        with self._op(f"set the status of ledger file {file_id}"), self._write() as cur:
            self._must_touch(self._run(cur, f"UPDATE files SET {assignments} WHERE id = :id",
                                       {**values, "id": file_id}), f"file {file_id} of the ledger")

    def list_files(self, job: str, flow: str | None = None, status: FileStatus | None = None,
                   limit: int | None = None) -> list[FileEntry]:
        where, params = _where(job=job, flow=flow, status=status)
        query = f"SELECT * FROM files WHERE {where} ORDER BY id DESC{_limit(limit)}"
        with self._op("list the file ledger", job=job, flow=flow), self._read() as cur:
            return [rows.file_entry(r) for r in dicts(self._run(cur, query, params))]

    # --- record hashes -------------------------------------------------------------------------
    def get_hashes(self, job: str, flow: str, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._op("read record hashes", job=job, flow=flow), self._read() as cur:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                listed, params = in_list("k", chunk)
                query = f'SELECT "key", hash FROM hashes WHERE job = :job AND flow = :flow AND "key" IN {listed}'
                found.update((k, h) for k, h in self._run(cur, query, {"job": job, "flow": flow, **params}))
        return found

    def iter_hash_keys(self, job: str, flow: str) -> Iterator[str]:
        query = 'SELECT "key" FROM hashes WHERE job = :job AND flow = :flow ORDER BY "key"'
        with self._op("stream record hash keys", job=job, flow=flow):
            for (key,) in self.db.stream(query, {"job": job, "flow": flow}, CHUNK):
                yield key

    # --- rejects -------------------------------------------------------------------------------
    def list_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open",
                     ids: Sequence[int] | None = None, limit: int | None = None) -> list[RejectEntry]:
        where, params = _where(job=job, flow=flow, status=status)
        found: list[RejectEntry] = []
        with self._op("list rejects", job=job, flow=flow), self._read() as cur:
            if ids is None:
                query = f"SELECT * FROM rejects WHERE {where} ORDER BY id{_limit(limit)}"
                return [rows.reject_entry(r) for r in dicts(self._run(cur, query, params))]
            for chunk in _chunks(sorted(set(ids))):
                listed, of_chunk = in_list("i", chunk)
                query = f"SELECT * FROM rejects WHERE {where} AND id IN {listed} ORDER BY id"
                found.extend(rows.reject_entry(r) for r in dicts(self._run(cur, query, {**params, **of_chunk})))
                if limit is not None and len(found) >= limit:
                    break
        return found[:limit] if limit is not None else found

    def count_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open") -> int:
        where, params = _where(job=job, flow=flow, status=status)
        with self._op("count rejects", job=job, flow=flow), self._read() as cur:
            return int(self._run(cur, f"SELECT count(*) FROM rejects WHERE {where}", params).fetchone()[0])

    def set_reject_status(self, ids: Sequence[int], status: RejectStatus) -> None:
        with self._op(f"mark rejects {status}"), self._write() as cur:
            for chunk in _chunks(sorted(set(ids))):
                listed, params = in_list("i", chunk)
                self._run(cur, f"UPDATE rejects SET status = :status WHERE id IN {listed}",
                          {"status": status, **params})

    def settle_rejects(self, job: str, flow: str, *, statuses: Mapping[int, RejectStatus],
                       still_open: Sequence[tuple[int, Reject]] = ()) -> None:
        mine = {"job": job, "flow": flow}
        with self._op("record the outcome of a replay (nothing of it was kept)", job=job, flow=flow), \
                self._write() as cur:
            for status in sorted(set(statuses.values())):
                ids = sorted(i for i, s in statuses.items() if s == status)
                for chunk in _chunks(ids):
                    listed, params = in_list("i", chunk)
                    self._run(cur, f"UPDATE rejects SET status = :status WHERE job = :job AND flow = :flow "
                                   f"AND id IN {listed}", {"status": status, **mine, **params})
            for reject_id, r in still_open:
                self._run(cur, 'UPDATE rejects SET status = :status, "key" = :key, field = :field, value = :value, '
                               "reason = :reason, stage = :stage WHERE job = :job AND flow = :flow AND id = :id", {
                    "status": "open", "key": _opt_text(r.key), "field": _opt_text(r.field),
                    "value": _opt_text(r.value), "reason": r.reason, "stage": r.stage, **mine, "id": reject_id})

    # --- leases --------------------------------------------------------------------------------
    def acquire_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> LeaseInfo | None:
        now = utcnow()
        host, pid = holder_origin(holder)
        values = {"job": job, "flow": flow, "holder": holder, "host": host, "pid": pid,
                  "acquired": now, "expires": now + timedelta(seconds=ttl_s), "now": now}
        with self._op("take the flow's lease", job=job, flow=flow), self._write() as cur:
            self._run(cur, _LEASE, values)
            row = first(self._run(cur, "SELECT * FROM leases WHERE job = :job AND flow = :flow",
                                  {"job": job, "flow": flow}))
        assert row is not None
        return None if row["holder"] == holder else rows.lease_info(row)

    def renew_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> bool:
        expires = utcnow() + timedelta(seconds=ttl_s)
        with self._op("renew the flow's lease", job=job, flow=flow), self._write() as cur:
            done = self._run(cur, "UPDATE leases SET expires = :expires "
                                  "WHERE job = :job AND flow = :flow AND holder = :holder",
                             {"expires": expires, "job": job, "flow": flow, "holder": holder})
            return bool(done.rowcount == 1)

    def release_lease(self, job: str, flow: str, holder: str) -> None:
        with self._op("release the flow's lease", job=job, flow=flow), self._write() as cur:
            self._run(cur, "DELETE FROM leases WHERE job = :job AND flow = :flow AND holder = :holder",
                      {"job": job, "flow": flow, "holder": holder})

    def current_lease(self, job: str, flow: str) -> LeaseInfo | None:
        query = "SELECT * FROM leases WHERE job = :job AND flow = :flow AND expires > :now"
        with self._op("read the flow's lease", job=job, flow=flow), self._read() as cur:
            row = first(self._run(cur, query, {"job": job, "flow": flow, "now": utcnow()}))
        return rows.lease_info(row) if row is not None else None

    # --- process heartbeats --------------------------------------------------------------------
    def beat(self, kind: str, info: Mapping[str, Any] | None = None) -> int:
        values = {"kind": kind, "host": HOST, "pid": os.getpid(), "now": utcnow(),
                  "info": json.dumps(dict(info or {}), default=str)}
        with self._op(f"register a {kind} heartbeat"), self._write() as cur:
            return self.db.insert_id(cur, _HEARTBEAT, values)

    def heartbeat(self, beat_id: int, info: Mapping[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"last_beat": utcnow()}
        if info is not None:
            values["info"] = json.dumps(dict(info), default=str)
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        with self._op(f"record heartbeat {beat_id}"), self._write() as cur:
            self._must_touch(self._run(cur, f"UPDATE heartbeats SET {assignments} WHERE id = :id",
                                       {**values, "id": beat_id}), f"heartbeat {beat_id}")

    def end_heartbeat(self, beat_id: int) -> None:
        with self._op(f"end heartbeat {beat_id}"), self._write() as cur:
            self._run(cur, "DELETE FROM heartbeats WHERE id = :id", {"id": beat_id})

    def list_heartbeats(self) -> list[HeartbeatInfo]:
        with self._op("list heartbeats"), self._read() as cur:
            return [rows.heartbeat_info(r) for r in dicts(self._run(cur, "SELECT * FROM heartbeats ORDER BY id"))]

    def close(self) -> None:
        self.db.close()

    def __repr__(self) -> str:
        return f"SqlStateStore({self.display_url!r})"
