"""Mappings on messy files nobody here wrote (/work/shared/realworld/csv).

Rows are read with the standard csv module here: the point is what the mapping makes
of the values, not how the format plugin reads the file.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.unit.mapping.helpers import run

REAL = Path("/work/shared/realworld/csv")
pytestmark = pytest.mark.skipif(not REAL.exists(), reason="real-world material not present")


def rows_of(name: str, delimiter: str = ",") -> list[dict[str, Any]]:
    with (REAL / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def test_floats_and_dates_mixed_formats_map_or_reject_with_reasons() -> None:
    """smartercsv__floats_and_dates.csv: one file, every date and money format under the sun."""
    spec = {"key": "Part No", "fields": {
        "date": {"from": "Date", "convert": [{"date": ["%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y"]}]},
        "qty": {"from": "Quantity", "convert": [{"number": {"thousands": ","}}], "type": "integer"},
        "price": {"from": "Price", "convert": [{"number": {"thousands": ",", "currency": True}}]},
    }}
    mb = run(spec, rows_of("smartercsv__floats_and_dates.csv"))
    assert [p.data for p in mb.payloads] == [{"date": "2018-04-30", "qty": 3000, "price": Decimal("1399999.99")}] * 6
    assert [r.position for r in mb.rejects] == ["line 4", "line 6", "line 8", "line 10", "line 12"]
    reasons = [r.reason for r in mb.rejects]
    assert "Price '€1399999,99' is not a number like 1,234.56 (a currency sign is allowed)" in reasons
    assert "Price '1.399.999,99 €' is not a number like 1,234.56 (a currency sign is allowed)" in reasons
    assert "Date '30-04-2018' is not a date in any of the formats %Y-%m-%d, %Y/%m/%d, %d/%m/%Y, %d.%m.%Y, %m/%d/%Y" in reasons


def test_the_european_rows_pass_once_the_mapping_says_so() -> None:
    """The same file, rows 5/7/9 (1.399.999,99): a mapping change turns their rejects into payloads."""
    rows = [r for r in rows_of("smartercsv__floats_and_dates.csv") if r["Price"].startswith("1.399")]
    spec = {"key": "Part No", "fields": {
        "price": {"from": "Price", "convert": [{"number": {"decimal": ",", "thousands": ".", "currency": True}}]},
        "qty": {"from": "Quantity", "convert": [{"number": {"decimal": ",", "thousands": "."}}], "type": "integer"},
    }}
    mb = run(spec, rows)
    assert not mb.rejects
    assert [p.data for p in mb.payloads] == [{"price": Decimal("1399999.99"), "qty": 3000}] * 3


def test_csvkit_locale_numbers() -> None:
    [row] = rows_of("csvkit__test_locale.csv")
    spec = {"key": "a", "fields": {
        "a": {"from": "a", "convert": [{"number": {"decimal": ",", "thousands": "."}}]},
        "b": {"from": "b", "convert": [{"number": {"decimal": ",", "thousands": "."}}]},
        "c": {"from": "c", "convert": ["number"], "default": 0},
    }}
    [p] = run(spec, [row]).payloads
    assert p.data == {"a": Decimal("1.7"), "b": Decimal(200_000_000), "c": 0}


def test_leading_zeros_survive_and_dates_convert() -> None:
    """frictionless__issue-1232.csv: ISTAT codes with leading zeros, dd/mm/yyyy dates."""
    rows = rows_of("frictionless__issue-1232.csv", delimiter=";")
    spec = {"key": "comune", "fields": {
        "code": {"from": "comune", "pattern": r"\d{9}"},
        "region": {"from": "codice_regione", "max_length": 2},
        "region_no": {"from": "codice_regione", "type": "integer"},
        "name": {"from": "denominazione_comune", "convert": ["title"]},
        "since": {"from": "data_entrata_in_carica", "convert": [{"date": "%d/%m/%Y"}]},
    }, "filter": {"field": "codice_regione", "not_in": ["00"]}}
    mb = run(spec, rows)
    assert mb.skipped == 1  # CAROBBIO DEGLI ANGELI has region 00
    first = mb.payloads[0]
    assert first.key == "030151360"
    assert first.data == {"code": "030151360", "region": "03", "region_no": 3, "name": "Polpenazze Del Garda",
                          "since": "2021-10-13"}


def test_blanks_zoo_is_null_with_null_if() -> None:
    """csvkit__blanks.csv: "", NA, N/A, NONE, NULL, "." all meaning 'no value'."""
    with (REAL / "csvkit__blanks.csv").open(newline="") as fh:
        header, values = list(csv.reader(fh))[:2]
    row = dict(zip(header, values, strict=False)) | {"ID": "1"}
    nulls = ["NA", "N/A", "NONE", "NULL", "."]
    spec = {"key": "ID", "fields": {h: {"from": h, "null_if": nulls, "default": "-"} for h in header}}
    [p] = run(spec, [row]).payloads
    assert set(p.data.values()) == {"-"}
