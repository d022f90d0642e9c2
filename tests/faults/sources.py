"""Source material for the scenarios: drops (CSV, XML, Excel) and PostgreSQL tables read over ODBC,
each written from the same expected records so the sandbox can be compared with it."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests.fixtures.databases import DbInfo, _connect, create_database, drop_database, require_server

FIELDS = {"erp_id": "ID", "name": "NAME", "city": "CITY"}
Records = Mapping[str, Mapping[str, str]]
T0 = datetime(2024, 1, 1)


def _old(path: Path) -> Path:
    stamp = time.time() - 3600
    os.utime(path, (stamp, stamp))
    return path


def chunks(expected: Records, parts: int) -> list[list[Mapping[str, str]]]:
    items = list(expected.values())
    size = -(-len(items) // parts)
    return [items[i:i + size] for i in range(0, len(items), size)]


def csv_bytes(records: list[Mapping[str, str]], encoding: str = "cp1252") -> bytes:
    out = io.StringIO(newline="")
    w = csv.writer(out, delimiter=";")
    w.writerow(["ID", "NAME", "CITY"])
    for r in records:
        w.writerow([r["erp_id"], r["name"], r["city"]])
    return out.getvalue().encode(encoding, errors="replace")


def write_csv(folder: Path, expected: Records, parts: int = 4, encoding: str = "utf-8") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [_old(_write(folder / f"CUST_{i}.csv", csv_bytes(c, encoding)))
            for i, c in enumerate(chunks(expected, parts))]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_xml(folder: Path, expected: Records, parts: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, part in enumerate(chunks(expected, parts)):
        path = folder / f"orders_{i}.xml"
        with open(path, "w", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<export>\n')
            for r in part:
                f.write(f'  <rec id="{escape(r["erp_id"])}"><NAME>{escape(r["name"])}</NAME>'
                        f'<CITY>{escape(r["city"])}</CITY></rec>\n')
            f.write("</export>\n")
        paths.append(_old(path))
    return paths


def write_xlsx(folder: Path, expected: Records, name: str = "customers.xlsx") -> Path:
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Customers")
    ws.append(["ID", "NAME", "CITY"])
    for r in expected.values():
        ws.append([r["erp_id"], r["name"], r["city"]])
    path = folder / name
    wb.save(path)
    return _old(path)


# --- PostgreSQL tables over ODBC ----------------------------------------------------------------


@contextmanager
def postgres_db() -> Iterator[DbInfo]:
    require_server("postgres")
    info = create_database("postgres")
    try:
        yield info
    finally:
        drop_database(info)


def odbc_connection(info: DbInfo) -> str:
    return (f"Driver={{PostgreSQL Unicode}};Server={info.host};Port={info.port};Database={info.database};"
            f"UID={info.user}" + (f";PWD={info.password}" if info.password else ""))


def pg_execute(info: DbInfo, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    conn = _connect(info, info.database)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def make_customers(info: DbInfo, expected: Records, table: str = "customers") -> None:
    """A table (ID, NAME, CITY, CHANGED) holding ``expected``; CHANGED shared by runs of 7 rows."""
    pg_execute(info, f'CREATE TABLE "{table}" ("ID" VARCHAR(20) PRIMARY KEY, "NAME" VARCHAR(80), '
                     '"CITY" VARCHAR(80), "CHANGED" TIMESTAMP NOT NULL)')
    conn = _connect(info, info.database)
    try:
        with conn.cursor().copy(f'COPY "{table}" ("ID", "NAME", "CITY", "CHANGED") FROM STDIN') as copy:
            for i, r in enumerate(expected.values()):
                copy.write_row((r["erp_id"], r["name"], r["city"], T0 + timedelta(seconds=i // 7)))
    finally:
        conn.close()
