"""Process killed (SIGKILL) at random points of a large transfer, for each source kind; the flow
is rerun to the end and the sandbox must hold every source record once with its content.
Sizes: LEGACY_BRIDGE_FAULTS_RECORDS / _KILLS (default 20,000 and 4; scripts/faults --full:
100,000 and 10)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.faults.harness import RECORDS, Outcome, job_toml, kill_and_resume, rows
from tests.faults.sources import (
    FIELDS,
    make_customers,
    odbc_connection,
    postgres_db,
    write_csv,
    write_xlsx,
    write_xml,
)
from tests.fixtures.project import Project
from tests.fixtures.sshd import SftpDrop, SshdServer

pytestmark = pytest.mark.faults


@pytest.mark.sshd
def test_kill_csv_over_sftp(project: Project, sandbox_factory: Callable[..., SandboxProcess], outcome: Outcome,
                            sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    expected = rows(RECORDS)
    write_csv(sftp_drop.local, expected, parts=4, encoding="cp1252")
    source = f"""
kind = "files"
transport = {{ kind = "sftp", host = "{sshd_server.host}", port = {sshd_server.port}, username = "{sshd_server.user}", key_file = "{sshd_server.key_file}", known_hosts = "{sshd_server.known_hosts}", backoff = "50ms" }}
path = "{sftp_drop.remote}"
pattern = ["CUST_*.csv"]
format = {{ kind = "csv", encoding = "cp1252", delimiter = ";" }}
after = {{ success = "leave" }}
"""
    # cp1252 has no "Ł": the file holds "?" there, and so must the CRM
    expected = {k: {**v, "city": v["city"].encode("cp1252", "replace").decode("cp1252")} for k, v in expected.items()}
    project.write_job("kill", job_toml("kill", source, FIELDS, "ID"))
    kill_and_resume(project, sandbox_factory(), "kill", expected, outcome).check()


def test_kill_xml_from_a_folder(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                outcome: Outcome) -> None:
    expected = rows(RECORDS)
    write_xml(project.root / "drop", expected, parts=2)
    source = """
kind = "files"
transport = { kind = "local" }
path = "drop"
pattern = ["orders_*.xml"]
format = { kind = "xml", record = "rec" }
after = { success = "leave" }
"""
    project.write_job("kill", job_toml("kill", source, {"erp_id": "@id", "name": "NAME", "city": "CITY"}, "@id"))
    kill_and_resume(project, sandbox_factory(), "kill", expected, outcome).check()


def test_kill_excel(project: Project, sandbox_factory: Callable[..., SandboxProcess], outcome: Outcome) -> None:
    expected = rows(RECORDS)
    write_xlsx(project.root / "drop", expected)
    source = """
kind = "files"
transport = { kind = "local" }
path = "drop"
pattern = ["*.xlsx"]
format = { kind = "excel", sheet = "Customers" }
after = { success = "leave" }
"""
    project.write_job("kill", job_toml("kill", source, FIELDS, "ID"))
    kill_and_resume(project, sandbox_factory(), "kill", expected, outcome).check()


@pytest.mark.odbc
@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["incremental", "diff"])
def test_kill_odbc_table(project: Project, sandbox_factory: Callable[..., SandboxProcess], outcome: Outcome,
                         mode: str) -> None:
    expected = rows(RECORDS)
    with postgres_db() as db:
        make_customers(db, expected)
        cursor = 'cursor = ["CHANGED", "ID"]' if mode == "incremental" else 'key = ["ID"]'
        source = f"""
kind = "odbc"
connection = "{odbc_connection(db)}"
table = "customers"
mode = "{mode}"
{cursor}
batch_size = 1000
"""
        project.write_job("kill", job_toml("kill", source, FIELDS, "ID"))
        kill_and_resume(project, sandbox_factory(), "kill", expected, outcome).check()
