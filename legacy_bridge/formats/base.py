"""The format seam: a local file's bytes in, rows with their line/row/record numbers out.

Formats never see a transport: the files source hands them a local path (the file
itself for local drops, a spooled copy for SFTP).  ``check`` reads the whole file
once before anything is sent, so a truncated or corrupt drop is quarantined before
its first batch; ``rows`` then streams it, skipping the records already delivered.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from legacy_bridge.errors import FormatError, RowError
from legacy_bridge.records import PositionKind, Row


@dataclass(slots=True)
class FileCheck:
    """What a whole-file check found (``FormatError`` is raised for a file that cannot be used)."""

    records: int  # data records in the file (rows that parse plus rows that are rejects)
    encoding: str | None = None  # the encoding used (recorded in the ledger when detected)
    notes: list[str] = field(default_factory=list)  # e.g. "encoding detected as cp1252"


def file_key(path: str, display: str) -> tuple[str, int, int]:
    """(path, size, mtime_ns): which file a format's check read, so what it kept of it (a plan, a
    spool) is used only for that very file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FormatError(f"cannot read {display}: {exc}", where={"file": display}) from exc
    return path, st.st_size, st.st_mtime_ns


class Format(Protocol):
    position_kind: PositionKind

    def check(self, path: str, display_name: str) -> FileCheck:
        """Read the whole file; raise ``FormatError`` naming the file and position if unusable."""
        ...

    def rows(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[int, Row | RowError]]:
        """Yield (position, row) for each data record from record index ``start`` on.

        A record that cannot be read is yielded as a ``RowError`` (it becomes a reject
        with file and position) - it is never raised, and it counts as a record."""
        ...


class ColumnarFormat(Format, Protocol):
    """A format that can also read a file as Arrow blocks (legacy_bridge/columnar).

    ``blocks`` yields ``(positions, table)``: a ``pyarrow.RecordBatch`` of consecutive data
    records from record index ``start`` on (one column per field, named as ``rows`` names
    them, the values ``rows`` would give) and each record's position.  It may stop early,
    at any record, when it meets something only the row reader handles (a ragged record,
    an undecodable byte ...): the files source then reads the rest with ``rows`` from the
    first record not yielded.  It returns at once (yields nothing) for a file it does not
    take at all.  ``blocks`` never yields a record ``rows`` would yield as a ``RowError``.
    """

    def blocks(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[Sequence[int], Any]]: ...
