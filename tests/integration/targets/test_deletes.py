"""deletes = "send": a row deleted at the source (ODBC diff mode, SQLite driver) is archived in
the CRM sandbox by the real CLI, once; a failed delete is sent again on the next run; a row
that comes back is sent again; a target that cannot delete is a configuration error."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.project import Project
from tests.fixtures.sandbox import NORTHWIND, SANDBOX_TOKEN

pytestmark = [pytest.mark.odbc]

JOB = """
name = "erp"
[[flows]]
name = "customers"
[flows.source]
kind = "odbc"
connection = "Driver=SQLite3;Database={db}"
table = "Customers"
mode = "diff"
key = ["CustomerID"]
deletes = "send"
[flows.mapping]
key = "CustomerID"
[flows.mapping.fields]
erp_id = "CustomerID"
name = "CompanyName"
[flows.target]
{target}
"""

HUBSPOT = """kind = "hubspot"
base_url = "${env:CRM_URL}"
object = "companies"
id_property = "erp_id"
auth = { type = "bearer", token = "${env:CRM_TOKEN}" }
max_attempts = 2
backoff_base = "10ms"
"""


@pytest.fixture
def erp(project: Project) -> Path:
    db = project.root / "erp.sqlite"
    shutil.copy(NORTHWIND, db)
    return db


def sql(db: Path, statement: str, *params: object) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


def hash_keys(project: Project) -> set[str]:
    """The keys the flow remembers (its diff-mode hash table)."""
    from legacy_bridge.state import open_store

    store = open_store(f"sqlite:///{project.state}")
    try:
        return set(store.iter_hash_keys("erp", "customers"))
    finally:
        store.close()


def calls_to(crm: SandboxProcess, suffix: str) -> int:
    return sum(1 for c in crm.calls() if c["path"].endswith(suffix))


def test_a_row_deleted_at_the_source_is_archived_once(project: Project, erp: Path, crm_sandbox: SandboxProcess):
    project.write_job("erp", JOB.replace("{db}", str(erp)).replace("{target}", HUBSPOT))
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    first = project.cli("run", "erp", env=env)
    assert first.returncode == 0, first.stderr
    total = len(crm_sandbox.objects("companies"))
    assert total > 90 and "ALFKI" in crm_sandbox.objects("companies")

    sql(erp, "DELETE FROM Customers WHERE CustomerID IN ('ALFKI', 'BOLID')")
    second = project.cli("run", "erp", env=env)
    assert second.returncode == 0, second.stderr
    assert crm_sandbox.archived("companies") == {"ALFKI", "BOLID"}
    assert len(crm_sandbox.objects("companies")) == total - 2
    assert {"ALFKI", "BOLID"}.isdisjoint(hash_keys(project))

    calls = len(crm_sandbox.calls())
    third = project.cli("run", "erp", env=env)
    assert third.returncode == 0, third.stderr
    assert len(crm_sandbox.calls()) == calls  # nothing more happens
    assert crm_sandbox.stats()["archived"] == {"companies": 2}


def test_a_delete_that_fails_is_sent_again_on_the_next_run(project: Project, erp: Path,
                                                           crm_sandbox: SandboxProcess):
    project.write_job("erp", JOB.replace("{db}", str(erp)).replace("{target}", HUBSPOT))
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    assert project.cli("run", "erp", env=env).returncode == 0
    sql(erp, "DELETE FROM Customers WHERE CustomerID = 'ANATR'")
    crm_sandbox.set_faults(error_rate=1.0, error_codes=[500])
    failed = project.cli("run", "erp", env=env)
    assert failed.returncode == 1 and "still failing" in failed.stderr + failed.stdout
    assert "ANATR" in crm_sandbox.objects("companies")
    assert "ANATR" in hash_keys(project)  # not forgotten: the delete was not acknowledged

    crm_sandbox.set_faults(error_rate=0.0)
    assert project.cli("run", "erp", env=env).returncode == 0
    assert crm_sandbox.archived("companies") == {"ANATR"}
    assert "ANATR" not in hash_keys(project)


def test_a_row_that_comes_back_after_an_interrupted_delete_is_sent_again(project: Project, erp: Path,
                                                                         crm_sandbox: SandboxProcess):
    project.write_job("erp", JOB.replace("{db}", str(erp)).replace("{target}", HUBSPOT))
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    assert project.cli("run", "erp", env=env).returncode == 0
    conn = sqlite3.connect(erp)
    row = conn.execute("SELECT * FROM Customers WHERE CustomerID = 'AROUT'").fetchone()
    conn.close()
    sql(erp, "DELETE FROM Customers WHERE CustomerID = 'AROUT'")
    crm_sandbox.set_faults(error_rate=1.0, error_codes=[500])
    assert project.cli("run", "erp", env=env).returncode == 1  # tombstoned, delete not acknowledged
    crm_sandbox.set_faults(error_rate=0.0)
    sql(erp, f"INSERT INTO Customers VALUES ({', '.join('?' * len(row))})", *row)  # the row is back, unchanged
    upserts = calls_to(crm_sandbox, "/batch/upsert")
    assert project.cli("run", "erp", env=env).returncode == 0
    assert calls_to(crm_sandbox, "/batch/upsert") == upserts + 1  # sent again, not trusted as in sync
    assert "AROUT" in crm_sandbox.objects("companies") and not crm_sandbox.archived("companies")


def test_deletes_send_with_a_target_that_cannot_delete_is_a_config_error(project: Project, erp: Path):
    target = 'kind = "jsonl"\npath = "out.jsonl"\n'
    project.write_job("erp", JOB.replace("{db}", str(erp)).replace("{target}", target))
    run = project.cli("run", "erp")
    assert run.returncode != 0
    assert "jsonl target cannot delete" in run.stderr + run.stdout
    assert not (project.root / "out.jsonl").exists() or not (project.root / "out.jsonl").read_text()


def test_deletes_send_to_a_sql_target_deletes_the_row(project: Project, erp: Path):
    out = project.root / "out.db"
    target = f'kind = "sql"\nurl = "sqlite:///{out}"\ntable = "customers"\ncreate = true\n'
    project.write_job("erp", JOB.replace("{db}", str(erp)).replace("{target}", target))
    assert project.cli("run", "erp").returncode == 0
    sql(erp, "DELETE FROM Customers WHERE CustomerID = 'BERGS'")
    assert project.cli("run", "erp").returncode == 0
    conn = sqlite3.connect(out)
    try:
        keys = {r[0] for r in conn.execute("SELECT erp_id FROM customers")}
    finally:
        conn.close()
    assert "BERGS" not in keys and "ALFKI" in keys
