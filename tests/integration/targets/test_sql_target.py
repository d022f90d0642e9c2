"""The sql target against real PostgreSQL, MariaDB and SQLite: idempotent upserts, a bad row
isolated and rejected with the database's message, typed values, and a SIGKILLed CLI run that
resumes with the table equal to the source."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.errors import TargetError
from legacy_bridge.records import Payload
from tests.fixtures.project import ROOT, Project
from tests.fixtures.sandbox import build_target, deliver_all, northwind_orders

KINDS = ["sqlite", "postgres", "mariadb"]


@pytest.fixture(params=KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'out.db'}"
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return str(request.getfixturevalue("mariadb_url"))


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name in ("mysql", "mariadb"):
                sql = sql.replace('"', "`")
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name in ("mysql", "mariadb"):
                sql = sql.replace('"', "`")
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def target(url: str, tmp_path: Path, **extra: Any) -> Any:
    return build_target({"kind": "sql", "url": url, "table": "orders", "key_column": "order_id",
                         "create": True, "batch_size": 100, **extra}, tmp_path)


def test_sending_twice_leaves_one_row_per_key_with_the_latest_content(db_url: str, tmp_path: Path):
    orders = northwind_orders(250)
    t = target(db_url, tmp_path)
    try:
        assert deliver_all(t, orders).sent == 250
        changed = [Payload(p.key, {**p.data, "shipcity": f"moved {p.key}"}, p.index) for p in orders]
        again = deliver_all(t, changed)
    finally:
        t.close()
    assert again.sent == 250 and not again.rejected
    rows = query(db_url, 'SELECT "order_id", "shipcity", "freight" FROM "orders"')
    assert len(rows) == 250
    assert {r[0] for r in rows} == {p.key for p in orders}
    assert all(r[1] == f"moved {r[0]}" for r in rows)
    source = {p.key: p.data["freight"] for p in orders}
    assert all(abs(float(r[2]) - float(source[r[0]])) < 1e-9 for r in rows)


def test_a_row_the_database_refuses_is_rejected_with_its_message_and_the_others_are_kept(
        db_url: str, tmp_path: Path):
    execute(db_url, 'CREATE TABLE "orders" ("order_id" VARCHAR(20) PRIMARY KEY, "customer" VARCHAR(10) NOT NULL, '
                    '"amount" NUMERIC(12, 2) CHECK ("amount" >= 0))')
    payloads = [Payload(str(i), {"customer": f"C{i}", "amount": Decimal(f"{i}.25")}, i) for i in range(100)]
    payloads[37] = Payload("37", {"customer": None, "amount": Decimal("1.00")}, 37)  # NOT NULL
    payloads[80] = Payload("80", {"customer": "C80", "amount": Decimal("-5.00")}, 80)  # CHECK
    t = target(db_url, tmp_path, create=False)
    try:
        delivery = deliver_all(t, payloads)
    finally:
        t.close()
    assert delivery.sent == 98
    refused = {i: (reason, field) for i, reason, field in delivery.rejected}
    assert set(refused) == {37, 80}
    assert "null" in refused[37][0].lower() and "customer" in refused[37][0]
    assert refused[37][1] == "customer"
    assert "check" in refused[80][0].lower() or "constraint" in refused[80][0].lower()
    rows = dict(query(db_url, 'SELECT "order_id", "amount" FROM "orders"'))
    assert len(rows) == 98 and "37" not in rows and "80" not in rows
    assert Decimal(str(rows["12"])) == Decimal("12.25")


def test_typed_values_and_nested_fields_arrive_typed(db_url: str, tmp_path: Path):
    stamp = datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)
    payloads = [Payload("A1", {"amount": Decimal("1234567.89"), "day": date(2024, 2, 29), "at": stamp,
                               "address": {"city": "Lyon", "lines": ["1 rue X"]}, "count": 3}, 0)]
    t = target(db_url, tmp_path, table="typed")
    try:
        assert t.send(payloads).sent == 1
    finally:
        t.close()
    (amount, day, at, address, count), = query(db_url, 'SELECT "amount", "day", "at", "address", "count" FROM "typed"')
    assert Decimal(str(amount)) == Decimal("1234567.89")
    assert str(day)[:10] == "2024-02-29"
    assert str(at).startswith("2024-03-01 12:30:05")
    assert "Lyon" in str(address) and int(count) == 3


def test_a_missing_table_without_create_stops_with_a_clear_message_and_no_password(pg_url: str, tmp_path: Path):
    url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1).replace("@", ":s3cretpw@", 1)
    with pytest.raises(TargetError) as caught:
        build_target({"kind": "sql", "url": url, "table": "nope"}, tmp_path)
    text = str(caught.value)
    assert "nope" in text and "create = true" in text and "s3cretpw" not in text


def test_a_table_without_a_unique_key_is_refused_before_anything_is_sent(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'out.db'}"
    execute(url, 'CREATE TABLE "orders" ("order_id" TEXT, "x" TEXT)')
    with pytest.raises(TargetError, match="no primary key or unique index"):
        target(url, tmp_path, create=False)


def test_identifiers_are_validated_at_load():
    from pydantic import TypeAdapter, ValidationError

    from legacy_bridge.targets import REGISTRY

    with pytest.raises(ValidationError, match="not a plain identifier"):
        TypeAdapter(REGISTRY.spec_type()).validate_python(
            {"kind": "sql", "url": "sqlite://", "table": 'orders"; DROP TABLE x; --'})


def test_delete_removes_rows_by_key_and_forgets_missing_ones(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'out.db'}"
    t = target(url, tmp_path)
    try:
        t.send([Payload(str(i), {"n": i}, i) for i in range(5)])
        delivery = t.delete(["1", "3", "99"])
    finally:
        t.close()
    assert delivery.sent == 3 and not delivery.rejected
    assert sorted(r[0] for r in query(url, 'SELECT "order_id" FROM "orders"')) == ["0", "2", "4"]


# --- the real CLI, killed mid-run -----------------------------------------------------------------

JOB = """
name = "to_sql"
[[flows]]
name = "orders"
[flows.source]
kind = "files"
transport = {{ kind = "local" }}
path = "drop"
pattern = ["*.csv"]
format = {{ kind = "csv" }}
[flows.mapping]
key = "id"
[flows.mapping.fields]
customer = "customer"
amount = {{ from = "amount", type = "decimal" }}
[flows.target]
kind = "sql"
url = "${{env:OUT_URL}}"
table = "orders"
key_column = "id"
create = true
batch_size = 200
concurrency = 2
"""


def test_a_cli_run_killed_mid_file_resumes_and_the_table_equals_the_source(db_url: str, project: Project):
    n = 30_000
    drop = project.root / "drop"
    drop.mkdir()
    with (drop / "orders.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "customer", "amount"])
        for i in range(n):
            w.writerow([f"O{i:06d}", f"C{i % 91}", f"{i}.{i % 100:02d}"])
    project.write_job("to_sql", JOB.format())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OUT_URL": db_url}
    child = subprocess.Popen([sys.executable, "-m", "legacy_bridge", "run", "to_sql"], cwd=project.root, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if query(db_url, 'SELECT COUNT(*) FROM "orders"')[0][0] >= 2000:
                    break
            except Exception:
                pass  # the table is not created yet
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    midway = query(db_url, 'SELECT COUNT(*) FROM "orders"')[0][0]
    assert 0 < midway < n, "the kill should land mid-file"
    again = project.cli("run", "to_sql", env={"OUT_URL": db_url}, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    rows = query(db_url, 'SELECT "id", "customer", "amount" FROM "orders"')
    assert len(rows) == n
    assert {r[0]: (r[1], Decimal(str(r[2]))) for r in rows} == {
        f"O{i:06d}": (f"C{i % 91}", Decimal(f"{i}.{i % 100:02d}")) for i in range(n)}
