"""HubSpot CRM v3: batch upsert of objects by a unique property.

```toml
[flows.target]
kind = "hubspot"
base_url = "https://api.hubapi.com"
object = "companies"              # contacts, companies, deals, tickets, or a custom object id (2-123456)
id_property = "erp_id"            # a unique property: each record's key goes into inputs[].id
auth = { type = "bearer", token = "${env:HUBSPOT_TOKEN}" }
batch_size = 100                  # HubSpot's limit
nulls = "clear"                   # None -> "" (clears the property) | "omit" (leave it as it is)
```

Request: ``POST /crm/v3/objects/{object}/batch/upsert`` with
``{"inputs": [{"idProperty": id_property, "id": key, "properties": {...}}]}``, every value
a string (see values.as_text).  A 207 lists per-input ``errors`` whose ``context.ids``
name the inputs: those records become rejects with HubSpot's message, the others count
as delivered.  An error that names no input (or an unknown one) sends the batch again in
halves until each error is tied to one record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from legacy_bridge.records import Payload
from legacy_bridge.targets.batching import ApiTarget, Request, Verdict
from legacy_bridge.targets.http import Response
from legacy_bridge.targets.http_config import HttpTargetSpec
from legacy_bridge.targets.values import as_text

MAX_INPUTS = 100


class HubSpotSpec(HttpTargetSpec):
    kind: Literal["hubspot"]
    object: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="object type: contacts, companies, deals, 2-123456")
    id_property: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="unique property the records are upserted by")
    batch_size: int = Field(MAX_INPUTS, ge=1, le=MAX_INPUTS, description="inputs per call (HubSpot: at most 100)")
    nulls: Literal["clear", "omit"] = Field("clear", description="None values: send '' (clear) or leave out")


def properties(data: dict[str, Any], nulls: str) -> dict[str, str]:
    return {name: as_text(value) for name, value in data.items() if value is not None or nulls == "clear"}


class HubSpotTarget(ApiTarget):
    kind = "hubspot"

    def __init__(self, spec: HubSpotSpec) -> None:
        super().__init__(spec)
        self.hs = spec
        self.path = f"/crm/v3/objects/{spec.object}/batch/upsert"

    def request(self, payloads: list[Payload]) -> Request:
        inputs = [{"idProperty": self.hs.id_property, "id": p.key, "properties": properties(p.data, self.hs.nulls)}
                  for p in payloads]
        return Request("POST", self.path, {"inputs": inputs})

    def accepted(self, resp: Response, payloads: list[Payload]) -> Verdict:
        body = resp.json()
        errors = body.get("errors") if isinstance(body, dict) else None
        if not errors:
            return Verdict()
        where = {p.key: i for i, p in enumerate(payloads)}
        rejected: dict[int, tuple[int, str, str | None]] = {}
        for error in errors:
            ids = _ids(error)
            if not ids and len(payloads) == 1:
                ids = [payloads[0].key]
            if not ids or any(i not in where for i in ids):
                return Verdict(split=True)
            message, field_name = _message(error)
            for key in ids:
                rejected[where[key]] = (where[key], message, field_name)
        return Verdict(rejected=list(rejected.values()))

    def refusal(self, resp: Response) -> tuple[str, str | None]:
        body = resp.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return _message(body)
        return super().refusal(resp)


def _ids(error: Any) -> list[str]:
    context = error.get("context") if isinstance(error, dict) else None
    ids = context.get("ids") if isinstance(context, dict) else None
    return [str(i) for i in ids] if isinstance(ids, list) else []


def _message(error: dict[str, Any]) -> tuple[str, str | None]:
    message = str(error.get("message") or error.get("category") or "refused by HubSpot")
    field_name: str | None = None
    context = error.get("context")
    names = context.get("propertyName") if isinstance(context, dict) else None
    if isinstance(names, list) and names:
        field_name = str(names[0])
    else:
        inner = error.get("errors")
        if isinstance(inner, list) and inner and isinstance(inner[0], dict) and inner[0].get("in"):
            field_name = str(inner[0]["in"])
    category = error.get("category")
    return (f"{category}: {message}" if category else message), field_name


def build(spec: HubSpotSpec, base_dir: Path) -> HubSpotTarget:
    return HubSpotTarget(spec)
