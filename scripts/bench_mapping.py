"""Mapping throughput: a 12-field declared mapping against the same mapping hand-written.

    .venv/bin/python scripts/bench_mapping.py [--rows 1000000] [--batch 1000]

Prints records/s for the compiled mapping, for a hand-written plain-Python equivalent
(the ceiling: what someone would write in a script, with the same checks), and for a
hand-written version that also avoids ``strptime`` (the strictest ceiling), and the
ratios.  Goal: compiled within 1.5x of hand-written.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from legacy_bridge.mapping import MappingSpec, compile_mapping
from legacy_bridge.records import Batch, Checkpoint, Payload, Row

COUNTRIES = {"FR": "France", "DE": "Germany", "IT": "Italy", "ES": "Spain", "GB": "United Kingdom"}

SPEC = {
    "key": "CUSTNO",
    "fields": {
        "erp_id": "CUSTNO",
        "name": {"from": "NAME", "convert": ["strip"]},
        "company": {"from": "COMPANY", "convert": ["strip", "upper"], "required": True},
        "properties": {
            "email": {"from": "EMAIL", "convert": ["email"]},
            "since": {"from": "SINCE", "convert": [{"date": "%d/%m/%Y"}]},
            "balance": {"from": "BALANCE", "convert": [{"number": {"decimal": ",", "thousands": "."}}]},
        },
        "country": {"from": "COUNTRY", "convert": [{"lookup": COUNTRIES}]},
        "full_name": {"template": "{FNAME} {LNAME}"},
        "city": {"from": "CITY", "convert": ["strip", "title"]},
        "active": {"from": "ACTIVE", "convert": ["boolean"]},
        "zip": {"from": "ZIP", "convert": ["strip"], "pattern": r"\d{5}"},
        "source": {"value": "erp"},
    },
}


def make_rows(n: int, seed: int = 7) -> list[Row]:
    rnd = random.Random(seed)
    firsts = ["jean", "marie", "hans", "giulia", "ana", "tom"]
    lasts = ["dupont", "muller", "rossi", "garcia", "smith"]
    cities = ["paris", "berlin", "rome", "madrid", "london  "]
    rows = []
    for i in range(n):
        f, l_ = rnd.choice(firsts), rnd.choice(lasts)
        rows.append({
            "CUSTNO": str(100000 + i),
            "NAME": f"  {f.title()} {l_.title()} ",
            "COMPANY": f" {l_} sarl ",
            "EMAIL": f" {f}.{l_}{i}@Example.COM",
            "SINCE": f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/{rnd.randint(1990, 2024)}",
            "BALANCE": f"{rnd.randint(0, 999)}.{rnd.randint(0, 999):03d},{rnd.randint(0, 99):02d}",
            "COUNTRY": rnd.choice(list(COUNTRIES)),
            "FNAME": f, "LNAME": l_,
            "CITY": rnd.choice(cities),
            "ACTIVE": rnd.choice("YN"),
            "ZIP": f"{rnd.randint(10000, 99999)}",
        })
    return rows


EMAIL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                   r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
NUMBER = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d+)?(?:,(\d+))?")
ZIP = re.compile(r"\d{5}")
DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
TRUE, FALSE = {"Y", "YES", "1", "X"}, {"N", "NO", "0"}


def _common(row: Row, i: int, since: str) -> Payload:
    """The hand-written mapping, minus the date (two variants below)."""
    email = row["EMAIL"].strip().lower()
    if not EMAIL.fullmatch(email):
        raise ValueError("email")
    m = NUMBER.fullmatch(row["BALANCE"].strip())
    if m is None:
        raise ValueError("balance")
    whole = (m.group(1) or "0").replace(".", "")
    balance = Decimal(f"{whole}.{m.group(2)}" if m.group(2) else whole)
    company = row["COMPANY"].strip().upper()
    if not company:
        raise ValueError("company")
    active_s = row["ACTIVE"].strip().upper()
    active = True if active_s in TRUE else False if active_s in FALSE else None
    if active is None:
        raise ValueError("active")
    zip_ = row["ZIP"].strip()
    if not ZIP.fullmatch(zip_):
        raise ValueError("zip")
    key = row["CUSTNO"].strip()
    return Payload(key, {
        "erp_id": row["CUSTNO"],
        "name": row["NAME"].strip() or None,
        "company": company,
        "properties": {"email": email, "since": since, "balance": balance},
        "country": COUNTRIES[row["COUNTRY"].strip()],
        "full_name": f"{row['FNAME']} {row['LNAME']}".strip() or None,
        "city": row["CITY"].strip().title(),
        "active": active,
        "zip": zip_,
        "source": "erp",
    }, i)


def hand_strptime(row: Row, i: int) -> Payload:
    return _common(row, i, datetime.strptime(row["SINCE"].strip(), "%d/%m/%Y").date().isoformat())


def hand_regex(row: Row, i: int) -> Payload:
    m = DATE.fullmatch(row["SINCE"].strip())
    if m is None:
        raise ValueError("since")
    return _common(row, i, date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat())


def run_hand(fn: Callable[[Row, int], Payload], batches: list[list[Row]]) -> float:
    start = time.perf_counter()
    for rows in batches:
        out = []
        for i, row in enumerate(rows):
            try:
                out.append(fn(row, i))
            except Exception:  # a reject; the hand-written loop pays for its try too
                out.append(None)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    rows = make_rows(args.rows)
    batches = [rows[n:n + args.batch] for n in range(0, len(rows), args.batch)]
    mapper = compile_mapping(MappingSpec.model_validate(SPEC), base_dir=Path("."))
    # same answers first: the bench is only meaningful if both do the same work
    sample = Batch(rows=rows[:1000], origin="bench", checkpoint=Checkpoint())
    assert [p.data for p in mapper.map_batch(sample).payloads] == [hand_strptime(r, i).data
                                                                    for i, r in enumerate(rows[:1000])]
    results: dict[str, float] = {}
    for name, fn in (("hand-written (strptime)", hand_strptime), ("hand-written (regex date)", hand_regex)):
        results[name] = run_hand(fn, batches)
    start = time.perf_counter()
    for rows_ in batches:
        mapper.map_batch(Batch(rows=rows_, origin="bench", checkpoint=Checkpoint()))
    results["compiled mapping"] = time.perf_counter() - start
    n = args.rows
    for name, secs in results.items():
        print(f"{name:28s} {n / secs:12,.0f} records/s   ({secs:.2f} s)")
    compiled = results["compiled mapping"]
    for name in ("hand-written (strptime)", "hand-written (regex date)"):
        print(f"ratio compiled / {name}: {compiled / results[name]:.2f}x")




if __name__ == "__main__":
    main()
