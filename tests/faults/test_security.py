"""Security under faults: the CRM token never shows in logs, errors, state-store rows or dry-run
output; an unknown SFTP host key and a bad TLS certificate are refused with clear messages; an
SQL identifier with injected SQL in a job file is refused at validation."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from tests.faults.harness import Outcome, compare, job_toml, rows, tail
from tests.faults.sources import FIELDS, write_csv
from tests.fixtures.project import Project
from tests.fixtures.sshd import SftpDrop, SshdServer

pytestmark = pytest.mark.faults
SECRET = "LBSECRET-3c2b1a-do-not-print"
SOURCE = """
kind = "files"
transport = { kind = "local" }
path = "drop"
pattern = ["CUST_*.csv"]
format = { kind = "csv", delimiter = ";" }
after = { success = "leave" }
"""


def stored_text(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(" ".join(map(str, row)) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))
    finally:
        conn.close()


def test_security_secret_token_never_printed_or_stored(project: Project,
                                                       sandbox_factory: Callable[..., SandboxProcess],
                                                       outcome: Outcome) -> None:
    crm = sandbox_factory(token=SECRET)
    expected = rows(600)
    write_csv(project.root / "drop", expected, parts=2)
    project.write_job("sec", job_toml("sec", SOURCE, FIELDS, "ID", target_extra="max_attempts = 2"))
    env = {"CRM_URL": crm.url, "CRM_TOKEN": SECRET}
    outputs = []
    for fmt in ("text", "json"):
        p = project.cli("--log-level", "debug", "--log-format", fmt, "run", "sec", "--dry-run", env=env)
        outputs += [p.stdout, p.stderr]
    crm.set_faults(error_rate=1.0)  # a failing run: errors and retries logged at debug
    failing = project.cli("--log-level", "debug", "--log-format", "json", "run", "sec", env=env)
    outputs += [failing.stdout, failing.stderr]
    outcome.expect(failing.returncode != 0, "the run with every call failing did not fail")
    crm.set_faults(error_rate=0.0)
    ok = project.cli("--log-level", "debug", "run", "sec", env=env)
    outputs += [ok.stdout, ok.stderr]
    wrong = project.cli("run", "sec", env={"CRM_URL": crm.url, "CRM_TOKEN": SECRET + "-wrong"})
    outputs += [wrong.stdout, wrong.stderr]
    for args in (["status"], ["status", "--json"], ["history", "sec", "--json"], ["rejects", "sec"],
                 ["files", "sec"]):
        p = project.cli(*args, env=env)
        outputs += [p.stdout, p.stderr]
    everything = "\n".join([*outputs, stored_text(project.state)])
    outcome.expect(SECRET not in everything, "the token appeared in output or the state store: "
                   + everything[max(0, everything.find(SECRET) - 200):everything.find(SECRET) + 50])
    outcome.expect("sec" in everything and ("500" in everything or "error" in everything.lower()),
                   "the failing run said nothing about its error")
    compare(outcome, expected, crm)
    outcome.note = "dry run, debug logs, json logs, failing run, 401 run, status/history/rejects/files, state rows"
    outcome.check()


@pytest.mark.sshd
def test_security_unknown_sftp_host_key_refused(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                                outcome: Outcome, sshd_server: SshdServer, sftp_drop: SftpDrop,
                                                tmp_path: Path) -> None:
    write_csv(sftp_drop.local, rows(10), parts=1)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    source = f"""
kind = "files"
transport = {{ kind = "sftp", host = "{sshd_server.host}", port = {sshd_server.port}, username = "{sshd_server.user}", key_file = "{sshd_server.key_file}", known_hosts = "{empty}", retries = 0 }}
path = "{sftp_drop.remote}"
pattern = ["CUST_*.csv"]
format = {{ kind = "csv", delimiter = ";" }}
"""
    project.write_job("hk", job_toml("hk", source, FIELDS, "ID"))
    crm = sandbox_factory()
    p = project.cli("run", "hk", env={"CRM_URL": crm.url, "CRM_TOKEN": "x"}, timeout=120)
    text = p.stdout + p.stderr
    outcome.expect(p.returncode != 0, "a server with an unknown host key was accepted")
    outcome.expect("host key" in text.lower() and sshd_server.host_fingerprint in text,
                   f"the refusal does not name the host key and its fingerprint: {tail(p)}")
    outcome.expect(crm.objects("contacts") == {}, "records were sent from an unverified server")
    outcome.note = "refused: " + next((line.strip() for line in text.splitlines() if "host key" in line.lower()), "")[:120]
    outcome.check()


def test_security_bad_tls_certificate_refused(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                                              outcome: Outcome, tmp_path: Path) -> None:
    import ssl

    from tests.integration.targets.test_tls import self_signed

    cert, key = self_signed(tmp_path)
    crm = sandbox_factory(args=["--tls-cert", str(cert), "--tls-key", str(key)],
                          ssl_context=ssl.create_default_context(cafile=str(cert)))
    write_csv(project.root / "drop", rows(10), parts=1)
    project.write_job("tls", job_toml("tls", SOURCE, FIELDS, "ID", target_extra="max_attempts = 2"))
    p = project.cli("run", "tls", env={"CRM_URL": crm.url, "CRM_TOKEN": "x"}, timeout=120)
    text = p.stdout + p.stderr
    outcome.expect(p.returncode != 0, "a self-signed certificate was accepted")
    outcome.expect("certificate verify failed" in text and "ca_bundle" in text,
                   f"the refusal is not clear (certificate, what to set): {tail(p)}")
    outcome.expect(crm.objects("contacts") == {}, "records were sent over an unverified connection")
    outcome.check()


@pytest.mark.parametrize(("field", "value"), [("table", 'customers"; DROP TABLE customers; --'),
                                         ("cursor", '["CHANGED", "ID) OR 1=1 --"]'),
                                         ("key", '["ID; DELETE FROM customers"]')], ids=["table", "cursor", "key"])
def test_security_injected_sql_identifier_refused(project: Project, outcome: Outcome, field: str,
                                                  value: str) -> None:
    fields = {"table": '"customers"', "cursor": '["CHANGED", "ID"]', "key": '["ID"]'}
    fields[field] = value if field != "table" else f"'{value}'"
    mode = "diff" if field == "key" else "incremental"
    extra = f'key = {fields["key"]}' if mode == "diff" else f'cursor = {fields["cursor"]}'
    source = f"""
kind = "odbc"
connection = "Driver={{SQLite3}};Database=nowhere.sqlite"
table = {fields["table"]}
mode = "{mode}"
{extra}
"""
    project.write_job("inj", job_toml("inj", source, FIELDS, "ID"))
    p = project.cli("validate", "inj", timeout=60)
    text = p.stdout + p.stderr
    outcome.expect(p.returncode == 2, f"validate exited {p.returncode}, not 2: {tail(p)}")
    outcome.expect(field in text and ("identifier" in text.lower() or "not a valid" in text.lower()
                                      or "invalid" in text.lower()),
                   f"the refusal does not name the field {field!r}: {tail(p)}")
    outcome.expect(not (project.root / "nowhere.sqlite").exists(), "validation touched the database")
    outcome.note = next((line.strip() for line in text.splitlines() if field in line), "")[:120]
    outcome.check()
