"""Alerts reach a real webhook receiver, a real SMTP server and a command: one message when
an incident opens, none while it lasts, one "recovered" message when it is over."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from legacy_bridge.config.models import AlertsSpec
from legacy_bridge.observe import alerts
from legacy_bridge.records import Counts
from legacy_bridge.runtime.runner import FlowResult
from legacy_bridge.state import open_store
from legacy_bridge.state.base import RunStatus, StateStore
from tests.fixtures.observe import SmtpReceiver, WebhookReceiver, smtp_receiver, webhook_receiver

__all__ = ["smtp_receiver", "webhook_receiver"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(str(tmp_path / "state.db"))
    yield s
    s.close()


def make_job(alerts_cfg: dict[str, Any], max_lag: float | None = None) -> Any:
    flow = SimpleNamespace(name="customers", max_lag=max_lag, enabled=True)
    spec = SimpleNamespace(alerts=AlertsSpec.model_validate(alerts_cfg), flows=[flow])
    return SimpleNamespace(name="erp_to_crm", spec=spec)


def run_once(job: Any, store: StateStore, status: RunStatus, rejected: int = 0, error: str | None = None) -> None:
    """Record a finished run in the store and call the hook as the runner does."""
    flow = job.spec.flows[0]
    run_id = store.begin_run(job.name, flow.name)
    store.add_run_counts(run_id, Counts(read=10, sent=10 - rejected, rejected=rejected))
    store.finish_run(run_id, status=status, error=error)
    result = FlowResult(job=job.name, flow=flow.name, status=status, counts=Counts(read=10, rejected=rejected),
                        run_id=run_id, error=error)
    alerts.on_flow_finished(job, flow, result, store)


def test_a_failing_flow_alerts_once_then_recovers_once(webhook_receiver: WebhookReceiver,
                                                         store: StateStore) -> None:
    job = make_job({"webhook": webhook_receiver.url, "mention": "@oncall"})
    for _ in range(4):
        run_once(job, store, "failed", error="cannot reach ERP at erp.local:1433\n  next: check the VPN")
    assert len(webhook_receiver.messages) == 1
    first = webhook_receiver.messages[0]
    assert first["text"].startswith("@oncall [legacy-bridge] ALERT erp_to_crm/customers: flow failed")
    assert "cannot reach ERP at erp.local:1433" in first["text"]
    assert first["legacy_bridge"]["kind"] == "failed" and first["legacy_bridge"]["state"] == "open"
    run_once(job, store, "ok")
    run_once(job, store, "ok")
    assert len(webhook_receiver.messages) == 2
    assert "RECOVERED erp_to_crm/customers: flow failed" in webhook_receiver.messages[1]["text"]
    run_once(job, store, "failed", error="boom again")
    assert len(webhook_receiver.messages) == 3 and "ALERT" in webhook_receiver.messages[2]["text"]


def test_rejects_above_the_threshold_alert_and_below_it_recover(webhook_receiver: WebhookReceiver,
                                                                store: StateStore) -> None:
    job = make_job({"webhook": webhook_receiver.url, "rejects_threshold": 2, "on": ["rejects"]})
    run_once(job, store, "rejects", rejected=2)
    assert webhook_receiver.messages == []
    run_once(job, store, "rejects", rejected=5)
    run_once(job, store, "rejects", rejected=7)
    assert len(webhook_receiver.messages) == 1
    assert "rejected 5 record(s)" in webhook_receiver.messages[0]["text"]
    run_once(job, store, "rejects", rejected=1)
    assert len(webhook_receiver.messages) == 2 and "RECOVERED" in webhook_receiver.messages[1]["text"]


def test_an_unreachable_webhook_is_tried_again_at_the_next_run(webhook_receiver: WebhookReceiver,
                                                                store: StateStore) -> None:
    job = make_job({"webhook": webhook_receiver.url})
    webhook_receiver.status = 503
    run_once(job, store, "failed", error="x")
    webhook_receiver.status = 200
    run_once(job, store, "failed", error="x")
    run_once(job, store, "failed", error="x")
    assert len(webhook_receiver.messages) == 1


def test_no_success_within_max_lag_alerts(webhook_receiver: WebhookReceiver, store: StateStore) -> None:
    job = make_job({"webhook": webhook_receiver.url, "on": ["lag"]}, max_lag=3600)
    run_once(job, store, "ok")
    assert alerts.check_lag(job, store) == []
    later = datetime.now(UTC) + timedelta(hours=2)
    sent = alerts.check_lag(job, store, now=later)
    assert [a.kind for a in sent] == ["lag"] and alerts.check_lag(job, store, now=later) == []
    assert "more than its max_lag of 3600s" in webhook_receiver.messages[0]["text"]
    run_once(job, store, "ok")  # a fresh success: the flow is current again
    assert len(webhook_receiver.messages) == 2 and "RECOVERED" in webhook_receiver.messages[1]["text"]


def test_alert_email_goes_to_a_real_smtp_server(smtp_receiver: SmtpReceiver, store: StateStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    job = make_job({"smtp": {"host": "127.0.0.1", "port": smtp_receiver.port, "from": "bridge@example.com",
                             "to": ["ops@example.com", "erp@example.com"]}})
    run_once(job, store, "failed", error="the CRM answered 401")
    run_once(job, store, "failed", error="the CRM answered 401")
    run_once(job, store, "ok")
    assert len(smtp_receiver.messages) == 2
    alert, recovered = smtp_receiver.messages
    assert alert["Subject"] == "[legacy-bridge] ALERT erp_to_crm/customers: flow failed"
    assert alert["To"] == "ops@example.com, erp@example.com"
    assert "the CRM answered 401" in alert.get_payload()
    assert str(recovered["Subject"]).startswith("[legacy-bridge] RECOVERED erp_to_crm/customers")


def test_alert_command_gets_the_alert_on_stdin(tmp_path: Path, store: StateStore) -> None:
    out = tmp_path / "alerts.jsonl"
    script = f"import sys, os; open({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')"
    job = make_job({"command": [sys.executable, "-c", script]})
    run_once(job, store, "failed", error="disk full")
    run_once(job, store, "failed", error="disk full")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["kind"], x["state"]) for x in lines] == [("failed", "open")]
    assert "disk full" in lines[0]["text"]
