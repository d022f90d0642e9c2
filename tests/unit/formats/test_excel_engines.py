"""The two xlsx engines give the same rows: every real-world workbook both can read, and
generated ones covering the cell types (dates in both date systems, numbers, booleans,
error cells, empty text, escapes, merged cells, leading empty rows and columns)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.errors import FormatError, RowError
from legacy_bridge.formats import REGISTRY
from legacy_bridge.formats.excel import ExcelFormat
from legacy_bridge.formats.excel_parts import parse_size

REAL = Path("/work/shared/realworld/excel")
XLSX = sorted(p.name for p in REAL.glob("*.xlsx"))


def fmt(**spec: Any) -> ExcelFormat:
    data = {"kind": "excel", **spec}
    built = REGISTRY.build(REGISTRY.get("excel").config.model_validate(data), Path("."))
    assert isinstance(built, ExcelFormat)
    return built


def read(path: Path, **spec: Any) -> tuple[list[str], Any]:
    """(the check's notes, [(position, row or reject text)]); a refused file: ([engine], its reason)."""
    f = fmt(**spec)
    try:
        check = f.check(str(path), path.name)
    except FormatError as exc:
        return [f"engine {spec.get('engine')}"], str(exc)
    rows = [(pos, row.message if isinstance(row, RowError) else row) for pos, row in f.rows(str(path), path.name)]
    assert check.records == len(rows)
    return check.notes, rows


def both(path: Path, **spec: Any) -> Any:
    notes_o, slow = read(path, engine="openpyxl", **spec)
    notes_c, fast = read(path, engine="calamine", **spec)
    assert any("engine openpyxl" in n for n in notes_o), notes_o
    assert any("engine calamine" in n for n in notes_c), notes_c
    assert fast == slow
    return fast


@pytest.mark.parametrize("name", XLSX)
@pytest.mark.parametrize("header_row", [0, 1])
def test_real_world_workbooks_read_the_same_with_both_engines(name: str, header_row: int) -> None:
    both(REAL / name, header_row=header_row)


def test_real_world_header_row_and_skip_rows_agree() -> None:
    rows = both(REAL / "calamine__header-row.xlsx", header_row=9)
    assert rows == [(10, {"Columns": "put data here", "Column A": 1, "Column B": 2, "Column C": 3})]
    assert both(REAL / "calamine__table-multiple.xlsx", skip_rows=2) == [
        (4, {"Item": 3, "Type": "Orange", "Quantity": 60}), (5, {"Item": 4, "Type": "Pear", "Quantity": 100})]


def test_error_cells_are_rejects_in_both_engines() -> None:
    rows = both(REAL / "calamine__errors.xlsx", header_row=0)
    assert [pos for pos, _ in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert "#DIV/0!" in rows[0][1] and "#N/A" in rows[6][1]


def _types_workbook(path: Path, date_1904: bool) -> Path:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    wb = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    ws = wb.add_worksheet("Prices")
    date = wb.add_format({"num_format": "dd/mm/yyyy"})
    stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    clock = wb.add_format({"num_format": "hh:mm"})
    hours = wb.add_format({"num_format": "[h]:mm:ss"})
    ws.write_row(1, 1, ["day", "stamp", "time", "hours", "int", "float", "flag", "text"])  # header in row 2, col B
    ws.write_datetime(3, 1, dt.datetime(2021, 1, 1), date)
    ws.write_datetime(3, 2, dt.datetime(2021, 1, 1, 13, 30, 5), stamp)
    ws.write_datetime(3, 3, dt.time(6, 34), clock)
    ws.write_number(3, 4, 1.5, hours)
    ws.write_number(3, 5, 42)
    ws.write_number(3, 6, 42.5)
    ws.write_boolean(3, 7, False)
    ws.write_string(3, 8, "")
    ws.write_formula(4, 1, "=1/0", None, "#DIV/0!")
    ws.write_number(10, 4, 1e20)
    ws.write_number(10, 5, 12345678901234)
    ws.write_formula(4, 6, "=1+1", None, 2)
    ws.write_formula(4, 7, '="a"&"b"', None, "ab")
    ws.write_string(4, 8, "line\r\nbreak")
    ws.merge_range(6, 1, 7, 2, "merged")
    ws.write_number(9, 8, -3.25)
    wb.close()
    return path


@pytest.mark.parametrize("date_1904", [False, True])
def test_generated_cell_types_read_the_same_with_both_engines(tmp_path: Path, date_1904: bool) -> None:
    path = _types_workbook(tmp_path / "types.xlsx", date_1904)
    rows = dict(both(path, header_row=2))
    assert rows[4] == {"column_1": None, "day": dt.datetime(2021, 1, 1), "stamp": dt.datetime(2021, 1, 1, 13, 30, 5),
                       "time": dt.time(6, 34), "hours": dt.timedelta(hours=36), "int": 42, "float": 42.5,
                       "flag": False, "text": None}
    assert "C5" not in rows[5] and "B5 holds the error #DIV/0!" in rows[5]
    assert rows[7]["day"] == "merged" and rows[7]["stamp"] is None and rows[10]["text"] == -3.25
    assert list(rows) == [4, 5, 7, 10, 11]  # empty rows 6, 9 and the merged area's second row skipped
    assert list(dict(both(path, header_row=2, skip_rows=3))) == [7, 10, 11]


def test_integral_numbers_are_ints_and_huge_ones_stay_floats(tmp_path: Path) -> None:
    rows = dict(both(_types_workbook(tmp_path / "n.xlsx", False), header_row=2))
    assert rows[11]["hours"] == 1e20 and type(rows[11]["hours"]) is float
    assert rows[11]["int"] == 12345678901234 and type(rows[11]["int"]) is int


def test_auto_uses_calamine_within_the_budget_and_openpyxl_above(tmp_path: Path) -> None:
    path = REAL / "calamine__table-multiple.xlsx"
    notes, fast = read(path)
    assert any("engine calamine" in n and "memory_budget" in n for n in notes), notes
    notes, slow = read(path, memory_budget="1k")
    assert any("engine openpyxl (streaming)" in n and "above the" in n for n in notes), notes
    assert fast == slow


def test_check_and_rows_share_one_load_of_the_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    from legacy_bridge.formats import excel_calamine

    loads: list[str] = []
    real = excel_calamine.load_sheet

    def counting(path: str, display: str, index: int) -> Any:
        loads.append(path)
        return real(path, display, index)

    monkeypatch.setattr(excel_calamine, "load_sheet", counting)
    f = fmt(engine="calamine")
    path = str(REAL / "calamine__table-multiple.xlsx")
    assert f.check(path, "t.xlsx").records == 4
    assert len(list(f.rows(path, "t.xlsx"))) == 4
    assert len(loads) == 1
    assert len(list(f.rows(path, "t.xlsx", start=2))) == 2  # a later read loads it again
    assert len(loads) == 2


def test_a_missing_sheet_is_named_with_the_sheets_there() -> None:
    with pytest.raises(FormatError, match="no sheet 'Nope'; its sheets: Sheet1, Sheet2, Sheet3"):
        fmt(sheet="Nope").check(str(REAL / "calamine__table-multiple.xlsx"), "t.xlsx")


def test_sheet_by_name_and_index_reads_the_same_sheet_with_both_engines() -> None:
    by_name = both(REAL / "calamine__merged_range.xlsx", sheet="Sheet2", header_row=0)
    assert by_name == both(REAL / "calamine__merged_range.xlsx", sheet=1, header_row=0)


@pytest.mark.parametrize(("text", "size"), [("300MB", 300 * 1024**2), ("1.5 GB", int(1.5 * 1024**3)),
                                            ("512k", 512 * 1024), (1000, 1000)])
def test_memory_budget_sizes(text: Any, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["lots", "-5MB", 0, True])
def test_memory_budget_refuses_nonsense(bad: Any) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)
