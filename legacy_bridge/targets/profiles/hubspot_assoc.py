"""HubSpot associations (deal -> company ...) after an upsert, and deletes as archives.

```toml
[flows.target]
kind = "hubspot"
object = "deals"
id_property = "erp_order_no"
associations = [{ to = "companies", to_id_property = "erp_id", from_field = "erp_customer" }]
# type_id = 5, category = "HUBSPOT_DEFINED"   # a labelled association instead of the default one
# missing = "report" | "reject"               # when the other record does not exist (yet)
```

After a batch is upserted, every delivered record whose ``from_field`` is set is associated
with the ``to`` object whose ``to_id_property`` equals that value:

1. this batch's HubSpot ids come from the upsert answer (``results[].id``; the records' ids
   that answer does not show are read with ``POST /crm/v3/objects/{object}/batch/read``,
   ``idProperty``);
2. the other side's ids are read the same way (``batch/read`` by ``to_id_property``);
3. ``POST /crm/v4/associations/{object}/{to}/batch/associate/default`` with
   ``{"inputs": [{"from": {"id"}, "to": {"id"}}]}`` (or ``.../batch/create`` with
   ``types: [{"associationCategory", "associationTypeId"}]`` when ``type_id`` is set).
   Associating twice is harmless, so a re-sent batch associates again.

When the other record does not exist (yet), the record itself is still delivered:
``missing = "report"`` (default) logs it and counts it in the run's notes
(``associations_missing``, with examples) - the association is made the next time the record
is sent (it changed, a replay, ``--full-refresh``); ``missing = "reject"`` also stores a reject
for it, so ``legacy-bridge replay`` sends the record again (an idempotent upsert) and makes the
association once the other side exists.

``delete(keys)``: ids read by ``idProperty``, then ``POST /crm/v3/objects/{object}/batch/archive``;
keys HubSpot does not know (never sent, already archived) count as deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from legacy_bridge.records import Delivery
from legacy_bridge.registry import Spec
from legacy_bridge.targets.http import Response

MAX_INPUTS = 100
Post = Callable[[str, Any, Delivery], Response]  # (path, body, delivery to count calls in) -> 2xx answer


class AssociationSpec(Spec):
    to: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="object type to associate with, e.g. companies")
    to_id_property: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="unique property of the `to` objects")
    from_field: str = Field(description="mapped field of this record holding the other record's to_id_property")
    type_id: int | None = Field(None, ge=1, description="association type id (labelled); default: HubSpot's default")
    category: Literal["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"] = "USER_DEFINED"
    missing: Literal["report", "reject"] = "report"


def chunks(values: list[Any], size: int = MAX_INPUTS) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def read_ids(post: Post, object_type: str, id_property: str, values: list[str], delivery: Delivery) -> dict[str, str]:
    """``id_property`` value -> HubSpot id for the objects that exist (batch read by idProperty)."""
    found: dict[str, str] = {}
    for part in chunks(sorted(set(values))):
        body = {"idProperty": id_property, "properties": [id_property], "inputs": [{"id": v} for v in part]}
        answer = post(f"/crm/v3/objects/{object_type}/batch/read", body, delivery).json()
        for result in answer.get("results", []) if isinstance(answer, dict) else []:
            props = result.get("properties") or {}
            value = props.get(id_property)
            if value is not None and result.get("id") is not None:
                found[str(value)] = str(result["id"])
    return found


def upserted_ids(answer: Any, id_property: str) -> dict[str, str]:
    """Record key -> HubSpot id, from a batch upsert answer whose results show the id property."""
    found: dict[str, str] = {}
    for result in answer.get("results", []) if isinstance(answer, dict) else []:
        props = result.get("properties") if isinstance(result, dict) else None
        if isinstance(props, dict) and props.get(id_property) is not None and result.get("id") is not None:
            found[str(props[id_property])] = str(result["id"])
    return found


def associate(post: Post, from_type: str, spec: AssociationSpec, pairs: list[tuple[str, str]],
              delivery: Delivery) -> list[str]:
    """Associate (from HubSpot id, to HubSpot id) pairs; returns HubSpot's per-input error messages."""
    if spec.type_id is None:
        path = f"/crm/v4/associations/{from_type}/{spec.to}/batch/associate/default"
        types: list[dict[str, Any]] | None = None
    else:
        path = f"/crm/v4/associations/{from_type}/{spec.to}/batch/create"
        types = [{"associationCategory": spec.category, "associationTypeId": spec.type_id}]
    problems: list[str] = []
    for part in chunks(sorted(set(pairs))):
        inputs = [{"from": {"id": f}, "to": {"id": t}, **({"types": types} if types else {})} for f, t in part]
        answer = post(path, {"inputs": inputs}, delivery).json()
        for error in answer.get("errors", []) if isinstance(answer, dict) else []:
            problems.append(str(error.get("message") or error.get("category") or error))
    return problems


def archive(post: Post, object_type: str, hs_ids: list[str], delivery: Delivery) -> None:
    for part in chunks(sorted(set(hs_ids))):
        post(f"/crm/v3/objects/{object_type}/batch/archive", {"inputs": [{"id": i} for i in part]}, delivery)
