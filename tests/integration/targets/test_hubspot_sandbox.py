"""The hubspot target against the CRM sandbox (a real HTTP server process), with faults.

Every scenario ends the same way: the sandbox holds exactly what was sent, nothing is
lost, and the test prints how many calls and deliveries were repeated.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.errors import TargetError, TargetRetryable
from legacy_bridge.observe.redact import redact
from legacy_bridge.targets.profiles.hubspot import properties
from tests.fixtures.sandbox import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_TOKEN,
    build_target,
    deliver_all,
    northwind_orders,
)


def hubspot(url: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kind": "hubspot", "base_url": url, "object": "deals", "id_property": "erp_id",
        "auth": {"type": "bearer", "token": SANDBOX_TOKEN}, "batch_size": 100, "concurrency": 4,
        "backoff_base": "10ms", "backoff_max": "200ms", "max_attempts": 30,
        "timeout": {"connect": "2s", "read": "5s"},
    }
    spec.update(overrides)
    return spec


def expected(payloads: list[Any]) -> dict[str, dict[str, str]]:
    return {p.key: properties(p.data, "clear") for p in payloads}


def report(name: str, crm: Any, delivery: Any) -> None:
    stats = crm.stats()
    print(f"\n{name}: {delivery.calls} calls, {delivery.retried} repeated by the client, "
          f"{stats['repeated_upserts']} records delivered more than once, faults {stats['faults']}")


def test_orders_arrive_as_hubspot_documents_them(crm_sandbox: Any, tmp_path: Path) -> None:
    orders = northwind_orders()
    target = build_target(hubspot(crm_sandbox.url), tmp_path)
    delivery = deliver_all(target, orders)
    target.close()
    stored = crm_sandbox.objects("deals")
    assert delivery.rejected == [] and delivery.sent == len(orders) == 830
    assert stored == expected(orders)
    first = stored["10248"]
    assert first["orderid"] == "10248" and first["freight"] == "32.38" and first["orderdate"] == "2016-07-04"
    assert all(isinstance(v, str) for props in stored.values() for v in props.values())
    calls = crm_sandbox.calls()
    assert {c["path"] for c in calls} == {"/crm/v3/objects/deals/batch/upsert"}
    assert max(c["inputs"] for c in calls) == 100 and all(c["status"] == 200 for c in calls)
    assert all(c["idempotency_key"] for c in calls)


def test_sending_again_upserts_instead_of_duplicating(crm_sandbox: Any, tmp_path: Path) -> None:
    orders = northwind_orders(200)
    target = build_target(hubspot(crm_sandbox.url), tmp_path)
    deliver_all(target, orders)
    deliver_all(target, orders)
    keys = [c["idempotency_key"] for c in crm_sandbox.calls()]
    assert len(crm_sandbox.objects("deals")) == 200
    assert crm_sandbox.stats()["repeated_upserts"] == 200
    assert sorted(keys[:2]) == sorted(keys[2:])  # same batches, same idempotency keys


@pytest.mark.parametrize("validation", ["partial", "batch"])
def test_a_batch_begun_and_read_later_is_delivered_as_one_sent(sandbox_factory: Any, tmp_path: Path,
                                                                validation: str) -> None:
    """The runner writes a batch's call and reads its answer later (``begin``): the same request,
    the same records stored and refused, halving included, as ``send`` gives."""
    crm = sandbox_factory(args=["--validation", validation])
    orders = northwind_orders(200)
    for p in orders:
        p.data["email"] = f"orders+{p.key}@example.com"
    orders[37].data["email"] = orders[150].data["email"] = "not-an-email"
    target = build_target(hubspot(crm.url), tmp_path)
    first = target.begin(orders[:100])
    assert first is not None
    sent = target.send(orders[100:])
    begun = first.result()
    assert (begun.sent, [(i, f) for i, _, f in begun.rejected]) == (99, [(37, "email")])
    assert (sent.sent, [(i, f) for i, _, f in sent.rejected]) == (99, [(50, "email")])
    assert begun.rejected[0][1] == sent.rejected[0][1] and "not-an-email" in begun.rejected[0][1]
    bad = {orders[37].key, orders[150].key}
    assert crm.objects("deals") == {k: v for k, v in expected(orders).items() if k not in bad}
    calls = crm.calls()
    assert len({c["idempotency_key"] for c in calls}) == len(calls)  # every call its own body and key
    with_associations = build_target(hubspot(crm.url, associations=[
        {"to": "companies", "to_id_property": "erp_id", "from_field": "customer"}]), tmp_path)
    assert with_associations.begin(orders[:1]) is None  # the associations follow the upsert in send()


@pytest.mark.parametrize("validation", ["partial", "batch"])
def test_one_bad_record_in_a_batch_of_100_rejects_only_that_record(
        sandbox_factory: Any, tmp_path: Path, validation: str) -> None:
    crm = sandbox_factory(args=["--validation", validation])
    orders = northwind_orders(100)
    for p in orders:
        p.data["email"] = f"orders+{p.key}@example.com"
    orders[37].data["email"] = "not-an-email"
    target = build_target(hubspot(crm.url), tmp_path)
    delivery = deliver_all(target, orders)
    stored = crm.objects("deals")
    assert len(stored) == 99 and orders[37].key not in stored
    assert delivery.sent == 99
    [(index, reason, field)] = delivery.rejected
    assert index == 37 and field == "email"
    assert "Email address not-an-email is invalid" in reason
    assert stored == {k: v for k, v in expected(orders).items() if k != orders[37].key}
    report(f"bad record ({validation})", crm, delivery)


FAULTS = {
    "429 with Retry-After": {"throttle_rate": 0.3, "throttle_retry_after": 0.05},
    "429 without Retry-After": {"throttle_rate": 0.3, "throttle_retry_after": None},
    "500/502/503": {"error_rate": 0.3},
    "connection dropped before processing": {"drop_before_rate": 0.25},
    "connection dropped after processing": {"drop_after_rate": 0.25},
    "timeouts": {"delay_rate": 0.15, "delay": 0.6},
    "everything at once": {"throttle_rate": 0.1, "throttle_retry_after": 0.05, "error_rate": 0.1,
                           "drop_before_rate": 0.05, "drop_after_rate": 0.05},
}


@pytest.mark.faults
@pytest.mark.parametrize("name", list(FAULTS))
def test_transient_faults_lose_nothing(crm_sandbox: Any, tmp_path: Path, name: str) -> None:
    crm_sandbox.set_faults(**FAULTS[name])
    orders = northwind_orders(500)
    target = build_target(hubspot(crm_sandbox.url, batch_size=50, timeout={"connect": "2s", "read": "0.3s"}),
                          tmp_path)
    delivery = deliver_all(target, orders)
    target.close()
    assert delivery.rejected == [] and delivery.sent == 500
    deadline = time.monotonic() + 15  # abandoned, delayed calls finish on the server after the client moved on
    while name == "timeouts" and not crm_sandbox.stats()["faults"] and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(FAULTS[name].get("delay", 0))
    assert crm_sandbox.objects("deals") == expected(orders)
    stats = crm_sandbox.stats()
    assert sum(stats["faults"].values()) > 0  # the faults really happened
    if "after" in name or name == "timeouts":
        assert stats["repeated_upserts"] > 0  # committed but unanswered: sent again, upserted
    report(name, crm_sandbox, delivery)


@pytest.mark.faults
def test_server_rate_limit_is_waited_out(sandbox_factory: Any, tmp_path: Path) -> None:
    crm = sandbox_factory(args=["--rate", "8/1s"])
    orders = northwind_orders(300)
    target = build_target(hubspot(crm.url, batch_size=20), tmp_path)
    delivery = deliver_all(target, orders)
    assert crm.objects("deals") == expected(orders)
    assert crm.stats()["faults"].get("rate_limit", 0) > 0
    report("server rate limit", crm, delivery)


def test_client_rate_limit_keeps_the_server_quiet(sandbox_factory: Any, tmp_path: Path) -> None:
    crm = sandbox_factory(args=["--rate", "10/1s"])
    orders = northwind_orders(100)
    target = build_target(hubspot(crm.url, batch_size=10, rate_limit="5/1s"), tmp_path)
    deliver_all(target, orders)
    assert crm.objects("deals") == expected(orders)
    assert crm.stats()["faults"].get("rate_limit", 0) == 0


def test_credentials_beginning_with_a_dash_reach_the_sandbox(sandbox_factory: Any, tmp_path: Path) -> None:
    # scripts/demo's token is secrets.token_urlsafe(24), which begins with "-" about once in 64 runs
    crm = sandbox_factory(token="-Xy9-demo-token", client_id="-client", client_secret="-secret-1")
    orders = northwind_orders(3)
    bearer = build_target(hubspot(crm.url, auth={"type": "bearer", "token": "-Xy9-demo-token"}), tmp_path)
    oauth = build_target(hubspot(crm.url, auth={"type": "oauth2", "token_url": crm.url + "/oauth/v1/token",
                                                 "client_id": "-client", "client_secret": "-secret-1"}), tmp_path)
    assert deliver_all(bearer, orders).sent == 3 and deliver_all(oauth, orders).sent == 3
    assert crm.objects("deals") == expected(orders)


@pytest.mark.faults
def test_expired_token_is_refreshed_with_oauth2(crm_sandbox: Any, tmp_path: Path) -> None:
    crm_sandbox.set_faults(expire_token_after=3)
    orders = northwind_orders(400)
    auth = {"type": "oauth2", "token_url": crm_sandbox.url + "/oauth/v1/token",
            "client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET}
    target = build_target(hubspot(crm_sandbox.url, auth=auth, batch_size=25), tmp_path)
    delivery = deliver_all(target, orders)
    assert crm_sandbox.objects("deals") == expected(orders)
    assert crm_sandbox.stats()["faults"].get("auth_expired", 0) > 0
    report("token expiry", crm_sandbox, delivery)


def test_expired_static_token_stops_the_flow_with_a_clear_message(crm_sandbox: Any, tmp_path: Path) -> None:
    crm_sandbox.set_faults(expire_token_after=1)
    target = build_target(hubspot(crm_sandbox.url, concurrency=1), tmp_path)
    orders = northwind_orders(200)
    with pytest.raises(TargetError) as err:
        deliver_all(target, orders)
    text = str(err.value)
    assert "answered 401" in text and "expired" in text and "auth" in text
    assert SANDBOX_TOKEN not in text
    assert len(crm_sandbox.objects("deals")) == 100  # the first batch, before the token expired


def test_wrong_client_secret_is_a_configuration_error(crm_sandbox: Any, tmp_path: Path) -> None:
    auth = {"type": "oauth2", "token_url": crm_sandbox.url + "/oauth/v1/token",
            "client_id": SANDBOX_CLIENT_ID, "client_secret": "wrong-secret-123"}
    target = build_target(hubspot(crm_sandbox.url, auth=auth), tmp_path)
    with pytest.raises(TargetError, match="refused the client credentials") as err:
        target.send(northwind_orders(3))
    assert "wrong-secret-123" not in str(err.value)


@pytest.mark.faults
def test_persistent_failure_stops_with_checkpoint_advice(crm_sandbox: Any, tmp_path: Path) -> None:
    crm_sandbox.set_faults(error_rate=1.0, error_codes=[502])
    target = build_target(hubspot(crm_sandbox.url, max_attempts=3), tmp_path)
    with pytest.raises(TargetRetryable) as err:
        target.send(northwind_orders(10))
    text = str(err.value)
    assert "still failing after 3 calls" in text and "502" in text and "run the job again" in text
    assert crm_sandbox.objects("deals") == {}


def test_dry_run_describes_requests_without_secrets_or_calls(crm_sandbox: Any, tmp_path: Path) -> None:
    target = build_target(hubspot(crm_sandbox.url), tmp_path)
    [line] = target.describe(northwind_orders(3))
    assert line.startswith(f"POST {crm_sandbox.url}/crm/v3/objects/deals/batch/upsert ")
    assert '"idProperty":"erp_id","id":"10248"' in line and SANDBOX_TOKEN not in redact(line)
    assert crm_sandbox.calls() == []
