"""Every real-world file in ../shared/realworld/{csv,xml,excel}: read correctly (a few real
values checked) or rejected with a clear reason naming the file and position.  The table
below records which, and with which declared format (as an operator would write it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.errors import FormatError, RowError
from legacy_bridge.formats import REGISTRY

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "realworld"
if not REAL.is_dir():
    REAL = Path("/work/shared/realworld")

UBL = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
       "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}

# file -> (format, expected): expected is {"records": n, "rows": {position: {field: value}},
# "rejects": [positions]} or ("rejected", text the reason must contain).
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "csv/csvkit__bad.csv": ({"kind": "csv"}, {"records": 3, "rejects": [2, 3], "rows": {4: {"column_b": "mixed types.... uh oh"}}}),
    "csv/csvkit__blanks.csv": ({"kind": "csv"}, {"records": 1, "rows": {2: {"b": "NA", "f": "."}}}),
    "csv/csvkit__mac_newlines.csv": ({"kind": "csv"}, {"records": 2, "rows": {3: {"a": "Once upon\ra time"}}}),
    "csv/csvkit__null_byte.csv": ({"kind": "csv"}, {"records": 1, "rejects": [2]}),
    "csv/csvkit__test_header_newline.csv": ({"kind": "csv"}, {"records": 1, "rows": {8: {"b": "e", "c": "f"}}}),
    "csv/csvkit__test_locale.csv": ({"kind": "csv"}, {"records": 1, "rows": {2: {"a": "1,7", "b": "200.000.000"}}}),
    "csv/csvkit__test_skip_lines.csv": ({"kind": "csv"}, {"records": 1, "rows": {5: {"a": "1", "c": "3"}}}),
    "csv/csvkit__test_utf16_big.csv": ({"kind": "csv", "encoding": "auto"}, {"records": 2, "rows": {3: {"c": "ʤ"}}}),
    "csv/csvkit__test_utf16_little.csv": ({"kind": "csv", "encoding": "utf-16"}, {"records": 2, "rows": {3: {"c": "ʤ"}}}),
    "csv/csvkit__test_utf8_bom.csv": ({"kind": "csv", "encoding": "auto"}, {"records": 2, "rows": {2: {"foo": "1"}}}),
    "csv/dbixtableloadercsv__cp1252.csv": ({"kind": "csv", "encoding": "cp1252"},
                                           {"records": 2, "rows": {2: {"char": "• bullet"}, 3: {"char": "™ tm", "reaction": "uh\r\noh"}}}),
    "csv/frictionless__countries.csv": ({"kind": "csv", "comment": "#"},
                                        {"records": 5, "rejects": [4, 7], "rows": {3: {"name": "Britain"}}}),
    "csv/frictionless__dialect.csv": ({"kind": "csv", "delimiter": "|", "quotechar": "#", "escapechar": "-",
                                       "doublequote": False}, {"records": 2, "rows": {3: {"name": " |##"}}}),
    "csv/frictionless__duplicate-headers.csv": ({"kind": "csv"}, ("rejected", "duplicate column names")),
    "csv/frictionless__escaping.csv": ({"kind": "csv", "skipinitialspace": True, "escapechar": "\\"},
                                       {"records": 3, "rows": {3: {"Test": 'Test " line 2'}, 4: {"Test": 'Test " line 3'}}}),
    "csv/frictionless__issue-1138.csv": ({"kind": "csv", "delimiter": ";"},
                                         {"records": 7, "rows": {3: {"Zeit [MEZ]": "10.07.2013", "Status": "qualitätsgesichert"}}}),
    "csv/frictionless__issue-1232.csv": ({"kind": "csv", "delimiter": ";"},
                                         {"records": 5, "rows": {2: {"comune": "030151360", "codice_regione": "03"}}}),
    "csv/frictionless__table-infer-iso-8859-7.csv": ({"kind": "csv", "encoding": "iso-8859-7"}, {"records": 4, "rows": {}}),
    "csv/smartercsv__bom_test_fffe.csv": ({"kind": "csv", "encoding": "auto"}, ("rejected", "byte-order mark")),
    "csv/smartercsv__continuation_lines.csv": ({"kind": "csv"},
                                               {"records": 2, "rows": {2: {"FirstName": "Tom", "Birthdate": "1940-06-07Z"}}}),
    "csv/smartercsv__emoji.csv": ({"kind": "csv", "delimiter": "|"}, {"records": 3, "rows": {2: {"First Name": "José", "Score": "❤️"}}}),
    "csv/smartercsv__floats_and_dates.csv": ({"kind": "csv"}, {"records": 11, "rows": {3: {"Price": "$1399999.99"}}}),
    "csv/smartercsv__hard_sample.csv": ({"kind": "csv"}, {"records": 1, "rows": {2: {"Name": "#MR1220817", "Lineitem name": "Cire Épilation Nacrée"}}}),
    "csv/smartercsv__malformed.csv": ({"kind": "csv"}, {"records": 2, "rejects": [3], "rows": {2: {"name": "Arnold Schwarzenegger"}}}),
    "csv/smartercsv__problematic.csv": ({"kind": "csv", "delimiter": ";", "encoding": "latin-1"},
                                        {"records": 7, "rows": {2: {"Date opération": "01/06/2018", "Montant": "-440,20"}}}),
    "xml/ubl/UBL-Invoice-2.1-Example.xml": ({"kind": "xml", "record": "cac:InvoiceLine", "namespaces": UBL,
                                             "fields": {"id": "cbc:ID", "amount": "cbc:LineExtensionAmount",
                                                        "currency": "cbc:LineExtensionAmount/@currencyID", "item": "cac:Item/cbc:Name"}},
                                            {"records": 5, "rows": {5: {"id": "5", "amount": "187.5", "currency": "EUR", "item": "Network cable"}}}),
    "xml/ubl/UBL-Invoice-2.1-Example-Trivial.xml": ({"kind": "xml", "record": "Invoice", "fields": {"id": "cbc:ID", "total": "cac:LegalMonetaryTotal/cbc:PayableAmount"}, "namespaces": UBL},
                                                    {"records": 1, "rows": {1: {"id": "123"}}}),
    "xml/ubl/UBL-CreditNote-2.1-Example.xml": ({"kind": "xml", "record": "cac:CreditNoteLine", "namespaces": UBL}, {"records": 5, "rows": {}}),
    "xml/ubl/UBL-Order-2.1-Example.xml": ({"kind": "xml", "record": "cac:OrderLine/cac:LineItem", "namespaces": UBL,
                                           "fields": {"id": "cbc:ID", "qty": "cbc:Quantity"}}, {"records": 2, "rows": {1: {"id": "1"}}}),
    "xml/ubl/UBL-OrderResponseSimple-2.1-Example.xml": ({"kind": "xml", "record": "OrderResponseSimple", "fields": {"accepted": "cbc:AcceptedIndicator"}, "namespaces": UBL},
                                                        {"records": 1, "rows": {1: {"accepted": "true"}}}),
    "xml/ubl/UBL-DespatchAdvice-2.0-Example.xml": ({"kind": "xml", "record": "DespatchLine"}, {"records": 1, "rows": {}}),
    "xml/ubl/UBL-Statement-2.0-Example.xml": ({"kind": "xml", "record": "StatementLine"}, {"records": 1, "rows": {}}),
    "xml/ubl/UBL-Invoice-2.0-Example-NS1.xml": ({"kind": "xml", "record": "InvoiceLine", "fields": {"id": "ID"}}, {"records": 1, "rows": {1: {"id": "A"}}}),
    "xml/ubl/UBL-Invoice-2.0-Example-NS2.xml": ({"kind": "xml", "record": "InvoiceLine", "fields": {"id": "ID"}}, {"records": 1, "rows": {1: {"id": "A"}}}),
    "xml/ubl/UBL-Invoice-2.0-Example-NS4.xml": ({"kind": "xml", "record": "InvoiceLine", "fields": {"id": "ID"}}, {"records": 1, "rows": {1: {"id": "A"}}}),
    "xml/ubl/UBL-Invoice-2.0-Enveloped.xml": ({"kind": "xml", "record": "InvoiceLine", "fields": {"id": "ID"}}, {"records": 1, "rows": {1: {"id": "A"}}}),
    "xml/ubl/UBL-ExpressionOfInterestRequest-2.2-Example.xml": ({"kind": "xml", "record": "ExpressionOfInterestRequest", "fields": {"id": "ID"}},
                                                                {"records": 1, "rows": {}}),
    "xml/sap_idoc/ballerina_DELVRY03_Avon.xml": ({"kind": "xml", "record": "IDOC/E1EDL20"}, {"records": 1, "rows": {}}),
    "xml/sap_idoc/n8n-sap-idoc-guard_ORDERS05_smoke.xml": ({"kind": "xml", "record": "IDOC/E1EDP01"},
                                                           {"records": 2, "rows": {1: {"POSEX": "000010", "MENGE": "2", "@SEGMENT": "1"}}}),
    "xml/edge/lxml__test-string.xml": ({"kind": "xml", "record": "a", "fields": {"text": "."}}, {"records": 1, "rows": {1: {"text": "Søk på nettet"}}}),
    "xml/edge/lxml__test_broken.xml": ({"kind": "xml", "record": "b"}, ("rejected", "not well-formed")),
    "xml/edge/lxml_c14n__inC14N1.xml": ({"kind": "xml", "record": "doc"}, {"records": 1, "rows": {}}),
    "xml/edge/lxml_c14n__inC14N3.xml": ({"kind": "xml", "record": "doc"}, {"records": 1, "rows": {}}),
    "xml/edge/lxml_c14n__inC14N4.xml": ({"kind": "xml", "record": "doc", "fields": {"value": "value"}}, {"records": 1, "rows": {1: {"value": "2"}}}),
    "xml/edge/lxml_c14n__inC14N5.xml": ({"kind": "xml", "record": "doc", "fields": {"attr": "@attrExtEnt"}}, {"records": 1, "rows": {1: {"attr": "entExt"}}}),
    "xml/edge/lxml_c14n__inC14N6.xml": ({"kind": "xml", "record": "doc"}, {"records": 1, "rows": {}}),
    "xml/edge/lxml_c14n__inNsRedecl.xml": ({"kind": "xml", "record": "bar"}, {"records": 1, "rows": {1: {"@att1": "val1"}}}),
    "xml/edge/lxml_c14n__inNsSuperfluous.xml": ({"kind": "xml", "record": "z:bar", "namespaces": {"z": "http://z0"}}, {"records": 2, "rows": {}}),
    "xml/edge/lxml_c14n__inNsXml.xml": ({"kind": "xml", "record": "foo"}, ("rejected", "not an NCName")),
    "excel/calamine__any_sheets.xlsx": ({"kind": "excel", "header_row": 0}, {"records": 4, "rows": {1: {"column_1": 1, "column_2": 2}}}),
    "excel/calamine__biff5_write.xls": ({"kind": "excel", "header_row": 0}, {"records": 4, "rows": {}}),
    "excel/calamine__date.xlsx": ({"kind": "excel", "header_row": 0}, {"records": 3, "rows": {1: {"column_1": dt.datetime(2021, 1, 1)}}}),
    "excel/calamine__date_1904.xlsx": ({"kind": "excel", "header_row": 0}, {"records": 3, "rows": {1: {"column_1": dt.datetime(2021, 1, 1)}}}),
    "excel/calamine__date_1904.xls": ({"kind": "excel", "header_row": 0}, {"records": 3, "rows": {2: {"column_1": dt.datetime(2021, 1, 2)}}}),
    "excel/calamine__errors.xlsx": ({"kind": "excel", "header_row": 0}, {"records": 7, "rejects": [1, 2, 3, 4, 5, 6, 7]}),
    "excel/calamine__formula.issue.xlsx": ({"kind": "excel", "header_row": 0}, {"records": 3, "rows": {}}),
    "excel/calamine__has_x000D_.xlsx": ({"kind": "excel", "header_row": 0}, {"records": 1, "rows": {1: {"column_1": "ABC\r\nDEF"}}}),
    "excel/calamine__header-row.xlsx": ({"kind": "excel", "header_row": 9}, {"records": 1, "rows": {10: {"Columns": "put data here", "Column A": 1}}}),
    "excel/calamine__issue_385.xls": ({"kind": "excel"}, ("rejected", "encrypted")),
    "excel/calamine__merge_cells.xlsx": ({"kind": "excel"}, {"records": 1, "rows": {2: {"Row Merge": "Column Merge"}}}),
    "excel/calamine__merged_range.xlsx": ({"kind": "excel", "header_row": 0}, {"records": 3, "rows": {}}),
    "excel/calamine__table-multiple.xlsx": ({"kind": "excel"}, {"records": 4, "rows": {3: {"Type": "Banana", "Quantity": 200}}}),
    "excel/xlrd__Formate.xls": ({"kind": "excel", "header_row": 0}, {"records": 10, "rows": {}}),
    "excel/xlrd__ragged.xls": ({"kind": "excel", "header_row": 0}, {"records": 5, "rows": {}}),
}


def _all_files() -> list[str]:
    return sorted(str(p.relative_to(REAL)) for d in ("csv", "xml", "excel") for p in (REAL / d).rglob("*") if p.is_file())


def test_the_table_covers_every_real_world_file() -> None:
    assert sorted(CASES) == _all_files()


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_world_file(name: str) -> None:
    spec_data, expected = CASES[name]
    fmt = REGISTRY.build(REGISTRY.get(spec_data["kind"]).config.model_validate(spec_data), REAL)
    path, display = str(REAL / name), Path(name).name
    if isinstance(expected, tuple):
        with pytest.raises(FormatError) as caught:
            fmt.check(path, display)
            list(fmt.rows(path, display))
        text = str(caught.value)
        assert expected[1] in text and display in text, text
        return
    check = fmt.check(path, display)
    rows = list(fmt.rows(path, display))
    assert check.records == expected["records"] == len(rows)
    got = dict(rows)
    rejects = [pos for pos, row in rows if isinstance(row, RowError)]
    assert rejects == expected.get("rejects", [])
    for pos in rejects:
        assert display in str(got[pos])
    for pos, values in expected.get("rows", {}).items():
        row = got[pos]
        assert isinstance(row, dict), row
        for key, value in values.items():
            assert row[key] == value, (pos, key, row)
