"""Quick measurement of the Excel and XML readers: rows/s and peak RSS per engine.

    .venv/bin/python scripts/bench_formats.py [--excel-rows 200000] [--xml-records 500000]
        [--only excel,xml] [--gen-only]

Generates deterministic files under bench/data/formats/ (gitignored; reused when present),
then runs each reader in a fresh child process (so peak RSS is that reader's own) and
prints one line per engine.  A quick look for the engineer, not the published benchmark
(that is ``scripts/bench``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "formats"
NS = "urn:example:erp:customers:v2"
COLUMNS = ["CUSTNO", "NAME", "COMPANY", "EMAIL", "PHONE", "STREET", "ZIP", "CITY", "COUNTRY", "CREATED",
           "BALANCE", "STATUS"]
FIRST = ["Émilie", "Jürgen", "José", "Françoise", "Søren", "Ángel", "Lukáš", "Chloé", "Björn", "Inês"]
LAST = ["Lefèvre", "Müller", "García", "Dubois", "Jørgensen", "Núñez", "Schäfer", "Côté", "Öberg", "Peña"]
CITIES = ["Paris", "München", "Málaga", "Forlì", "København", "Évora", "Orléans", "Köln"]
STREETS = ["Rue de la Paix", "Hauptstraße", "Calle Mayor", "Via Roma", "Kongens Gade", "Avenue Foch"]


def records(n: int, seed: int = 42) -> Iterator[list[object]]:
    """``n`` customers: number, text, date, decimal and status values, always the same."""
    rnd = random.Random(seed)
    for i in range(n):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        yield [100_000 + i, f"{first} {last}", f"{last} {rnd.choice(['SARL', 'GmbH', 'S.L.', 'AG'])}",
               f"{first.lower()}.{last.lower()}{i}@example.com", f"+{rnd.randrange(30, 50)} {rnd.randrange(10**8, 10**9)}",
               f"{rnd.randrange(1, 200)} {rnd.choice(STREETS)}", f"{rnd.randrange(10000, 99999)}", rnd.choice(CITIES),
               rnd.choice(["FR", "DE", "ES", "IT", "DK", "PT"]),
               dt.datetime(1990, 1, 1) + dt.timedelta(days=rnd.randrange(12_000)),
               round(rnd.uniform(-5_000, 250_000), 2), "AIBP"[rnd.randrange(4)]]


def write_xlsx(path: Path, n: int) -> Path:
    if path.exists():
        return path
    import xlsxwriter  # type: ignore[import-untyped]

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    sheet = book.add_worksheet("Customers")
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, COLUMNS)
    for r, row in enumerate(records(n), start=1):
        sheet.write_row(r, 0, row[:9])
        sheet.write_datetime(r, 9, row[9], date)
        sheet.write_number(r, 10, row[10])
        sheet.write_string(r, 11, row[11])
    book.close()
    tmp.replace(path)
    return path


def write_xml(path: Path, n: int) -> Path:
    """An ERP export with a default namespace and a prefixed one, about 460 bytes a record."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<erp:Export xmlns:erp="{NS}" '
                'xmlns:x="urn:example:erp:ext" created="2024-06-30T23:00:00">\n <erp:Customers>\n')
        chunk: list[str] = []
        for v in records(n):
            created = v[9].strftime("%d/%m/%Y")  # type: ignore[attr-defined]
            chunk.append(
                f'  <erp:Customer id="{v[0]}" status="{v[11]}">\n'
                f"   <erp:Name>{escape(str(v[1]))}</erp:Name>\n   <erp:Company>{escape(str(v[2]))}</erp:Company>\n"
                f"   <erp:Email>{v[3]}</erp:Email>\n   <erp:Phone>{v[4]}</erp:Phone>\n"
                f"   <erp:Address>\n    <erp:Street>{escape(str(v[5]))}</erp:Street>\n    <erp:Zip>{v[6]}</erp:Zip>\n"
                f"    <erp:City>{v[7]}</erp:City>\n    <erp:Country>{v[8]}</erp:Country>\n   </erp:Address>\n"
                f"   <erp:Created>{created}</erp:Created>\n"
                f'   <erp:Balance currency="EUR">{v[10]:.2f}</erp:Balance>\n   <x:Segment>B2B</x:Segment>\n'
                "  </erp:Customer>\n")
            if len(chunk) >= 5000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
        f.write(" </erp:Customers>\n</erp:Export>\n")
    tmp.replace(path)
    return path


XML_FORMAT: dict[str, object] = {"kind": "xml", "record": "erp:Customer", "namespaces": {"erp": NS, "x": "urn:example:erp:ext"},
              "fields": {"custno": "@id", "status": "@status", "name": "erp:Name", "company": "erp:Company",
                         "email": "erp:Email", "phone": "erp:Phone", "street": "erp:Address/erp:Street",
                         "zip": "erp:Address/erp:Zip", "city": "erp:Address/erp:City",
                         "country": "erp:Address/erp:Country", "created": "erp:Created",
                         "balance": "erp:Balance"}}


def _child(kind: str, path: str, fmt: dict[str, object]) -> None:
    """In the child: read the whole file (check, then rows) and print one JSON line."""
    from legacy_bridge.formats import REGISTRY

    spec = REGISTRY.get(str(fmt["kind"])).config.model_validate(fmt)
    reader = REGISTRY.build(spec, ROOT)
    t0 = time.perf_counter()
    check = reader.check(path, Path(path).name)
    t1 = time.perf_counter()
    n = sum(1 for _ in reader.rows(path, Path(path).name))
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"kind": kind, "records": n, "check_s": t1 - t0, "rows_s": t2 - t1,
                      "rate": n / (t2 - t0), "rows_rate": n / (t2 - t1), "peak_mb": peak, "notes": check.notes}))


def measure(kind: str, path: Path, fmt: dict[str, object]) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), json.dumps(fmt)],
                         capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


MAPPINGS = {
    "excel": ("CUSTNO", {"erp_id": "CUSTNO", "name": "NAME", "company": "COMPANY", "email": "EMAIL", "phone": "PHONE",
                         "address": "STREET", "zip": "ZIP", "city": "CITY", "country": "COUNTRY", "since": "CREATED",
                         "balance": "BALANCE", "status": "STATUS"}),
    "xml": ("custno", {"erp_id": "custno", "name": "name", "company": "company", "email": "email", "phone": "phone",
                       "address": "street", "zip": "zip", "city": "city", "country": "country", "since": "created",
                       "balance": "balance", "status": "status"}),
}
CONVERT = {"name": '["strip"]', "email": '["strip", "lower"]', "city": '["strip", "title"]'}


def write_job(project: Path, data: Path, kind: str, fmt: dict[str, object], url: str) -> Path:
    """A job: files source -> a 12-field mapping -> hubspot profile -> the sink."""
    key, fields = MAPPINGS[kind]
    lines = [f'{out} = {{ from = "{src}", convert = {CONVERT[out]} }}' if out in CONVERT else f'{out} = "{src}"'
             for out, src in fields.items()]
    fmt_toml = "{ " + ", ".join(f"{k} = {json.dumps(v) if not isinstance(v, dict) else _inline(v)}"
                               for k, v in fmt.items()) + " }"
    text = f"""name = "bench_formats"

[[flows]]
name = "{kind}"

[flows.source]
kind = "files"
transport = {{ kind = "local" }}
path = {json.dumps(str(data.parent))}
pattern = [{json.dumps(data.name)}]
format = {fmt_toml}
after = {{ success = "leave", failure = "leave" }}

[flows.mapping]
key = "{key}"
[flows.mapping.fields]
{chr(10).join(lines)}

[flows.target]
kind = "hubspot"
base_url = "{url}"
object = "contacts"
id_property = "erp_id"
auth = {{ type = "bearer", token = "t0ken-not-a-word" }}
batch_size = 100
concurrency = 4
"""
    (project / "jobs").mkdir(parents=True, exist_ok=True)
    job = project / "jobs" / "bench_formats.toml"
    job.write_text(text, encoding="utf-8")
    return job


def _inline(d: dict[str, object]) -> str:
    return "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(v) if not isinstance(v, dict) else _inline(v)}"
                            for k, v in d.items()) + " }"


def end_to_end(kind: str, data: Path, fmt: dict[str, object], n: int) -> str:
    """``python -m legacy_bridge run`` on a fresh project: records/s and the run's peak RSS."""
    import os
    import shutil

    project = DATA / f"e2e-{kind}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    sink = subprocess.Popen([sys.executable, "-m", "legacy_bridge.sandbox.sink", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        url = sink.stdout.readline().split()[-1]
        job = write_job(project, data, kind, fmt, url)
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "legacy_bridge", "run", str(job)], cwd=project,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        out = proc.stdout.read() if proc.stdout else ""
        if status != 0:
            return f"e2e {kind}: run failed (status {status}):\n{out[-3000:]}"
        return (f"e2e {kind:6} {n:>9,} records  {elapsed:6.1f}s  {n / elapsed:>9,.0f} rec/s  "
                f"peak RSS {usage.ru_maxrss / 1024:6.0f} MB")
    finally:
        sink.terminate()
        sink.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--excel-rows", type=int, default=200_000)
    p.add_argument("--xml-records", type=int, default=500_000)
    p.add_argument("--only", default="excel,xml")
    p.add_argument("--gen-only", action="store_true")
    p.add_argument("--e2e", action="store_true", help="also run the whole path: files -> mapping -> hubspot -> sink")
    p.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "FORMAT"))
    args = p.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], json.loads(args.child[2]))
        return 0
    only = set(args.only.split(","))
    runs: list[tuple[str, Path, dict[str, object]]] = []
    if "excel" in only:
        xlsx = write_xlsx(DATA / f"customers_{args.excel_rows}.xlsx", args.excel_rows)
        for engine in ("openpyxl", "calamine", "auto"):
            runs.append((f"excel {engine}", xlsx, {"kind": "excel", "engine": engine}))
    if "xml" in only:
        xml = write_xml(DATA / f"customers_{args.xml_records}.xml", args.xml_records)
        runs.append(("xml", xml, XML_FORMAT))
    if args.gen_only:
        return 0
    if args.e2e:
        if "excel" in only:
            print(end_to_end("excel", DATA / f"customers_{args.excel_rows}.xlsx", {"kind": "excel"}, args.excel_rows),
                  flush=True)
        if "xml" in only:
            print(end_to_end("xml", DATA / f"customers_{args.xml_records}.xml", XML_FORMAT, args.xml_records),
                  flush=True)
        return 0
    for label, path, fmt in runs:
        r = measure(label, path, fmt)
        print(f"{label:16} {r['records']:>9,} records  check {r['check_s']:6.2f}s  rows {r['rows_s']:6.2f}s  "
              f"{r['rate']:>9,.0f} rec/s (check+rows)  {r['rows_rate']:>9,.0f} rec/s (rows)  "
              f"peak {r['peak_mb']:6.0f} MB  {r['notes']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
