"""Deterministic test data resembling an ERP customer export (12 columns).

The same seeded rows become a cp1252 ``;`` CSV, an XML file, an xlsx workbook and a
PostgreSQL table.  Each file gets a ``.meta.json`` sidecar (rows, seed, version, bytes) so
a later run reuses it when it matches instead of writing it again.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

VERSION = 1
COLUMNS = ["CUSTNO", "NAME", "COMPANY", "EMAIL", "PHONE", "STREET", "ZIP", "CITY",
           "COUNTRY", "CREATED", "BALANCE", "STATUS"]
FIRST = ["Émilie", "Jürgen", "José", "Françoise", "Søren", "Ángel", "Lukáš", "Chloé", "Björn", "Inês",
         "Zoë", "Günther", "Ana", "Jean", "Marie", "Hans", "Giulia", "Tomás", "Noël", "Renée"]
LAST = ["Lefèvre", "Müller", "García", "Dubois", "Jørgensen", "Núñez", "Schäfer", "Côté", "Öberg",
        "Peña", "Rossi", "Smith", "Martín", "Weiß", "Gonçalves", "Ferrand", "Strauß", "Fabre"]
FORMS = ["SARL", "GmbH", "S.L.", "S.p.A.", "Ltd", "AG", "SAS", "B.V."]
STREETS = ["Rue de la Paix", "Hauptstraße", "Calle Mayor", "Via Roma", "Kongens Gade", "Avenue Foch",
           "Königsallee", "Plaza España", "Rua Augusta", "Høgevej"]
CITIES = {"FR": ["paris", "lyon", "orléans"], "DE": ["berlin", "münchen", "köln"],
          "ES": ["madrid", "málaga", "córdoba"], "IT": ["roma", "milano", "forlì"],
          "DK": ["københavn", "århus", "odense"], "PT": ["lisboa", "porto", "évora"]}
COUNTRIES = {"FR": "France", "DE": "Germany", "ES": "Spain", "IT": "Italy", "DK": "Denmark", "PT": "Portugal"}
STATUS = {"A": "active", "I": "inactive", "B": "blocked", "P": "prospect"}



def _ascii(name: str) -> str:
    name = name.lower().replace("ø", "o").replace("ß", "ss")
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


ASCII = {name: _ascii(name) for name in FIRST + LAST}


def rows(n: int, seed: int) -> Iterator[list[str]]:
    """``n`` customer rows as lists of text, always the same for the same seed."""
    rnd = random.Random(seed)
    codes = list(COUNTRIES)
    for i in range(n):
        first, last = FIRST[rnd.randrange(len(FIRST))], LAST[rnd.randrange(len(LAST))]
        country = codes[rnd.randrange(len(codes))]
        city = CITIES[country][rnd.randrange(3)]
        whole = rnd.randrange(0, 250_000)
        balance = f"{whole:,}".replace(",", ".") + f",{rnd.randrange(100):02d}"
        if rnd.random() < 0.1:
            balance = "-" + balance
        yield [
            str(100_000 + i),
            f" {first} {last} ",
            f"{last} {FORMS[rnd.randrange(len(FORMS))]}",
            f" {ASCII[first]}.{ASCII[last]}{i}@Example.COM ",
            f"+{rnd.randrange(30, 50)} {rnd.randrange(100, 999)} {rnd.randrange(100000, 999999)}",
            f"{rnd.randrange(1, 200)} {STREETS[rnd.randrange(len(STREETS))]}",
            f"{rnd.randrange(10000, 99999)}",
            city,
            country,
            f"{rnd.randrange(1, 29):02d}/{rnd.randrange(1, 13):02d}/{rnd.randrange(1990, 2025)}",
            balance,
            "AIBP"[rnd.randrange(4)],
        ]


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def is_current(path: Path, n: int, seed: int) -> bool:
    """True when ``path`` was written by this generator for ``n`` rows and ``seed`` and is intact."""
    meta = _meta_path(path)
    if not path.is_file() or not meta.is_file():
        return False
    try:
        info = json.loads(meta.read_text())
    except ValueError:
        return False
    return bool(info == {"rows": n, "seed": seed, "version": VERSION, "bytes": path.stat().st_size})


def _done(path: Path, n: int, seed: int) -> Path:
    info = {"rows": n, "seed": seed, "version": VERSION, "bytes": path.stat().st_size}
    _meta_path(path).write_text(json.dumps(info))
    return path


def write_csv(path: Path, n: int, seed: int) -> Path:
    """cp1252, ``;``, a header row, CRLF line ends, as an ERP export on Windows writes it."""
    if is_current(path, n, seed):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="cp1252", newline="") as f:
        f.write(";".join(COLUMNS) + "\r\n")
        chunk: list[str] = []
        for row in rows(n, seed):
            chunk.append(";".join(row))
            if len(chunk) >= 10_000:
                f.write("\r\n".join(chunk) + "\r\n")
                chunk = []
        if chunk:
            f.write("\r\n".join(chunk) + "\r\n")
    tmp.replace(path)
    return _done(path, n, seed)


def write_xml(path: Path, n: int, seed: int) -> Path:
    """``<Customers><Customer><CUSTNO>…</CUSTNO>…</Customer>…</Customers>``, UTF-8, indented."""
    if is_current(path, n, seed):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<Customers exported="2024-06-30T23:00:00">\n')
        chunk: list[str] = []
        for row in rows(n, seed):
            inner = "".join(f"\n    <{c}>{escape(v)}</{c}>" for c, v in zip(COLUMNS, row, strict=True))
            chunk.append(f'  <Customer type="{row[11]}">{inner}\n  </Customer>\n')
            if len(chunk) >= 5_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
        f.write("</Customers>\n")
    tmp.replace(path)
    return _done(path, n, seed)


def write_xlsx(path: Path, n: int, seed: int) -> Path:
    """One sheet ``Customers``, a header row, every cell text (as many ERP exports write them)."""
    if is_current(path, n, seed):
        return path
    import xlsxwriter  # type: ignore[import-untyped]

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    sheet = book.add_worksheet("Customers")
    sheet.write_row(0, 0, COLUMNS)
    for r, row in enumerate(rows(n, seed), start=1):
        sheet.write_row(r, 0, row)
    book.close()
    tmp.replace(path)
    return _done(path, n, seed)


PG_COLUMNS_SQL = ", ".join(['"CUSTNO" bigint PRIMARY KEY'] + [f'"{c}" text' for c in COLUMNS[1:]])


def pg_table(n: int, seed: int) -> str:
    return f"bench_customers_{n}_{seed}_v{VERSION}"


def write_pg(dsn: str, n: int, seed: int) -> str:
    """A PostgreSQL table of the same rows (reused when it exists with ``n`` rows); its name."""
    import psycopg

    table = pg_table(n, seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if exists and exists[0]:
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            if row and row[0] == n:
                return table
            conn.execute(f'DROP TABLE "{table}"')
        conn.execute(f'CREATE TABLE "{table}" ({PG_COLUMNS_SQL})')
        with conn.cursor() as cur, cur.copy(f'COPY "{table}" FROM STDIN') as copy:
            for values in rows(n, seed):
                copy.write_row([int(values[0]), *values[1:]])
        conn.execute(f'ANALYZE "{table}"')
    return table
