"""What an operator sees through the CLI: status, history, metrics file, catalog, and the
issue's "done when": a failing flow under `schedule` alerts once and recovers once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from legacy_bridge.state import open_store
from tests.fixtures.observe import WebhookReceiver, webhook_receiver
from tests.fixtures.project import ROOT, Project
from tests.integration.observe.jobfile import fill_drop, job_toml
from tests.unit.observe.test_metrics import parse, value

__all__ = ["webhook_receiver"]


def status_of(project: Project) -> dict[str, dict[str, Any]]:
    proc = project.cli("status", "--json")
    assert proc.returncode == 0, proc.stderr
    return {d["flow"]: d for d in json.loads(proc.stdout)}


def runs(project: Project, flow: str) -> list[dict[str, Any]]:
    store = open_store(str(project.state))
    try:
        return [{"status": r.status, "id": r.id} for r in store.history("erp_to_crm", flow, limit=1000)]
    finally:
        store.close()


def wait_until(check: Any, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def test_failing_flow_under_schedule_alerts_once_and_recovers_once(project: Project,
                                                                    webhook_receiver: WebhookReceiver) -> None:
    project.write_job("erp_to_crm", job_toml(webhook_receiver.url))
    (project.root / "drop" / "orders_archive").mkdir(parents=True)  # that flow is fine; "orders" has no drop folder
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LEGACY_BRIDGE_STATE", None)
    scheduler = subprocess.Popen([sys.executable, "-m", "legacy_bridge", "schedule", "erp_to_crm",
                                  "--heartbeat-interval", "0.5"], cwd=project.root, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: project.state.exists() and
                   sum(r["status"] == "failed" for r in runs(project, "orders")) >= 4, "4 failed runs")
        assert len(webhook_receiver.messages) == 1
        assert "ALERT erp_to_crm/orders: flow failed" in webhook_receiver.messages[0]["text"]
        status = status_of(project)
        assert status["orders"]["health"] == "fail" and status["orders"]["state"] in ("failed", "running")
        assert status["orders"]["last_run"]["status"] == "failed" or status["orders"]["running"]
        assert status["orders_archive"]["health"] == "ok"
        assert any(w["kind"] == "scheduler" and not w["stale"] for w in status["orders"]["workers"])

        fill_drop(project.root)  # the fix: the drop folder is back, with two exports
        webhook_receiver.wait_for(2)
        failed_before = len(runs(project, "orders"))
        wait_until(lambda: len(runs(project, "orders")) >= failed_before + 3, "3 more runs after the fix")
        texts = webhook_receiver.texts()
        assert len(texts) == 2, texts
        assert "RECOVERED erp_to_crm/orders: flow failed" in texts[1]
        assert status_of(project)["orders"]["health"] == "ok"
    finally:
        scheduler.send_signal(signal.SIGTERM)
        out, _ = scheduler.communicate(timeout=60)
    assert scheduler.returncode == 0, out


def test_status_and_history_report_counts_lag_and_rejects(project: Project,
                                                          webhook_receiver: WebhookReceiver) -> None:
    project.write_job("erp_to_crm", job_toml(webhook_receiver.url))
    fill_drop(project.root)
    (project.root / "drop" / "orders_archive").mkdir(parents=True)
    first = project.cli("run", "erp_to_crm", check=True)
    project.cli("run", "erp_to_crm", check=True)
    status = status_of(project)
    orders = status["orders"]
    assert orders["last_run"]["status"] in ("ok", "rejects") and orders["last_run"]["counts"]["sent"] == 0
    assert orders["lag_s"] is not None and orders["lag_s"] < 3600 and orders["late"] is False
    assert orders["max_lag_s"] == 3600 and orders["files_waiting"] == 0 and orders["oldest_file_waiting"] is None
    history = json.loads(project.cli("history", "erp_to_crm", "--flow", "orders", "--json").stdout)
    assert [h["flow"] for h in history] == ["orders", "orders"]
    assert history[1]["counts"]["read"] > 400 and history[1]["counts"]["files"] == 2, first.stdout
    assert history[0]["counts"]["read"] == 0
    assert history[0]["run_id"] > history[1]["run_id"] and history[0]["duration_s"] >= 0
    limited = json.loads(project.cli("history", "erp_to_crm", "--limit", "1", "--json").stdout)
    assert len(limited) == 1
    table = project.cli("status").stdout
    assert "orders_archive" in table and "LAG" in table


def test_status_says_a_flow_switched_off_in_its_job_file_is_disabled_not_waiting(project: Project) -> None:
    project.write_job("erp_to_crm", (ROOT / "jobs" / "erp_to_crm.toml").read_text(encoding="utf-8"))
    status = status_of(project)
    assert status["orders_sftp"]["enabled"] is False  # enabled = false in the demo job
    assert (status["orders_sftp"]["state"], status["orders_sftp"]["health"]) == ("disabled", "ok")
    assert (status["customers"]["state"], status["customers"]["health"]) == ("never run", "warn")
    table = [line for line in project.cli("status").stdout.splitlines() if "orders_sftp" in line]
    assert len(table) == 1 and "disabled" in table[0] and "never run" not in table[0]


def test_metrics_file_holds_the_figures_of_the_run(project: Project, webhook_receiver: WebhookReceiver) -> None:
    project.write_job("erp_to_crm", job_toml(webhook_receiver.url))
    fill_drop(project.root)
    (project.root / "drop" / "orders_archive").mkdir(parents=True)
    prom = project.root / "textfile" / "legacy_bridge.prom"
    project.cli("--metrics-file", str(prom), "run", "erp_to_crm", check=True)
    fams = parse(prom.read_text())
    history = json.loads(project.cli("history", "erp_to_crm", "--flow", "orders", "--json").stdout)
    read = history[0]["counts"]["read"]
    assert value(fams, "legacy_bridge_last_run_records", flow="orders", kind="read") == read
    assert value(fams, "legacy_bridge_records_total", flow="orders", kind="read") == read
    assert value(fams, "legacy_bridge_flow_healthy", flow="orders") == 1
    assert value(fams, "legacy_bridge_runs_total", flow="orders_archive", status="ok") == 1
    assert value(fams, "legacy_bridge_lag_seconds", flow="orders") < 3600


def test_catalog_documents_every_flow_and_field_without_resolving_secrets(project: Project) -> None:
    project.write_job("erp_to_crm", job_toml("${env:ALERT_WEBHOOK_URL}"))
    proc = project.cli("catalog", "--out", "site")
    assert proc.returncode == 0, proc.stderr
    md = (project.root / "site" / "catalog.md").read_text()
    html = (project.root / "site" / "catalog.html").read_text()
    for doc in (md, html):
        for text in ("erp_to_crm", "orders", "orders_archive", "order_no", "customer", "ship_city",
                     "ship_country", "CUSTNO", "SHIP_CITY", "strip", "required", "integration-team@example.com",
                     "${env:ALERT_WEBHOOK_URL}"):
            assert text in doc, text
    assert "```mermaid" in md and "files: drop/orders" in md
    assert "<svg" in html and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_catalog_of_erp_to_crm_shows_every_flow_and_field(tmp_path: Path) -> None:
    from legacy_bridge.config.loader import load_job

    job = load_job(ROOT / "jobs" / "erp_to_crm.toml", resolve_secrets=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "legacy_bridge", "--state", str(tmp_path / "state.db"), "catalog",
                           "erp_to_crm", "--out", str(tmp_path / "site")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "site" / "catalog.md").read_text()
    html = (tmp_path / "site" / "catalog.html").read_text()
    for flow in job.spec.flows:
        assert f"### Flow `{flow.name}`" in md and f'id="mapping-erp_to_crm-{flow.name}"' in html
        for target in flow.mapping.fields:
            assert f"\n| {target} |" in md, f"{flow.name}.{target} missing"
    assert "${env:CRM_TOKEN}" in md
