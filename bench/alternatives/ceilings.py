"""Ceilings: the fastest reader of each format alone, and building the request bodies alone.

    python -m bench.alternatives.ceilings WHAT --source FILE|CONNECTION|SFTP-URL [--table T]

WHAT: csv-reader, xml-iterparse, openpyxl, calamine, pyodbc, arrow-odbc, bodies (read the
CSV, map by hand, ``json.dumps`` bodies of 100, send nothing), sftp-paramiko and sftp-openssh
(download a CSV drop alone, counting its lines).  Prints ``{"records": n}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterator


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


def _records_in(chunks: Iterator[bytes]) -> int:
    """The records of a CSV with one header line, counted by line ends as its bytes arrive."""
    return sum(chunk.count(b"\n") for chunk in chunks) - 1


def sftp_paramiko(source: str, table: str | None) -> int:
    """Download alone, through paramiko with read-ahead (prefetch), nothing written to disk."""
    from bench.alternatives.readers import sftp_connect

    client, path = sftp_connect(source)
    try:
        with client.open_sftp() as sftp, sftp.open(path, "rb") as f:
            f.prefetch(f.stat().st_size)
            return _records_in(iter(lambda: f.read(1 << 20), b""))
    finally:
        client.close()


def sftp_openssh(source: str, table: str | None) -> int:
    """Download alone, through OpenSSH's own sftp client (C), to a temporary file."""
    import subprocess
    import tempfile

    from bench.alternatives.readers import sftp_target

    host, port, user, path, key, known_hosts = sftp_target(source)
    with tempfile.TemporaryDirectory() as tmp:
        local = f"{tmp}/drop.csv"
        subprocess.run(["sftp", "-q", "-b", "-", "-P", str(port), "-i", key, "-o", f"UserKnownHostsFile={known_hosts}",
                        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"{user}@{host}"],
                       input=f'get "{path}" "{local}"\n', text=True, check=True, capture_output=True)
        with open(local, "rb") as f:
            return _records_in(iter(lambda: f.read(1 << 20), b""))


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
    "sftp-paramiko": sftp_paramiko, "sftp-openssh": sftp_openssh,
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
