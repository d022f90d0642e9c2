"""The state store on SQLAlchemy 2.x Core: SQLite (a WAL file, the default) or PostgreSQL.

Every public method is one transaction.  Write transactions on SQLite begin with
``BEGIN IMMEDIATE`` (see ``engine.py``), so concurrent processes queue for the write
lock instead of failing.  Database errors leave as ``StateError`` naming the store,
the operation and what to check.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Delete, Insert, Select, Table, bindparam, case, func, or_, select, true
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

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
from legacy_bridge.state.engine import IMMEDIATE, display, hint_for, make_engine, normalise_url, translate
from legacy_bridge.state.schema import (
    LATEST,
    apply_migrations,
    current_version,
    files,
    hashes,
    heartbeats,
    leases,
    lock_for_migration,
    reject_table,
    runs,
    utcnow,
    watermarks,
)

CHUNK = 500  # keys per IN list: well under SQLite's bound-parameter limit
HOST = socket.gethostname()
_COUNT_FIELDS = ("read", "sent", "rejected", "skipped", "retried", "files")

# The statements of the per-batch commit, built once with bind parameters: SQLAlchemy then finds
# them in its compiled cache instead of rebuilding the expressions for every batch (a third of
# the commit's cost when they were built per call).
_ADD_COUNTS = runs.update().where(runs.c.id == bindparam("b_run")).values(
    {f: runs.c[f] + bindparam(f"b_{f}") for f in _COUNT_FIELDS})
_FILE_PROGRESS = files.update().where(files.c.id == bindparam("b_file")).values(
    records_done=bindparam("b_done"), rejects=files.c.rejects + bindparam("b_rejects"),
    status=case((bindparam("b_finished") == true(), "done"), else_=files.c.status), updated=bindparam("b_now"))


class _Prepared:
    """A statement of the per-batch commit compiled once for the store's dialect and run on the
    driver's cursor inside the SQLAlchemy transaction.  SQLAlchemy's per-execute machinery
    (about 130 us a statement) was most of a checkpoint commit's cost; the SQL, the parameter
    order and the type conversions (``UTCDateTime``) are still SQLAlchemy's."""

    def __init__(self, stmt: Any, dialect: Any, keys: Sequence[str] | None = None) -> None:
        self._compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        self.sql = self._compiled.string
        self._order = list(self._compiled.positiontup or ()) if self._compiled.positional else None
        self._convert = {name: proc for name, bind in self._compiled.binds.items()
                         if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}

    def run(self, cursor: Any, params: Mapping[str, Any]) -> Any:
        """Execute with ``params`` (bind names -> values); returns the cursor (``rowcount``)."""
        values = self._compiled.construct_params(dict(params))
        for name, convert in self._convert.items():
            values[name] = convert(values[name])
        cursor.execute(self.sql, [values[n] for n in self._order] if self._order is not None else values)
        return cursor


def holder_origin(holder: str) -> tuple[str, int]:
    """Host and pid of a lease holder: read from a ``HOST:PID:TOKEN`` holder id (what
    ``runtime/locks.py`` makes), else this process's own."""
    host, _, rest = holder.rpartition(":")
    host, _, pid = host.rpartition(":")
    if host and pid.isdigit() and rest:
        return host, int(pid)
    return HOST, os.getpid()


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SqlStateStore(StateStore):
    def __init__(self, url_or_path: str) -> None:
        self._url = normalise_url(url_or_path)
        self.display_url = display(self._url)
        self._hint = hint_for(self._url)
        self._dialect = self._url.get_backend_name()
        self._watermark_upsert = self._upsert(watermarks, ("job", "flow"), ("value", "updated"))
        self._hash_upsert = self._upsert(hashes, ("job", "flow", "key"), ("hash",))
        self._driver_error: type[Exception] = SQLAlchemyError  # the driver's, once the engine is made
        with self._op("open the store"):
            self._engine = make_engine(self._url)
            dialect = self._engine.dialect
            self._driver_error = dialect.loaded_dbapi.Error  # what _write_raw's statements raise
            self._fast = {"watermark": _Prepared(self._watermark_upsert, dialect, ("job", "flow", "value", "updated")),
                          "file": _Prepared(_FILE_PROGRESS, dialect), "counts": _Prepared(_ADD_COUNTS, dialect)}
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
        except (SQLAlchemyError, ValueError, OSError, self._driver_error) as exc:
            raise translate(exc, store=self.display_url, operation=operation, hint=self._hint,
                            where=where) from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def _write_raw(self) -> Iterator[Any]:
        """A write transaction on a pooled driver connection, without SQLAlchemy's Connection
        (whose connect/begin/commit cost about 300 us): SQLite begins it IMMEDIATE like
        ``_write``; psycopg begins one implicitly."""
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                if self._dialect == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def _migrate(self) -> None:
        with self._read() as conn:
            if current_version(conn) == LATEST:
                return
        with self._write() as conn:
            lock_for_migration(conn)
            apply_migrations(conn)

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT with ON CONFLICT.  Imported here: SQLAlchemy's PostgreSQL dialect
        (with asyncpg's, and asyncio) costs ~2 MB and ~18 ms at start-up, for a SQLite store too."""
        if self._dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    def _upsert(self, table: Table, keys: Sequence[str], update: Sequence[str]) -> Insert:
        """INSERT ... ON CONFLICT (keys) DO UPDATE SET update-columns (SQLite and PostgreSQL)."""
        stmt = self._insert(table)
        upsert: Insert = stmt.on_conflict_do_update(index_elements=list(keys),
                                                    set_={c: stmt.excluded[c] for c in update})
        return upsert

    @staticmethod
    def _must_touch(result: Any, what: str) -> None:
        if result.rowcount == 0:
            raise StateError(f"{what} is not in the state store",
                             hint="the store may have been reset or replaced; check --state / LEGACY_BRIDGE_STATE")

    # --- runs ----------------------------------------------------------------------------------
    def begin_run(self, job: str, flow: str, *, watermark_before: Any = None, dry_run: bool = False) -> int:
        with self._op("record the start of a run", job=job, flow=flow), self._write() as conn:
            result = conn.execute(runs.insert().values(
                job=job, flow=flow, started=utcnow(), status="running", host=HOST, pid=os.getpid(),
                watermark_before=codec.encode(watermark_before), dry_run=dry_run,
                **dict.fromkeys(_COUNT_FIELDS, 0)))
            return _new_id(result)

    def finish_run(self, run_id: int, *, status: RunStatus, watermark_after: Any = None,
                   error: str | None = None) -> None:
        with self._op("record the end of a run", run=run_id), self._write() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id).values(
                ended=utcnow(), status=status, watermark_after=codec.encode(watermark_after),
                error=redact(error) if error is not None else None))
            self._must_touch(result, f"run {run_id}")

    @staticmethod
    def _add_counts(conn: Connection, run_id: int, counts: Counts) -> None:
        params = {f"b_{f}": getattr(counts, f) for f in _COUNT_FIELDS}
        SqlStateStore._must_touch(conn.execute(_ADD_COUNTS, {"b_run": run_id, **params}), f"run {run_id}")

    def add_run_counts(self, run_id: int, counts: Counts) -> None:
        with self._op("add to a run's counts", run=run_id), self._write() as conn:
            self._add_counts(conn, run_id, counts)

    def get_run(self, run_id: int) -> RunRecord:
        with self._op("read a run", run=run_id), self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise StateError(f"run {run_id} is not in the state store {self.display_url}",
                             hint="list the runs with: legacy-bridge history JOB")
        return rows.run_record(row)

    def last_runs(self, job: str | None = None) -> list[RunRecord]:
        latest = select(func.max(runs.c.id)).group_by(runs.c.job, runs.c.flow)
        if job is not None:
            latest = latest.where(runs.c.job == job)
        query = select(runs).where(runs.c.id.in_(latest.scalar_subquery())).order_by(runs.c.job, runs.c.flow)
        with self._op("read the last runs", job=job), self._read() as conn:
            return [rows.run_record(r) for r in conn.execute(query)]

    def history(self, job: str, flow: str | None = None, limit: int = 20) -> list[RunRecord]:
        query = select(runs).where(runs.c.job == job)
        if flow is not None:
            query = query.where(runs.c.flow == flow)
        query = query.order_by(runs.c.id.desc()).limit(limit)
        with self._op("read the run history", job=job, flow=flow), self._read() as conn:
            return [rows.run_record(r) for r in conn.execute(query)]

    # --- checkpoints ---------------------------------------------------------------------------
    def get_watermark(self, job: str, flow: str) -> Any:
        query = select(watermarks.c.value).where(watermarks.c.job == job, watermarks.c.flow == flow)
        with self._op("read the watermark", job=job, flow=flow), self._read() as conn:
            return codec.decode(conn.execute(query).scalar())

    def commit_batch(self, *, run_id: int, job: str, flow: str, checkpoint: Checkpoint,
                     rejects: Sequence[Reject], counts: Counts) -> None:
        self.commit_batches(run_id=run_id, job=job, flow=flow, items=[(checkpoint, rejects, counts)])

    def commit_batches(self, *, run_id: int, job: str, flow: str,
                       items: Sequence[tuple[Checkpoint, Sequence[Reject], Counts]]) -> None:
        """The batches' checkpoints as ONE change: what a later batch's checkpoint overwrites (the
        watermark, a file's position) is written once, with the last batch's value; counts and
        reject counts are summed.  The statements that run for every batch go straight to the
        driver (``_Prepared``)."""
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
            checkpoints = [checkpoint for checkpoint, _, _ in items]
            if reject_rows or any(c.hashes or c.deleted_keys for c in checkpoints):
                with self._write() as conn:
                    cursor = conn.connection.cursor()
                    try:
                        self._advance(cursor, run_id, job, flow, watermark, progress, total, now)
                    finally:
                        cursor.close()
                    self._keys(conn, job, flow, checkpoints)
                    if reject_rows:
                        conn.execute(reject_table.insert(), reject_rows)
            else:  # the common case: positions and counts only, on the driver connection
                with self._write_raw() as cursor:
                    self._advance(cursor, run_id, job, flow, watermark, progress, total, now)

    def _advance(self, cursor: Any, run_id: int, job: str, flow: str, watermark: Any,
                 progress: Mapping[int, tuple[FileProgress, int]], total: Counts, now: Any) -> None:
        """The watermark, the files' positions and the run's counts after the batches."""
        if watermark is not None:
            self._fast["watermark"].run(cursor, {"job": job, "flow": flow, "value": codec.encode(watermark),
                                                 "updated": now})
        for file_id, (file, n_rejects) in progress.items():
            self._must_touch(self._fast["file"].run(cursor, {
                "b_file": file_id, "b_done": file.records_done, "b_rejects": n_rejects,
                "b_finished": file.finished, "b_now": now}), f"file {file_id} of the ledger")
        params = {"b_run": run_id, **{f"b_{f}": getattr(total, f) for f in _COUNT_FIELDS}}
        self._must_touch(self._fast["counts"].run(cursor, params), f"run {run_id}")

    def _keys(self, conn: Connection, job: str, flow: str, checkpoints: Sequence[Checkpoint]) -> None:
        """Remembered hashes and forgotten keys, in batch order (a key deleted in one batch may come
        back in a later one); with no deletes, one upsert where the last hash of a key wins."""
        if not any(c.deleted_keys for c in checkpoints):
            latest = {k: h for c in checkpoints for k, h in c.hashes}
            if latest:
                conn.execute(self._hash_upsert, [{"job": job, "flow": flow, "key": k, "hash": h}
                                                 for k, h in latest.items()])
            return
        for checkpoint in checkpoints:
            if checkpoint.hashes:
                latest = dict(checkpoint.hashes)
                conn.execute(self._hash_upsert,
                             [{"job": job, "flow": flow, "key": k, "hash": h} for k, h in latest.items()])
            for chunk in _chunks(list(checkpoint.deleted_keys)):
                conn.execute(self._hash_delete(job, flow).where(hashes.c.key.in_(chunk)))

    @staticmethod
    def _hash_delete(job: str, flow: str) -> Delete:
        return hashes.delete().where(hashes.c.job == job, hashes.c.flow == flow)

    def reset(self, job: str, flow: str) -> None:
        with self._op("reset the flow", job=job, flow=flow), self._write() as conn:
            conn.execute(watermarks.delete().where(watermarks.c.job == job, watermarks.c.flow == flow))
            conn.execute(self._hash_delete(job, flow))
            conn.execute(files.delete().where(files.c.job == job, files.c.flow == flow))

    # --- file ledger ---------------------------------------------------------------------------
    def find_file(self, job: str, flow: str, name: str, *, sha256: str | None = None,
                  size: int | None = None, mtime: float | None = None) -> FileEntry | None:
        query = select(files).where(files.c.job == job, files.c.flow == flow, files.c.name == name)
        for column, value in (("sha256", sha256), ("size", size), ("mtime", mtime)):
            if value is not None:
                query = query.where(files.c[column] == value)
        query = query.order_by(files.c.id.desc()).limit(1)
        with self._op("look up a file in the ledger", job=job, flow=flow, file=name), self._read() as conn:
            row = conn.execute(query).first()
        return rows.file_entry(row) if row is not None else None

    def find_files(self, job: str, flow: str,
                   listed: Sequence[tuple[str, int, float]]) -> dict[tuple[str, int, float], FileEntry]:
        wanted = set(listed)
        found: dict[tuple[str, int, float], FileEntry] = {}
        base = select(files).where(files.c.job == job, files.c.flow == flow)
        with self._op("look up the listed files in the ledger", job=job, flow=flow), self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(name for name, _size, _mtime in listed))):
                # every entry of these names, newest first: the first with a listed fingerprint wins
                for row in conn.execute(base.where(files.c.name.in_(chunk)).order_by(files.c.id.desc())):
                    key = (row.name, row.size, row.mtime)
                    if key in wanted and key not in found:
                        found[key] = rows.file_entry(row)
        return found

    def register_file(self, job: str, flow: str, name: str, *, size: int, mtime: float, sha256: str,
                      records_total: int | None, encoding: str | None) -> FileEntry:
        now = utcnow()
        with self._op("add a file to the ledger", job=job, flow=flow, file=name), self._write() as conn:
            result = conn.execute(files.insert().values(
                job=job, flow=flow, name=name, size=size, mtime=mtime, sha256=sha256, status="in_progress",
                records_total=records_total, records_done=0, rejects=0, encoding=encoding,
                first_seen=now, updated=now))
            file_id = _new_id(result)
            return rows.file_entry(conn.execute(select(files).where(files.c.id == file_id)).one())

    def set_file_status(self, file_id: int, status: FileStatus, reason: str | None = None,
                        name: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "reason": reason, "updated": utcnow()}
        if name is not None:
            values["name"] = name
        with self._op(f"set the status of ledger file {file_id}"), self._write() as conn:
            result = conn.execute(files.update().where(files.c.id == file_id).values(**values))
            self._must_touch(result, f"file {file_id} of the ledger")

    def list_files(self, job: str, flow: str | None = None, status: FileStatus | None = None,
                   limit: int | None = None) -> list[FileEntry]:
        query = select(files).where(files.c.job == job)
        if flow is not None:
            query = query.where(files.c.flow == flow)
        if status is not None:
            query = query.where(files.c.status == status)
        query = query.order_by(files.c.id.desc()).limit(limit)
        with self._op("list the file ledger", job=job, flow=flow), self._read() as conn:
            return [rows.file_entry(r) for r in conn.execute(query)]

    # --- record hashes -------------------------------------------------------------------------
    def get_hashes(self, job: str, flow: str, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        base = select(hashes.c.key, hashes.c.hash).where(hashes.c.job == job, hashes.c.flow == flow)
        with self._op("read record hashes", job=job, flow=flow), self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                found.update((k, h) for k, h in conn.execute(base.where(hashes.c.key.in_(chunk))))
        return found

    def iter_hash_keys(self, job: str, flow: str) -> Iterator[str]:
        query = (select(hashes.c.key).where(hashes.c.job == job, hashes.c.flow == flow)
                 .order_by(hashes.c.key))
        with self._op("stream record hash keys", job=job, flow=flow), self._read() as conn:
            result = conn.execution_options(yield_per=CHUNK).execute(query)
            for (key,) in result:
                yield key

    # --- rejects -------------------------------------------------------------------------------
    def list_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open",
                     ids: Sequence[int] | None = None, limit: int | None = None) -> list[RejectEntry]:
        query = self._rejects_of(select(reject_table), job, flow, status)
        found: list[RejectEntry] = []
        with self._op("list rejects", job=job, flow=flow), self._read() as conn:
            if ids is None:
                result = conn.execute(query.order_by(reject_table.c.id).limit(limit))
                return [rows.reject_entry(r) for r in result]
            for chunk in _chunks(sorted(set(ids))):
                result = conn.execute(query.where(reject_table.c.id.in_(chunk)).order_by(reject_table.c.id))
                found.extend(rows.reject_entry(r) for r in result)
                if limit is not None and len(found) >= limit:
                    break
        return found[:limit] if limit is not None else found

    def count_rejects(self, job: str, flow: str | None = None, *, status: RejectStatus | None = "open") -> int:
        query = self._rejects_of(select(func.count()).select_from(reject_table), job, flow, status)
        with self._op("count rejects", job=job, flow=flow), self._read() as conn:
            return int(conn.execute(query).scalar_one())

    @staticmethod
    def _rejects_of(query: Select[Any], job: str, flow: str | None, status: RejectStatus | None) -> Select[Any]:
        query = query.where(reject_table.c.job == job)
        if flow is not None:
            query = query.where(reject_table.c.flow == flow)
        if status is not None:
            query = query.where(reject_table.c.status == status)
        return query

    def set_reject_status(self, ids: Sequence[int], status: RejectStatus) -> None:
        with self._op(f"mark rejects {status}"), self._write() as conn:
            for chunk in _chunks(sorted(set(ids))):
                conn.execute(reject_table.update().where(reject_table.c.id.in_(chunk)).values(status=status))

    def settle_rejects(self, job: str, flow: str, *, statuses: Mapping[int, RejectStatus],
                       still_open: Sequence[tuple[int, Reject]] = ()) -> None:
        mine = (reject_table.c.job == job) & (reject_table.c.flow == flow)
        with self._op("record the outcome of a replay (nothing of it was kept)", job=job, flow=flow), \
                self._write() as conn:
            for status in sorted(set(statuses.values())):
                ids = sorted(i for i, s in statuses.items() if s == status)
                for chunk in _chunks(ids):
                    conn.execute(reject_table.update().where(mine, reject_table.c.id.in_(chunk))
                                 .values(status=status))
            for reject_id, r in still_open:
                conn.execute(reject_table.update().where(mine, reject_table.c.id == reject_id).values(
                    status="open", key=_opt_text(r.key), field=_opt_text(r.field),
                    value=_opt_text(r.value), reason=r.reason, stage=r.stage))

    # --- leases --------------------------------------------------------------------------------
    def acquire_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> LeaseInfo | None:
        now = utcnow()
        stmt = self._insert(leases)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(  # one atomic statement: free, expired or ours -> ours
            index_elements=["job", "flow"],
            set_={"holder": new.holder, "host": new.host, "pid": new.pid, "expires": new.expires,
                  "acquired": case((leases.c.holder == new.holder, leases.c.acquired), else_=new.acquired)},
            where=or_(leases.c.expires <= now, leases.c.holder == holder),
        )
        host, pid = holder_origin(holder)
        values = {"job": job, "flow": flow, "holder": holder, "host": host, "pid": pid,
                  "acquired": now, "expires": now + timedelta(seconds=ttl_s)}
        with self._op("take the flow's lease", job=job, flow=flow), self._write() as conn:
            conn.execute(stmt, values)
            row = conn.execute(select(leases).where(leases.c.job == job, leases.c.flow == flow)).one()
        return None if row.holder == holder else rows.lease_info(row)

    def renew_lease(self, job: str, flow: str, holder: str, ttl_s: float) -> bool:
        expires = utcnow() + timedelta(seconds=ttl_s)
        with self._op("renew the flow's lease", job=job, flow=flow), self._write() as conn:
            result = conn.execute(leases.update().where(
                leases.c.job == job, leases.c.flow == flow, leases.c.holder == holder).values(expires=expires))
            return bool(result.rowcount == 1)

    def release_lease(self, job: str, flow: str, holder: str) -> None:
        with self._op("release the flow's lease", job=job, flow=flow), self._write() as conn:
            conn.execute(leases.delete().where(
                leases.c.job == job, leases.c.flow == flow, leases.c.holder == holder))

    def current_lease(self, job: str, flow: str) -> LeaseInfo | None:
        query = select(leases).where(leases.c.job == job, leases.c.flow == flow, leases.c.expires > utcnow())
        with self._op("read the flow's lease", job=job, flow=flow), self._read() as conn:
            row = conn.execute(query).first()
        return rows.lease_info(row) if row is not None else None

    # --- process heartbeats --------------------------------------------------------------------
    def beat(self, kind: str, info: Mapping[str, Any] | None = None) -> int:
        now = utcnow()
        with self._op(f"register a {kind} heartbeat"), self._write() as conn:
            result = conn.execute(heartbeats.insert().values(
                kind=kind, host=HOST, pid=os.getpid(), started=now, last_beat=now,
                info=json.dumps(dict(info or {}), default=str)))
            return _new_id(result)

    def heartbeat(self, beat_id: int, info: Mapping[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"last_beat": utcnow()}
        if info is not None:
            values["info"] = json.dumps(dict(info), default=str)
        with self._op(f"record heartbeat {beat_id}"), self._write() as conn:
            result = conn.execute(heartbeats.update().where(heartbeats.c.id == beat_id).values(**values))
            self._must_touch(result, f"heartbeat {beat_id}")

    def end_heartbeat(self, beat_id: int) -> None:
        with self._op(f"end heartbeat {beat_id}"), self._write() as conn:
            conn.execute(heartbeats.delete().where(heartbeats.c.id == beat_id))

    def list_heartbeats(self) -> list[HeartbeatInfo]:
        with self._op("list heartbeats"), self._read() as conn:
            return [rows.heartbeat_info(r) for r in conn.execute(select(heartbeats).order_by(heartbeats.c.id))]

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for observers that keep small tables of their own here."""
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStateStore({self.display_url!r})"
