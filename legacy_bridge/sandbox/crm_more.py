"""More of HubSpot's CRM API in the sandbox: batch read, batch archive, v4 batch associations.

* ``POST /crm/v3/objects/{type}/batch/read`` ``{"idProperty": "erp_id", "inputs": [{"id": "ALFKI"}],
  "properties": [...]}`` -> 200 ``{"results": [{"id", "properties", ...}]}``, or 207 with an
  ``OBJECT_NOT_FOUND`` error listing the ids it did not find (``context.ids``).  Without
  ``idProperty`` the ids are HubSpot ids.
* ``POST /crm/v3/objects/{type}/batch/archive`` ``{"inputs": [{"id": "123"}]}`` -> 204; unknown or
  already archived ids are ignored, as HubSpot does.
* ``POST /crm/v4/associations/{from}/{to}/batch/associate/default`` ``{"inputs": [{"from": {"id"},
  "to": {"id"}}]}`` and ``.../batch/create`` (the labelled variant, each input with
  ``types: [{"associationCategory", "associationTypeId"}]``) -> 200 with ``results``, or 207
  with per-input errors when an object does not exist.
Every input list holds at most 100 entries (a 400 otherwise).
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from legacy_bridge.sandbox import api

OBJECTS = "/crm/v3/objects/"
ASSOCIATIONS = "/crm/v4/associations/"
DEFAULT_TYPES = {("deals", "companies"): 341, ("companies", "deals"): 342, ("contacts", "companies"): 279,
                 ("companies", "contacts"): 280, ("deals", "contacts"): 3, ("contacts", "deals"): 4}


class Handler(Protocol):
    command: str
    headers: Any
    server: Any
    wfile: Any
    close_connection: bool

    def admit(self, path: str, count: int) -> str | None: ...
    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None: ...
    def log_call(self, path: str, inputs: int, status: int, fault: str = "") -> None: ...
    def drop(self) -> None: ...


def handles(path: str) -> bool:
    return (path.startswith(OBJECTS) and path.endswith(("/batch/read", "/batch/archive"))) or \
        (path.startswith(ASSOCIATIONS) and path.endswith(("/batch/associate/default", "/batch/create")))


def handle(h: Handler, path: str, raw: bytes) -> None:
    started = time.time()
    try:
        doc: Any = json.loads(raw or b"null")
    except ValueError:
        doc = None
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
    count = len(inputs) if isinstance(inputs, list) else 0
    action = h.admit(path, count)
    if action is None:
        return
    if not isinstance(inputs, list) or len(inputs) > api.MAX_INPUTS:
        h.log_call(path, count, 400, "bad_request")
        h.send_json(400, api.error_body(f'the body needs an "inputs" list of at most {api.MAX_INPUTS} entries',
                                        "VALIDATION_ERROR"))
        return
    if path.startswith(ASSOCIATIONS):
        _associate(h, path, doc, inputs, started, action)
    elif path.endswith("/batch/read"):
        _read(h, path, doc, inputs, started)
    else:
        _archive(h, path, inputs, action)


def _ids(inputs: list[Any]) -> list[str]:
    return [str(i.get("id")) for i in inputs if isinstance(i, dict) and i.get("id") not in (None, "")]


def _read(h: Handler, path: str, doc: dict[str, Any], inputs: list[Any], started: float) -> None:
    object_type = path[len(OBJECTS):-len("/batch/read")]
    id_property = doc.get("idProperty") or None
    ids = _ids(inputs)
    found = h.server.store.read(object_type, id_property, ids)
    wanted = doc.get("properties")
    results = []
    for hs_id, props in dict.fromkeys(found.values()):
        properties = json.loads(props)
        if isinstance(wanted, list):
            properties = {k: v for k, v in properties.items() if k in wanted}
        results.append({"id": str(hs_id), "properties": {**properties, "hs_object_id": str(hs_id)},
                        "archived": False})
    missing = [i for i in ids if i not in found]
    errors = [{"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing},
               "message": f"Could not get some {object_type.upper()} objects, they may be deleted or not exist. "
                          "Check that ids are valid."}] if missing else []
    status = 207 if missing else 200
    h.log_call(path, len(inputs), status)
    h.send_json(status, api.batch_response(results, errors, started))


def _archive(h: Handler, path: str, inputs: list[Any], action: str) -> None:
    object_type = path[len(OBJECTS):-len("/batch/archive")]
    hs_ids = [int(i) for i in _ids(inputs) if i.isdigit()]
    call = (h.command, path, len(inputs), 204, "drop_after" if action == "drop_after" else "",
            h.headers.get("Idempotency-Key"))
    h.server.store.archive(object_type, hs_ids, call)
    if action == "drop_after":
        h.drop()
        return
    close = "Connection: close\r\n" if h.close_connection else ""
    h.wfile.write(f"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n{close}\r\n".encode("latin-1"))


def _associate(h: Handler, path: str, doc: dict[str, Any], inputs: list[Any], started: float, action: str) -> None:
    parts = path[len(ASSOCIATIONS):].split("/")
    from_type, to_type = parts[0], parts[1]
    labelled = path.endswith("/batch/create")
    store = h.server.store
    pairs: list[tuple[int, int]] = []
    errors: list[dict[str, Any]] = []
    type_id = DEFAULT_TYPES.get((from_type, to_type), 1)
    for item in inputs:
        try:
            from_id, to_id = int(item["from"]["id"]), int(item["to"]["id"])
            if labelled:
                type_id = int(item["types"][0]["associationTypeId"])
        except (KeyError, TypeError, ValueError, IndexError):
            h.log_call(path, len(inputs), 400, "bad_request")
            h.send_json(400, api.error_body("each input needs from.id and to.id (numeric HubSpot ids)"
                                            + (" and types[0].associationTypeId" if labelled else ""),
                                            "VALIDATION_ERROR"))
            return
        absent = [f"{t} {i}" for t, i in ((from_type, from_id), (to_type, to_id)) if not store.exists(t, i)]
        if absent:
            errors.append({"status": "error", "category": "VALIDATION_ERROR",
                           "message": f"No {', '.join(absent)} exists", "context": {"fromObjectId": [str(from_id)]}})
        else:
            pairs.append((from_id, to_id))
    status = 207 if errors else 200
    call = (h.command, path, len(inputs), status, "drop_after" if action == "drop_after" else "",
            h.headers.get("Idempotency-Key"))
    store.associate(from_type, to_type, pairs, type_id, call)
    if action == "drop_after":
        h.drop()
        return
    spec = {"associationCategory": "HUBSPOT_DEFINED" if not labelled else "USER_DEFINED", "associationTypeId": type_id}
    results = [{"from": {"id": str(f)}, "to": {"id": str(t)}, "associationSpec": spec} for f, t in pairs]
    h.send_json(status, api.batch_response(results, errors, started))
