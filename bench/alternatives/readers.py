"""The readers a team would write for each format: rows as dicts keyed by column name."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any


def iter_csv(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="cp1252", newline="") as f:
        yield from csv.DictReader(f, delimiter=";")


def iter_xml(path: str) -> Iterator[dict[str, Any]]:
    from lxml import etree

    for _, elem in etree.iterparse(path, events=("end",), tag="Customer", resolve_entities=False,
                                   no_network=True):
        row = {child.tag: child.text or "" for child in elem}
        elem.clear()
        while elem.getprevious() is not None:
            del elem.getparent()[0]
        yield row


def iter_excel(path: str) -> Iterator[dict[str, Any]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c) for c in next(rows)]
        for values in rows:
            yield {k: ("" if v is None else v) for k, v in zip(header, values, strict=False)}
    finally:
        book.close()


def iter_odbc(connection: str, table: str, batch: int = 10_000) -> Iterator[dict[str, Any]]:
    import pyodbc

    conn = pyodbc.connect(connection, autocommit=False)
    try:
        cur = conn.cursor()
        cur.execute(f'SELECT * FROM "{table}" ORDER BY "CUSTNO"')
        names = [d[0] for d in cur.description]
        while chunk := cur.fetchmany(batch):
            for values in chunk:
                yield dict(zip(names, values, strict=True))
    finally:
        conn.close()


def sftp_target(url: str) -> tuple[str, int, str, str, str, str]:
    """(host, port, user, path, key file, known_hosts) of a bench sftp:// URL (bench/sftpd.py)."""
    from urllib.parse import parse_qs, urlsplit

    u = urlsplit(url)
    query = parse_qs(u.query)
    return u.hostname or "", u.port or 22, u.username or "", u.path, query["key"][0], query["known_hosts"][0]


def sftp_connect(url: str) -> tuple[Any, str]:
    """(paramiko SSHClient logged in with the key, the file's path) for a bench sftp:// URL; the
    host key is checked against the URL's known_hosts, an unknown one refused."""
    import paramiko

    host, port, user, path, key, known_hosts = sftp_target(url)
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host, port=port, username=user, key_filename=key, allow_agent=False, look_for_keys=False)
    return client, path


def iter_sftp_csv(url: str) -> Iterator[dict[str, Any]]:
    """What a team's script does with a drop on an SFTP server: paramiko, the host key checked,
    the file downloaded whole (``get``, which reads ahead), then read like a local one."""
    import os
    import tempfile

    client, path = sftp_connect(url)
    fd, local = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        try:
            with client.open_sftp() as sftp:
                sftp.get(path, local)
        finally:
            client.close()
        yield from iter_csv(local)
    finally:
        os.unlink(local)


def open_rows(fmt: str, source: str, table: str | None) -> Iterator[dict[str, Any]]:
    if fmt == "csv":
        return iter_csv(source)
    if fmt == "sftp-csv":
        return iter_sftp_csv(source)
    if fmt == "xml":
        return iter_xml(source)
    if fmt == "excel":
        return iter_excel(source)
    if fmt == "odbc":
        if not table:
            raise SystemExit("--table is needed with --format odbc")
        return iter_odbc(source, table)
    raise SystemExit(f"unknown format {fmt!r}")
