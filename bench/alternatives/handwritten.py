"""The hand-written script a team would write without legacy_bridge.

    python -m bench.alternatives.handwritten --format csv --source FILE --url URL [--per-record --limit N]

Reads rows (csv.DictReader, lxml iterparse, openpyxl read-only or pyodbc; a CSV on an SFTP
server is downloaded with paramiko first), maps the 12
fields by hand, and posts HubSpot batch-upsert bodies of 100 with ``requests.Session``
and ``json.dumps``, one call at a time.  ``--per-record`` posts one record per call (the
reference for scripts that never batched).  Prints ``{"records": n, "calls": n}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import islice

from bench.alternatives.readers import open_rows
from bench.mapping import OBJECT_PATH, SINK_TOKEN, hubspot_input


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.alternatives.handwritten")
    p.add_argument("--format", required=True, choices=["csv", "xml", "excel", "odbc", "sftp-csv"])
    p.add_argument("--source", required=True, help="file path, ODBC connection string, or sftp:// URL")
    p.add_argument("--table")
    p.add_argument("--url", required=True, help="base URL of the sink")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--per-record", action="store_true")
    p.add_argument("--limit", type=int, default=0, help="stop after this many records (0: all)")
    args = p.parse_args(argv)

    import requests

    session = requests.Session()
    session.headers.update({"Authorization": "Bearer " + SINK_TOKEN, "Content-Type": "application/json"})
    url = args.url.rstrip("/") + OBJECT_PATH
    size = 1 if args.per_record else args.batch
    rows = open_rows(args.format, args.source, args.table)
    if args.limit:
        rows = islice(rows, args.limit)
    records = calls = 0
    batch: list[dict[str, object]] = []

    def post() -> None:
        nonlocal calls
        resp = session.post(url, data=json.dumps({"inputs": batch}))
        resp.raise_for_status()
        calls += 1

    for row in rows:
        batch.append(hubspot_input(row))
        records += 1
        if len(batch) >= size:
            post()
            batch = []
    if batch:
        post()
    print(json.dumps({"records": records, "calls": calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
