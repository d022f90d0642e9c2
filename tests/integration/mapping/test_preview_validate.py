"""``preview`` reads and maps without touching the state store or the CRM; ``validate`` names
mapping fields that are not columns of the source (CSV header, ODBC table); ``replay``
respects the flow's lease."""

from __future__ import annotations

import json

from legacy_bridge.runtime.locks import FlowLease
from legacy_bridge.sandbox.client import SandboxProcess
from legacy_bridge.state import open_store
from tests.fixtures.project import REALWORLD, Project
from tests.fixtures.sandbox import SANDBOX_TOKEN
from tests.integration.mapping.test_rejects_replay import FIXED, LONG_REF, STRICT, bank_project

NORTHWIND = REALWORLD / "northwind" / "northwind.sqlite"


def test_preview_shows_rows_payloads_and_rejects_and_changes_nothing(
        project: Project, crm_sandbox: SandboxProcess) -> None:
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    bank_project(project)
    shown = project.cli("preview", "bank", "--flow", "statements", "--limit", "3")  # no CRM credentials needed
    assert shown.returncode == 0, shown.stderr
    assert "RELEVE_201806.csv line 2  key 8711552  [rejected]" in shown.stdout
    assert "is longer than 60 characters" in shown.stdout
    assert "closedate  2018-06-04" in shown.stdout and shown.stdout.count("[mapped]") == 2
    assert not (project.root / "var").exists(), "a preview must not create the state store"
    assert crm_sandbox.calls() == []

    as_json = json.loads(project.cli("preview", "bank", "--flow", "statements", "--json").stdout)
    assert len(as_json) == 7 and [r["verdict"] for r in as_json].count("rejected") == 1
    assert as_json[1]["source"]["Montant"] == "-144,07" and as_json[1]["payload"]["amount"] == "-144.07"

    run = project.cli("run", "bank", env=env)  # the file was not registered: the run takes it whole
    assert run.returncode == 3 and "read 7, sent 6, rejected 1" in run.stdout, run.stdout + run.stderr

    after = project.cli("preview", "bank", "--flow", "statements")
    assert after.returncode == 0 and "nothing to read" in after.stdout and "--from-start" in after.stdout
    again = project.cli("preview", "bank", "--flow", "statements", "--from-start", "--limit", "1", "--json")
    assert [r["key"] for r in json.loads(again.stdout)] == [LONG_REF]
    store = open_store(str(project.state))
    try:
        assert len(store.list_files("bank", "statements")) == 1
        assert len(store.history("bank", "statements")) == 1
    finally:
        store.close()


def test_validate_names_a_mapping_field_that_is_not_a_column_of_the_file(project: Project) -> None:
    job = bank_project(project)
    assert project.cli("validate", "--no-secrets", "bank").returncode == 0
    job.write_text(job.read_text(encoding="utf-8").replace('account = "Compte"', 'account = "Konto"')
                   .replace('key = "Référence"', 'key = "Reference"'), encoding="utf-8")
    checked = project.cli("validate", "--no-secrets", "bank")
    assert checked.returncode == 2
    assert ("flows[0].mapping.fields.account: source field Konto is not a column of RELEVE_201806.csv "
            "(columns: Compte, Date de comptabilisation") in checked.stderr
    assert "flows[0].mapping.key: source field Reference is not a column of RELEVE_201806.csv " \
           "(did you mean Référence?" in checked.stderr


def test_validate_reports_compile_errors_and_unknown_table_columns_together(project: Project) -> None:
    project.write_job("erp", f"""
name = "erp"
[[flows]]
name = "customers"
[flows.source]
kind = "odbc"
connection = "Driver=SQLite3;Database={NORTHWIND}"
table = "Customers"
mode = "full"
[flows.mapping]
key = "CustomerID"
[flows.mapping.fields]
erp_id = "CustomerID"
name = {{ from = "CompanyNme", convert = ["strip"] }}
city = {{ template = "{{City}} {{Regio}}" }}
[flows.target]
kind = "jsonl"
path = "out/customers.jsonl"

[[flows]]
name = "orders"
[flows.source]
kind = "odbc"
connection = "Driver=SQLite3;Database={NORTHWIND}"
table = "Orders"
mode = "full"
[flows.mapping]
key = "OrderID"
[flows.mapping.fields]
placed = {{ from = "OrderDate", convert = [{{ no_such_converter = 1 }}] }}
[flows.target]
kind = "jsonl"
path = "out/orders.jsonl"
""")
    checked = project.cli("validate", "erp")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    err = checked.stderr
    assert "flows[0].mapping.fields.name: source field CompanyNme is not a column of Customers " \
           "(did you mean CompanyName?" in err
    assert "flows[0].mapping.fields.city: source field Regio is not a column of Customers (did you mean Region?" in err
    assert "flows[1].mapping.fields.placed.convert[0]" in err
    assert "CustomerID" not in err.split("columns:")[0]


def test_replay_waits_for_nobody_and_touches_nothing_while_a_run_holds_the_flow(
        project: Project, crm_sandbox: SandboxProcess) -> None:
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    job = bank_project(project)
    assert project.cli("run", "bank", env=env).returncode == 3
    job.write_text(job.read_text(encoding="utf-8").replace(STRICT, FIXED), encoding="utf-8")
    store = open_store(str(project.state))
    try:
        with FlowLease(store, "bank", "statements"):
            held = project.cli("replay", "bank", env=env)
            assert held.returncode == 1, held.stdout + held.stderr
            assert "flow statements of job bank is running in pid" in held.stdout
            assert LONG_REF not in crm_sandbox.objects("deals")
            assert [r.key for r in store.list_rejects("bank", "statements")] == [LONG_REF]
    finally:
        store.close()
    free = project.cli("replay", "bank", env=env)
    assert free.returncode == 0 and LONG_REF in crm_sandbox.objects("deals"), free.stdout + free.stderr


