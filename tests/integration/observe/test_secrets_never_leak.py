"""A recognisable secret used by a run (the alert webhook's token) never appears in log
output, error messages, the metrics file, the catalog, or any table of the state store."""

from __future__ import annotations

import sqlite3

from tests.fixtures.observe import WebhookReceiver, webhook_receiver
from tests.fixtures.project import Project
from tests.integration.observe.jobfile import fill_drop, job_toml

__all__ = ["webhook_receiver"]

TOKEN = "LBSECRET-9f8e7d6c5b4a"


def every_stored_text(db: str) -> str:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"runs", "rejects", "alert_incidents"} <= set(tables)
        out = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out.append(" ".join(str(v) for v in row))
        return "\n".join(out)
    finally:
        conn.close()


def test_the_webhook_token_appears_nowhere(project: Project, webhook_receiver: WebhookReceiver) -> None:
    project.write_job("erp_to_crm", job_toml(webhook_receiver.url.rsplit("/", 1)[0] + "/${env:ALERT_TOKEN}"))
    env = {"ALERT_TOKEN": TOKEN}
    outputs = []
    webhook_receiver.status = 500  # the first alert fails: its error is logged
    for args in (["run", "erp_to_crm"], ["--log-format", "json", "run", "erp_to_crm"]):
        proc = project.cli("--log-level", "debug", "--metrics-file", "m.prom", *args, env=env)
        outputs += [proc.stdout, proc.stderr]
        webhook_receiver.status = 200
    fill_drop(project.root)
    (project.root / "drop" / "orders" / "ORDERS_BAD.csv").write_text(
        "ERP EXPORT\nORDER_NO;CUSTNO;SHIP_CITY;SHIP_COUNTRY\n1;not a customer;X;Y\n", encoding="cp1252")
    (project.root / "drop" / "orders_archive").mkdir()
    proc = project.cli("--log-level", "debug", "run", "erp_to_crm", env=env)
    outputs += [proc.stdout, proc.stderr]
    for args in (["status"], ["status", "--json"], ["history", "erp_to_crm", "--json"],
                 ["catalog", "--out", "site"]):
        proc = project.cli(*args, env=env)
        outputs += [proc.stdout, proc.stderr]
    assert any(TOKEN in p for p in webhook_receiver.paths), "the secret was not used at all"
    assert any("RECOVERED" in m["text"] for m in webhook_receiver.messages)  # alerts went out, and back
    stored = every_stored_text(str(project.state))
    files = [(project.root / "m.prom").read_text(), (project.root / "site" / "catalog.md").read_text(),
             (project.root / "site" / "catalog.html").read_text()]
    everything = "\n".join([*outputs, stored, *files, *[str(m) for m in webhook_receiver.messages]])
    assert "error" in everything and "does not exist" in everything
    assert TOKEN not in everything
