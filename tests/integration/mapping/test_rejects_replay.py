"""A messy real bank export (ISO-8859-1, ';', DD/MM/YYYY, decimal commas) through the real CLI
into the CRM sandbox: one row is rejected with a clear reason, ``rejects`` shows it with file
and line, the mapping is fixed in the job file, ``replay`` delivers it, and it is no longer open."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.project import REALWORLD, Project
from tests.fixtures.sandbox import SANDBOX_TOKEN

BANK_FILE = "smartercsv__problematic.csv"
LONG_REF = "8711552"  # its label is 62 characters once spaces are collapsed
STRICT = 'dealname = { from = "Libellé", convert = ["strip", { regex_replace = ["\\\\s+", " "] }], max_length = 60 }'
FIXED = ('dealname = { from = "Libellé", convert = ["strip", { regex_replace = ["\\\\s+", " "] }, '
         '{ truncate = 60 }], max_length = 60 }')

JOB = """
name = "bank"

[[flows]]
name = "statements"
[flows.source]
kind = "files"
transport = { kind = "local" }
path = "drop/bank"
pattern = ["*.csv"]
format = { kind = "csv", encoding = "latin-1", delimiter = ";" }
after = { success = "leave" }
[flows.mapping]
key = "Référence"
[flows.mapping.fields]
bank_ref = "Référence"
account = "Compte"
%s
closedate = { from = "Date opération", convert = [{ date = "%%d/%%m/%%Y" }], required = true }
amount = { from = "Montant", convert = [{ number = { decimal = "," } }] }
[flows.target]
kind = "hubspot"
base_url = "${env:CRM_URL}"
object = "deals"
id_property = "bank_ref"
auth = { type = "bearer", token = "${env:CRM_TOKEN}" }
"""


def bank_project(project: Project) -> Path:
    drop = project.root / "drop" / "bank"
    drop.mkdir(parents=True)
    shutil.copyfile(REALWORLD / "csv" / BANK_FILE, drop / "RELEVE_201806.csv")
    return project.write_job("bank", JOB % STRICT)


def test_a_rejected_row_is_shown_fixed_by_the_mapping_and_delivered_by_replay(
        project: Project, crm_sandbox: SandboxProcess) -> None:
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    job_file = bank_project(project)

    run = project.cli("run", "bank", env=env)
    assert run.returncode == 3, run.stdout + run.stderr
    deals = crm_sandbox.objects("deals")
    assert len(deals) == 6 and LONG_REF not in deals
    assert deals["1038326"]["amount"] == "-144.07" and deals["1038326"]["closedate"] == "2018-06-04"

    listed = project.cli("rejects", "bank")
    assert listed.returncode == 0, listed.stderr
    line = next(ln for ln in listed.stdout.splitlines() if LONG_REF in ln)
    assert "RELEVE_201806.csv line 2" in line
    assert "Libellé 'ECHEANCE PRET DONT CAP 410,33" in line and "is longer than 60 characters" in line

    as_json = json.loads(project.cli("rejects", "bank", "--json").stdout)
    assert [(r["key"], r["field"], r["raw"]["Montant"]) for r in as_json] == [(LONG_REF, "Libellé", "-440,20")]

    job_file.write_text(job_file.read_text(encoding="utf-8").replace(STRICT, FIXED), encoding="utf-8")
    replay = project.cli("replay", "bank", env=env)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "replayed 1, still failing 0" in replay.stdout

    deal = crm_sandbox.objects("deals")[LONG_REF]
    assert deal["dealname"] == "ECHEANCE PRET DONT CAP 410,33 ASS. 8,00E INT. 21,87 COM. 0,0"  # 60 characters
    assert float(deal["amount"]) == -440.2 and deal["closedate"] == "2018-06-01"

    still = project.cli("rejects", "bank")
    assert still.returncode == 0 and LONG_REF not in still.stdout and "no open rejects" in still.stdout
    history = project.cli("rejects", "bank", "--status", "replayed")
    assert LONG_REF in history.stdout

    again = project.cli("replay", "bank", env=env)
    assert again.returncode == 0 and "no open rejects to replay" in again.stdout
    assert crm_sandbox.writes("deals")[LONG_REF] == 1  # delivered once


def test_a_record_that_still_fails_stays_open_with_its_new_reason(
        project: Project, crm_sandbox: SandboxProcess) -> None:
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    job_file = bank_project(project)
    assert project.cli("run", "bank", env=env).returncode == 3
    reject_id = json.loads(project.cli("rejects", "bank", "--json").stdout)[0]["id"]

    tighter = STRICT.replace("max_length = 60", "max_length = 20")
    job_file.write_text(job_file.read_text(encoding="utf-8").replace(STRICT, tighter), encoding="utf-8")
    replay = project.cli("replay", "bank", "--id", str(reject_id), env=env)
    assert replay.returncode == 3, replay.stdout + replay.stderr
    assert f"#{reject_id}" in replay.stdout and "is longer than 20 characters" in replay.stdout

    [entry] = json.loads(project.cli("rejects", "bank", "--json").stdout)
    assert entry["id"] == reject_id and entry["status"] == "open"
    assert "is longer than 20 characters" in entry["reason"]
    assert entry["position"] == "line 2" and entry["origin"] == "RELEVE_201806.csv"
    assert LONG_REF not in crm_sandbox.objects("deals")


def test_export_writes_the_raw_record_as_extra_columns(project: Project, crm_sandbox: SandboxProcess) -> None:
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    bank_project(project)
    assert project.cli("run", "bank", env=env).returncode == 3
    out = project.root / "rejects.csv"
    done = project.cli("rejects", "bank", "--export", str(out))
    assert done.returncode == 0 and "wrote 1 reject" in done.stdout
    with out.open(encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["position"] == "line 2" and row["key"] == LONG_REF and row["field"] == "Libellé"
    assert row["Montant"] == "-440,20" and row["Date opération"] == "01/06/2018"


def test_dry_run_replay_sends_and_records_nothing(project: Project, crm_sandbox: SandboxProcess) -> None:
    env = {"CRM_URL": crm_sandbox.url, "CRM_TOKEN": SANDBOX_TOKEN}
    job_file = bank_project(project)
    assert project.cli("run", "bank", env=env).returncode == 3
    job_file.write_text(job_file.read_text(encoding="utf-8").replace(STRICT, FIXED), encoding="utf-8")
    calls = len(crm_sandbox.calls())
    dry = project.cli("replay", "bank", "--dry-run", env=env)
    assert dry.returncode == 0 and "would send 1" in dry.stdout, dry.stdout + dry.stderr
    assert len(crm_sandbox.calls()) == calls
    assert LONG_REF in project.cli("rejects", "bank").stdout
