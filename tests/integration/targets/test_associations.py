"""HubSpot associations after the upsert, against the CRM sandbox: deals associated with the
companies named by their ``erp_customer``, through the documented v4 batch API; a company that
does not exist yet is reported (or, with missing = "reject", kept as a replayable reject)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from legacy_bridge.records import Payload
from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.sandbox import SANDBOX_TOKEN, build_target, deliver_all

AUTH = {"type": "bearer", "token": SANDBOX_TOKEN}


def companies(crm: SandboxProcess, tmp_path: Path, ids: list[str]) -> None:
    t = build_target({"kind": "hubspot", "base_url": crm.url, "auth": AUTH, "object": "companies",
                      "id_property": "erp_id"}, tmp_path)
    try:
        assert deliver_all(t, [Payload(c, {"erp_id": c, "name": f"Company {c}"}, i) for i, c in enumerate(ids)]).sent
    finally:
        t.close()


def deals_target(crm: SandboxProcess, tmp_path: Path, **assoc: Any) -> Any:
    return build_target({"kind": "hubspot", "base_url": crm.url, "auth": AUTH, "object": "deals",
                         "id_property": "erp_order_no", "batch_size": 50,
                         "associations": [{"to": "companies", "to_id_property": "erp_id",
                                           "from_field": "erp_customer", **assoc}]}, tmp_path)


def deal(i: int, customer: str) -> Payload:
    return Payload(str(10000 + i), {"erp_order_no": str(10000 + i), "dealname": f"Order {i}",
                                    "erp_customer": customer}, i)


def test_each_deal_is_associated_with_its_company_and_sending_again_adds_nothing(crm_sandbox: SandboxProcess,
                                                                                 tmp_path: Path):
    names = [f"C{n:03d}" for n in range(30)]
    companies(crm_sandbox, tmp_path, names)
    deals = [deal(i, names[i % 30]) for i in range(120)]
    t = deals_target(crm_sandbox, tmp_path)
    try:
        first = deliver_all(t, deals)
        again = deliver_all(t, deals)
    finally:
        t.close()
    assert first.sent == again.sent == 120 and not first.rejected
    expected = {(p.key, p.data["erp_customer"]) for p in deals}
    assert crm_sandbox.associations("deals", "companies") == expected
    assert crm_sandbox.stats()["associations"] == {"deals->companies": 120}
    paths = [c["path"] for c in crm_sandbox.calls() if c["status"] == 200]
    assert "/crm/v4/associations/deals/companies/batch/associate/default" in paths
    assert "/crm/v3/objects/companies/batch/read" in paths


def test_requests_follow_the_documented_shapes(crm_sandbox: SandboxProcess, tmp_path: Path):
    import http.server
    import threading

    seen: list[tuple[str, Any]] = []

    class Spy(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body))
            if self.path.endswith("/batch/upsert"):
                answer: Any = {"status": "COMPLETE", "results": [
                    {"id": "900", "properties": {"erp_order_no": "10001"}}]}
            elif self.path.endswith("/batch/read"):
                answer = {"status": "COMPLETE", "results": [{"id": "77", "properties": {"erp_id": "ALFKI"}}]}
            else:
                answer = {"status": "COMPLETE", "results": []}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Spy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t = build_target({"kind": "hubspot", "base_url": f"http://127.0.0.1:{server.server_port}", "auth": AUTH,
                          "object": "deals", "id_property": "erp_order_no",
                          "associations": [{"to": "companies", "to_id_property": "erp_id",
                                            "from_field": "erp_customer", "type_id": 5,
                                            "category": "HUBSPOT_DEFINED"}]}, tmp_path)
        assert t.send([deal(1, "ALFKI")]).sent == 1
        t.close()
    finally:
        server.shutdown()
    (read_path, read), (assoc_path, assoc) = seen[1], seen[2]
    assert read_path == "/crm/v3/objects/companies/batch/read"
    assert read["idProperty"] == "erp_id" and read["inputs"] == [{"id": "ALFKI"}]
    assert assoc_path == "/crm/v4/associations/deals/companies/batch/create"
    assert assoc == {"inputs": [{"from": {"id": "900"}, "to": {"id": "77"},
                                 "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}]}


def test_a_company_that_does_not_exist_yet_is_reported_and_the_deal_still_delivered(crm_sandbox: SandboxProcess,
                                                                                   tmp_path: Path):
    companies(crm_sandbox, tmp_path, ["ALFKI"])
    t = deals_target(crm_sandbox, tmp_path)
    try:
        delivery = t.send([deal(1, "ALFKI"), deal(2, "NOPE")])
        notes = dict(t._notes)
        assert delivery.sent == 2 and not delivery.rejected
        assert set(crm_sandbox.objects("deals")) == {"10001", "10002"}
        assert crm_sandbox.associations("deals", "companies") == {("10001", "ALFKI")}
        assert notes["associations_missing"] == 1
        assert notes["associations_missing_examples"] == ["10002 -> companies erp_id=NOPE"]
        companies(crm_sandbox, tmp_path, ["NOPE"])  # the company arrives; the deal is sent again
        t.send([deal(2, "NOPE")])
    finally:
        t.close()
    assert crm_sandbox.associations("deals", "companies") == {("10001", "ALFKI"), ("10002", "NOPE")}


def test_with_missing_reject_the_deal_is_kept_as_a_reject_to_replay(crm_sandbox: SandboxProcess, tmp_path: Path):
    t = deals_target(crm_sandbox, tmp_path, missing="reject")
    try:
        delivery = t.send([deal(1, "GHOST")])
    finally:
        t.close()
    assert delivery.sent == 0
    [(index, reason, field)] = delivery.rejected
    assert index == 0 and field == "erp_customer"
    assert "association pending" in reason and "GHOST" in reason and "replay" in reason
    assert "10001" in crm_sandbox.objects("deals")  # delivered all the same (replay is an idempotent upsert)
