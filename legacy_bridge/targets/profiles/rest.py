"""A generic JSON REST API.

```toml
[flows.target]
kind = "rest"
base_url = "https://api.example.com"
method = "PUT"
path = "/api/customers/{key}"        # {key} = the record's key; {field} = a mapped field
body = "record"                      # one call per record | "list": one call per batch, body = [records]
success = [200, 201, 204]
# for body = "list": where the answer lists per-item errors
errors_path = "errors"               # dotted path to a list in the response
error_index = "index"                # item field holding the record's position in the list ...
error_key = ""                       # ... or the record's key
error_message = "message"
error_field = "field"
delete_path = "/api/customers/{key}"  # optional: DELETE here for deletes = "send" (404/410 count as deleted)
```
A 400/413/422 for a list is split in halves until the bad records are isolated; a 400 for
a single record rejects it with the API's message.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, field_validator

from legacy_bridge.errors import RecordError
from legacy_bridge.records import Delivery, Payload
from legacy_bridge.targets.batching import ApiTarget, Begun, Request, Verdict
from legacy_bridge.targets.http import Response
from legacy_bridge.targets.http_config import HttpTargetSpec
from legacy_bridge.targets.values import as_json


class RestSpec(HttpTargetSpec):
    kind: Literal["rest"]
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    path: str = Field(description="URL path template: {key} and {field} are filled from the record")
    body: Literal["record", "list"] = "record"
    wrap: str | None = Field(None, description="for body = 'list': send {wrap: [records]} instead of a bare list")
    success: list[int] = Field(default_factory=lambda: [200, 201, 202, 204, 207])
    errors_path: str | None = None
    error_index: str | None = "index"
    error_key: str | None = None
    error_message: str = "message"
    error_field: str | None = "field"
    batch_size: int = Field(100, ge=1, le=10_000)
    delete_path: str | None = Field(None, description="DELETE URL path template ({key} only) for deletes = 'send'")

    @field_validator("delete_path")
    @classmethod
    def _check_delete_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name]
        if not value.startswith("/") or names != ["key"]:
            raise ValueError("must start with '/' and hold {key} once (a deleted record has no other fields)")
        return value

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/' (it is appended to base_url)")
        try:
            list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ValueError(f"is not a valid template: {exc}") from None
        return value


class RestTarget(ApiTarget):
    kind = "rest"

    def __init__(self, spec: RestSpec) -> None:
        super().__init__(spec)
        self.rest = spec
        self.fields = [name for _, name, _, _ in string.Formatter().parse(spec.path) if name]

    def _path(self, payload: Payload) -> str:
        values = {name: quote(str(payload.key if name == "key" else payload.data.get(name, "")), safe="")
                  for name in self.fields}
        missing = [n for n in self.fields if n != "key" and payload.data.get(n) in (None, "")]
        if missing:
            raise RecordError(f"rest target: the path {self.rest.path} needs {missing[0]}, which is empty",
                              field=missing[0])
        return self.rest.path.format(**values)

    def requests(self, payloads: list[Payload]) -> list[tuple[Request, list[int]]]:
        if self.rest.body == "list":
            return [(self.request(payloads), list(range(len(payloads))))]
        return [(Request(self.rest.method, self._path(p), as_json(p.data)), [i]) for i, p in enumerate(payloads)]

    def begin(self, payloads: list[Payload]) -> Begun | None:
        """As ``ApiTarget.begin`` for a list body; records sent one by one go through ``send``."""
        return super().begin(payloads) if self.rest.body == "list" else None

    def send(self, payloads: list[Payload]) -> Delivery:
        delivery = Delivery()
        for i, payload in enumerate(payloads):  # records whose path cannot be built are rejects
            if self.rest.body == "record":
                try:
                    self._path(payload)
                except RecordError as exc:
                    delivery.rejected.append((i, exc.message, exc.field))
        bad = {i for i, _, _ in delivery.rejected}
        keep = [i for i in range(len(payloads)) if i not in bad]
        if not keep:
            return delivery
        part = [payloads[i] for i in keep]
        for request, indexes in self.requests(part):
            self._deliver([part[i] for i in indexes], [keep[i] for i in indexes], request, delivery)
        return delivery

    @property
    def can_delete(self) -> bool:
        return self.rest.delete_path is not None

    def delete(self, keys: list[str]) -> Delivery:
        """DELETE delete_path per key: 2xx, 404 and 410 count as deleted; another 4xx for a key is
        a reject with the API's message; 401/403 stop the flow."""
        delivery = Delivery()
        for i, key in enumerate(keys):
            path = str(self.rest.delete_path).format(key=quote(key, safe=""))
            resp = self._call("DELETE", path, None, delivery)
            if 200 <= resp.status < 300 or resp.status in (404, 410):
                delivery.sent += 1
            elif 400 <= resp.status < 500 and resp.status not in (401, 403):
                delivery.rejected.append((i, self.refusal(resp)[0], None))
            else:
                raise self._stop(resp, Request("DELETE", path, None))
        return delivery

    def request(self, payloads: list[Payload]) -> Request:
        if self.rest.body == "record":
            return Request(self.rest.method, self._path(payloads[0]), as_json(payloads[0].data))
        records = [as_json(p.data) for p in payloads]
        return Request(self.rest.method, self.rest.path, {self.rest.wrap: records} if self.rest.wrap else records)

    def accepted(self, resp: Response, payloads: list[Payload]) -> Verdict:
        if resp.status not in self.rest.success:
            return Verdict(split=True)
        if not self.rest.errors_path:
            return Verdict()
        node: Any = resp.json()
        for part in self.rest.errors_path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not node:
            return Verdict()
        if not isinstance(node, list):
            return Verdict(split=True)
        by_key = {p.key: i for i, p in enumerate(payloads)}
        rejected = []
        for item in node:
            index = self._index(item, by_key, len(payloads))
            if index is None:
                return Verdict(split=True)
            message = str(item.get(self.rest.error_message) or "refused by the API")
            field = item.get(self.rest.error_field) if self.rest.error_field else None
            rejected.append((index, message, None if field is None else str(field)))
        return Verdict(rejected=rejected)

    def refusal(self, resp: Response) -> tuple[str, str | None]:
        body = resp.json()
        if isinstance(body, dict) and body.get(self.rest.error_message):
            field = body.get(self.rest.error_field) if self.rest.error_field else None
            return str(body[self.rest.error_message]), None if field is None else str(field)
        return super().refusal(resp)

    def _index(self, item: Any, by_key: dict[str, int], size: int) -> int | None:
        if not isinstance(item, dict):
            return None
        if self.rest.error_key and str(item.get(self.rest.error_key)) in by_key:
            return by_key[str(item.get(self.rest.error_key))]
        raw = item.get(self.rest.error_index) if self.rest.error_index else None
        return raw if isinstance(raw, int) and 0 <= raw < size else None


def build(spec: RestSpec, base_dir: Path) -> RestTarget:
    return RestTarget(spec)
