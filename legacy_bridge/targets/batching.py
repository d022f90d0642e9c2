"""Batch delivery to an HTTP API: one call per batch, per-record rejects, halving on a 400.

A profile says how a batch becomes a request (``request``) and what the API's 2xx answer
says about each record (``accepted``).  This base does the rest:

* a 400/413/422 for the whole batch is split in halves until the bad records are
  isolated: one bad record never rejects 99 good ones; a single record refused is a reject
  with the API's own message;
* 401/403/404 and other 4xx stop the flow (credentials, permissions or configuration);
* every call carries an ``Idempotency-Key`` hashed from job, flow and the request body
  (which holds the records' keys and content): stable across retries and restarts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.errors import TargetError
from legacy_bridge.records import Delivery, Payload
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.targets.http import HttpClient, Response
from legacy_bridge.targets.http_config import HttpTargetSpec
from legacy_bridge.targets.values import dumps

SPLIT_STATUSES = frozenset({400, 413, 422})


@dataclass
class Request:
    method: str
    path: str
    body: Any


@dataclass
class Verdict:
    """What a 2xx answer says: records refused (index in the call, API message, field),
    or ``split`` when the answer cannot be tied to records (send halves instead)."""

    rejected: list[tuple[int, str, str | None]] = field(default_factory=list)
    split: bool = False


class ApiTarget:
    """Base of the HTTP profiles; implements the Target protocol."""

    kind = "http"

    def __init__(self, spec: HttpTargetSpec) -> None:
        self.spec = spec
        self.max_batch = spec.batch_size
        self.concurrency = spec.concurrency
        self.client = HttpClient(spec, what=f"{self.kind} target")
        self.flow_id = ""

    # --- profile hooks -------------------------------------------------------------------

    def requests(self, payloads: list[Payload]) -> list[tuple[Request, list[int]]]:
        """The calls for ``payloads`` and the payload indexes each covers (default: one call)."""
        return [(self.request(payloads), list(range(len(payloads))))]

    def request(self, payloads: list[Payload]) -> Request:
        raise NotImplementedError

    def accepted(self, resp: Response, payloads: list[Payload]) -> Verdict:
        return Verdict()

    def refusal(self, resp: Response) -> tuple[str, str | None]:
        """The API's message (and field, when it says) for a refused call."""
        body = resp.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"], None
        return f"{resp.status} {resp.text(300)}", None

    # --- Target protocol ---------------------------------------------------------------

    def open(self, ctx: FlowContext) -> None:
        self.flow_id = f"{ctx.job}/{ctx.flow}"

    def close(self) -> None:
        self.client.close()

    def send(self, payloads: list[Payload]) -> Delivery:
        delivery = Delivery()
        for request, indexes in self.requests(payloads):
            whole = len(indexes) == len(payloads) and indexes == list(range(len(payloads)))
            self._deliver(payloads if whole else [payloads[i] for i in indexes], indexes, request, delivery)
        return delivery

    def describe(self, payloads: list[Payload]) -> list[str]:
        lines = []
        for request, _ in self.requests(payloads):
            data = dumps(request.body).decode()
            lines.append(f"{request.method} {self.client.url(request.path)} "
                         f"{self._idempotency(data.encode()) or ''} {data}".replace("  ", " "))
        return lines

    # --- delivery ------------------------------------------------------------------------

    def _idempotency(self, data: bytes) -> dict[str, str] | None:
        header = self.spec.idempotency_header
        if not header:
            return None
        h = hashlib.sha256(self.flow_id.encode() + b"\0")
        h.update(data)  # the same digest as of the two concatenated, without copying the body
        digest = h.hexdigest()[:40]
        return {header: digest}

    def _call(self, method: str, path: str, body: Any, delivery: Delivery) -> Response:
        """One API call (retried inside the client), counted into ``delivery``; a body carries the
        idempotency key derived from it, a bodiless call (a DELETE) none."""
        data = None if body is None else dumps(body)
        resp = self.client.call(method, path, data, None if data is None else self._idempotency(data))
        delivery.calls += resp.calls
        delivery.retried += resp.calls - 1
        return resp

    def _deliver(self, payloads: list[Payload], indexes: list[int], request: Request | None,
                 delivery: Delivery) -> None:
        request = request or self.request(payloads)
        resp = self._call(request.method, request.path, request.body, delivery)
        if 200 <= resp.status < 300:
            verdict = self.accepted(resp, payloads)
            if not verdict.split:
                for local, reason, field_name in verdict.rejected:
                    delivery.rejected.append((indexes[local], reason, field_name))
                delivery.sent += len(payloads) - len(verdict.rejected)
                return
            reason, field_name = "the API's answer could not be tied to this record", None
        elif resp.status in SPLIT_STATUSES:
            reason, field_name = self.refusal(resp)
        else:
            raise self._stop(resp, request)
        if len(payloads) == 1:
            delivery.rejected.append((indexes[0], reason, field_name))
            return
        half = len(payloads) // 2
        self._deliver(payloads[:half], indexes[:half], None, delivery)
        self._deliver(payloads[half:], indexes[half:], None, delivery)

    def _stop(self, resp: Response, request: Request) -> TargetError:
        url = self.client.url(request.path)
        what = f"{self.kind} target: {request.method} {url} answered {resp.status}: {resp.text(300)}"
        if resp.status in (401, 403):
            hint = "check the target's auth (token expired or revoked? scopes/permissions of the app?)"
        elif resp.status == 404:
            hint = "check base_url and the object/path configured on the target"
        else:
            hint = "check the target configuration; the checkpoint is intact, run the job again once fixed"
        return TargetError(what, where={"flow": self.flow_id or None}, hint=hint)
