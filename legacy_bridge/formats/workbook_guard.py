"""Before a workbook is opened: is it a zip at all, encrypted, or a zip bomb?"""

from __future__ import annotations

import zipfile

from legacy_bridge.errors import FormatError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: .xls, or an encrypted .xlsx


def kind_of(path: str) -> str:
    """``"zip"`` (xlsx/xlsm), ``"ole"`` (xls or encrypted xlsx) or ``"other"``."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        return "zip"
    if head == OLE_MAGIC:
        return "ole"
    return "other"


def check_zip(path: str, display: str, max_bytes: int, max_ratio: float) -> None:
    """Refuse a workbook whose entries would inflate beyond ``max_bytes`` or ``max_ratio``."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{display} is not a readable workbook (corrupt or truncated zip: {exc})",
                          where={"file": display}, hint="ask for the file again") from exc
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > max_bytes:
        raise FormatError(f"{display} would inflate to {total:,} bytes, above the ceiling of {max_bytes:,} "
                          "(format.max_uncompressed_mb)", where={"file": display},
                          hint="raise format.max_uncompressed_mb if the workbook is genuine")
    if total / packed > max_ratio and total > 10 * 1024 * 1024:
        raise FormatError(f"{display} compresses {total / packed:.0f}:1, a zip bomb pattern; refusing to open it",
                          where={"file": display})
