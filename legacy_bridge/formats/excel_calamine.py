"""``.xlsx`` sheets through python-calamine (Rust): about ten times openpyxl's speed, but
the whole sheet is held in memory, so ``excel.py`` uses it only within the memory budget.

Values are normalised to what the openpyxl reader gives for the same cells: dates as
``datetime`` (calamine gives ``date`` for whole days), integral numbers as ``int``, empty
cells as ``None``; error cells (which calamine reads as empty) are put back from the
sheet-XML scan in ``excel_parts``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from legacy_bridge.errors import ConfigError, FormatError
from legacy_bridge.formats.excel_parts import SheetScan

SheetRow = tuple[int, list[Any], dict[int, str] | None]  # (row number, values, errors by column)

_INT_LIMIT = 2.0**53
_date, _datetime, _float, _str = dt.date, dt.datetime, float, str


def norm(value: Any) -> Any:
    """One cell, as both engines give it: '' -> None, 3.0 -> 3, date -> datetime."""
    t = type(value)
    if t is _str:
        return value if value else None
    if t is _float:
        return int(value) if value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT else value
    if t is _date:
        return _datetime(value.year, value.month, value.day)
    return value


def available() -> bool:
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return False
    return True


def load_sheet(path: str, display: str, index: int) -> Any:
    """The sheet as a python-calamine ``CalamineSheet`` (the whole sheet, parsed)."""
    try:
        import python_calamine
    except ImportError:
        raise ConfigError("format.engine = \"calamine\" needs python-calamine, which is not installed",
                          where={"file": display},
                          hint="pip install 'legacy-bridge[fast]', or set format.engine = \"openpyxl\"") from None
    try:
        book = python_calamine.CalamineWorkbook.from_path(path)
        try:
            return book.get_sheet_by_index(index)
        finally:
            book.close()
    except Exception as exc:  # CalamineError, XmlError, ZipError ... for broken files
        raise FormatError(f"{display} is not a readable workbook: {type(exc).__name__}: {exc}",
                          where={"file": display}, hint="ask for the file again") from exc


def sheet_rows(sheet: Any, scan: SheetScan, display: str) -> Iterator[SheetRow]:
    """(row number from 1, values, errors by 0-based column or None) for every sheet row."""
    start, end = sheet.start, sheet.end
    if start is None or end is None:
        return
    left = [None] * start[1]  # calamine's rows begin at the first used column
    width = max(scan.width or 0, end[1] + 1)
    right = width - end[1] - 1
    pad = right > 0
    errors = scan.errors
    number = 0
    for raw in sheet.iter_rows():
        number += 1
        values = [*left, *map(norm, raw)] if left else list(map(norm, raw))
        if pad:
            values.extend([None] * right)
        errs = errors.get(number - 1) if errors else None
        if errs:
            for col, text in errs.items():
                if col < len(values):
                    values[col] = text
        yield number, values, errs
    if number != end[0] + 1:
        raise FormatError(f"{display}: python-calamine returned {number} rows where the sheet ends at row "
                          f"{end[0] + 1}; the row numbers cannot be trusted", where={"file": display},
                          hint="set format.engine = \"openpyxl\" for this flow and report the python-calamine version")
