"""Ceilings: the fastest reader of each format alone, and building the request bodies alone.

    python -m bench.alternatives.ceilings WHAT --source FILE|CONNECTION [--table T]

WHAT: csv-reader, xml-iterparse, openpyxl, calamine, pyodbc, arrow-odbc, bodies (read the
CSV, map by hand, ``json.dumps`` bodies of 100, send nothing).  Prints ``{"records": n}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable


def csv_reader(source: str, table: str | None) -> int:
    n = 0
    with open(source, encoding="cp1252", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for _ in reader:
            n += 1
    return n


def xml_iterparse(source: str, table: str | None) -> int:
    from lxml import etree

    n = 0
    for _, elem in etree.iterparse(source, events=("end",), tag="Customer", resolve_entities=False,
                                   no_network=True):
        _ = [child.text for child in elem]
        n += 1
        elem.clear()
        while elem.getprevious() is not None:
            del elem.getparent()[0]
    return n


def openpyxl_rows(source: str, table: str | None) -> int:
    import openpyxl

    book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    n = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
    book.close()
    return n


def calamine_rows(source: str, table: str | None) -> int:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(source).get_sheet_by_index(0)
    return sum(1 for _ in sheet.iter_rows()) - 1


def pyodbc_fetch(source: str, table: str | None) -> int:
    import pyodbc

    conn = pyodbc.connect(source)
    cur = conn.cursor()
    cur.execute(f'SELECT * FROM "{table}"')
    n = 0
    while chunk := cur.fetchmany(10_000):
        n += len(chunk)
    conn.close()
    return n


def arrow_odbc_fetch(source: str, table: str | None) -> int:
    from arrow_odbc import read_arrow_batches_from_odbc  # type: ignore[import-untyped]

    reader = read_arrow_batches_from_odbc(query=f'SELECT * FROM "{table}"', connection_string=source,
                                          batch_size=10_000, max_text_size=256)
    return sum(batch.num_rows for batch in reader)


def bodies(source: str, table: str | None) -> int:
    from bench.alternatives.readers import iter_csv
    from bench.mapping import hubspot_input

    n = total = 0
    batch = []
    for row in iter_csv(source):
        batch.append(hubspot_input(row))
        n += 1
        if len(batch) == 100:
            total += len(json.dumps({"inputs": batch}).encode())
            batch = []
    if batch:
        total += len(json.dumps({"inputs": batch}).encode())
    return n


CEILINGS: dict[str, Callable[[str, str | None], int]] = {
    "csv-reader": csv_reader, "xml-iterparse": xml_iterparse, "openpyxl": openpyxl_rows,
    "calamine": calamine_rows, "pyodbc": pyodbc_fetch, "arrow-odbc": arrow_odbc_fetch, "bodies": bodies,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.alternatives.ceilings")
    p.add_argument("what", choices=sorted(CEILINGS))
    p.add_argument("--source", required=True)
    p.add_argument("--table")
    args = p.parse_args(argv)
    print(json.dumps({"records": CEILINGS[args.what](args.source, args.table)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
