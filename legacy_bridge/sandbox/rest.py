"""A generic JSON REST API in the sandbox, for the ``rest`` target profile.

* ``PUT /api/{collection}/{id}`` with one record: 200 ``{"id": ...}`` (400 when invalid);
* ``POST /api/{collection}`` with a list of records, each carrying ``id``: 200
  ``{"results": [...], "errors": [{"index": i, "message": ..., "field": ...}]}``.
Validation as elsewhere in the sandbox (``email`` without '@', ``reject_properties``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from legacy_bridge.sandbox.crm import Handler

PREFIX = "/api/"
_ONE = re.compile(r"^/api/(?P<coll>\w+)/(?P<id>[^/]+)$")
_MANY = re.compile(r"^/api/(?P<coll>\w+)$")


def _problem(record: Any, reject: tuple[str, ...]) -> tuple[str, str | None] | None:
    if not isinstance(record, dict):
        return "a record must be a JSON object", None
    for name, value in record.items():
        if name in reject and value not in (None, ""):
            return f"{name} is not allowed here", name
        if name == "email" and isinstance(value, str) and value and "@" not in value:
            return f"invalid email address {value!r}", name
    return None


def handle(h: Handler, path: str, raw: bytes) -> None:
    one, many = _ONE.match(path), _MANY.match(path)
    if not (one and h.command == "PUT") and not (many and h.command == "POST"):
        h.send_json(404, {"message": f"no route for {h.command} {path}"})
        return
    try:
        doc: Any = json.loads(raw)
    except ValueError:
        h.send_json(400, {"message": "body is not JSON"})
        return
    records = [doc] if one else doc if isinstance(doc, list) else None
    action = h.admit(path, len(records or []))
    if action is None:
        return
    if records is None:
        h.send_json(400, {"message": "POST takes a JSON list of records"})
        return
    reject = h.server.dice.faults.reject_properties
    problems = [_problem(r, reject) for r in records]
    if one and problems[0]:
        h.log_call(path, 1, 400, "validation")
        h.send_json(400, {"message": problems[0][0], "field": problems[0][1]})
        return
    ids = [one["id"]] if one else [str(r.get("id", "")) if isinstance(r, dict) else "" for r in records]
    errors = [{"index": i, "message": p[0], "field": p[1]} for i, p in enumerate(problems) if p]
    errors += [{"index": i, "message": "id is required", "field": "id"} for i, k in enumerate(ids)
               if not k and not problems[i]]
    bad = {e["index"] for e in errors}
    good = [("id", ids[i], r) for i, r in enumerate(records) if i not in bad]
    coll = (one or many)["coll"]  # type: ignore[index]
    call = (h.command, path, len(records), 200, "drop_after" if action == "drop_after" else "",
            h.headers.get("Idempotency-Key"))
    stored = h.server.store.upsert(coll, good, call)
    if action == "drop_after":
        h.drop()
        return
    results = [{"id": g[1], "created": new} for g, (_, new) in zip(good, stored, strict=True)]
    h.send_json(200, {"id": ids[0]} if one else {"results": results, "errors": errors})
