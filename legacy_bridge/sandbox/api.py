"""The HubSpot CRM v3 batch-upsert contract as the sandbox checks it, and its answers.

Request (HubSpot docs, "batch upsert"): ``{"inputs": [{"idProperty": "erp_id", "id": "ALFKI",
"properties": {"name": "..."}}]}``, at most 100 inputs, ids unique in the batch, property
values strings.  A malformed request is a 400 for the whole batch.

Validation rule for single inputs (documented, configurable): an input is invalid when
* its ``email`` property is non-empty and has no ``@`` (HubSpot: INVALID_EMAIL), or
* it carries a non-empty property named in ``reject_properties``, or
* a property value is not a string (HubSpot documents every value as a string).
Invalid inputs are answered per input (207 with ``errors``) or, with
``validation = "batch"``, as a 400 for the whole batch, as HubSpot does for some objects.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_INPUTS = 100


class BadRequest(Exception):
    """The whole request is refused (400)."""


@dataclass(frozen=True)
class Input:
    id_property: str
    id: str
    properties: dict[str, Any]


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}


def parse_inputs(body: Any) -> list[Input]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadRequest('Invalid input JSON: the body must be an object with an "inputs" list')
    raw = body["inputs"]
    if len(raw) > MAX_INPUTS:
        raise BadRequest(f"Batch input limit exceeded: {len(raw)} inputs, at most {MAX_INPUTS} are allowed")
    out: list[Input] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadRequest(f"inputs[{i}] must be an object")
        id_property, id_value, props = item.get("idProperty"), item.get("id"), item.get("properties")
        if not isinstance(id_property, str) or not id_property:
            raise BadRequest(f"inputs[{i}].idProperty is required (the unique property to upsert by)")
        if not isinstance(id_value, str) or not id_value:
            raise BadRequest(f"inputs[{i}].id is required and must be a non-empty string")
        if not isinstance(props, dict):
            raise BadRequest(f"inputs[{i}].properties must be an object")
        if id_value in seen:
            raise BadRequest(f"Duplicate IDs found in batch input: {id_value}")
        seen.add(id_value)
        out.append(Input(id_property, id_value, props))
    return out


def problems(item: Input, reject_properties: tuple[str, ...]) -> list[tuple[str, str]]:
    """(property, message) for every rule ``item`` breaks."""
    found: list[tuple[str, str]] = []
    for name, value in item.properties.items():
        if not isinstance(value, str):
            found.append((name, f"Property {name} must be a string, got {type(value).__name__} {value!r}"))
        elif name in reject_properties and value:
            found.append((name, f"Property {name} is not allowed here (value {value!r})"))
        elif name == "email" and value and "@" not in value:
            found.append((name, f"Email address {value} is invalid"))
    return found


def input_error(item: Input, found: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "status": "error", "category": "VALIDATION_ERROR",
        "message": "; ".join(m for _, m in found),
        "context": {"ids": [item.id], "propertyName": [n for n, _ in found]},
        "errors": [{"message": m, "in": n} for n, m in found],
    }


def batch_response(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: float) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": iso(started),
                            "completedAt": iso(time.time())}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body


def result(hs_id: int, new: bool, properties: dict[str, Any], now: float) -> dict[str, Any]:
    stamp = iso(now)
    return {"id": str(hs_id), "properties": {**properties, "hs_object_id": str(hs_id)},
            "createdAt": stamp, "updatedAt": stamp, "archived": False, "new": new}


RATE_LIMIT_BODY = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                   "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}
