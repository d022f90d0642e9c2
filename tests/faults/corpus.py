"""The bad-input corpus, generated: every file a legacy export can get wrong, plus good files that
must still be delivered beside them.  ``python -m tests.faults.corpus FOLDER`` writes it out.

Each case says what is acceptable:

* ``reject``: the file is quarantined with a reason, or its bad records are rejected with a
  position (file and line/record/row) - either way the reason names the file;
* ``deliver``: an odd but valid file (BOM, odd names): its records arrive intact;
* ``empty``: nothing to send; done with 0 records or quarantined, never a crash or a hang.

Keys of records in bad files start with ``BAD``; keys of good files with ``G``.
"""

from __future__ import annotations

import io
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.project import REALWORLD

BIG_FIELD_MB = 100
HEADER = "ID;NAME;CITY\r\n"


@dataclass(frozen=True)
class Case:
    name: str  # file name in the drop (the flow is chosen by its extension)
    expect: str  # reject | deliver | empty
    what: str
    good_keys: tuple[str, ...] = ()  # records that must arrive (deliver cases)


def _lines(prefix: str, n: int, start: int = 0) -> str:
    return "".join(f"{prefix}{i:05d};Name {i};Köln\r\n" for i in range(start, start + n))


def csv_cases() -> list[tuple[Case, Callable[[], bytes]]]:
    good = _lines("BAD", 3)
    return [
        (Case("enc_cp1252_in_utf8.csv", "reject", "cp1252 bytes in a UTF-8 file"),
         lambda: (HEADER + good).encode("cp1252")),
        (Case("enc_utf16le_bom.csv", "reject", "UTF-16 LE with BOM where UTF-8 is declared"),
         lambda: (HEADER + good).encode("utf-16")),
        (Case("enc_utf16be_nobom.csv", "reject", "UTF-16 BE without BOM"),
         lambda: (HEADER + good).encode("utf-16-be")),
        (Case("enc_one_latin1_line.csv", "reject", "one Latin-1 line in a UTF-8 file"),
         lambda: (HEADER + good).encode() + "BAD09999;Müller;Zürich\r\n".encode("latin-1")),
        (Case("enc_surrogate.csv", "reject", "an encoded surrogate (CESU-8)"),
         lambda: HEADER.encode() + b"BAD07000;x\xed\xa0\x80y;Rome\r\n"),
        (Case("enc_truncated_multibyte.csv", "reject", "a multi-byte character cut at the end"),
         lambda: (HEADER + good).encode() + b"BAD07001;Z\xc3"),
        (Case("ragged_rows.csv", "reject", "rows with too many and too few fields"),
         lambda: (HEADER + good + "BAD08000;only two\r\nBAD08001;a;b;c;d\r\n").encode()),
        (Case("nul_bytes.csv", "reject", "NUL bytes inside a field"),
         lambda: (HEADER + good).encode() + b"BAD08100;NUL\x00here;Bonn\r\n"),
        (Case("big_field.csv", "reject", f"a single field of {BIG_FIELD_MB} MB"), lambda: b""),  # streamed below
        (Case("header_only.csv", "empty", "a header and nothing else"), lambda: HEADER.encode()),
        (Case("empty.csv", "empty", "an empty file (0 bytes)"), lambda: b""),
        (Case("dup_headers.csv", "reject", "the same column twice"),
         lambda: (b"ID;NAME;NAME\r\nBAD08200;a;b\r\n")),
        (Case("bom_utf8.csv", "deliver", "UTF-8 with a BOM", ("G100000", "G100001")),
         lambda: ("\ufeff" + HEADER + _lines("G1", 2)).encode()),
        (Case("name with spaces.csv", "deliver", "a file name with spaces", ("G200000",)),
         lambda: (HEADER + _lines("G2", 1)).encode()),
        (Case("ünïcødé_名前.csv", "deliver", "a unicode file name", ("G300000",)),
         lambda: (HEADER + _lines("G3", 1)).encode()),
        (Case("orders..2024..csv", "deliver", "a file name with '..'", ("G400000",)),
         lambda: (HEADER + _lines("G4", 1)).encode()),
        (Case("good.csv", "deliver", "a good file beside the bad ones", tuple(f"G5{i:04d}" for i in range(50))),
         lambda: (HEADER + "".join(f"G5{i:04d};Name {i};Köln\r\n" for i in range(50))).encode()),
    ]


def _deep(levels: int) -> bytes:
    return (b"<export>" + b"<a>" * levels + b"x" + b"</a>" * levels + b"</export>")


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
""" + b"".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
               for i in range(1, 10)) + b"""]>
<export><rec id="BAD09000"><NAME>&lol9;</NAME><CITY>x</CITY></rec></export>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE export [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<export><rec id="BAD09100"><NAME>&xxe;</NAME><CITY>x</CITY></rec></export>
"""


def xml_cases() -> list[tuple[Case, Callable[[], bytes]]]:
    return [
        (Case("truncated.xml", "reject", "XML cut in the middle of a record"),
         lambda: b'<export><rec id="BAD09200"><NAME>a</NAME><CITY>b</CITY></rec><rec id="BAD09201"><NAME>'),
        (Case("external_entity.xml", "reject", "an external entity reading /etc/passwd"), lambda: XXE),
        (Case("billion_laughs.xml", "reject", "a billion-laughs entity bomb"), lambda: LAUGHS),
        (Case("deep.xml", "reject", "10,000 nested elements"), lambda: _deep(10_000)),
        (Case("good.xml", "deliver", "a good XML file", tuple(f"G6{i:04d}" for i in range(20))),
         lambda: b"<export>" + b"".join(f'<rec id="G6{i:04d}"><NAME>Name {i}</NAME><CITY>Köln</CITY></rec>'
                                       .encode() for i in range(20)) + b"</export>"),
    ]


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:  # 1 GiB of zeros, ~1 MB zipped
            zeros = b"\0" * (1 << 20)
            for _ in range(1024):
                sheet.write(zeros)
    return buf.getvalue()


def excel_cases() -> list[tuple[Case, Callable[[], bytes]]]:
    encrypted = REALWORLD / "excel" / "calamine__issue_385.xls"
    return [
        (Case("corrupt.xlsx", "reject", "a corrupt zip named .xlsx"), lambda: b"PK\x03\x04" + b"\x13garbage" * 500),
        (Case("zip_bomb.xlsx", "reject", "a zip bomb named .xlsx (1 GiB inflated)"), _zip_bomb),
        (Case("encrypted.xls", "reject", "an encrypted workbook (calamine issue 385)"),
         lambda: encrypted.read_bytes()),
    ]


def all_cases() -> list[tuple[Case, Callable[[], bytes]]]:
    return csv_cases() + xml_cases() + excel_cases()


def write_big_field(path: Path, mb: int = BIG_FIELD_MB) -> None:
    with open(path, "wb") as f:
        f.write(HEADER.encode())
        f.write(b"BAD08300;")
        chunk = b"y" * (1 << 20)
        for _ in range(mb):
            f.write(chunk)
        f.write(b";Bonn\r\n")


def generate(folder: Path) -> list[Case]:
    """Write every case into ``folder``; the cases, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for case, make in all_cases():
        path = folder / case.name
        if case.name == "big_field.csv":
            write_big_field(path)
        else:
            path.write_bytes(make())
        cases.append(case)
    return cases


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bad-input-corpus")
    if target.exists():
        shutil.rmtree(target)
    for c in generate(target):
        print(f"{c.expect:8} {c.name}: {c.what}")
