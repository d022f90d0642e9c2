"""File drops: a transport + a format + the file ledger.

One run lists the declared folder, keeps the complete files (ignore patterns, done
markers, ``min_age``), skips those the ledger already holds with the same content,
checks each remaining file whole, then streams it in batches of at most
``ctx.batch_size`` rows that never span two files.  Each batch's checkpoint is the
record index after it; a file in progress resumes there.  A file that cannot be read
is quarantined with its reason and the others go on.  After its last batch is
committed, a file is archived, deleted or left as declared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from legacy_bridge.columnar.rows import ColumnRows
from legacy_bridge.config.durations import Duration
from legacy_bridge.errors import FormatError, PartialFileError, RowError, TransportError, TransportRetryable
from legacy_bridge.formats import REGISTRY as FORMATS
from legacy_bridge.formats.base import FileCheck, Format
from legacy_bridge.records import Batch, Checkpoint, FileProgress, PositionKind, Reject, Row
from legacy_bridge.registry import Spec
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.sources import after as _after
from legacy_bridge.sources.after import AfterSpec
from legacy_bridge.sources.ready import Candidate, is_ignored, marker_for, stable, with_markers
from legacy_bridge.sources.spool import discard, fetch, sha256_of
from legacy_bridge.state.base import FileEntry
from legacy_bridge.transports import REGISTRY as TRANSPORTS
from legacy_bridge.transports.base import RemoteFile, Transport
from legacy_bridge.transports.paths import matches

TransportSpec = TRANSPORTS.spec_type()
FormatSpec = FORMATS.spec_type()
DEFAULT_IGNORE = ["*.tmp", "*.part", "~*", ".*"]


class ReadySpec(Spec):
    min_age: Duration = Field(default=0.0, description="size and mtime unchanged for this long")
    done_marker: str | None = Field(default=None, description="e.g. {name}.done or {stem}.ok")


class FilesSpec(Spec):
    kind: Literal["files"] = "files"
    transport: TransportSpec  # type: ignore[valid-type]
    path: str = Field(description="the drop folder (local, or on the server)")
    pattern: str | list[str] = "*"
    recursive: bool = False
    ignore: list[str] = Field(default_factory=lambda: list(DEFAULT_IGNORE))
    order: Literal["mtime", "name"] = "mtime"
    format: FormatSpec  # type: ignore[valid-type]
    ready: ReadySpec = ReadySpec()
    after: AfterSpec = AfterSpec()
    partial: Literal["reject_file", "send_valid"] = "reject_file"
    spool_dir: str | None = Field(default=None, description="work folder for remote files (default var/spool)")
    batch_size: int | None = Field(default=None, ge=1, description="read size (at most the target's batch)")
    poll_interval: Duration = Field(default=30.0, description="watch mode: list the folder this often (SFTP: the only trigger)")
    polling: bool = Field(default=False, description="watch mode: poll a local folder instead of file events (SMB/NFS mounts)")

    @model_validator(mode="after")
    def _after_needs_folders(self) -> FilesSpec:
        if self.after.success == "archive" and not self.after.archive_to:
            raise ValueError("after.success = \"archive\" needs after.archive_to")
        return self

    @property
    def patterns(self) -> list[str]:
        return [self.pattern] if isinstance(self.pattern, str) else list(self.pattern)


@dataclass
class _Open:
    """A file being delivered, for after-processing once its last batch is committed."""

    name: str
    marker: str | None
    spooled: str | None
    broken: str | None = None  # send_valid: why the rest of the file was not sent


@dataclass
class _Run:
    ctx: FlowContext
    transport: Transport
    skipped: int = 0
    notes: list[dict[str, Any]] = field(default_factory=list)


class FilesSource:
    def __init__(self, spec: FilesSpec, base_dir: Path) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self.format: Format = FORMATS.build(spec.format, base_dir)
        self._transport: Transport | None = None
        self._open: dict[int, _Open] = {}

    # --- parts ----------------------------------------------------------------------------------
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = TRANSPORTS.build(self.spec.transport, self.spec.path, self.base_dir)
        return self._transport

    def _spool_dir(self, ctx: FlowContext) -> Path:
        base = ctx.resolve_path(self.spec.spool_dir) if self.spec.spool_dir else ctx.base_dir / "var" / "spool"
        return base / ctx.job / ctx.flow

    # --- listing ----------------------------------------------------------------------------------
    def candidates(self, ctx: FlowContext) -> list[tuple[Candidate, FileEntry | None]]:
        """Complete files not yet delivered, in processing order, each with its in-progress entry."""
        t = self.transport()
        listing = t.list(["*"], self.spec.recursive)
        every = {f.name for f in listing}
        template = self.spec.ready.done_marker
        files = drop_files(self.spec, listing)
        entries = unsettled(files, lambda listed: _known_listed(ctx, listed))
        pending = [f for f in files if f.name in entries]
        ready, moving = stable(t, with_markers(pending, every, template), self.spec.ready.min_age,
                               ctx.stop_event.wait)
        for cand in moving:
            ctx.log.info("%s is still being written; leaving it for the next run", cand.file.name)
        key = (lambda c: (c.file.mtime, c.file.name)) if self.spec.order == "mtime" else (lambda c: (c.file.name, 0))
        return [(c, entries.get(c.file.name)) for c in sorted(ready, key=key)]

    # --- the seam ---------------------------------------------------------------------------------
    def batches(self, ctx: FlowContext) -> Iterator[Batch]:
        run = _Run(ctx, self.transport())
        for cand, entry in self.candidates(ctx):
            if ctx.stopping():
                return
            try:
                yield from self._deliver(run, cand, entry)
            except TransportRetryable:
                raise
            except TransportError as exc:
                ctx.log.warning("skipping %s for this run: %s", cand.file.name, exc)

    def acts_on_commit(self, batch: Batch) -> bool:
        progress = batch.checkpoint.file
        return progress is not None and progress.finished  # the file's last batch: archive or quarantine it

    def committed(self, batch: Batch, ctx: FlowContext) -> None:
        progress = batch.checkpoint.file
        if progress is None or not self.acts_on_commit(batch):
            return
        info = self._open.pop(progress.file_id, None)
        if info is None:
            return
        t = self.transport()
        if info.broken is not None:
            _after.quarantine(ctx, t, self.spec.after, progress.file_id, info.name, info.marker, info.broken)
        else:
            _after.success(ctx, t, self.spec.after, progress.file_id, info.name, info.marker)
        if info.spooled:
            discard(info.spooled)

    def close(self) -> None:
        self._release_format()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _release_format(self) -> None:
        """Let the format free what it kept of the last file (the XML spool) when it will not be read."""
        release = getattr(self.format, "release", None)
        if release is not None:
            release()

    # --- one file -----------------------------------------------------------------------------------
    def _local(self, run: _Run, f: RemoteFile) -> tuple[str, str | None, str | None]:
        """(path to read, sha256, spooled copy to discard later)."""
        local_path = getattr(run.transport, "local_path", None)
        if local_path is not None:
            return str(local_path(f.name)), None, None
        path, sha = fetch(run.transport, f, self._spool_dir(run.ctx))
        return path, sha, path

    def _deliver(self, run: _Run, cand: Candidate, entry: FileEntry | None) -> Iterator[Batch]:
        ctx, f = run.ctx, cand.file
        path, sha, spooled = self._local(run, f)
        if entry is None:
            sha = sha or sha256_of(path)
            now = run.transport.stat(f.name)
            if now is None or (now.size, now.mtime) != (f.size, f.mtime):
                ctx.log.info("%s changed while it was read; leaving it for the next run", f.name)
                return
            entry = _known(ctx, f.name, sha256=sha)
            if entry is not None and entry.status != "in_progress":
                ctx.log.info("%s has the same content as the file delivered on %s; skipping it",
                             f.name, f"{entry.updated:%Y-%m-%d %H:%M}")
                if spooled:
                    discard(spooled)
                return
        broken: FormatError | None = None
        try:
            check: FileCheck = self.format.check(path, f.name)
            total = check.records
        except FormatError as exc:
            before = exc.records_before if isinstance(exc, PartialFileError) else 0
            if self.spec.partial != "send_valid" or before == 0:
                self._reject_file(ctx, run.transport, cand, entry, sha, exc, spooled)
                return
            broken, total = exc, before
            check = FileCheck(records=before)
        if entry is None:
            file_id = 0 if ctx.dry_run else ctx.store.register_file(
                ctx.job, ctx.flow, f.name, size=f.size, mtime=f.mtime, sha256=sha or "",
                records_total=total, encoding=check.encoding).id
            start = 0
        else:
            file_id, start = entry.id, entry.records_done
            ctx.log.info("resuming %s at record %d of %d", f.name, start, total)
        ctx.notes.setdefault("files", []).append({"file": f.name, "records": total, "encoding": check.encoding,
                                                  "notes": check.notes, "resumed_at": start})
        self._open[file_id] = _Open(f.name, cand.marker, spooled, str(broken) if broken else None)
        yield from self._stream(ctx, path, f.name, file_id, start, total, broken)

    def _stream(self, ctx: FlowContext, path: str, name: str, file_id: int, start: int, total: int,
                broken: FormatError | None) -> Iterator[Batch]:
        size = max(1, min(ctx.batch_size, self.spec.batch_size or ctx.batch_size))
        origin_of = getattr(self.format, "origin", None)
        kind = self.format.position_kind
        rows: list[Row] = []
        positions: list[int] = []
        rejects: list[Reject] = []
        index = start
        origin = name
        blocks = getattr(self.format, "blocks", None)
        if blocks is not None and index < total:  # a columnar format: Arrow blocks as far as they go
            if origin_of is not None:
                origin = str(origin_of(path, name))
            for block_positions, table in _whole_units(blocks(path, name, start), ctx.batch_size):
                n = min(int(table.num_rows), total - index)
                if n <= 0:
                    break
                if n < table.num_rows:
                    table, block_positions = table.slice(0, n), block_positions[:n]
                cut = _cutter(file_id, index, total + (broken is not None))  # a broken file ends on its reject
                index += n
                done = index >= total
                yield Batch(ColumnRows(table), origin, cut(n), block_positions, kind, table=table, cut=cut)
                if done and broken is not None:  # the valid part ends here: say why the rest was not sent
                    yield _rest_not_sent(broken, origin, kind, block_positions[-1], file_id, index)
                    return
                if done or ctx.stopping():
                    return
            start = index
        if index < total:
            # the runner maps Arrow blocks: records come in blocks of ROW_BLOCK (a reject closes one and
            # travels alone), as Arrow columns when they are all text (row_block)
            wide = ctx.columnar
            limit = ROW_BLOCK if wide else size
            first = index  # record index of rows[0]
            ends = total + (broken is not None)  # a broken file ends on its "rest not sent" reject
            for pos, item in self.format.rows(path, name, start):
                if type(item) is dict:
                    if not rows:
                        first = index
                    rows.append(item)
                    positions.append(pos)
                else:
                    if wide and rows:
                        yield row_block(rows, positions, origin, kind, _cutter(file_id, first, ends))
                        rows, positions = [], []
                    rejects.append(_reject(item, name if origin_of is None else origin, kind, pos))
                index += 1
                if index == start + 1 and origin_of is not None:
                    origin = str(origin_of(path, name))
                    for r in rejects:
                        r.origin = origin
                done = index >= total
                if len(rows) + len(rejects) >= limit or done or (wide and rejects):
                    if wide and rows:  # a block of records only (a reject empties rows first)
                        yield row_block(rows, positions, origin, kind, _cutter(file_id, first, ends))
                        if done and broken is not None:
                            yield _rest_not_sent(broken, origin, kind, pos, file_id, index)
                        if done or ctx.stopping():
                            return
                        rows, positions = [], []
                        continue
                    if done and broken is not None:
                        rejects += _rest_not_sent(broken, origin, kind, pos, file_id, index).rejects
                    yield Batch(rows, origin, Checkpoint(file=FileProgress(file_id, index, done)), positions, kind,
                                rejects)
                    if done or ctx.stopping():
                        return
                    rows, positions, rejects = [], [], []
        yield Batch([], origin, Checkpoint(file=FileProgress(file_id, index, True)), [], kind, [])

    def _reject_file(self, ctx: FlowContext, t: Transport, cand: Candidate, entry: FileEntry | None,
                     sha: str | None, exc: FormatError, spooled: str | None) -> None:
        f = cand.file
        self._release_format()
        exc.located(file=f.name)
        ctx.log.error("quarantining %s: %s", f.name, exc)
        ctx.notes.setdefault("quarantined", []).append({"file": f.name, "reason": exc.message})
        if ctx.dry_run:
            return
        if entry is None:
            entry = ctx.store.register_file(ctx.job, ctx.flow, f.name, size=f.size, mtime=f.mtime, sha256=sha or "",
                                            records_total=None, encoding=None)
        _after.quarantine(ctx, t, self.spec.after, entry.id, f.name, cand.marker, str(exc))
        if spooled:
            discard(spooled)


ROW_BLOCK = 5000  # records per block when the runner maps Arrow blocks (memory: a few MB)


def row_block(rows: list[Row], positions: list[int], origin: str, kind: Any, cut: Callable[[int], Checkpoint]) -> Batch:
    """Records read row by row as one splittable block; with an Arrow table of them when every
    record has the same fields, all text (XML, and what a columnar reader left to the row reader)."""
    return Batch(rows, origin, cut(len(rows)), positions, kind, table=_text_table(rows), cut=cut)


def _text_table(rows: list[Row]) -> Any:
    names = tuple(rows[0])
    if any(tuple(r) != names for r in rows):
        return None
    try:
        import pyarrow as pa  # type: ignore[import-untyped]

        values = zip(*[r.values() for r in rows], strict=True)  # the columns: all rows have one key order
        columns = [pa.array(column, pa.string()) for column in values]
    except (ImportError, TypeError, ValueError):  # not all text (ArrowTypeError ...): the row path maps it
        return None
    return pa.RecordBatch.from_arrays(columns, names=list(names))


def _rest_not_sent(broken: FormatError, origin: str, kind: PositionKind, pos: int, file_id: int, index: int) -> Batch:
    """The batch that ends a file sent in part: the file is done, with why the rest was not sent."""
    return Batch([], origin, Checkpoint(file=FileProgress(file_id, index, True)), [], kind,
                 [Reject(reason=f"the rest of the file was not sent: {broken.message}", origin=origin,
                         position=f"{kind} {pos}", stage="source")])


def _whole_units(blocks: Iterator[tuple[Any, Any]], size: int) -> Iterator[tuple[Any, Any]]:
    """A format's Arrow blocks, re-cut so that a block followed by one of the same columns holds
    whole target batches: its records past the last multiple of ``size`` go out at the head of
    the next block.  A reader that cuts by bytes (pyarrow's CSV, 512 KB a block) otherwise ends
    every block with one short batch: a request and a commit more per block (the bench's
    1M-row CSV took 10,182 requests of 100 instead of 10,000).  The records still come in order, each once; a block is held
    until the next one is read, and the last one goes out as it is.  Records held but never
    yielded (the run stops) are read again by the next run, like any unread."""
    pending: tuple[Any, Any] | None = None
    for positions, table in blocks:
        if pending is not None:
            before, first = pending
            n = int(first.num_rows)
            whole = n - n % size
            joined = _joined((before[whole:], first.slice(whole)), positions, table) if whole < n else None
            if joined is None:
                yield pending
            else:
                if whole:
                    yield before[:whole], first.slice(0, whole)
                positions, table = joined
        pending = (positions, table)
    if pending is not None:
        yield pending


def _joined(held: tuple[Any, Any], positions: Any, table: Any) -> tuple[Any, Any] | None:
    """The held records and the next block as one block (positions and a RecordBatch), or None
    when they cannot be one (different columns, not both RecordBatches)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    before, first = held
    if not (isinstance(first, pa.RecordBatch) and isinstance(table, pa.RecordBatch)) or first.schema != table.schema:
        return None
    if isinstance(before, range) and isinstance(positions, range) and before.stop == positions.start:
        joined_positions: Any = range(before.start, positions.stop)
    else:
        joined_positions = [*before, *positions]
    return joined_positions, pa.concat_batches([first, table])


def _cutter(file_id: int, before: int, total: int) -> Callable[[int], Checkpoint]:
    """The checkpoint after the first ``n`` records of a block that starts at record ``before``."""
    def cut(n: int) -> Checkpoint:
        return Checkpoint(file=FileProgress(file_id, before + n, before + n >= total))
    return cut


def _reject(err: RowError | Any, origin: str, kind: str, pos: int) -> Reject:
    if isinstance(err, RowError):
        return Reject(reason=err.message, origin=origin, position=f"{kind} {pos}", field=err.field,
                      value=None if err.value is None else str(err.value)[:200], stage="source")
    return Reject(reason=f"unreadable {kind}: {err!r}"[:300], origin=origin, position=f"{kind} {pos}", stage="source")


def drop_files(spec: FilesSpec, listing: list[RemoteFile]) -> list[RemoteFile]:
    """The listed files that are drops of this source (the watcher asks the same question): they
    match a pattern, are not ignored, not a quarantine reason, not inside the archive or quarantine
    folder, and not a done marker."""
    skip_dirs = [d.strip("/") + "/" for d in _after.folders(spec.after) if not d.startswith("/")]
    files = [f for f in listing if matches(f.name, spec.patterns) and not is_ignored(f.name, spec.ignore)
             and not f.name.endswith(".reason.txt") and not any(f.name.startswith(d) for d in skip_dirs)]
    template = spec.ready.done_marker
    if template:
        markers = {marker_for(f.name, template) for f in files}
        files = [f for f in files if f.name not in markers]
    return files


Listed = list[tuple[str, int, float]]  # (name, size, mtime) of each listed file


def unsettled(files: list[RemoteFile],
              find: Callable[[Listed], dict[tuple[str, int, float], FileEntry]]) -> dict[str, FileEntry | None]:
    """The files the ledger has not settled (delivered or quarantined with this very fingerprint),
    each with its in-progress entry if it has one (the watcher asks the same question).  ``find``
    is the ledger's ``find_files``: one question for the whole listing."""
    known = find([(f.name, f.size, f.mtime) for f in files])
    out: dict[str, FileEntry | None] = {}
    for f in files:
        entry = known.get((f.name, f.size, f.mtime))
        if entry is None or entry.status == "in_progress":
            out[f.name] = entry
    return out


def _known(ctx: FlowContext, name: str, **fingerprint: Any) -> FileEntry | None:
    """The ledger's newest entry for ``name`` with this fingerprint - or none on --full-refresh:
    a real run has reset the ledger already, and a dry run (which resets nothing) must see every
    file as a full refresh would."""
    if ctx.full_refresh:
        return None
    return ctx.store.find_file(ctx.job, ctx.flow, name, **fingerprint)


def _known_listed(ctx: FlowContext, listed: Listed) -> dict[tuple[str, int, float], FileEntry]:
    """``_known`` for a whole listing by size and mtime, in a few queries instead of one per file."""
    if ctx.full_refresh:
        return {}
    return ctx.store.find_files(ctx.job, ctx.flow, listed)


def build(spec: FilesSpec, base_dir: Path) -> FilesSource:
    return FilesSource(spec, base_dir)



