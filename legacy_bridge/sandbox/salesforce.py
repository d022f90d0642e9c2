"""Salesforce sObject Collections upsert, as much as the salesforce target profile uses.

``PATCH /services/data/vXX.X/composite/sobjects/{SObject}/{ExternalIdField}`` with
``{"allOrNone": false, "records": [{"attributes": {"type": "Account"}, "ERP_Id__c": "ALFKI", ...}]}``,
at most 200 records.  Answers 200 with one result per record, in order:
``{"id": "001...", "success": true, "errors": [], "created": true}`` or
``{"success": false, "errors": [{"statusCode": ..., "message": ..., "fields": [...]}]}``.
The same validation rule as the HubSpot route (an ``Email`` without '@', a
``reject_properties`` field); records are kept in the same objects table under the SObject name.
Faults, auth and rate limits are the sandbox's usual ones.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from legacy_bridge.sandbox.crm import Handler

PREFIX = "/services/data/"
_PATH = re.compile(r"^/services/data/v\d+\.\d+/composite/sobjects/(?P<sobject>\w+)/(?P<field>\w+)$")
MAX_RECORDS = 200


def _problems(record: dict[str, Any], reject: tuple[str, ...]) -> list[tuple[str, str, str]]:
    found = []
    for name, value in record.items():
        if name in reject and value not in (None, ""):
            found.append(("FIELD_INTEGRITY_EXCEPTION", f"{name}: not allowed here ({value!r})", name))
        elif name.lower() == "email" and isinstance(value, str) and value and "@" not in value:
            found.append(("INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {value}", name))
    return found


def upsert(h: Handler, path: str, raw: bytes) -> None:
    match = _PATH.match(path)
    if not match:
        h.send_json(404, [{"errorCode": "NOT_FOUND", "message": f"The requested resource does not exist: {path}"}])
        return
    try:
        doc: Any = json.loads(raw)
    except ValueError:
        doc = None
    raw_records = doc.get("records") if isinstance(doc, dict) else None
    records: list[Any] = raw_records if isinstance(raw_records, list) else []
    count = len(records)
    action = h.admit(path, count)
    if action is None:
        return
    sobject, field = match["sobject"], match["field"]
    error = None
    if not isinstance(raw_records, list) or doc.get("allOrNone") is not False:
        error = "the body must be {\"allOrNone\": false, \"records\": [...]}"
    elif count > MAX_RECORDS:
        error = f"EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than {MAX_RECORDS} records"
    elif any(not isinstance(r, dict) or not r.get(field) or (r.get("attributes") or {}).get("type") != sobject
             for r in records):
        error = f"every record needs attributes.type = {sobject} and a value for {field}"
    if error:
        h.log_call(path, count, 400, "bad_request")
        h.send_json(400, [{"message": error, "errorCode": "INVALID_FIELD"}])
        return
    reject = h.server.dice.faults.reject_properties
    found = [_problems(r, reject) for r in records]
    good = [(field, str(r[field]), {k: v for k, v in r.items() if k != "attributes"})
            for r, f in zip(records, found, strict=True) if not f]
    call = ("PATCH", path, count, 200, "drop_after" if action == "drop_after" else "",
            h.headers.get("Idempotency-Key"))
    stored = iter(h.server.store.upsert(sobject, good, call))
    if action == "drop_after":
        h.drop()
        return
    results = []
    for problems in found:
        if problems:
            results.append({"success": False, "errors": [
                {"statusCode": code, "message": message, "fields": [name]} for code, message, name in problems]})
        else:
            hs_id, new = next(stored)
            results.append({"id": f"001{hs_id:012d}", "success": True, "errors": [], "created": new})
    h.send_json(200, results)
