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
associations = [{ to = "companies", to_id_property = "erp_id", from_field = "erp_customer" }]  # optional
```

Request: ``POST /crm/v3/objects/{object}/batch/upsert`` with
``{"inputs": [{"idProperty": id_property, "id": key, "properties": {...}}]}``, every value
a string (see values.as_text).  A 207 lists per-input ``errors`` whose ``context.ids``
name the inputs: those records become rejects with HubSpot's message, the others count
as delivered.  An error that names no input (or an unknown one) sends the batch again in
halves until each error is tied to one record.

Associations to other objects after each upsert, and ``delete`` (archive by id property, for
``deletes = "send"``): see hubspot_assoc.py.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from legacy_bridge.columnar.encode import EncodedPayloads, json_inside, json_string, literal
from legacy_bridge.columnar.scan import EMPTY, either
from legacy_bridge.records import Delivery, Payload
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.targets.batching import ApiTarget, Begun, Request, Verdict
from legacy_bridge.targets.http import Response
from legacy_bridge.targets.http_config import HttpTargetSpec
from legacy_bridge.targets.profiles import hubspot_assoc as assoc
from legacy_bridge.targets.values import Encoded, as_text, dumps

MAX_INPUTS = 100


class HubSpotSpec(HttpTargetSpec):
    kind: Literal["hubspot"]
    object: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="object type: contacts, companies, deals, 2-123456")
    id_property: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="unique property the records are upserted by")
    batch_size: int = Field(MAX_INPUTS, ge=1, le=MAX_INPUTS, description="inputs per call (HubSpot: at most 100)")
    nulls: Literal["clear", "omit"] = Field("clear", description="None values: send '' (clear) or leave out")
    associations: list[assoc.AssociationSpec] = Field(default_factory=list,
                                                      description="associate each record with other objects")


def properties(data: dict[str, Any], nulls: str) -> dict[str, str]:
    return {name: as_text(value) for name, value in data.items() if value is not None or nulls == "clear"}


class HubSpotTarget(ApiTarget):
    kind = "hubspot"

    def __init__(self, spec: HubSpotSpec) -> None:
        super().__init__(spec)
        self.hs = spec
        self.path = f"/crm/v3/objects/{spec.object}/batch/upsert"
        self._local = threading.local()  # per sending thread: key -> HubSpot id of this batch
        self._notes: dict[str, Any] = {}
        self._notes_lock = threading.Lock()
        self._log: Any = None

    def open(self, ctx: FlowContext) -> None:
        super().open(ctx)
        self._notes, self._log = ctx.notes, ctx.log

    def send(self, payloads: list[Payload]) -> Delivery:
        self._local.ids = {}
        delivery = super().send(payloads)
        if self.hs.associations:
            self._associate(payloads, delivery)
        return delivery

    def begin(self, payloads: list[Payload]) -> Begun | None:
        """As ``ApiTarget.begin``; with associations ``send`` does the whole of it (they follow the upsert)."""
        return None if self.hs.associations else super().begin(payloads)

    def delete(self, keys: list[str]) -> Delivery:
        """Archive the objects whose id property is one of ``keys`` (unknown keys count as done)."""
        delivery = Delivery()
        ids = assoc.read_ids(self._post, self.hs.object, self.hs.id_property, keys, delivery)
        if ids:
            assoc.archive(self._post, self.hs.object, list(ids.values()), delivery)
        delivery.sent = len(keys)
        return delivery

    def describe(self, payloads: list[Payload]) -> list[str]:
        lines = super().describe(payloads)
        for spec in self.hs.associations:
            lines.append(f"# then: POST {self.client.url('/crm/v3/objects/' + spec.to + '/batch/read')} by "
                         f"{spec.to_id_property} = each record's {spec.from_field}, and POST "
                         f"{self.client.url(f'/crm/v4/associations/{self.hs.object}/{spec.to}/batch/')}"
                         f"{'associate/default' if spec.type_id is None else 'create'}")
        return lines

    # --- associations ------------------------------------------------------------------------
    def _post(self, path: str, body: Any, delivery: Delivery) -> Response:
        resp = self._call("POST", path, body, delivery)
        if not 200 <= resp.status < 300:
            raise self._stop(resp, Request("POST", path, body))
        return resp

    def _associate(self, payloads: list[Payload], delivery: Delivery) -> None:
        bad = {i for i, _, _ in delivery.rejected}
        ok = [(i, p) for i, p in enumerate(payloads) if i not in bad]
        ids: dict[str, str] = self._local.ids
        unknown = [p.key for _, p in ok if p.key not in ids]
        if unknown:
            ids.update(assoc.read_ids(self._post, self.hs.object, self.hs.id_property, unknown, delivery))
        for spec in self.hs.associations:
            wanted = [(i, p, as_text(p.data.get(spec.from_field))) for i, p in ok
                      if p.data.get(spec.from_field) not in (None, "")]
            if not wanted:
                continue
            others = assoc.read_ids(self._post, spec.to, spec.to_id_property, [v for *_, v in wanted], delivery)
            pairs = [(ids[p.key], others[v]) for _, p, v in wanted if p.key in ids and v in others]
            absent = [(i, p, v) for i, p, v in wanted if p.key not in ids or v not in others]
            problems = assoc.associate(self._post, self.hs.object, spec, pairs, delivery) if pairs else []
            self._report(spec, absent, problems, delivery)

    def _report(self, spec: assoc.AssociationSpec, absent: list[tuple[int, Payload, str]], problems: list[str],
                delivery: Delivery) -> None:
        what = f"{self.hs.object} -> {spec.to}"
        with self._notes_lock:
            if absent:
                self._notes["associations_missing"] = self._notes.get("associations_missing", 0) + len(absent)
                examples = self._notes.setdefault("associations_missing_examples", [])
                examples += [f"{p.key} -> {spec.to} {spec.to_id_property}={v}" for _, p, v in absent][:10 - len(examples)]
            if problems:
                self._notes["association_errors"] = self._notes.get("association_errors", 0) + len(problems)
        if absent and self._log is not None:
            self._log.warning("%d %s association(s) not made: no %s with %s = %s (e.g.) yet; the records were "
                              "delivered%s", len(absent), what, spec.to, spec.to_id_property, absent[0][2],
                              "; they are kept as rejects: replay them once those exist" if spec.missing == "reject"
                              else " and are associated when they are sent again")
        if problems and self._log is not None:
            self._log.warning("HubSpot refused %d %s association(s): %s", len(problems), what, problems[0])
        if spec.missing == "reject":
            already = {i for i, _, _ in delivery.rejected}
            for i, _, v in absent:
                if i not in already:
                    delivery.rejected.append((i, f"association pending: no {spec.to} with {spec.to_id_property} = "
                                                 f"{v} yet (the record itself was delivered); replay it once that "
                                                 f"exists", spec.from_field))
                    delivery.sent -= 1

    def text_encoder(self) -> HubSpotRecords:
        """How the columnar path encodes this target's records (legacy_bridge/columnar)."""
        return HubSpotRecords(self.hs.id_property, self.hs.nulls)

    def request(self, payloads: list[Payload]) -> Request:
        if isinstance(payloads, EncodedPayloads):  # records encoded by the columnar path: join their bytes
            return Request("POST", self.path, Encoded(payloads.body(b'{"inputs":[', b"]}")))
        inputs = [{"idProperty": self.hs.id_property, "id": p.key, "properties": properties(p.data, self.hs.nulls)}
                  for p in payloads]
        return Request("POST", self.path, {"inputs": inputs})

    def accepted(self, resp: Response, payloads: list[Payload]) -> Verdict:
        body = resp.json()  # parsed once: the verdict and the associations both read it
        verdict = self._verdict(body, payloads)
        ids = getattr(self._local, "ids", None)
        if self.hs.associations and not verdict.split and ids is not None:
            ids.update(assoc.upserted_ids(body, self.hs.id_property))
        return verdict

    def _verdict(self, body: Any, payloads: list[Payload]) -> Verdict:
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


class HubSpotRecords:
    """One batch-upsert input per record, encoded in Arrow: byte for byte what ``request``
    gives through ``dumps`` for the same record (see columnar/encode.py)."""

    def __init__(self, id_property: str, nulls: str) -> None:
        self.id_property, self.nulls = id_property, nulls
        self.head = '{"idProperty":' + literal(id_property).decode() + ',"id":'
        self._literals: dict[tuple[str, ...], list[Any]] = {}  # field names -> _literals_for

    def encode(self, keys: Any, names: Sequence[str], values: Sequence[Any]) -> tuple[Any, Any]:
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        if self.nulls == "clear":
            return self._fused(keys, names, values)
        key_json, unsure = json_string(keys)
        pieces = []
        for name, value in zip(names, values, strict=True):
            text, doubt = json_string(value)
            unsure = either(unsure, doubt)
            if self.nulls == "clear":
                text = pc.fill_null(text, '""')
            pieces.append(pc.binary_join_element_wise("," + literal(name).decode() + ":", text, ""))  # null: omitted
        # each piece carries its comma; a null piece (omitted) joins as "" (null_handling="skip" drops rows
        # whose pieces are all null in pyarrow 26, so it is not used); then the first comma goes
        props = (pc.utf8_slice_codeunits(pc.binary_join_element_wise(*pieces, "", null_handling="replace",
                                                                     null_replacement=""), 1)
                 if pieces else "")
        record = pc.binary_join_element_wise(self.head, key_json, ',"properties":{', props, "}}", "")
        return record, unsure

    def _fused(self, keys: Any, names: Sequence[str], values: Sequence[Any]) -> tuple[Any, Any]:
        """Every value present (None -> ""): the whole record in one join of literals and values."""
        import pyarrow.compute as pc

        literals = self._literals.get(tuple(names)) or self._literals_for(names)
        inside, unsure = json_inside(keys)
        args: list[Any] = [literals[0], inside]
        for literal_before, value in zip(literals[1:-1], values, strict=True):
            text, doubt = json_inside(pc.fill_null(value, EMPTY) if value.null_count else value)
            unsure = either(unsure, doubt)
            args += [literal_before, text]
        args.append(literals[-1])
        return pc.binary_join_element_wise(*args, EMPTY), unsure

    def _literals_for(self, names: Sequence[str]) -> list[Any]:
        """The JSON between the values of a record with these fields, as Arrow scalars (made once:
        a str is converted on every call): before the key, before each value, after the last."""
        import pyarrow as pa

        texts = [self.head + '"']
        literal_text = '","properties":{'
        for i, name in enumerate(names):
            texts.append(literal_text + ("," if i else "") + literal(name).decode() + ':"')
            literal_text = '"'
        texts.append(literal_text + "}}" if names else '","properties":{}}')
        scalars = [pa.scalar(t, pa.string()) for t in texts]
        self._literals[tuple(names)] = scalars
        return scalars

    def encode_one(self, payload: Payload) -> bytes:
        return dumps({"idProperty": self.id_property, "id": payload.key,
                      "properties": properties(payload.data, self.nulls)})


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
