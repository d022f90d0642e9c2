"""The salesforce and rest profiles against the sandbox's Salesforce and generic REST routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.targets.values import as_json
from tests.fixtures.sandbox import SANDBOX_TOKEN, build_target, deliver_all, northwind_orders

AUTH = {"type": "bearer", "token": SANDBOX_TOKEN}


def orders_with_one_bad_email(n: int, bad: int) -> list[Any]:
    orders = northwind_orders(n)
    for p in orders:
        p.data["email"] = f"o{p.key}@example.com"
    orders[bad].data["email"] = "nobody"
    return orders


@pytest.mark.faults
def test_salesforce_upserts_by_external_id_and_rejects_per_record(crm_sandbox: Any, tmp_path: Path) -> None:
    crm_sandbox.set_faults(error_rate=0.2, drop_after_rate=0.1)
    orders = orders_with_one_bad_email(450, bad=210)
    target = build_target({"kind": "salesforce", "base_url": crm_sandbox.url, "sobject": "Order__c",
                           "external_id_field": "ERP_Id__c", "auth": AUTH, "backoff_base": "10ms",
                           "max_attempts": 20}, tmp_path)
    delivery = deliver_all(target, orders)
    stored = crm_sandbox.objects("Order__c")
    assert delivery.sent == 449 and [(i, f) for i, _, f in delivery.rejected] == [(210, "email")]
    assert "INVALID_EMAIL_ADDRESS" in delivery.rejected[0][1]
    assert len(stored) == 449 and "10458" not in stored
    assert stored["10248"] == {**as_json(orders[0].data), "ERP_Id__c": "10248"}
    assert {c["inputs"] for c in crm_sandbox.calls()} <= {200, 50}
    print(f"\nsalesforce: {delivery.calls} calls, {delivery.retried} repeated, "
          f"{crm_sandbox.stats()['repeated_upserts']} delivered twice")


def test_rest_one_call_per_record_with_path_template(crm_sandbox: Any, tmp_path: Path) -> None:
    orders = orders_with_one_bad_email(30, bad=4)
    orders[7].data["customerid"] = None
    target = build_target({"kind": "rest", "base_url": crm_sandbox.url, "method": "PUT", "auth": AUTH,
                           "path": "/api/orders/{customerid}-{key}", "body": "record", "concurrency": 2}, tmp_path)
    delivery = deliver_all(target, orders)
    stored = crm_sandbox.objects("orders")
    assert delivery.sent == 28 and sorted(i for i, _, _ in delivery.rejected) == [4, 7]
    assert "VINET-10248" in stored and len(stored) == 28
    reasons = {i: (r, f) for i, r, f in delivery.rejected}
    assert reasons[4] == ("invalid email address 'nobody'", "email")
    assert reasons[7][1] == "customerid"


def test_rest_list_body_with_per_item_errors(crm_sandbox: Any, tmp_path: Path) -> None:
    orders = orders_with_one_bad_email(120, bad=77)
    for p in orders:
        p.data["id"] = p.key
    target = build_target({"kind": "rest", "base_url": crm_sandbox.url, "method": "POST", "auth": AUTH,
                           "path": "/api/orders", "body": "list", "errors_path": "errors", "batch_size": 50},
                          tmp_path)
    delivery = deliver_all(target, orders)
    assert delivery.sent == 119 and [(i, f) for i, _, f in delivery.rejected] == [(77, "email")]
    assert len(crm_sandbox.objects("orders")) == 119
