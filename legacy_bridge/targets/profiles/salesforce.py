"""Salesforce: sObject Collections upsert by an external id field.

```toml
[flows.target]
kind = "salesforce"
base_url = "https://mycompany.my.salesforce.com"
sobject = "Account"
external_id_field = "ERP_Id__c"     # each record's key goes here
api_version = "60.0"
auth = { type = "oauth2", token_url = "https://login.salesforce.com/services/oauth2/token", client_id = "…", client_secret = "${env:SF_SECRET}" }
batch_size = 200                    # Salesforce's limit
```

Request: ``PATCH /services/data/v{api_version}/composite/sobjects/{sobject}/{external_id_field}``
with ``{"allOrNone": false, "records": [{"attributes": {"type": sobject}, external_id_field: key, ...}]}``.
The answer has one result per record, in order; ``success: false`` records become rejects
with Salesforce's ``statusCode: message`` and the first field it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from legacy_bridge.records import Payload
from legacy_bridge.targets.batching import ApiTarget, Request, Verdict
from legacy_bridge.targets.http import Response
from legacy_bridge.targets.http_config import HttpTargetSpec
from legacy_bridge.targets.values import as_json

MAX_RECORDS = 200


class SalesforceSpec(HttpTargetSpec):
    kind: Literal["salesforce"]
    sobject: str = Field(pattern=r"^\w+$", description="sObject type, e.g. Account, Contact, Order__c")
    external_id_field: str = Field(pattern=r"^\w+$", description="external id field the records are upserted by")
    api_version: str = Field("60.0", pattern=r"^\d+\.\d+$")
    batch_size: int = Field(MAX_RECORDS, ge=1, le=MAX_RECORDS, description="records per call (at most 200)")
    idempotency_header: str | None = None  # not supported by the Salesforce REST API


class SalesforceTarget(ApiTarget):
    kind = "salesforce"

    def __init__(self, spec: SalesforceSpec) -> None:
        super().__init__(spec)
        self.sf = spec
        self.path = (f"/services/data/v{spec.api_version}/composite/sobjects/"
                     f"{spec.sobject}/{spec.external_id_field}")

    def request(self, payloads: list[Payload]) -> Request:
        records = [{"attributes": {"type": self.sf.sobject}, **as_json(p.data), self.sf.external_id_field: p.key}
                   for p in payloads]
        return Request("PATCH", self.path, {"allOrNone": False, "records": records})

    def accepted(self, resp: Response, payloads: list[Payload]) -> Verdict:
        results = resp.json()
        if not isinstance(results, list) or len(results) != len(payloads):
            return Verdict(split=True)
        rejected: list[tuple[int, str, str | None]] = []
        for i, result in enumerate(results):
            if isinstance(result, dict) and result.get("success") is False:
                rejected.append((i, *_message(result.get("errors"))))
        return Verdict(rejected=rejected)

    def refusal(self, resp: Response) -> tuple[str, str | None]:
        body = resp.json()
        if isinstance(body, list) and body and isinstance(body[0], dict):
            first = body[0]
            return f"{first.get('errorCode', resp.status)}: {first.get('message', '')}", None
        return super().refusal(resp)


def _message(errors: Any) -> tuple[str, str | None]:
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "refused by Salesforce (no error detail)", None
    texts = [f"{e.get('statusCode', 'ERROR')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)]
    fields = errors[0].get("fields") or []
    return "; ".join(texts), (str(fields[0]) if fields else None)


def build(spec: SalesforceSpec, base_dir: Path) -> SalesforceTarget:
    return SalesforceTarget(spec)
