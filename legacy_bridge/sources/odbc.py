"""``kind = "odbc"``: a table (or query) read incrementally by a composite cursor, by diff, or in full.

incremental  rows ordered by the cursor tuple, read strictly after the stored watermark
             (keyset), up to a bound fixed at the start of the run (the largest cursor
             then, or database time minus ``settle``).  ``lookback`` re-reads a window
             before the watermark; rows whose content hash is unchanged are not sent.
diff         full scan ordered by key; a content hash per key in the state store; new and
             changed rows are sent, keys no longer present are reported as deleted (the
             set of keys seen in the run is held in memory: ~100 bytes a key, fine up to
             tens of millions of short keys).  A crashed diff run scans again; rows already
             acknowledged have their hash stored, so they are not sent again.
full         everything (also ``--full-refresh`` in the other modes).

A dropped connection is reopened ``reconnects`` times with backoff and the read resumes
strictly after the last cursor tuple handed to the runner; then the flow stops with its
checkpoint intact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from legacy_bridge.errors import ConfigError, DatabaseError, DatabaseRetryable
from legacy_bridge.records import Batch, Checkpoint, Reject
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.sources import odbc_arrow
from legacy_bridge.sources.odbc_read import Chunk, Reader, Row
from legacy_bridge.sources.odbc_spec import OdbcSpec
from legacy_bridge.sources.odbc_sql import Window
from legacy_bridge.sources.odbc_types import content_hash, key_text

__all__ = ["OdbcSource", "OdbcSpec", "build"]

MAX_NOTED_DELETES = 1000


@dataclass
class Item:
    row: Row
    cursor: tuple[Any, ...]
    key: str | None = None
    digest: str | None = None
    reject: str | None = None


Process = Callable[[Chunk], list[Item]]


class OdbcSource:
    def __init__(self, spec: OdbcSpec, base_dir: Path) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self._reader: Reader | None = None

    # --- Source protocol ---------------------------------------------------------------------
    def batches(self, ctx: FlowContext) -> Iterator[Batch]:
        self._reader = Reader(self.spec, {"job": ctx.job, "flow": ctx.flow, "table": self.spec.origin})
        if self.spec.mode == "diff":
            yield from self._diff(ctx)
        elif self.spec.mode == "incremental" and not ctx.full_refresh:
            yield from self._incremental(ctx)
        else:
            yield from self._full(ctx)

    def committed(self, batch: Batch, ctx: FlowContext) -> None:
        return None

    def acts_on_commit(self, batch: Batch) -> bool:
        return False  # the checkpoint is the whole story: nothing to archive

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    # --- modes ---------------------------------------------------------------------------------
    def _incremental(self, ctx: FlowContext) -> Iterator[Batch]:
        spec, reader = self.spec, self._require_reader()
        exprs = reader.cursor_sql(spec.cursor, spec.cursor_fallback)
        stored = self._stored_watermark(ctx)
        window = Window(not_null=True)
        if spec.settle is not None:
            window = replace(window, upto_first=reader.db_now() - timedelta(seconds=spec.settle))
        else:
            upto = reader.max_cursor(exprs)
            if upto is None:
                ctx.log.info("%s has no rows with a cursor value; nothing to read", spec.origin)
                return
            window = replace(window, upto=upto)
        if not spec.cursor_fallback:
            nulls = reader.count_null(exprs[0])
            if nulls:
                ctx.notes["null_cursor_rows"] = nulls
                ctx.log.warning("%d rows of %s have NULL in cursor column %s and are never read; set "
                                "cursor_fallback (e.g. the creation date) to take them", nulls, spec.origin,
                                spec.cursor[0])
        hashed = spec.lookback > 0
        if stored is not None:
            window = (replace(window, since=_minus(stored[0], spec.lookback, spec.cursor[0]))
                      if hashed else replace(window, after=stored))
        key_cols = spec.key

        def process(chunk: Chunk) -> list[Item]:
            items = [Item(row, cur, key=_key(row, cur, key_cols)) for row, cur in chunk]
            return self._changed(ctx, items) if hashed else items

        yield from self._emit(ctx, exprs, window, process, mark=lambda cur: _later(stored, cur),
                              columnar=not hashed)

    def _diff(self, ctx: FlowContext) -> Iterator[Batch]:
        spec, reader = self.spec, self._require_reader()
        key_cols = spec.key or reader.primary_key()
        if not key_cols:
            raise ConfigError(f"{spec.origin} has no primary key that the ODBC driver reports, and mode diff "
                              "needs a key", where={"job": ctx.job, "flow": ctx.flow},
                              hint="set key = [\"...\"] in the source section (a unique column or columns)")
        exprs = reader.cursor_sql(key_cols, None)
        seen: set[str] = set()
        fresh = ctx.full_refresh

        def process(chunk: Chunk) -> list[Item]:
            items = [Item(row, cur) for row, cur in chunk]
            for item in items:
                if any(v is None for v in item.cursor):
                    item.reject = f"key column(s) {', '.join(key_cols)} NULL: the row cannot be tracked"
                else:
                    item.key = key_text(item.cursor)
                    seen.add(item.key)
            return self._changed(ctx, items, send_all=fresh)

        def deleted() -> list[str]:
            gone = [k for k in ctx.store.iter_hash_keys(ctx.job, ctx.flow) if k not in seen]
            ctx.notes["deleted"] = gone[:MAX_NOTED_DELETES]
            ctx.notes["deleted_count"] = len(gone)
            if gone:
                ctx.notes["deletes"] = spec.deletes
                ctx.log.info("%d rows of %s were deleted at the source since the last run (e.g. %s)",
                             len(gone), spec.origin, ", ".join(gone[:5]))
            return gone

        yield from self._emit(ctx, exprs, Window(), process, mark=lambda cur: None, final=deleted)

    def _full(self, ctx: FlowContext) -> Iterator[Batch]:
        spec, reader = self.spec, self._require_reader()
        order = spec.cursor or spec.key
        exprs = reader.cursor_sql(order, spec.cursor_fallback if spec.cursor else None)
        incremental = spec.mode == "incremental"  # --full-refresh: restart the watermark from the top
        upto = reader.max_cursor(exprs) if incremental else None
        if incremental and upto is None:
            return
        window = Window(upto=upto, not_null=incremental)
        key_cols = spec.key
        hashed = incremental and spec.lookback > 0

        def process(chunk: Chunk) -> list[Item]:
            return [Item(row, cur, key=_key(row, cur, key_cols),
                         digest=content_hash(row) if hashed else None) for row, cur in chunk]

        yield from self._emit(ctx, exprs, window, process,
                              mark=(lambda cur: list(cur)) if incremental else (lambda cur: None),
                              columnar=not hashed)

    # --- shared machinery --------------------------------------------------------------------
    def _changed(self, ctx: FlowContext, items: list[Item], send_all: bool = False) -> list[Item]:
        """Items whose content hash differs from the stored one (each gets its digest)."""
        for item in items:
            if item.reject is None:
                item.digest = content_hash(item.row)
        if send_all:
            return items
        keys = [i.key for i in items if i.key is not None]
        known = ctx.store.get_hashes(ctx.job, ctx.flow, keys) if keys else {}
        return [i for i in items if i.reject is not None or i.key is None or known.get(i.key) != i.digest]

    def _emit(self, ctx: FlowContext, exprs: Sequence[str], window: Window, process: Process,
              mark: Callable[[tuple[Any, ...]], Any], final: Callable[[], list[str]] | None = None,
              columnar: bool = False) -> Iterator[Batch]:
        """Batches of at most ``ctx.batch_size`` rows; reconnects and resumes after the last
        cursor tuple handed out when the connection drops.  ``columnar``: rows without content
        hashes, which the Arrow path (odbc_arrow) reads first as far as it gives the same values."""
        position: tuple[Any, ...] | None = None
        if columnar and final is None:
            why = odbc_arrow.why_not(self._require_reader(), mode=self.spec.mode)
            if why is not None:
                ctx.log.debug("%s: read row by row (%s)", self.spec.origin, why)
            else:
                handoff = yield from odbc_arrow.emit(self._require_reader(), ctx, exprs, window, mark,
                                                     self.spec.reconnects, self.spec.reconnect_backoff)
                if handoff.done:
                    return
                position = handoff.position
        failures = 0
        size = max(1, ctx.batch_size)
        while True:
            w = window if position is None else replace(window, after=position, since=None)
            pending: list[Item] = []
            last: tuple[Any, ...] | None = None
            try:
                for chunk in self._require_reader().chunks(exprs, w):
                    last = chunk[-1][1]
                    pending.extend(process(chunk))
                    while len(pending) >= size:
                        part, pending = pending[:size], pending[size:]
                        yield self._batch(part, mark(part[-1].cursor))
                        position, failures = part[-1].cursor, 0
                        if ctx.stopping():
                            return
                gone = final() if final is not None else []
                moved = last is not None and last != position
                if pending or gone or moved:
                    tail = last if last is not None else position
                    yield self._batch(pending, mark(tail) if tail is not None else None, gone)
                return
            except DatabaseRetryable as exc:
                failures += 1
                self._require_reader().close()
                if failures > self.spec.reconnects or not exprs:
                    exc.message += (f" - gave up after {failures - 1} reconnect(s); the checkpoint is intact "
                                    "and the next run resumes after the last acknowledged row")
                    raise
                wait = self.spec.reconnect_backoff * (2 ** (failures - 1))
                ctx.log.warning("%s; reconnecting in %.1fs and resuming after %s", exc.message, wait,
                                "the start" if position is None else _short(position))
                if ctx.stop_event.wait(wait):
                    return

    def _batch(self, items: list[Item], watermark: Any, deleted: Sequence[str] = ()) -> Batch:
        origin = self.spec.origin
        rows = [i.row for i in items if i.reject is None]
        rejects = [Reject(reason=i.reject, origin=origin, raw=i.row, stage="source")
                   for i in items if i.reject is not None]
        hashes = [(i.key, i.digest) for i in items if i.key is not None and i.digest is not None]
        return Batch(rows=rows, origin=origin, position_kind="key", rejects=rejects,
                     checkpoint=Checkpoint(watermark=watermark, hashes=hashes, deleted_keys=list(deleted)))

    def _stored_watermark(self, ctx: FlowContext) -> tuple[Any, ...] | None:
        stored = ctx.store.get_watermark(ctx.job, ctx.flow)
        if stored is None:
            return None
        if not isinstance(stored, list | tuple) or len(stored) != len(self.spec.cursor):
            raise DatabaseError(
                f"the stored watermark {stored!r} does not match cursor {self.spec.cursor} (was the cursor "
                "changed?)", where={"job": ctx.job, "flow": ctx.flow},
                hint=f"run `legacy-bridge reset {ctx.job} --flow {ctx.flow}` to read from the start again")
        return tuple(stored)

    def _require_reader(self) -> Reader:
        assert self._reader is not None, "batches() opens the reader"
        return self._reader


def _key(row: Row, cursor: tuple[Any, ...], key_cols: Sequence[str]) -> str:
    return key_text([row.get(c) for c in key_cols]) if key_cols else key_text(cursor)


def _later(stored: tuple[Any, ...] | None, cursor: tuple[Any, ...]) -> list[Any]:
    """The new watermark: never behind the stored one (a lookback re-read ends below it)."""
    if stored is not None:
        try:
            if cursor < stored:
                return list(stored)
        except TypeError:
            pass
    return list(cursor)


def _minus(value: Any, seconds: float, column: str) -> Any:
    if isinstance(value, datetime):
        return value - timedelta(seconds=seconds)
    if isinstance(value, date):
        return value - timedelta(days=max(1, int(-(-seconds // 86400))))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value - type(value)(seconds)
    if isinstance(value, Decimal):
        return value - Decimal(str(seconds))
    if isinstance(value, str):  # ISO text dates (SQLite, some ERPs): same format, compared as text
        try:
            moved = datetime.fromisoformat(value) - timedelta(seconds=seconds)
        except ValueError:
            pass
        else:
            return moved.strftime("%Y-%m-%d") if len(value) == 10 else \
                moved.strftime(f"%Y-%m-%d{value[10]}%H:%M:%S.%f")[: len(value)]
    raise ConfigError(f"lookback needs a date, time or number in cursor column {column}; it holds "
                      f"{type(value).__name__} values",
                      hint="remove lookback, or put a timestamp column first in cursor")


def _short(cursor: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(v) for v in cursor) + ")"


def build(spec: OdbcSpec, base_dir: Path) -> OdbcSource:
    return OdbcSource(spec, base_dir)
