"""Inside an ``.xlsx`` before reading it: which zip entry holds the sheet, how large it
inflates, its declared width, and where its error cells are.

The engine choice (``auto``) estimates a sheet's in-memory size from the uncompressed
size of its XML part plus the shared strings; python-calamine holds the whole sheet, so
it is used only when that estimate fits the memory budget.  python-calamine turns error
cells (``#DIV/0!``) into empty ones, so their positions come from a scan of the sheet
XML for ``t="e"`` (a fast byte search, no parse).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

# python-calamine's resident size per byte of sheet XML (cells, strings, the dense range
# and the parse's transient copy), measured on generated ERP exports; rounded up.
MEMORY_FACTOR = 2.0


def parse_size(value: Any) -> int:
    """``"300MB"``, ``"1.5 GB"``, ``"512k"`` or a number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes or text like '300MB'")
    if isinstance(value, int | float) and value > 0:
        return int(value)
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m and float(m.group(1)) > 0:
            return int(float(m.group(1)) * _UNITS[m.group(2).lower()[:1]])
    raise ValueError(f"{value!r} is not a size (examples: '300MB', '1GB', 50000000)")


ByteSize = Annotated[int, BeforeValidator(parse_size)]
"""Bytes, parsed from a number or text like '300MB'."""


@dataclass(slots=True)
class SheetPart:
    name: str  # the sheet's title
    index: int  # its position among the workbook's sheets
    entry: str | None  # the zip entry of its XML (None: not found, e.g. a chart sheet)
    xml_bytes: int  # uncompressed size of that entry
    strings_bytes: int  # uncompressed size of the shared strings

    @property
    def estimate(self) -> int:
        """Estimated resident bytes when the whole sheet is loaded (python-calamine)."""
        return int((self.xml_bytes + self.strings_bytes) * MEMORY_FACTOR)


@dataclass(slots=True)
class SheetScan:
    width: int | None = None  # columns declared by <dimension ref="A1:L200">
    errors: dict[int, dict[int, str]] = field(default_factory=dict)  # row -> col -> "#N/A" (0-based)
    unplaced: bool = False  # an error cell without a cell reference: positions unknown


_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return {k.rpartition(b":")[2]: v for k, v in _ATTR.findall(tag)}


def locate_sheet(zf: zipfile.ZipFile, sheet: str | int) -> tuple[list[str], SheetPart | None]:
    """(every sheet name, the wanted sheet's part or None when no sheet matches ``sheet``)."""
    names = set(zf.namelist())
    book = "xl/workbook.xml"
    if "_rels/.rels" in names:
        for rel in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", zf.read("_rels/.rels")):
            a = _attrs(rel)
            if a.get(b"Type", b"").endswith(b"/officeDocument"):
                book = a.get(b"Target", b"xl/workbook.xml").decode().lstrip("/")
    base = posixpath.dirname(book)
    rels_name = posixpath.join(base, "_rels", posixpath.basename(book) + ".rels")
    targets: dict[bytes, str] = {}
    if rels_name in names:
        for rel in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", zf.read(rels_name)):
            a = _attrs(rel)
            target = a.get(b"Target", b"").decode()
            targets[a.get(b"Id", b"")] = (target.lstrip("/") if target.startswith("/")
                                          else posixpath.normpath(posixpath.join(base, target)))
    sheets = [_attrs(tag) for tag in re.findall(rb"<(?:\w+:)?sheet\b[^>]*>", zf.read(book))]
    titles = [_unxml(a.get(b"name", b"").decode("utf-8")) for a in sheets]
    if isinstance(sheet, int):
        index = sheet if 0 <= sheet < len(titles) else -1
    else:
        index = titles.index(sheet) if sheet in titles else -1
    if index < 0:
        return titles, None
    entry = targets.get(sheets[index].get(b"id", b""))
    strings = next((n for n in names if n.lower().endswith("sharedstrings.xml")), None)
    return titles, SheetPart(
        name=titles[index], index=index, entry=entry if entry in names else None,
        xml_bytes=zf.getinfo(entry).file_size if entry in names else 0,
        strings_bytes=zf.getinfo(strings).file_size if strings else 0)


def _unxml(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


_REF = re.compile(rb'\br\s*=\s*"([A-Z]+)(\d+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")
_DIM = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref\s*=\s*"([^"]+)"')
_CHUNK = 1 << 20


def scan_sheet(zf: zipfile.ZipFile, entry: str) -> SheetScan:
    """One streaming pass over the sheet XML: its declared width and its error cells."""
    scan = SheetScan()
    tail = b""
    first = True
    with zf.open(entry) as raw:
        while True:
            chunk = raw.read(_CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            if first:
                first = False
                m = _DIM.search(buf, 0, 8192)
                if m:
                    last = m.group(1).rpartition(b":")[2]
                    letters = re.match(rb"[A-Z]+", last)
                    scan.width = _col_index(letters.group(0)) + 1 if letters else None
            keep = _scan_errors(buf, scan)
            tail = buf[keep:]
    return scan


def _scan_errors(buf: bytes, scan: SheetScan) -> int:
    """Record the complete error cells in ``buf``; return where the unscanned rest starts."""
    pos = 0
    while True:
        hits = [i for i in (buf.find(b't="e"', pos), buf.find(b"t='e'", pos)) if i >= 0]
        if not hits:
            return max(pos, buf.rfind(b"<"))  # a start tag cut by the chunk end is scanned next time
        hit = min(hits)
        start = buf.rfind(b"<", 0, hit)
        close = _cell_end(buf, hit)
        if start < 0 or close < 0:
            return max(start, 0)  # the cell continues in the next chunk
        cell = buf[start:close]
        ref = _REF.search(cell)
        value = _VALUE.search(cell)
        if ref is None:
            scan.unplaced = True
        else:
            row, col = int(ref.group(2)) - 1, _col_index(ref.group(1))
            text = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
            scan.errors.setdefault(row, {})[col] = text
        pos = close


_CELL_CLOSE = re.compile(rb"</(?:\w+:)?c>")


def _cell_end(buf: bytes, hit: int) -> int:
    """End of the cell element whose start tag holds ``hit`` (-1: not in ``buf``)."""
    gt = buf.find(b">", hit)
    if gt < 0:
        return -1
    if buf[gt - 1:gt] == b"/":
        return gt + 1
    m = _CELL_CLOSE.search(buf, gt)
    return m.end() if m else -1


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1
