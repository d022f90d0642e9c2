"""Workbooks: ``.xlsx``/``.xlsm`` with openpyxl (read-only, cached formula values), legacy
``.xls`` with xlrd (the ``legacy-bridge[xls]`` extra).

Positions are worksheet row numbers; the origin names the sheet (``prices.xlsx[Sheet1]``).
Dates come back as ``datetime`` in either date system (1900/1904).  Error cells
(``#DIV/0!``, ``#N/A`` ...) make their row a reject; empty rows are skipped and do not
count as records.  Encrypted or corrupt workbooks, and zip bombs (entries inflating
beyond ``max_uncompressed_mb``), are rejected whole before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from legacy_bridge.errors import ConfigError, FormatError, RowError
from legacy_bridge.formats.base import FileCheck
from legacy_bridge.formats.columns import DuplicateRule, column_names
from legacy_bridge.formats.workbook_guard import check_zip, kind_of
from legacy_bridge.records import PositionKind, Row
from legacy_bridge.registry import Spec

# A sheet as (row number, [(value, error text or None) ...]) rows.
Cells = list[tuple[Any, str | None]]


class ExcelSpec(Spec):
    kind: Literal["excel"] = "excel"
    sheet: str | int = Field(default=0, description="sheet name, or index counting from 0")
    header_row: int = Field(default=1, ge=0, description="row number of the header (0: no header)")
    skip_rows: int = Field(default=0, ge=0, description="rows after the header that are not records")
    columns: list[str] | None = None
    duplicate_headers: DuplicateRule = "reject"
    max_uncompressed_mb: int = Field(default=512, ge=1)
    max_ratio: float = Field(default=200.0, gt=1)


class ExcelFormat:
    position_kind: PositionKind = "row"

    def __init__(self, spec: ExcelSpec) -> None:
        self.spec = spec
        self._sheets: dict[str, str] = {}  # path -> sheet title (for origins)

    def origin(self, path: str, display_name: str) -> str:
        sheet = self._sheets.get(path)
        return f"{display_name}[{sheet}]" if sheet else display_name

    # --- opening --------------------------------------------------------------------------------
    def _sheet_rows(self, path: str, display: str) -> Iterator[tuple[int, Cells]]:
        kind = kind_of(path)
        if kind == "zip":
            check_zip(path, display, self.spec.max_uncompressed_mb * 1024 * 1024, self.spec.max_ratio)
            yield from self._openpyxl_rows(path, display)
        elif kind == "ole":
            if path.lower().endswith((".xlsx", ".xlsm")) or display.lower().endswith((".xlsx", ".xlsm")):
                raise FormatError(f"{display} is an encrypted (password-protected) workbook",
                                  where={"file": display}, hint="ask for an unprotected export")
            yield from self._xlrd_rows(path, display)
        else:
            raise FormatError(f"{display} is not an Excel workbook (neither xlsx nor xls)", where={"file": display},
                              hint="check the export; CSV files need format.kind = \"csv\"")

    def _pick(self, names: list[str], display: str) -> int:
        sheet = self.spec.sheet
        if isinstance(sheet, int):
            if 0 <= sheet < len(names):
                return sheet
        elif sheet in names:
            return names.index(sheet)
        raise FormatError(f"{display} has no sheet {sheet!r}; its sheets: {', '.join(names)}",
                          where={"file": display}, hint="fix format.sheet (a name, or an index from 0)")

    def _openpyxl_rows(self, path: str, display: str) -> Iterator[tuple[int, Cells]]:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # openpyxl raises many kinds for broken files
            raise FormatError(f"{display} is not a readable workbook: {type(exc).__name__}: {exc}",
                              where={"file": display}, hint="ask for the file again") from exc
        try:
            ws = wb.worksheets[self._pick(wb.sheetnames, display)]
            self._sheets[path] = ws.title
            number = 0
            try:
                for row in ws.iter_rows():
                    number += 1
                    yield number, [(_unescape(c.value), str(c.value) if c.data_type == "e" else None) for c in row]
            except FormatError:
                raise
            except Exception as exc:
                raise FormatError(f"{display} is corrupt near row {number + 1}: {type(exc).__name__}: {exc}",
                                  where={"file": display, "row": number + 1}) from exc
        finally:
            wb.close()

    def _xlrd_rows(self, path: str, display: str) -> Iterator[tuple[int, Cells]]:
        try:
            import xlrd
        except ImportError:
            raise ConfigError(f"{display} is a legacy .xls workbook and xlrd is not installed",
                              where={"file": display}, hint="pip install 'legacy-bridge[xls]'") from None
        try:
            book = xlrd.open_workbook(path, on_demand=True)
        except Exception as exc:
            raise FormatError(f"{display} is not a readable .xls workbook: {exc}", where={"file": display},
                              hint="an encrypted workbook needs an unprotected export") from exc
        try:
            sheet = book.sheet_by_index(self._pick(book.sheet_names(), display))
            self._sheets[path] = sheet.name
            for r in range(sheet.nrows):
                yield r + 1, [_xlrd_cell(c, book.datemode, xlrd) for c in sheet.row(r)]
        finally:
            book.release_resources()

    # --- records ------------------------------------------------------------------------------------
    def _records(self, path: str, display: str, start: int, check: bool) -> Iterator[tuple[int, Any]]:
        s = self.spec
        names: list[str] | None = list(s.columns) if s.columns else None
        first_data = s.header_row + s.skip_rows + 1
        index = 0
        for number, cells in self._sheet_rows(path, display):
            if number == s.header_row and names is None:
                raw = [v for v, _ in cells]
                while raw and raw[-1] is None:
                    raw.pop()
                names = column_names(raw, display, {"file": display, "row": number}, s.duplicate_headers)
                continue
            if number < first_data or all(v is None or v == "" for v, _ in cells):
                continue
            if names is None:
                names = [f"column_{i + 1}" for i in range(len(cells))]
            if index >= start:
                yield number, (None if check else _row(cells, names, display, number))
            index += 1

    def check(self, path: str, display_name: str) -> FileCheck:
        count = sum(1 for _ in self._records(path, display_name, 0, check=True))
        notes = [f"sheet {self._sheets.get(path, '?')}"]
        return FileCheck(records=count, notes=notes)

    def rows(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[int, Row | RowError]]:
        return self._records(path, display_name, start, check=False)


def _row(cells: Cells, names: list[str], display: str, number: int) -> Row | RowError:
    width = len(names)
    for i, (value, error) in enumerate(cells):
        if error is not None:
            field = names[i] if i < width else f"column_{i + 1}"
            return RowError(f"cell {_col(i)}{number} holds the error {error}", field=field, value=error,
                            where={"file": display, "row": number})
        if i >= width and value is not None and value != "":
            return RowError(f"cell {_col(i)}{number} holds a value beyond the header's {width} columns",
                            value=str(value)[:200], where={"file": display, "row": number})
    row: Row = dict(zip(names, (v for v, _ in cells), strict=False))
    for name in names[len(cells):]:
        row[name] = None
    return row


_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(value: Any) -> Any:
    """OOXML escapes in strings (``_x000D_`` is a CR) that openpyxl's read-only mode leaves in."""
    if type(value) is str and "_x" in value:
        return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


def _col(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _xlrd_cell(cell: Any, datemode: int, xlrd: Any) -> tuple[Any, str | None]:
    ctype, value = cell.ctype, cell.value
    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None, None
    if ctype == xlrd.XL_CELL_ERROR:
        return None, xlrd.error_text_from_code.get(value, f"error {value}")
    if ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(value, datemode), None
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return value, None
    if ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(value), None
    if ctype == xlrd.XL_CELL_NUMBER and float(value).is_integer():
        return int(value), None
    return value, None


def build(spec: ExcelSpec, base_dir: Path) -> ExcelFormat:
    return ExcelFormat(spec)
