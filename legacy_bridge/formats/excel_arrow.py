"""``.xlsx`` sheets as Arrow (fastexcel, the ``fast`` extra), for ``ExcelFormat.blocks``.

fastexcel reads the sheet with calamine, as ``excel_calamine`` does, but builds typed Arrow
columns in Rust.  ``load`` reads the data rows (from the row after the header and
``skip_rows``, up to the first row holding an error cell) in one pass, with every column's
type inferred from all of those rows and ``strict`` coercion: a column that mixes kinds of
cells (numbers and text, dates and numbers ...) makes it return ``None`` and the row reader
reads the file.  ``exact`` then turns each column into what the row reader gives for the same
cells: empty text is null, integral numbers are ``int64`` (a column holding both integral and
fractional numbers becomes a dense union of ``int64`` and ``double``, which gives back ``int``
and ``float`` value by value), dates are timestamps; a type it does not know also gives
``None``.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

_INT_LIMIT = 2.0**53  # as excel_calamine.norm: integral floats inside (-2**53, 2**53) are ints
_NULL = pa.scalar(None, pa.string())
_EMPTY_TEXT = "but got 'String(\"\")'"  # an empty-text cell in a typed column: null, as rows gives None


def available() -> bool:
    try:
        import fastexcel  # noqa: F401
    except ImportError:
        return False
    return True


def load(path: str, sheet: int, skip: int, n_rows: int | None) -> tuple[int, list[Any], int | None] | None:
    """(the 0-based sheet column of the first column, the columns, the first row fastexcel could
    not convert or None) for sheet rows ``skip + 1`` to ``skip + n_rows`` (all rows on when
    ``n_rows`` is None), each column as the row reader gives its values; ``None`` when fastexcel
    cannot give them exactly (mixed kinds of cells, a type not mapped)."""
    import fastexcel

    logging.getLogger("fastexcel").setLevel(logging.ERROR)  # "falling back to string" for empty columns
    try:
        reader = fastexcel.read_excel(path)
        sheet_ = reader.load_sheet(sheet, header_row=None, skip_rows=skip, n_rows=n_rows, schema_sample_rows=None,
                                   dtype_coercion="strict")
        first = min((c.absolute_index for c in sheet_.available_columns()), default=0)
        table, errors = sheet_.to_arrow_with_errors()  # cells it could not convert (null in table)
    except Exception:  # fastexcel.FastExcelError and the like: the row reader reads (or refuses) the file
        return None
    bad = min((e.offset_position[0] for e in (errors.errors if errors is not None else ())
               if not e.detail.endswith(_EMPTY_TEXT)), default=None)
    columns = []
    for column in table.columns:
        out = exact(column)
        if out is None:
            return None
        columns.append(out)
    return first, columns, bad


def exact(column: Any) -> Any | None:
    """One fastexcel column as the row reader's values, or None for a type it does not map."""
    t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if not pa.types.is_string(t):
            column = pc.cast(column, pa.string())
        return pc.if_else(pc.equal(column, ""), _NULL, column)
    if pa.types.is_floating(t):
        return _numbers(column)
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_null(t):
        return column
    if pa.types.is_timestamp(t) and t.tz is None:
        return None if _times_of_day(column) else column
    if pa.types.is_date32(t):  # ISO date cells (t="d"): the row reader gives datetimes at midnight
        return pc.cast(column, pa.timestamp("ms"))
    if pa.types.is_duration(t):
        return column
    return None


def _times_of_day(column: Any) -> bool:
    """Does the column hold a time-of-day cell (a serial below 1)?  The row reader gives those
    as ``time``, fastexcel as a datetime on the epoch's day (1899-12-31 or 1904-01-01)."""
    t = column.type
    day = (pa.scalar(_dt.datetime(1904, 1, 1), t), pa.scalar(_dt.datetime(1904, 1, 2), t))
    early = pc.less(column, pa.scalar(_dt.datetime(1900, 1, 1), t))
    odd = pc.or_(early, pc.and_(pc.greater_equal(column, day[0]), pc.less(column, day[1])))
    return bool(pc.any(odd).as_py())


def _numbers(column: Any) -> Any:
    """Floats as ``norm`` gives them: ``int`` when integral and within 2**53, else ``float``."""
    whole = pc.fill_null(pc.and_(pc.equal(pc.floor(column), column), pc.less(pc.abs(column), _INT_LIMIT)), True)
    if pc.all(whole).as_py():
        return pc.cast(column, pa.int64())
    fraction = pc.invert(whole)
    if pc.all(pc.or_(fraction, pc.is_null(column))).as_py():
        return column
    codes = pc.cast(fraction, pa.int8())
    at_int = pc.subtract(pc.cumulative_sum(pc.cast(whole, pa.int32())), 1)
    at_float = pc.subtract(pc.cumulative_sum(pc.cast(fraction, pa.int32())), 1)
    offsets = pc.cast(pc.if_else(whole, at_int, at_float), pa.int32())
    children = [pc.cast(pc.filter(column, whole), pa.int64()), pc.filter(column, fraction)]
    return pa.UnionArray.from_dense(codes, offsets, children, ["int", "float"])


BLOCK_ROWS = 10_000


@dataclass(slots=True)
class Records:
    """A sheet's records as Arrow, as far as they are exact (see ``prepare``)."""

    table: Any  # RecordBatch: the records, empty rows left out
    positions: list[int]  # each record's sheet row number
    records: int | None  # every record of the sheet (rows() counts the same), when ``table`` holds them all


def prepare(path: str, sheet: int, names: list[str] | None, first_data: int, stop: int | None,
            width: int) -> Records | None:
    """The records as the row reader gives them: sheet rows from ``first_data`` up to (not
    including) row ``stop`` (the first row with an error cell), empty rows left out, ending
    before the first row with a value beyond ``names`` or a cell fastexcel could not convert.
    ``width``: the sheet's columns as the row reader pads them.  ``names`` None: ``column_1`` ...
    for every column.  None for a sheet fastexcel cannot give exactly."""
    n_rows = None if stop is None else stop - first_data
    if n_rows is not None and n_rows <= 0:
        return None
    loaded = load(path, sheet, first_data - 1, n_rows)
    if loaded is None or not loaded[1]:
        return None
    first, columns, bad = loaded
    full = len(columns[0])
    height = full if bad is None else min(full, bad)  # end before an unconverted cell
    width = max(width, first + len(columns))
    if names is None:
        names = [f"column_{i + 1}" for i in range(width)]
    if len(set(names)) != len(names):
        return None
    values = [pa.nulls(height)] * first + [c.slice(0, height) for c in columns]
    values += [pa.nulls(height)] * (width - len(values))
    keep = _any_valid(values, height)
    count = pc.sum(keep, min_count=0).as_py()  # every non-empty row is a record (a reject or not)
    beyond = _any_valid(values[len(names):], height)
    cut = pc.index(pc.and_(keep, beyond), True).as_py() if len(values) > len(names) else -1
    if cut >= 0:
        keep = pc.and_(keep, pc.less(pa.array(range(height), pa.int64()), cut))
    out = [values[i] if i < width else pa.nulls(height) for i in range(len(names))]
    table = pa.RecordBatch.from_arrays(out, names=names).filter(keep)
    positions = pc.add(pc.indices_nonzero(keep), first_data).to_pylist()
    return Records(table, positions, count if stop is None and height == full else None)


def blocks(records: Records, start: int, size: int = BLOCK_ROWS) -> Iterator[tuple[list[int], Any]]:
    """(positions, RecordBatch) of ``size`` records each, from record index ``start`` on."""
    for at in range(start, records.table.num_rows, size):
        yield records.positions[at:at + size], records.table.slice(at, size)


def _any_valid(columns: list[Any], height: int) -> Any:
    """Per row: does any of ``columns`` hold a value (False for every row when none)."""
    out = pc.is_valid(pa.nulls(height))
    for column in columns:
        if not pa.types.is_null(column.type):
            out = pc.or_(out, pc.is_valid(column))
    return out
