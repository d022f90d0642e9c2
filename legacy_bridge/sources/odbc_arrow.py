"""The columnar read path of the odbc source: the same ordered statement read by arrow-odbc.

Where it applies (``columnar`` on, arrow-odbc importable, psqlODBC, mode ``full`` or ``incremental`` without
content hashes, no ``timezone``/``encoding``/``page_rows``), the rows come as
``pyarrow.RecordBatch`` blocks of about ``BLOCK_ROWS`` rows, each yielded as one splittable
``Batch`` (``rows=ColumnRows(table)``, ``cut(n)``: the checkpoint once its first n rows are
acknowledged; legacy_bridge/columnar).  The row reader stays the definition: a column is
read by Arrow only when its Arrow type gives, through ``to_pylist``, exactly the Python
values and types pyodbc gives (checked against the row reader's ``cursor.description``
before the first row; ``float32`` columns are fetched as ``float64``, like pyodbc does;
CHAR padding is trimmed with ``ascii_rtrim``, like ``trim_char``).  Anything else - an
unsupported type, unconstrained NUMERIC (psqlODBC reports it as NUMERIC(28,6)), a text
value longer than the driver's declared size, any non-connection error - hands over to the
row reader, which goes on strictly after the last cursor tuple handed out.  Text columns are first
bound ``TEXT_CAP`` bytes wide whatever their declared size (psqlODBC declares TEXT as 8190 wide,
which left ~46 rows per fetch); a value that does not fit makes the read start again after the last
row handed out with the declared sizes, still by Arrow.  A dropped
connection is reopened and resumed like the row path (``reconnects``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from legacy_bridge.columnar.rows import ColumnRows
from legacy_bridge.errors import DatabaseRetryable
from legacy_bridge.records import Batch, Checkpoint
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.sources.odbc_conn import translate, with_driver_options
from legacy_bridge.sources.odbc_sql import Window, data_refs, plain_refs, select

if TYPE_CHECKING:
    from legacy_bridge.sources.odbc_read import Reader

BLOCK_ROWS = 5_000  # rows per yielded block (and per arrow-odbc fetch when the row width allows)
# arrow-odbc's fetch buffer bound, twice over: the next fetch fills a second buffer on arrow-odbc's
# thread while this one's rows are mapped (fetch_concurrently); fetches are joined into blocks.  A
# buffer is as wide per row as the columns are bound (a packed row: PACK_CAP and a few numbers), so
# 12 MB holds a whole block of packed rows up to ~2.4 KB wide: one fetch, one split, no join per
# block.  At 4 MB a fetch held ~2,000 packed rows; the bench's ODBC job then spent ~9 % more CPU
# (splitting and joining three parts a block, and waiting on psqlODBC's 5,000-row cursor fetches)
TRANSIT_BYTES = 12 << 20
TEXT_CAP = 512  # bytes per text value in transit on the first try; a longer value re-reads with the declared sizes
PACK_CAP = 2048  # bytes per row of packed text in transit (at least 64 per packed column); a longer row reads on unpacked
PACK_TYPES = ("text", "character varying", "character")  # PostgreSQL types packed (output text = psqlODBC's)
MAX_PACKED = 62  # text columns packed at most (their NULL flags are the bits of one BIGINT)
_SEP = "\x1f"  # ASCII unit separator: between the packed values of a row
_TRUNCATED = "too large to be written into the allocated buffer"  # arrow-odbc's refusal to truncate a value
_STATE = re.compile(r"State:\s*([0-9A-Z]{5})")

Mark = Callable[[tuple[Any, ...]], Any]


@dataclass(frozen=True)
class Handoff:
    """Where the Arrow read left off: ``done`` (nothing left, or stopping) or the row reader
    goes on strictly after ``position`` (None: from the start)."""

    done: bool
    position: tuple[Any, ...] | None


class _Unsupported(Exception):
    """The Arrow read cannot give exactly the row reader's values here (the message says why)."""


class _Truncated(_Unsupported):
    """A text value did not fit the capped transit buffer (arrow-odbc refuses to truncate)."""


class _Unpackable(_Unsupported):
    """The packed text of a block cannot be split exactly (a value holds the separator)."""


class _Dropped(Exception):
    """Carries an arrow-odbc error as (sqlstate, text), the shape ``translate`` reads."""


def why_not(reader: Reader, *, mode: str) -> str | None:
    """Why this flow cannot use the Arrow path (None: it can, as far as the spec tells)."""
    spec = reader.spec
    if not spec.columnar:
        return "columnar = false"
    if mode == "diff":
        return "mode diff (content hashes)"
    if mode == "incremental" and spec.lookback > 0:
        return "lookback (content hashes)"
    if spec.timezone is not None:
        return "timezone"
    if spec.encoding is not None:
        return "encoding"
    if spec.page_rows:
        return "page_rows"
    try:
        import arrow_odbc  # type: ignore[import-untyped]  # noqa: F401
        import pyarrow  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "arrow-odbc is not installed"
    driver = reader.open().driver.lower()
    if "psqlodbc" not in driver:
        return f"driver {driver or '?'} (only psqlODBC is verified)"
    return None


def emit(reader: Reader, ctx: FlowContext, exprs: Sequence[str], window: Window, mark: Mark,
         reconnects: int, backoff: float) -> Generator[Batch, None, Handoff]:
    """Blocks of the ordered read as splittable batches; returns where the row reader goes on."""
    if not exprs:
        return Handoff(False, None)
    position: tuple[Any, ...] | None = None
    failures = 0
    cap: int | None = TEXT_CAP
    pack = True
    while True:
        w = window if position is None else replace(window, after=position, since=None)
        try:
            for table, cursors in _blocks(reader, exprs, w, cap, pack):
                batch = _batch(reader.spec.origin, table, cursors, mark, position)
                yield batch
                position, failures = cursors[-1], 0
                if ctx.stopping():
                    return Handoff(True, position)
            return Handoff(True, position)
        except _Unsupported as exc:
            if pack and isinstance(exc, _Truncated | _Unpackable):
                ctx.log.debug("%s: %s; reading on with the text columns unpacked", reader.spec.origin, exc)
                pack = False
                continue
            if isinstance(exc, _Truncated) and cap is not None:
                ctx.log.debug("%s: a text value is longer than %d bytes; reading on with the declared column sizes",
                              reader.spec.origin, cap)
                cap = None
                continue
            ctx.log.debug("%s: read row by row from %s on (%s)", reader.spec.origin,
                          "the start" if position is None else "the last row handed out", exc)
            return Handoff(False, position)
        except DatabaseRetryable as exc:
            failures += 1
            reader.close()
            if failures > reconnects:
                exc.message += (f" - gave up after {failures - 1} reconnect(s); the checkpoint is intact "
                                "and the next run resumes after the last acknowledged row")
                raise
            wait = backoff * (2 ** (failures - 1))
            ctx.log.warning("%s; reconnecting in %.1fs and resuming", exc.message, wait)
            if ctx.stop_event.wait(wait):
                return Handoff(True, position)


def _batch(origin: str, table: Any, cursors: _Cursors, mark: Mark,
           before: tuple[Any, ...] | None) -> Batch:
    def cut(n: int) -> Checkpoint:
        if n <= 0:
            return Checkpoint(watermark=mark(before)) if before is not None else Checkpoint()
        return Checkpoint(watermark=mark(cursors[n - 1]))

    return Batch(rows=ColumnRows(table), origin=origin, position_kind="key", checkpoint=cut(len(cursors)),
                 table=table, cut=cut)


def _blocks(reader: Reader, exprs: Sequence[str], window: Window, cap: int | None, pack: bool,
            ) -> Generator[tuple[Any, _Cursors], None, None]:
    """(data columns as one RecordBatch, cursor tuples) per block of about ``BLOCK_ROWS`` rows."""
    import pyarrow as pa

    spec = reader.spec
    opened = reader.open()
    described = _describe(reader, exprs)
    width = len(described) - len(exprs)
    refs = plain_refs(opened.dialect, [name for name, *_ in described[:width]])
    # a cursor expression that is a data column is read from that column, not fetched twice (~0.3 s
    # CPU per million rows in the bench)
    data = data_refs(refs)
    where: list[int] = []  # per cursor expression, its column in each fetched block
    carried: list[int] = []  # the expressions fetched as extra columns, after the data columns
    for i, expr in enumerate(exprs):
        if expr in data:
            where.append(data[expr])
        else:
            where.append(width + len(carried))
            carried.append(i)
    expected = described[:width] + [described[width + i] for i in carried]
    packing = _packing(reader, described[:width], refs) if pack else None
    columns = None if packing is None else packing.select_list()
    sql, params = select(opened.dialect, reader.shape, exprs, window, carried=carried, columns=columns)
    stream = _open(reader, sql, _texts(params), cap if packing is None else packing.cap)
    try:
        schema = stream.schema if packing is None else packing.unpacked_schema(stream.schema)
        plan = _plan(schema, expected, psql="psqlodbc" in opened.driver.lower())
        pending: list[Any] = []
        rows = 0
        while True:
            part = _next(stream, reader)
            if part is not None and part.num_rows:
                pending.append(part if packing is None else packing.unpack(part))
                rows += part.num_rows
            while pending and (part is None or rows >= BLOCK_ROWS):
                whole = pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                block, rest = whole.slice(0, BLOCK_ROWS), whole.slice(BLOCK_ROWS)
                pending, rows = ([rest] if rest.num_rows else []), rest.num_rows
                yield _data(block, width, plan, spec.trim_char), _Cursors(block, where)
            if part is None:
                return
    finally:
        del stream


def _packing(reader: Reader, described: Sequence[tuple[str, Any, int, int]],
             refs: Sequence[str | None]) -> _Packing | None:
    """How to pack this read's text columns (None: fewer than two can be, or the names do not allow
    it: the packed statement names every data column, where an unpacked one may say lb_src.*)."""
    import pyodbc

    names = [name for name, *_ in described]
    texts = [j for j, (_, kind, *_) in enumerate(described) if kind is str]
    quoted = [ref for ref in refs if ref is not None]
    if len(texts) < 2 or len(set(names)) != len(names) or len(quoted) != len(refs):
        return None
    d = reader.open().dialect
    shape = reader.shape
    # the declared types of the statement's columns, from one row of NULLs (pg_typeof needs no data)
    probes = ", ".join(f"pg_typeof(lb_src.{quoted[j]})::text" for j in texts)
    sql = (f"SELECT {probes} FROM (SELECT 1 AS lb_one) lb_one LEFT JOIN "
           f"(SELECT {shape.select_list(d)} FROM {shape.source(d)} lb_src WHERE 1 = 0) lb_src ON 1 = 1")
    cur = reader.open().conn.cursor()
    try:
        types = list(cur.execute(sql).fetchone() or ())
    except pyodbc.Error:
        return None
    finally:
        with contextlib.suppress(pyodbc.Error):
            cur.close()
    packed = [j for j, t in zip(texts, types, strict=False) if t in PACK_TYPES][:MAX_PACKED]
    return _Packing(names, quoted, packed) if len(packed) >= 2 else None


class _Packing:
    """A read's text columns selected as two values per row instead of one each: their text joined
    by ``_SEP`` (``concat_ws``, NULL as '') and a BIGINT whose bit i flags the i-th as NULL.

    psqlODBC spends ~190 ns of client CPU on every value it hands out, whatever its length (a
    per-value allocation, copies, an encoding lookup by name); packing eleven text columns
    into one value cut the fetch loop from 2.1 to 0.6 s CPU per million rows, and splitting
    them again in Arrow costs ~0.3 s.  The server renders each value with its type's output
    function, as for a column of its own (CHAR keeps its padding; ``trim_char`` trims it after),
    so only text, VARCHAR and CHAR columns are packed.  A value holding ``_SEP`` splits into too
    many parts: ``unpack`` refuses the block and the read goes on unpacked (``emit``)."""

    def __init__(self, names: list[str], refs: list[str], packed: list[int]) -> None:
        self.names, self.refs, self.packed = names, refs, packed  # refs: the names quoted for SQL
        self.slot = {j: i for i, j in enumerate(packed)}  # data column -> its place in the packed text
        self.at = len(names) - len(packed)  # the packed text's column in a fetched block (the flags follow)
        self.cap = max(PACK_CAP, 64 * len(packed))  # transit bytes per row of packed text
        self.schema: Any = None
        self._positions: list[Any] = []

    def select_list(self) -> str:
        refs = self.refs
        plain = [refs[j] for j in range(len(refs)) if j not in self.slot]
        text = ", ".join(f"COALESCE({refs[j]}, '')" for j in self.packed)
        flags = " + ".join(f"CASE WHEN {refs[j]} IS NULL THEN {1 << i} ELSE 0 END" for i, j in enumerate(self.packed))
        return ", ".join([*plain, f"concat_ws(chr(31), {text}) AS lb_packed", f"CAST({flags} AS BIGINT) AS lb_nulls"])

    def unpacked_schema(self, fetched: Any) -> Any:
        """The schema of the blocks ``unpack`` gives (the columns as an unpacked read has them)."""
        import pyarrow as pa

        text, flags = fetched.field(self.at).type, fetched.field(self.at + 1).type
        if not pa.types.is_string(text) or not pa.types.is_integer(flags):
            raise _Unpackable(f"the packed text columns arrive as Arrow {text} and {flags}")
        plain = iter(range(self.at))
        fields = [pa.field(name, pa.string()) if j in self.slot else fetched.field(next(plain))
                  for j, name in enumerate(self.names)]
        self.schema = pa.schema(fields + [fetched.field(i) for i in range(self.at + 2, len(fetched.names))])
        return self.schema

    def unpack(self, part: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        text, flags = part.column(self.at), part.column(self.at + 1)
        k, m = len(self.packed), int(part.num_rows)
        split = pc.split_pattern(text, _SEP)
        counts = pc.min_max(pc.list_value_length(split))
        if text.null_count or counts["min"].as_py() != k or counts["max"].as_py() != k:
            raise _Unpackable("a text value holds the character U+001F, which separates the packed values")
        values = split.flatten()  # row by row: the k values of row 0, then of row 1...
        any_null = bool(pc.max(flags).as_py())
        columns = []
        plain = 0
        for j in range(len(self.names)):
            i = self.slot.get(j)
            if i is None:
                columns.append(part.column(plain))
                plain += 1
                continue
            column = values.take(self._positions_of(i, m, k))
            if any_null:
                null = pc.not_equal(pc.bit_wise_and(flags, 1 << i), 0)
                column = pc.if_else(null, pa.scalar(None, pa.string()), column)
            columns.append(column)
        columns += [part.column(c) for c in range(self.at + 2, part.num_columns)]
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)

    def _positions_of(self, i: int, m: int, k: int) -> Any:
        """Where the i-th packed column's m values are in the split block (made once per read)."""
        import pyarrow as pa

        if m > BLOCK_ROWS:
            return pa.array(range(i, m * k, k), pa.int32())
        if not self._positions:
            self._positions = [pa.array(range(c, BLOCK_ROWS * k, k), pa.int32()) for c in range(k)]
        return self._positions[i].slice(0, m)


def _describe(reader: Reader, exprs: Sequence[str]) -> list[tuple[str, Any, int, int]]:
    """(name, Python type, precision, scale) per column of the statement, as pyodbc reports them."""
    import pyodbc

    extra = "".join(f", {e} AS lb_k{i}" for i, e in enumerate(exprs))
    try:
        description = reader.describe(f"{reader.shape.select_list(reader.open().dialect)}{extra}")
    except pyodbc.Error as exc:
        raise _Unsupported(f"describing the columns failed: {exc}") from exc
    return [(str(c[0]), c[1], int(c[4] or 0), int(c[5] or 0)) for c in description]


def _plan(schema: Any, expected: Sequence[tuple[str, Any, int, int]], *, psql: bool) -> list[Any]:
    """Per column, the Arrow type to read it as (float64 for float32), or ``_Unsupported``."""
    import pyarrow as pa

    if list(schema.names) != [e[0] for e in expected]:
        raise _Unsupported("column names differ from the row reader's")
    if len(set(schema.names)) != len(schema.names):
        raise _Unsupported("a column name occurs twice")
    plan: list[Any] = []
    for field, (name, kind, precision, scale) in zip(schema, expected, strict=True):
        t = field.type
        ok = False
        if kind is int:
            ok = pa.types.is_signed_integer(t)
        elif kind is str:
            ok = pa.types.is_string(t) or pa.types.is_large_string(t)
        elif kind is bool:
            ok = pa.types.is_boolean(t)
        elif kind is float:
            ok = pa.types.is_floating(t) and t.bit_width in (32, 64)
            t = pa.float64()  # pyodbc fetches every float as a C double
        elif kind is Decimal:
            ok = (pa.types.is_decimal128(t) and (t.precision, t.scale) == (precision, scale)
                  and not (psql and (precision, scale) == (28, 6)))  # psqlODBC: unconstrained NUMERIC
        elif kind is date:
            ok = pa.types.is_date32(t)
        elif kind is datetime:
            ok = pa.types.is_timestamp(t) and t.tz is None and t.unit in ("s", "ms", "us")
        elif kind is time:
            ok = (pa.types.is_time32(t) or pa.types.is_time64(t)) and t.unit in ("s", "ms", "us")
        if not ok:
            raise _Unsupported(f"column {name}: {getattr(kind, '__name__', kind)} arrives as Arrow {field.type}")
        plan.append(t)
    return plan


def _open(reader: Reader, sql: str, params: list[str | None], cap: int | None) -> Any:
    """The arrow-odbc reader of ``sql`` over the row reader's connection string and options, text
    columns bound at most ``cap`` bytes wide (None: as wide as the driver declares them)."""
    from arrow_odbc import Error, TextEncoding, read_arrow_batches_from_odbc

    spec = reader.spec
    conn_str = with_driver_options(spec.connection, reader.open().driver, BLOCK_ROWS)
    # text as the driver's narrow UTF-8 (AUTO: UTF-16 only on Windows): psqlODBC's Unicode driver
    # hands out UTF-8 whatever the locale (checked under LC_ALL=C); UTF-16 cost ~2.4 s more per
    # million rows converting twice and doubled the transit buffers (fewer rows per fetch)
    try:
        return read_arrow_batches_from_odbc(
            query=sql, connection_string=conn_str, parameters=params, batch_size=BLOCK_ROWS,
            max_bytes_per_batch=TRANSIT_BYTES, max_text_size=cap, login_timeout_sec=int(spec.login_timeout),
            query_timeout_sec=int(spec.query_timeout) or None, map_schema=_wide_floats,
            payload_text_encoding=TextEncoding.AUTO, fetch_concurrently=True)
    except Error as exc:
        raise _fail(exc, reader) from exc


def _next(stream: Any, reader: Reader) -> Any:
    from arrow_odbc import Error

    try:
        return next(stream, None)
    except Error as exc:
        raise _fail(exc, reader) from exc


def _fail(exc: Exception, reader: Reader) -> Exception:
    """A dropped connection as ``DatabaseRetryable``; anything else hands over to the row reader."""
    text = str(exc)
    m = _STATE.search(text)
    error = translate(_Dropped(m.group(1) if m else "", text), f"reading {reader.spec.origin}", reader.where)
    if isinstance(error, DatabaseRetryable):
        return error
    if _TRUNCATED in text:
        return _Truncated(f"arrow-odbc: {text.splitlines()[0]}")
    return _Unsupported(f"arrow-odbc: {text.splitlines()[0] if text else type(exc).__name__}")


def _wide_floats(schema: Any) -> Any:
    import pyarrow as pa

    return pa.schema([f.with_type(pa.float64()) if pa.types.is_floating(f.type) else f for f in schema])


def _data(block: Any, width: int, plan: Sequence[Any], trim: bool) -> Any:
    """The data columns of ``block`` as the row reader gives them (CHAR padding trimmed)."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    columns = []
    for i in range(width):
        column = block.column(i)
        if column.type != plan[i]:
            column = column.cast(plan[i])
        if trim and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.ascii_rtrim(column, characters=" ")  # = utf8_rtrim here: no UTF-8 sequence ends in 0x20
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=block.schema.names[:width])


class _Cursors:
    """The cursor tuple of each row of a block, made when asked for: a checkpoint needs only the
    tuple of the last row of each unit (converting every row cost ~0.2 s per million rows)."""

    def __init__(self, block: Any, columns: Sequence[int]) -> None:
        self._columns = [block.column(i) for i in columns]  # the block's columns of the cursor, in order
        self._n = int(block.num_rows)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return tuple(column[i].as_py() for column in self._columns)


def _texts(params: Sequence[Any]) -> list[str | None]:
    """Bound values as the text arrow-odbc binds (VARCHAR), in forms the database parses back exactly."""
    out: list[str | None] = []
    for value in params:
        if value is None or isinstance(value, str):
            out.append(value)
        elif isinstance(value, bool):
            raise _Unsupported("a boolean cursor value")
        elif isinstance(value, int):
            out.append(str(value))
        elif isinstance(value, Decimal):
            out.append(format(value, "f"))
        elif isinstance(value, float):
            out.append(repr(value))
        elif isinstance(value, datetime):
            out.append(value.isoformat(sep=" "))
        elif isinstance(value, date | time):
            out.append(value.isoformat())
        else:
            raise _Unsupported(f"a cursor value of type {type(value).__name__}")
    return out
