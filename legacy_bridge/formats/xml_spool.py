"""An XML file's records read once, kept as Arrow blocks from ``check`` to the delivery.

Without ``fields`` a record becomes its attributes and children (``xml._flat``).  Reading
a drop used to parse it twice: ``check`` (is it well-formed, how many records?) before
anything is sent, then ``rows`` to send it.  Now ``check`` reads the records themselves in
its one pass and keeps them here; ``blocks`` and ``rows`` then read the spool, not the file.

A run of records with one flat shape (the same attributes and the same leaf children, in
the same order, no name twice) becomes a ``pyarrow.RecordBatch`` of text columns, built
straight from the elements: no dict per record.  Any other record (nested or repeated
children, an entity reference ...) is read by ``read_record`` (``xml._flat``) and kept as
a row, and so is a run of fewer than ``MIN_RUN`` records of one shape between others
(records whose optional children come and go would otherwise make blocks of a few
records each).  ``blocks`` yields the tables up to the first record kept as a row;
``rows`` reads on from there, tables included.

The spool holds its entries (pickled) in memory up to ``IN_MEMORY`` bytes and in an unnamed
temporary file beyond (``TMPDIR``; about 40 % of the XML's size; no other process can open
it, and it is gone with the process or when the format releases it).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from legacy_bridge.errors import RowError
from legacy_bridge.records import Row

# Records per block.  The runner keeps about two mapped blocks alive (the one whose units are in
# flight, the next one mapped), ~1.2 KB a record between the table, the mapped columns and the JSON,
# so this sets the run's peak memory: on the bench's 500k-record XML, 5000 peaked at 104 MB, 2000 at
# 98-99 MB and 1000 at 95-96 MB; the rates overlapped at 5000 and 2000 (80-89k/s against 80-85k/s)
# and fell 5 % at 1000, where the per-block cost (~1 ms) starts to show.
BLOCK = 2000
MIN_RUN = 500  # fewer records of one shape between others are kept as rows: each block costs the runner ~1 ms
IN_MEMORY = 1024 * 1024  # spool bytes kept in memory before it moves to a temporary file (a few MB of XML)

_TAG = attrgetter("tag")
_TEXT = attrgetter("text")


@dataclass(slots=True)
class Failed:
    """A record ``read_record`` could not read (it becomes a ``RowError`` when read back)."""

    message: str


Entry = tuple[int, Any]  # (index of the first record, a RecordBatch or a list of Row | Failed)


@dataclass
class Spool:
    key: tuple[str, int, int]  # (path, size, mtime_ns) of the file it was read from
    records: int = 0
    file: Any = field(default_factory=lambda: _new_file())
    index: list[tuple[int, int]] = field(default_factory=list)  # (first record, byte offset) per entry

    def put(self, first: int, payload: Any) -> None:
        self.index.append((first, self.file.tell()))
        pickle.dump((first, payload), self.file, protocol=pickle.HIGHEST_PROTOCOL)

    def entries(self, start: int = 0) -> Iterator[Entry]:
        """The entries holding records from index ``start`` on (the first may begin before it)."""
        at = 0
        for i, (first, _offset) in enumerate(self.index):
            if first <= start:
                at = i
        for _first, offset in self.index[at:]:
            self.file.seek(offset)
            yield pickle.load(self.file)

    def close(self) -> None:
        self.file.close()


def _new_file() -> Any:
    return tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # (Spool.close closes it)


def read_flat(records: Iterator[Any], spool: Spool, read_record: Callable[[Any], Row | Failed]) -> None:
    """Spool every record of ``records`` (lxml elements, each released after its turn); ``spool.records``
    counts them, also when the iterator raises (a file broken after its first records)."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    import legacy_bridge.columnar  # noqa: F401  (Arrow's memory pool, chosen before the first buffer)

    shape: tuple[list[Any], list[Any]] | None = None  # (attribute keys, child tags) of the block being built
    names: list[str] = []
    attrs: list[Any] = []  # the block's attribute values, record after record
    texts: list[Any] = []  # the block's leaf texts, record after record
    block_first = rows = run = 0  # run: records of the current shape so far (blocks of it included)
    odd: list[Row | Failed] = []
    odd_first = 0
    index = 0

    def flush_block(short: bool = False) -> None:
        """The block built so far goes to the spool: a table, or rows when its run of one shape is short."""
        nonlocal attrs, texts, rows, odd_first
        if rows and short:
            if not odd:
                odd_first = block_first
            odd.extend(_as_rows(names, attrs, texts, rows))
            if len(odd) >= BLOCK:
                flush_odd()
        elif rows:
            assert shape is not None
            n_attrs, n_texts = len(shape[0]), len(shape[1])
            columns = [pa.array(attrs[i::n_attrs], pa.string()) for i in range(n_attrs)]
            columns += [pc.utf8_trim_whitespace(pa.array(texts[i::n_texts], pa.string()))  # (= str.strip())
                        for i in range(n_texts)]
            spool.put(block_first, pa.RecordBatch.from_arrays(columns, names=names))
        attrs, texts, rows = [], [], 0

    def flush_odd() -> None:
        nonlocal odd
        if odd:
            spool.put(odd_first, odd)
        odd = []

    try:
        for elem in records:
            children = elem[:]
            tags = list(map(_TAG, children))
            keys = elem.keys()
            if shape is None or tags != shape[1] or keys != shape[0] or any(map(len, children)):
                flat = _flat_names(keys, tags) if not any(map(len, children)) else None
                flush_block(short=run < MIN_RUN)
                run = 0
                if flat is None:  # not flat: read as a row, as rows() would
                    if not odd:
                        odd_first = index
                    odd.append(read_record(elem))
                    if len(odd) >= BLOCK:
                        flush_odd()
                    index += 1
                    continue
                shape, names = (keys, tags), flat
            if not rows:
                block_first = index
            if keys:
                attrs += elem.values()
            texts += map(_TEXT, children)
            rows += 1
            run += 1
            if run == MIN_RUN:  # a long run: what came before it can go to the spool
                flush_odd()
            if rows >= BLOCK:
                flush_block()
            index += 1
    finally:
        spool.records = index
        if odd and run < MIN_RUN:  # (a short run after rows stays with them)
            flush_block(short=True)
        flush_odd()
        flush_block()
        spool.file.flush()


def _as_rows(names: list[str], attrs: list[Any], texts: list[Any], n: int) -> list[Row]:
    """The block's records as ``xml._flat`` gives them (texts stripped, attributes as they are)."""
    n_texts = len(texts) // n
    n_attrs = len(attrs) // n
    return [dict(zip(names, [*attrs[i * n_attrs:(i + 1) * n_attrs],
                             *((t.strip() if t is not None else None) for t in texts[i * n_texts:(i + 1) * n_texts])],
                     strict=True)) for i in range(n)]


def _flat_names(keys: list[Any], tags: list[Any]) -> list[str] | None:
    """The column names of a flat record with these attribute keys and child tags, as ``_flat`` names
    them; None when its columns would not be one text value each (a comment, an entity, a name twice)."""
    if not tags and not keys:
        return None
    if not all(type(t) is str for t in tags):
        return None
    names = [f"@{str(k).rpartition('}')[2]}" for k in keys] + [t.rpartition("}")[2] for t in tags]
    return names if len(set(names)) == len(names) else None


def read_back(spool: Spool, start: int, display: str) -> Iterator[tuple[int, Row | RowError]]:
    """The spooled records from index ``start`` on, as ``rows`` yields them."""
    for first, payload in spool.entries(start):
        rows = payload.to_pylist() if not isinstance(payload, list) else payload
        for i, row in enumerate(rows[max(0, start - first):], start=max(first, start)):
            if type(row) is Failed:
                yield i + 1, RowError(row.message, where={"file": display, "record": i + 1})
            else:
                yield i + 1, row


def blocks(spool: Spool, start: int) -> Iterator[tuple[range, Any]]:
    """The spooled Arrow blocks from index ``start`` on, up to the first record kept as a row."""
    for first, payload in spool.entries(start):
        if isinstance(payload, list):
            return
        skip = max(0, start - first)
        table = payload.slice(skip) if skip else payload
        if table.num_rows:
            yield range(first + skip + 1, first + skip + 1 + table.num_rows), table
