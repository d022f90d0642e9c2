"""Done-when of issue 6: 100,000 records with 20 % of calls failing and 429s every few seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.records import Payload
from tests.fixtures.sandbox import SANDBOX_TOKEN, build_target, deliver_all


@pytest.mark.slow
@pytest.mark.faults
def test_100k_records_through_failures_and_rate_limits(sandbox_factory: Any, tmp_path: Path) -> None:
    crm = sandbox_factory(args=["--rate", "150/2s", "--fault-error-rate", "0.1", "--fault-drop-before-rate", "0.05",
                                "--fault-drop-after-rate", "0.05", "--seed", "7"])
    records = [Payload(key=f"C{i:06d}", data={"name": f"Customer {i}", "amount": i * 0.01, "vip": i % 7 == 0},
                       index=i) for i in range(100_000)]
    target = build_target({"kind": "hubspot", "base_url": crm.url, "object": "companies", "id_property": "erp_id",
                           "auth": {"type": "bearer", "token": SANDBOX_TOKEN}, "concurrency": 8,
                           "backoff_base": "20ms", "backoff_max": "1s", "max_attempts": 20}, tmp_path)
    delivery = deliver_all(target, records)
    stored = crm.objects("companies")
    assert delivery.sent == 100_000 and delivery.rejected == []
    assert len(stored) == 100_000
    assert all(stored[p.key]["name"] == p.data["name"] for p in records)
    stats = crm.stats()
    assert stats["faults"].get("rate_limit", 0) > 0 and stats["faults"].get("error_500", 0) > 0
    print(f"\n100k soak: {delivery.calls} calls, {delivery.retried} repeated, "
          f"{stats['repeated_upserts']} records delivered twice, faults {stats['faults']}")
