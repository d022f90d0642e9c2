"""``ExcelFormat.blocks`` (Arrow blocks through fastexcel) gives the records ``rows`` gives:
the blocks, then ``rows`` from the first record not in a block, equal ``rows`` alone - same
positions, same keys, same Python values and types - on the real-world workbooks and on
generated ones (every cell type, both date systems, error cells, mixed columns, values
beyond the header, empty rows, several blocks, a start in the middle)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.columnar.rows import ColumnRows
from legacy_bridge.errors import FormatError, RowError
from legacy_bridge.formats import REGISTRY
from legacy_bridge.formats.excel import ExcelFormat
from tests.fixtures.project import ROOT

pytest.importorskip("fastexcel")
xlsxwriter = pytest.importorskip("xlsxwriter")

REAL = ROOT.parent / "shared" / "realworld" / "excel"
XLSX = sorted(p.name for p in REAL.glob("*.xlsx"))


def fmt(**spec: Any) -> ExcelFormat:
    built = REGISTRY.build(REGISTRY.get("excel").config.model_validate({"kind": "excel", **spec}), Path("."))
    assert isinstance(built, ExcelFormat)
    return built


def typed(pos: int, row: Any) -> tuple[int, Any]:
    """A record as a user compares it: position, and each field's name, type and value."""
    if isinstance(row, RowError):
        return pos, f"reject: {row.message}"
    return pos, [(k, type(v).__name__, v) for k, v in row.items()]


def by_rows(path: Path, start: int = 0, **spec: Any) -> list[tuple[int, Any]]:
    f = fmt(**spec)
    f.check(str(path), path.name)
    return [typed(p, r) for p, r in f.rows(str(path), path.name, start)]


def by_blocks(path: Path, start: int = 0, **spec: Any) -> tuple[list[tuple[int, Any]], int, list[int]]:
    """As the files source reads: blocks as far as they go, then ``rows`` for the rest.
    (records, records that came in blocks, the size of each block)."""
    f = fmt(**spec)
    f.check(str(path), path.name)
    out: list[tuple[int, Any]] = []
    sizes: list[int] = []
    for positions, table in f.blocks(str(path), path.name, start):
        rows = list(ColumnRows(table))
        assert len(positions) == len(rows) == table.num_rows
        out += [typed(p, r) for p, r in zip(positions, rows, strict=True)]
        sizes.append(len(rows))
    took = sum(sizes)
    out += [typed(p, r) for p, r in f.rows(str(path), path.name, start + took)]
    return out, took, sizes


def same(path: Path, start: int = 0, **spec: Any) -> tuple[list[tuple[int, Any]], int, list[int]]:
    """blocks + rows == rows, and the check's count (taken from the Arrow read when it can) is
    the number of records rows gives."""
    expected = by_rows(path, start, **spec)
    assert fmt(**spec).check(str(path), path.name).records == len(by_rows(path, 0, **spec))
    got, took, sizes = by_blocks(path, start, **spec)
    assert got == expected
    return got, took, sizes


def workbook(path: Path, fill: Callable[[Any, Any], None], **options: Any) -> Path:
    book = xlsxwriter.Workbook(str(path), options)
    sheet = book.add_worksheet("Data")
    fill(book, sheet)
    book.close()
    return path


# --- real-world workbooks --------------------------------------------------------------------

@pytest.mark.parametrize("name", XLSX)
@pytest.mark.parametrize("header_row", [0, 1])
def test_real_world_workbooks_give_the_records_rows_gives(name: str, header_row: int) -> None:
    records = by_rows(REAL / name, header_row=header_row, duplicate_headers="suffix")
    for start in sorted({0, len(records) // 2, len(records)}):
        same(REAL / name, start, header_row=header_row, duplicate_headers="suffix")


def test_real_world_workbooks_are_taken_where_their_columns_are_exact() -> None:
    """Not only refusals: merged cells, _x000D_ escapes and formula results come in blocks."""
    got, took, _ = same(REAL / "calamine__has_x000D_.xlsx", header_row=0)
    assert took == 1 and got[0][1][0][2] == "ABC\r\nDEF"
    _, took, _ = same(REAL / "calamine__merged_range.xlsx")
    assert took == 2
    _, took, _ = same(REAL / "calamine__table-multiple.xlsx")
    assert took == 4
    got, took, _ = same(REAL / "calamine__header-row.xlsx", header_row=9)
    assert got == [(10, [("Columns", "str", "put data here"), ("Column A", "int", 1), ("Column B", "int", 2),
                         ("Column C", "int", 3)])]


def test_real_world_mixed_columns_are_left_to_rows() -> None:
    """date.xlsx mixes dates and a duration in one column: no block, rows reads it all."""
    _, took, _ = same(REAL / "calamine__date.xlsx")
    assert took == 0


# --- generated workbooks -----------------------------------------------------------------------

N = 25_000  # more than two blocks


def _typed_sheet(book: Any, sheet: Any) -> None:
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss.000"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(1, 1, ["id", "name", "amount", "qty", "created", "day", "active", "note", "", "id"])
    base = dt.datetime(1999, 12, 31, 23, 59, 58, 125000)
    for i in range(N):
        r = i + 2
        if i % 1000 == 999:
            continue  # an empty row: not a record
        sheet.write_number(r, 1, 100_000 + i)
        sheet.write_string(r, 2, f"Müller {i}" if i % 7 else "")  # empty text is None
        sheet.write_number(r, 3, i / 4)  # integral every 4th row: int there, float elsewhere
        if i % 500 == 250:
            sheet.write_string(r, 4, "")  # empty text in a number column: None
        else:
            sheet.write_number(r, 4, float(i % 50))
        sheet.write_datetime(r, 5, base + dt.timedelta(hours=i, milliseconds=i % 1000), when)
        sheet.write_datetime(r, 6, dt.datetime(2020, 1, 1) + dt.timedelta(days=i % 400), day)
        sheet.write_boolean(r, 7, i % 3 == 0)
        if i % 11 == 0:
            sheet.write_string(r, 8, f"line one_x000D_\nline two {i}" if i % 2 else "  spaced  ")
        if i % 13 == 0:
            sheet.write_number(r, 10, -i * 1e10)  # beyond 2**53: stays float
    sheet.write_string(N + 3, 1, "")  # an empty-text row at the end: empty, not a record


@pytest.fixture(scope="module")
def typed_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return workbook(tmp_path_factory.mktemp("xl") / "typed.xlsx", _typed_sheet)


@pytest.mark.parametrize("start", [0, 1, 9_999, 12_345, N - 30])
def test_generated_types_positions_and_start(typed_book: Path, start: int) -> None:
    got, took, sizes = same(typed_book, start, header_row=2, duplicate_headers="suffix")
    assert took == len(got) > 0
    assert all(s <= 10_000 for s in sizes) and (start > N - 10_000 or len(sizes) >= 2)
    first = dict((k, (t, v)) for k, t, v in got[0][1])
    assert set(first) == {"column_1", "id", "name", "amount", "qty", "created", "day", "active", "note",
                          "column_10", "id_2"}


def test_generated_values_are_those_of_rows(typed_book: Path) -> None:
    got, _, _ = same(typed_book, header_row=2, duplicate_headers="suffix")
    kinds = {k: {t for _, row in got for kk, t, _ in row if kk == k} for k in ("amount", "qty", "created", "day")}
    assert kinds == {"amount": {"int", "float"}, "qty": {"int", "NoneType"}, "created": {"datetime"}, "day": {"datetime"}}
    assert got[0][0] == 3 and got[998][0] == 1001 and got[999][0] == 1003  # row 1002 is empty
    notes = {v for _, row in got for k, _, v in row if k == "note"}
    # xlsxwriter escapes a literal "_x000D_" (as _x005F_x000D_): both readers give it back as written
    assert "line one_x000D_\nline two 11" in notes and "  spaced  " in notes


def test_generated_1904_date_system(tmp_path: Path) -> None:
    def fill(book: Any, sheet: Any) -> None:
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_row(0, 0, ["when", "n"])
        for i in range(50):
            sheet.write_datetime(i + 1, 0, dt.datetime(1905, 3, 1, 12, 30) + dt.timedelta(days=37 * i), when)
            sheet.write_number(i + 1, 1, i)

    path = workbook(tmp_path / "d1904.xlsx", fill, date_1904=True)
    got, took, _ = same(path)
    assert took == 50 and got[0][1][0] == ("when", "datetime", dt.datetime(1905, 3, 1, 12, 30))


def test_error_cell_in_the_middle_stops_the_blocks_before_it(tmp_path: Path) -> None:
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["id", "value"])
        for i in range(15_000):
            sheet.write_number(i + 1, 0, i)
            if i == 12_000:
                sheet.write_formula(i + 1, 1, "=1/0", None, "#DIV/0!")
            else:
                sheet.write_string(i + 1, 1, f"v{i}")

    path = workbook(tmp_path / "errors.xlsx", fill)
    for start in (0, 5_000, 12_000, 12_001):
        got, took, _ = same(path, start)
        assert took == max(0, 12_000 - start)  # the blocks end just before the error row
        if start <= 12_000:
            assert got[12_000 - start] == (12_002, "reject: cell B12002 holds the error #DIV/0!")


def test_mixed_numbers_and_text_in_a_column_leave_the_file_to_rows(tmp_path: Path) -> None:
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["zip", "city"])
        for i in range(3_000):
            sheet.write(i + 1, 0, 75001 + i if i != 2_500 else "F-75001")
            sheet.write_string(i + 1, 1, "Paris")

    path = workbook(tmp_path / "mixed.xlsx", fill)
    got, took, _ = same(path)
    assert took == 0 and len(got) == 3_000
    assert got[2_500][1][0] == ("zip", "str", "F-75001") and got[0][1][0] == ("zip", "int", 75001)


def test_value_beyond_the_header_stops_the_blocks_before_its_row(tmp_path: Path) -> None:
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["a", "b"])
        for i in range(500):
            sheet.write_row(i + 1, 0, [f"a{i}", i])
        sheet.write_string(301, 3, "stray")  # row 302, column D: a reject in rows

    path = workbook(tmp_path / "beyond.xlsx", fill)
    got, took, _ = same(path)
    assert took == 300 and got[300][1].startswith("reject: cell D302 holds a value beyond")


def test_given_columns_and_skip_rows(typed_book: Path) -> None:
    names = [f"c{i}" for i in range(12)]  # more names than the sheet's columns: None for the rest
    got, took, _ = same(typed_book, 100, header_row=2, skip_rows=5, columns=names)
    assert took == len(got) and got[0][0] == 3 + 5 + 100 and got[0][1][-1] == ("c11", "NoneType", None)


def test_bench_shaped_workbook_all_text(tmp_path: Path) -> None:
    """The bench's ERP export shape (every cell text, inline strings) with a start in the middle."""
    from bench import datagen

    path = datagen.write_xlsx(tmp_path / "customers.xlsx", 12_000, 3)
    got, took, sizes = same(path, 4_321)
    assert took == 12_000 - 4_321 and sizes == [7_679] and got[0][0] == 4_321 + 2


def test_not_taken_beyond_the_memory_budget_or_with_openpyxl(typed_book: Path) -> None:
    for spec in ({"memory_budget": 1000}, {"engine": "openpyxl"}):
        f = fmt(header_row=2, duplicate_headers="suffix", **spec)
        f.check(str(typed_book), typed_book.name)
        assert list(f.blocks(str(typed_book), typed_book.name, 0)) == []


def test_time_of_day_cells_leave_the_file_to_rows(tmp_path: Path) -> None:
    """A serial below 1 is a ``time`` for rows; fastexcel gives a datetime: not taken."""
    def fill(book: Any, sheet: Any) -> None:
        hm = book.add_format({"num_format": "hh:mm:ss"})
        sheet.write_row(0, 0, ["at", "n"])
        for i in range(40):
            sheet.write_number(i + 1, 0, (i % 24) / 24 + (0 if i < 30 else 44000), hm)
            sheet.write_number(i + 1, 1, i)

    got, took, _ = same(workbook(tmp_path / "times.xlsx", fill))
    assert took == 0 and got[1][1][0] == ("at", "time", dt.time(1, 0))


def _iso_dates(tmp_path: Path, values: list[str]) -> Path:
    """A workbook whose column A holds ISO date cells (``t="d"``, as some generators write)."""
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["d", "n"])
        for i in range(len(values)):
            sheet.write_row(i + 1, 0, ["x", i])

    plain = workbook(tmp_path / "plain.xlsx", fill)
    out = tmp_path / "iso.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                for r, v in enumerate(values, start=2):
                    data = re.sub(rb'<c r="A%d"[^>]*>.*?</c>' % r,
                                  b'<c r="A%d" t="d"><v>%s</v></c>' % (r, v.encode()), data, count=1)
            zout.writestr(info, data)
    return out


def test_iso_date_cells_are_taken_up_to_a_cell_fastexcel_cannot_convert(tmp_path: Path) -> None:
    got, took, _ = same(_iso_dates(tmp_path, ["2021-03-04T00:00:00", "2021-03-05T06:07:08.125"] * 3))
    assert took == 6 and got[1][1][0] == ("d", "datetime", dt.datetime(2021, 3, 5, 6, 7, 8, 125000))
    (tmp_path / "plain.xlsx").unlink()
    got, took, _ = same(_iso_dates(tmp_path, ["2021-03-04", "2021-03-05", "07:08:09", "2021-03-06"]))
    assert took == 2 and got[2][1][0] == ("d", "time", dt.time(7, 8, 9))  # fastexcel nulls it: rows reads it


def _rewrite_sheet(src: Path, out: Path, edit: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, edit(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return out


def test_a_stale_dimension_does_not_cut_the_header(tmp_path: Path) -> None:
    """Some generators write <dimension ref="A1"/>: the names still cover every column."""
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["a", "b", "c", "d"])
        for i in range(100):
            sheet.write_row(i + 1, 0, [i, f"b{i}", i / 2, None if i % 2 else "d"])

    plain = workbook(tmp_path / "plain.xlsx", fill)
    path = _rewrite_sheet(plain, tmp_path / "stale.xlsx", lambda x: re.sub(rb'<dimension ref="[^"]*"/>',
                                                                           b'<dimension ref="A1"/>', x))
    got, took, _ = same(path)
    assert took == 100 and [k for k, _, _ in got[0][1]] == ["a", "b", "c", "d"]


def test_sheet_chosen_by_name_among_hidden_and_chart_sheets() -> None:
    for title in ("Visible", "Hidden", "VeryHidden"):  # the workbook's fourth sheet is a chart
        for start in (0, 1):
            same(REAL / "calamine__any_sheets.xlsx", start, sheet=title, header_row=0)
            same(REAL / "calamine__any_sheets.xlsx", start, sheet=title)


def test_check_counts_from_the_arrow_read_and_still_refuses_duplicate_headers(typed_book: Path,
                                                                               tmp_path: Path) -> None:
    check = fmt(header_row=2, duplicate_headers="suffix").check(str(typed_book), typed_book.name)
    assert "records counted from the Arrow read (fastexcel)" in check.notes
    with pytest.raises(FormatError, match="duplicate column names"):
        fmt(header_row=2).check(str(typed_book), typed_book.name)
    # a sheet with an error cell among its records is counted by the row reader
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["a"])
        sheet.write_formula(1, 0, "=1/0", None, "#DIV/0!")

    path = workbook(tmp_path / "err.xlsx", fill)
    check = fmt().check(str(path), path.name)
    assert check.records == 1 and not any("fastexcel" in n for n in check.notes)


# --- through the files source (real SQLite state store): a crash after the first block -----------

def _drop_run(base: Path, store: Any, spec: dict[str, Any], commit_limit: int | None = None) -> list[Any]:
    from tests.integration.files.helpers import make_ctx, make_source, run

    return run(make_source(base, format={"kind": "excel", **spec}, pattern=["*.xlsx"]),
               make_ctx(store, base, batch_size=1_000), commit_limit)


def _delivered(batches: list[Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for b in batches:
        out += [(f"row {p}", typed(p, r)[1]) for p, r in zip(b.positions, b.rows, strict=True)]
        out += [(r.position, f"reject: {r.reason}") for r in b.rejects]
    return out


def test_files_source_resumes_after_a_crash_mid_file_without_loss_or_repeat(tmp_path: Path) -> None:
    import os

    from legacy_bridge.state import open_store

    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["id", "value", "amount"])
        for i in range(23_000):
            sheet.write_number(i + 1, 0, i)
            if i == 21_000:
                sheet.write_formula(i + 1, 1, "=NA()", None, "#N/A")
            else:
                sheet.write_string(i + 1, 1, f"v{i}")
            sheet.write_number(i + 1, 2, i / 8)

    expected_dir, fast_dir = tmp_path / "rowpath", tmp_path / "fast"
    for base in (expected_dir, fast_dir):
        (base / "drop").mkdir(parents=True)
        path = workbook(base / "drop" / "customers.xlsx", fill)
        os.utime(path, (1_700_000_000, 1_700_000_000))
    slow_store = open_store(str(expected_dir / "state.db"))
    try:
        expected = _delivered(_drop_run(expected_dir, slow_store, {"engine": "openpyxl"}))
    finally:
        slow_store.close()
    store = open_store(str(fast_dir / "state.db"))
    try:
        first = _drop_run(fast_dir, store, {}, commit_limit=1)  # the first block is committed, then a crash
        assert first[0].table is not None and len(first[0].rows) == 10_000
        rest = _drop_run(fast_dir, store, {})
        [entry] = store.list_files("job", "flow")
        assert (entry.status, entry.records_done, entry.records_total) == ("done", 23_000, 23_000)
    finally:
        store.close()
    assert sum(len(b.rows) for b in rest if b.table is not None) == 11_000  # records 10,000-20,999 in blocks
    assert _delivered(first[:1]) + _delivered(rest) == expected
    assert ("row 21002", "reject: cell B21002 holds the error #N/A") in expected
