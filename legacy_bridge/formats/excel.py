"""Workbooks: ``.xlsx``/``.xlsm`` with python-calamine or openpyxl, legacy ``.xls`` with xlrd
(the ``legacy-bridge[xls]`` extra).

``engine = "auto"`` (the default) estimates the sheet's in-memory size from its XML part
(``excel_parts``) and loads it whole with python-calamine (about ten times faster) when
the estimate fits ``memory_budget``; above it, openpyxl read-only streams the sheet with
flat memory.  Both give the same rows (``excel_calamine`` normalises): dates as
``datetime`` in either date system (1900/1904), integral numbers as ``int``, empty and
empty-text cells as ``None``, ``_x000D_`` escapes decoded, merged cells valued in their
top-left cell only.  The engine chosen is in the check's notes.

Positions are worksheet row numbers; the origin names the sheet (``prices.xlsx[Sheet1]``).
Error cells (``#DIV/0!``, ``#N/A`` ...) make their row a reject; empty rows are skipped
and do not count as records.  Encrypted or corrupt workbooks, and zip bombs (entries
inflating beyond ``max_uncompressed_mb``), are rejected whole before anything is sent.
``check`` and ``rows`` share one read: the plan (and a loaded sheet) is kept per path,
size and mtime between the two.

``blocks`` (the columnar fast path) reads a sheet within the budget as Arrow with fastexcel
(``excel_arrow``, the ``fast`` extra), giving exactly the records ``rows`` gives and ending
before anything it cannot give exactly (an error cell, a value beyond the header, a cell
fastexcel cannot convert), where ``rows`` goes on.  With fastexcel installed ``check`` makes
that one read and counts the records from it (the header row is streamed by openpyxl rather
than loading the sheet with calamine); a sheet it does not count (error cells among the
records, a column mixing numbers and text ...) is counted by the row reader as before.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from legacy_bridge.errors import ConfigError, FormatError, RowError
from legacy_bridge.formats import excel_arrow, excel_calamine
from legacy_bridge.formats.base import FileCheck, file_key
from legacy_bridge.formats.columns import DuplicateRule, column_names
from legacy_bridge.formats.excel_calamine import SheetRow, norm
from legacy_bridge.formats.excel_parts import ByteSize, SheetPart, SheetScan, locate_sheet, scan_sheet
from legacy_bridge.formats.workbook_guard import check_zip, kind_of
from legacy_bridge.records import PositionKind, Row
from legacy_bridge.registry import Spec

Engine = Literal["auto", "calamine", "openpyxl"]
MB = 1024 * 1024


class ExcelSpec(Spec):
    kind: Literal["excel"] = "excel"
    sheet: str | int = Field(default=0, description="sheet name, or index counting from 0")
    header_row: int = Field(default=1, ge=0, description="row number of the header (0: no header)")
    skip_rows: int = Field(default=0, ge=0, description="rows after the header that are not records")
    columns: list[str] | None = None
    duplicate_headers: DuplicateRule = "reject"
    max_uncompressed_mb: int = Field(default=512, ge=1)
    max_ratio: float = Field(default=200.0, gt=1)
    engine: Engine = Field(default="auto", description="xlsx reader: auto (calamine within memory_budget, "
                                                        "else openpyxl streaming), calamine, openpyxl")
    memory_budget: ByteSize = Field(default=300 * MB, description="largest estimated in-memory sheet the fast "
                                                                  "reader may load, e.g. \"300MB\"")


@dataclass(slots=True)
class _Plan:
    """How one file (path, size, mtime) is read; kept from ``check`` for ``rows``."""

    key: tuple[str, int, int]
    engine: str  # "calamine" | "openpyxl" | "xlrd"
    notes: list[str] = field(default_factory=list)
    part: SheetPart | None = None
    scan: SheetScan | None = None
    sheet: Any = None  # the loaded calamine sheet, held from check until rows has read it
    records: int | None = None
    arrow: excel_arrow.Records | None = None  # the records as Arrow (fastexcel), held from check until blocks


class ExcelFormat:
    position_kind: PositionKind = "row"

    def __init__(self, spec: ExcelSpec) -> None:
        self.spec = spec
        self._sheets: dict[str, str] = {}  # path -> sheet title (for origins)
        self._plan: _Plan | None = None  # the last file planned (one at a time: memory stays bounded)

    def origin(self, path: str, display_name: str) -> str:
        sheet = self._sheets.get(path)
        return f"{display_name}[{sheet}]" if sheet else display_name

    # --- choosing the engine --------------------------------------------------------------------
    def _planned(self, path: str, display: str) -> _Plan:
        key = file_key(path, display)
        if self._plan is None or self._plan.key != key:
            self._plan = None  # release the previous file's sheet before loading another
            self._plan = self._plan_for(path, display, key)
        return self._plan

    def _plan_for(self, path: str, display: str, key: tuple[str, int, int]) -> _Plan:
        kind = kind_of(path)
        if kind == "ole":
            if path.lower().endswith((".xlsx", ".xlsm")) or display.lower().endswith((".xlsx", ".xlsm")):
                raise FormatError(f"{display} is an encrypted (password-protected) workbook",
                                  where={"file": display}, hint="ask for an unprotected export")
            return _Plan(key, "xlrd", ["engine xlrd (legacy .xls)"])
        if kind != "zip":
            raise FormatError(f"{display} is not an Excel workbook (neither xlsx nor xls)", where={"file": display},
                              hint="check the export; CSV files need format.kind = \"csv\"")
        s = self.spec
        check_zip(path, display, s.max_uncompressed_mb * MB, s.max_ratio)
        if s.engine == "openpyxl":
            return _Plan(key, "openpyxl", ["engine openpyxl (streaming, as configured)"])
        if s.engine == "auto" and not excel_calamine.available():
            return _Plan(key, "openpyxl", ["engine openpyxl (streaming): python-calamine is not installed"])
        try:
            with zipfile.ZipFile(path) as zf:
                names, part = locate_sheet(zf, s.sheet)
                if part is None:
                    self._no_sheet(names, display)
                if part is None or part.entry is None:
                    return _Plan(key, "openpyxl", ["engine openpyxl: the sheet's XML part was not found"])
                size = (f"sheet XML {part.xml_bytes / MB:,.0f} MB + shared strings {part.strings_bytes / MB:,.0f} MB"
                        f", estimated {part.estimate / MB:,.0f} MB in memory")
                if s.engine == "auto" and part.estimate > s.memory_budget:
                    return _Plan(key, "openpyxl", [f"engine openpyxl (streaming): {size}, above the "
                                                   f"{s.memory_budget / MB:,.0f} MB memory_budget"], part)
                scan = scan_sheet(zf, part.entry)
        except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError) as exc:
            raise FormatError(f"{display} is not a readable workbook: {type(exc).__name__}: {exc}",
                              where={"file": display}, hint="ask for the file again") from exc
        if scan.unplaced:
            return _Plan(key, "openpyxl", ["engine openpyxl: error cells without cell references"], part)
        why = "as configured" if s.engine == "calamine" else f"within the {s.memory_budget / MB:,.0f} MB memory_budget"
        return _Plan(key, "calamine", [f"engine calamine ({size}, {why})"], part, scan)

    def _no_sheet(self, names: list[str], display: str) -> None:
        raise FormatError(f"{display} has no sheet {self.spec.sheet!r}; its sheets: {', '.join(names)}",
                          where={"file": display}, hint="fix format.sheet (a name, or an index from 0)")

    # --- opening --------------------------------------------------------------------------------
    def _sheet_rows(self, plan: _Plan, path: str, display: str) -> Iterator[SheetRow]:
        if plan.engine == "calamine":
            assert plan.part is not None and plan.scan is not None
            if plan.sheet is None:
                plan.sheet = excel_calamine.load_sheet(path, display, plan.part.index)
            self._sheets[path] = plan.part.name
            yield from excel_calamine.sheet_rows(plan.sheet, plan.scan, display)
        elif plan.engine == "xlrd":
            yield from self._xlrd_rows(path, display)
        else:
            yield from self._openpyxl_rows(path, display)

    def _pick(self, names: list[str], display: str) -> int:
        sheet = self.spec.sheet
        if isinstance(sheet, int):
            if 0 <= sheet < len(names):
                return sheet
        elif sheet in names:
            return names.index(sheet)
        self._no_sheet(names, display)
        raise AssertionError  # unreachable: _no_sheet raises

    def _openpyxl_rows(self, path: str, display: str) -> Iterator[SheetRow]:
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
                    values = [norm(_unescape(c.value)) for c in row]
                    errs = {i: str(c.value) for i, c in enumerate(row) if c.data_type == "e"} or None
                    yield number, values, errs
            except FormatError:
                raise
            except Exception as exc:
                raise FormatError(f"{display} is corrupt near row {number + 1}: {type(exc).__name__}: {exc}",
                                  where={"file": display, "row": number + 1}) from exc
        finally:
            wb.close()

    def _xlrd_rows(self, path: str, display: str) -> Iterator[SheetRow]:
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
                cells = [_xlrd_cell(c, book.datemode, xlrd) for c in sheet.row(r)]
                errs = {i: e for i, (_, e) in enumerate(cells) if e is not None} or None
                yield r + 1, [e if e is not None else norm(v) for v, e in cells], errs
        finally:
            book.release_resources()

    # --- records ------------------------------------------------------------------------------------
    def _records(self, plan: _Plan, path: str, display: str, start: int, check: bool) -> Iterator[tuple[int, Any]]:
        s = self.spec
        names: list[str] | None = list(s.columns) if s.columns else None
        first_data = s.header_row + s.skip_rows + 1
        index = 0
        for number, values, errs in self._sheet_rows(plan, path, display):
            if number == s.header_row and names is None:
                names = self._header(values, display, number)
                continue
            if number < first_data or (errs is None and all(v is None for v in values)):
                continue
            if names is None:
                names = [f"column_{i + 1}" for i in range(len(values))]
            if index >= start:
                yield number, (None if check else _row(values, errs, names, display, number))
            index += 1

    def _header(self, values: list[Any], display: str, number: int) -> list[str]:
        raw = list(values)
        while raw and raw[-1] is None:
            raw.pop()
        return column_names(raw, display, {"file": display, "row": number}, self.spec.duplicate_headers)

    def check(self, path: str, display_name: str) -> FileCheck:
        plan = self._planned(path, display_name)
        try:
            if plan.records is None and self._columnar(plan):
                plan.arrow = self._arrow(plan, path, display_name)
                plan.records = plan.arrow.records if plan.arrow is not None else None
                if plan.records is not None:
                    plan.notes.append("records counted from the Arrow read (fastexcel)")
            if plan.records is None:
                plan.records = sum(1 for _ in self._records(plan, path, display_name, 0, check=True))
        except BaseException:
            self._plan = None
            raise
        notes = [f"sheet {self._sheets.get(path, '?')}", *plan.notes]
        return FileCheck(records=plan.records, notes=notes)

    def rows(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[int, Row | RowError]]:
        plan = self._planned(path, display_name)
        plan.arrow = None  # read by rows, not blocks: one copy of the sheet in memory
        try:
            yield from self._records(plan, path, display_name, start, check=False)
        finally:
            plan.sheet = None  # the sheet has been read: free it (the plan keeps the count)

    def blocks(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[list[int], Any]]:
        """The records from ``start`` on as Arrow blocks (``excel_arrow``), for a sheet read whole
        (within the memory budget) when fastexcel is installed; nothing otherwise.  The blocks
        end before the first row with an error cell (a reject: ``rows`` reads it)."""
        plan = self._planned(path, display_name)
        if not self._columnar(plan):
            return
        records, plan.arrow = plan.arrow, None  # the blocks hold it now: rows() reloads what is left
        if records is None:
            plan.sheet = None  # one copy of the sheet in memory at a time
            records = self._arrow(plan, path, display_name)
        if records is not None:
            yield from excel_arrow.blocks(records, start)

    def _columnar(self, plan: _Plan) -> bool:
        return plan.engine == "calamine" and plan.part is not None and excel_arrow.available()

    def _arrow(self, plan: _Plan, path: str, display: str) -> excel_arrow.Records | None:
        """The sheet's records read by fastexcel, as far as they are exact (None: not at all)."""
        assert plan.part is not None and plan.scan is not None
        s = self.spec
        first_data = s.header_row + s.skip_rows + 1
        names = list(s.columns) if s.columns else self._header_of(plan, path, display)
        stop = min((r + 1 for r in plan.scan.errors if r + 1 >= first_data), default=None)
        self._sheets[path] = plan.part.name
        return excel_arrow.prepare(path, plan.part.index, names, first_data, stop, plan.scan.width or 0)

    def _header_of(self, plan: _Plan, path: str, display: str) -> list[str] | None:
        """The column names ``rows`` takes from the header row (None: no header row, or the sheet
        ends before it): from the loaded calamine sheet, else from the sheet's first rows streamed
        by openpyxl (the engines give the same rows), else from the sheet loaded with calamine."""
        header = self.spec.header_row
        if header == 0:
            return None
        assert plan.part is not None and plan.scan is not None
        if plan.sheet is None:
            try:
                values = _first_rows(path, plan.part.name, header)
            except Exception:  # openpyxl refuses what calamine reads: ask calamine
                plan.sheet = excel_calamine.load_sheet(path, display, plan.part.index)
            else:
                return self._header(values, display, header) if values is not None else None
        for number, values, _ in excel_calamine.sheet_rows(plan.sheet, plan.scan, display):
            if number == header:
                return self._header(values, display, number)
        return None


def _first_rows(path: str, sheet: str, number: int) -> list[Any] | None:
    """Row ``number`` of the sheet titled ``sheet`` as the calamine engine gives it (error cells as their
    text), read by streaming the sheet's start with openpyxl; None when the sheet ends before."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        ws = wb[sheet]
        ws.reset_dimensions()  # a stale <dimension> must not cut the row short
        for n, row in enumerate(ws.iter_rows(max_row=number), start=1):
            if n == number:
                return [norm(_unescape(c.value)) for c in row]
        return None
    finally:
        wb.close()


def _row(values: list[Any], errs: dict[int, str] | None, names: list[str], display: str,
         number: int) -> Row | RowError:
    width = len(names)
    if errs:
        i = min(errs)
        field = names[i] if i < width else f"column_{i + 1}"
        return RowError(f"cell {_col(i)}{number} holds the error {errs[i]}", field=field, value=errs[i],
                        where={"file": display, "row": number})
    if len(values) > width:
        for i in range(width, len(values)):
            if values[i] is not None:
                return RowError(f"cell {_col(i)}{number} holds a value beyond the header's {width} columns",
                                value=str(values[i])[:200], where={"file": display, "row": number})
    row: Row = dict(zip(names, values, strict=False))
    if len(values) < width:
        for name in names[len(values):]:
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
