"""The columnar CSV reader (pyarrow) gives exactly the records, values and line numbers the
row reader gives; where it meets something it does not take, the row reader goes on from
the first record it did not yield, so a file is read whole, once, in order."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.columnar.rows import ColumnRows
from legacy_bridge.errors import RowError
from legacy_bridge.formats.csv import CsvFormat, CsvSpec

REALWORLD = Path(__file__).resolve().parents[3].parent / "shared" / "realworld" / "csv"


def _records(items: Any) -> list[tuple[int, Any]]:
    return [(pos, row.message if isinstance(row, RowError) else row) for pos, row in items]


def both(path: str, start: int = 0, **spec: Any) -> tuple[list[Any], list[Any], int, int]:
    """(row reader alone, blocks then row reader, records from blocks, check's count)."""
    fmt = CsvFormat(CsvSpec(**spec))
    count = fmt.check(path, "drop/f.csv").records
    alone = _records(fmt.rows(path, "drop/f.csv", start))
    mixed: list[Any] = []
    for positions, table in fmt.blocks(path, "drop/f.csv", start):
        mixed += zip(positions, ColumnRows(table), strict=True)
    from_blocks = len(mixed)
    mixed += _records(fmt.rows(path, "drop/f.csv", start + from_blocks))
    return alone, mixed, from_blocks, count


@pytest.mark.parametrize("name", sorted(p.name for p in REALWORLD.glob("*.csv")))
def test_realworld_files_read_the_same_through_blocks(name: str) -> None:
    try:
        alone, mixed, _, count = both(str(REALWORLD / name), encoding="auto")
    except Exception as exc:  # a file the row reader refuses whole is refused the same way by check
        pytest.skip(f"refused whole: {type(exc).__name__}")
    assert mixed == alone and count == len(alone)


def _export(path: Path, n: int, newline: str = "\r\n", encoding: str = "cp1252") -> list[str]:
    rng = random.Random(n)
    lines = ["CUSTNO;NAME;CITY;BALANCE"]
    for i in range(n):
        lines.append(f"{i + 1};{rng.choice(['Zoë', 'Jürgen', ' José ', 'Weiß'])} {i};"
                     f"{rng.choice(['köln', 'århus', ''])};{rng.randint(-9999, 9999)},{rng.randint(0, 99):02d}")
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return lines


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_a_large_export_comes_in_blocks_with_its_line_numbers(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "CUST.csv"
    _export(path, 60_000, newline)
    alone, mixed, from_blocks, count = both(str(path), encoding="cp1252", delimiter=";")
    assert from_blocks == 60_000 and count == 60_000 and mixed == alone
    assert mixed[0] == (2, {"CUSTNO": "1", "NAME": mixed[0][1]["NAME"], "CITY": mixed[0][1]["CITY"],
                            "BALANCE": mixed[0][1]["BALANCE"]})
    assert mixed[-1][0] == 60_001


def test_resume_in_the_middle_starts_at_that_record(tmp_path: Path) -> None:
    path = tmp_path / "CUST.csv"
    _export(path, 30_000)
    alone, mixed, from_blocks, _ = both(str(path), start=12_345, encoding="cp1252", delimiter=";")
    assert mixed == alone and from_blocks == 30_000 - 12_345 and mixed[0][0] == 12_345 + 2


def test_a_ragged_record_mid_file_stops_the_blocks_and_is_rejected_by_the_row_reader(tmp_path: Path) -> None:
    path = tmp_path / "CUST.csv"
    lines = _export(path, 40_000)
    lines[30_001] = "30001;short"  # line 30,002
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    alone, mixed, from_blocks, count = both(str(path), encoding="cp1252", delimiter=";")
    assert mixed == alone and count == 40_000
    assert 0 < from_blocks <= 30_000  # blocks up to the one holding the bad record
    assert (30_002, "record has 2 fields, the header has 4") in mixed


@pytest.mark.parametrize(("data", "why"), [
    (b'A;B\r\n1;"x"\r\n', "a quote"),
    (b"A;B\r\n1;x\r\n\r\n2;y\r\n", "a blank line"),
    (b"A;B\r1;x\r2;y\r", "old Mac line ends"),
    (b"A;B\r\n1;x\x00\r\n", "a NUL byte"),
    (b"A;B\r\n1;\x81\r\n", "a byte cp1252 does not define"),
    (b"A;B\r\n1;x\ry\r\n2;z", "a lone CR in a file whose last line has no line end"),
    (b"A;B\r\n1;x\r\n\n2;y\r\n", "a bare LF among CRLF line ends"),
    (b"A;B\r\n1;x\r\r\n2;y\r\n", "a CR before a CRLF"),
])
def test_files_only_the_row_reader_reads_right_never_go_through_blocks(tmp_path: Path, data: bytes, why: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    alone, mixed, from_blocks, count = both(str(path), encoding="cp1252", delimiter=";")
    assert from_blocks == 0, why
    assert mixed == alone and count == len(alone)


def test_a_trailing_delimiter_record_is_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"A;B\n1;x\n2;y;\n3;z\n")
    alone, mixed, _, count = both(str(path), delimiter=";")
    assert mixed == alone and count == 3 and [r["B"] for _, r in mixed] == ["x", "y", "z"]
