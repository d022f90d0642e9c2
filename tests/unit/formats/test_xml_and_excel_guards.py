"""Hostile or broken inputs: entity bombs, deep nesting, external entities, zip bombs,
encrypted and corrupt workbooks - each a clear FormatError, never a crash or a fetch."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from legacy_bridge.errors import FormatError, RowError
from legacy_bridge.formats.excel import ExcelFormat, ExcelSpec
from legacy_bridge.formats.xml import XmlFormat, XmlSpec

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">""" + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + """]>
<rows><row><v>&lol9;</v></row></rows>"""


def test_an_entity_bomb_is_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BOMB)
    f = XmlFormat(XmlSpec(record="row"))
    try:
        rows = list(f.rows(str(path), "bomb.xml"))
    except FormatError as exc:
        assert "bomb.xml" in str(exc)
        return
    assert len(str(rows)) < 1000  # parsed without expansion


def test_absurd_nesting_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "deep.xml"
    path.write_text("<r>" + "<a>" * 5000 + "</a>" * 5000 + "</r>")
    with pytest.raises(FormatError, match=r"deep\.xml"):
        XmlFormat(XmlSpec(record="a")).check(str(path), "deep.xml")


def test_external_entities_are_never_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xxe.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
                    "<r><row><v>&x;</v></row></r>")
    rows = list(XmlFormat(XmlSpec(record="row")).rows(str(path), "xxe.xml"))
    assert "TOP-SECRET" not in str(rows)


@pytest.mark.parametrize("fields", [None, {"name": "NAME", "id": "@id"}])
def test_a_value_holding_an_unexpanded_entity_is_a_reject_not_an_empty_field(
        tmp_path: Path, fields: dict[str, str] | None) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text('<!DOCTYPE export [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>'
                    '<export><rec id="X"><NAME>&xxe;</NAME></rec><rec id="Y"><NAME>ok</NAME></rec></export>')
    fmt = XmlFormat(XmlSpec(record="rec", **({"fields": fields} if fields else {})))
    rows = list(fmt.rows(str(path), "xxe.xml"))
    assert isinstance(rows[0][1], RowError) and "&xxe;" in rows[0][1].message
    assert "never expanded" in rows[0][1].message and "root:" not in str(rows[0][1])
    assert rows[1] == (2, {"name": "ok", "id": "Y"} if fields else {"@id": "Y", "NAME": "ok"})


def test_records_are_found_by_path_with_lists_and_attributes(tmp_path: Path) -> None:
    path = tmp_path / "o.xml"
    path.write_text('<Orders xmlns:x="urn:x"><Order id="7"><x:No>A1</x:No><Line>1</Line><Line>2</Line>'
                    "<Ship><City>Lyon</City></Ship></Order><Archive><Order id='9'/></Archive></Orders>")
    spec = XmlSpec(record="Orders/Order", namespaces={"x": "urn:x"},
                   fields={"id": "@id", "no": "x:No", "lines": "Line", "city": "Ship/City", "notes": "Note[]"})
    assert list(XmlFormat(spec).rows(str(path), "o.xml")) == [
        (1, {"id": "7", "no": "A1", "lines": ["1", "2"], "city": "Lyon", "notes": []})]


def test_a_zip_bomb_workbook_is_refused_before_opening(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (3 * 1024 * 1024))
    with pytest.raises(FormatError, match="inflate"):
        ExcelFormat(ExcelSpec(max_uncompressed_mb=1)).check(str(path), "bomb.xlsx")


def test_encrypted_and_corrupt_workbooks_are_clear(tmp_path: Path) -> None:
    enc = tmp_path / "locked.xlsx"
    enc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(FormatError, match="encrypted"):
        ExcelFormat(ExcelSpec()).check(str(enc), "locked.xlsx")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(FormatError, match=r"cut\.xlsx"):
        ExcelFormat(ExcelSpec()).check(str(cut), "cut.xlsx")
    text = tmp_path / "notes.xlsx"
    text.write_text("hello")
    with pytest.raises(FormatError, match="not an Excel workbook"):
        ExcelFormat(ExcelSpec()).check(str(text), "notes.xlsx")


def test_a_missing_sheet_names_the_sheets_there_are(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.save(tmp_path / "w.xlsx")
    with pytest.raises(FormatError, match="no sheet 'Prices'; its sheets: Sheet"):
        ExcelFormat(ExcelSpec(sheet="Prices")).check(str(tmp_path / "w.xlsx"), "w.xlsx")
