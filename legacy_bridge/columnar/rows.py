"""``ColumnRows``: the rows of a ``pyarrow.RecordBatch`` as a lazy sequence of dicts.

Everything that works on rows (the row mapping, rejects, replay, preview) takes a
columnar batch unchanged through this view; the columns are turned into Python values
only when a row is first asked for, and then once for the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from legacy_bridge.records import Row


class ColumnRows(Sequence[Row]):
    __slots__ = ("_columns", "_names", "table")

    def __init__(self, table: Any) -> None:
        self.table = table
        self._names: list[str] = list(table.schema.names)
        self._columns: list[list[Any]] | None = None

    def _values(self) -> list[list[Any]]:
        if self._columns is None:
            self._columns = [column.to_pylist() for column in self.table.columns]
        return self._columns

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> ColumnRows: ...

    def __getitem__(self, index: int | slice) -> Row | ColumnRows:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("ColumnRows slices take every row (step 1)")
            return ColumnRows(self.table.slice(start, max(0, stop - start)))
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return {name: column[index] for name, column in zip(self._names, self._values(), strict=True)}

    def __iter__(self) -> Iterator[Row]:
        names = self._names
        for values in zip(*self._values(), strict=True):
            yield dict(zip(names, values, strict=True))

    def __repr__(self) -> str:
        return f"ColumnRows({len(self)} rows: {', '.join(self._names)})"

