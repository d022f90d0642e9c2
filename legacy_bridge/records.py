"""The few types every stage shares: a source batch, its checkpoint, mapped payloads, rejects.

A source yields ``Batch`` objects in source order.  Each carries the rows (plain dicts,
the fastest thing Python has), where each row came from, and the ``Checkpoint`` that
becomes true once the target has acknowledged every row of the batch.  The runner
maps a batch into a ``MappedBatch`` (payloads + rejects), hands the payloads to the
target, and commits checkpoint and rejects in one state-store transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FileProgress:
    """Where a flow stands inside one file of the ledger."""

    file_id: int
    records_done: int  # index of the next record to deliver (0-based, counts every data record)
    finished: bool = False  # True on the file's last batch: the ledger marks it delivered


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What becomes true in the state store once a batch is acknowledged.

    ``watermark``: the flow's new watermark (JSON-able; ``None`` leaves it as it is).
    ``file``: progress inside a ledger file.
    ``hashes``: (record key, content hash) pairs to remember (diff mode, lookback).
    ``deleted_keys``: keys to forget (diff mode, rows deleted at the source).
    """

    watermark: Any = None
    file: FileProgress | None = None
    hashes: Sequence[tuple[str, str]] = ()
    deleted_keys: Sequence[str] = ()


PositionKind = Literal["line", "row", "record", "key"]


@dataclass(slots=True)
class Batch:
    """Rows read from one source unit (a file, a sheet, a table), in source order.

    ``origin``: the file path (as shown to users) or the table name.
    ``positions``: per row, its line number (csv), row number (excel), record number
    (xml, counting from 1) - what a user needs to find the row again.  Empty for tables,
    whose rows are found by their key.

    A columnar source (legacy_bridge/columnar) also gives ``table``, a ``pyarrow.RecordBatch``
    with one column per source field, and reads ``rows`` as a lazy view of it.  Such a batch
    may be larger than the target's batch: ``cut(n)`` is the checkpoint that holds once its
    first ``n`` rows are acknowledged, and the runner splits it into target-sized units.  A
    batch with ``cut`` has no source ``rejects`` (sources yield those in batches of their own).
    """

    rows: Sequence[Row]
    origin: str
    checkpoint: Checkpoint
    positions: Sequence[int] = field(default_factory=list)
    position_kind: PositionKind = "line"
    rejects: list[Reject] = field(default_factory=list)  # rows the source itself could not read
    seq: int = 0  # set by the runner
    table: Any = None  # pyarrow.RecordBatch of the rows, from a columnar source
    cut: Callable[[int], Checkpoint] | None = None  # checkpoint after the first n rows (splittable batch)

    def where(self, index: int) -> str:
        """Human position of row ``index``: ``line 14`` / ``row 7`` / ``record 3`` ('' for tables)."""
        if index < len(self.positions):
            return f"{self.position_kind} {self.positions[index]}"
        return ""


@dataclass(slots=True)
class Payload:
    """One mapped record ready for the target."""

    key: str  # the record's external id (from the mapping's ``key``)
    data: dict[str, Any]  # target fields (nested where the mapping says so)
    index: int  # index of the source row in its batch (for positions and raw values)


@dataclass(slots=True)
class Reject:
    """A record that did not make it, with everything needed to find, fix and replay it."""

    reason: str
    origin: str = ""  # file or table
    position: str = ""  # "line 14", "row 7", or "" for tables
    key: str | None = None
    field: str | None = None
    value: str | None = None
    raw: Row | None = None  # the source record as read (replay re-maps it)
    stage: Literal["source", "mapping", "target"] = "mapping"
    row: int = -1  # index of the source row in its batch (not stored; the runner splits batches by it)


@dataclass(slots=True)
class MappedBatch:
    payloads: list[Payload]
    rejects: list[Reject] = field(default_factory=list)
    skipped: int = 0  # filtered on purpose
    deduped: int = 0  # dropped because a later record in the batch had the same key


@dataclass(slots=True)
class Delivery:
    """What the target did with a list of payloads.

    ``rejected``: (index into the payload list, reason, field or None) for records the
    target refused permanently.  Everything else counts as acknowledged.
    """

    sent: int = 0
    rejected: list[tuple[int, str, str | None]] = field(default_factory=list)
    retried: int = 0  # calls repeated because of transient failures
    calls: int = 0


@dataclass(slots=True)
class Counts:
    read: int = 0
    sent: int = 0
    rejected: int = 0
    skipped: int = 0
    retried: int = 0
    files: int = 0

    def add(self, other: Counts) -> None:
        self.read += other.read
        self.sent += other.sent
        self.rejected += other.rejected
        self.skipped += other.skipped
        self.retried += other.retried
        self.files += other.files
