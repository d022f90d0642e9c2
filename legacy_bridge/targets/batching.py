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
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.errors import TargetError
from legacy_bridge.records import Delivery, Payload
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.targets.http import Call, HttpClient, Response
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

    def begin(self, payloads: list[Payload]) -> Begun | None:
        """``send`` begun on the calling thread: its one call written, its answer read by
        ``Begun.result`` on the same thread (the runner's delivering thread keeps ``concurrency``
        of them in flight without a thread each).  None when this target sends the batch
        otherwise (several calls, or not on the lean client): ``send`` does it."""
        if not self.client.can_begin:
            return None
        try:
            calls = self.requests(payloads)
            if len(calls) != 1 or calls[0][1] != list(range(len(payloads))):
                return None
            request = calls[0][0]
            data = dumps(request.body)
            call = self.client.begin(request.method, request.path, data, self._idempotency(data))
        except Exception as exc:  # raised when the runner takes the answer, in source order
            return Begun(self, payloads, request=None, call=None, error=exc)
        return None if call is None else Begun(self, payloads, request, call)

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
        _counted(resp, delivery)
        return resp

    def _deliver(self, payloads: list[Payload], indexes: list[int], request: Request | None,
                 delivery: Delivery) -> None:
        request = request or self.request(payloads)
        resp = self._call(request.method, request.path, request.body, delivery)
        self._answered(resp, payloads, indexes, request, delivery)

    def _answered(self, resp: Response, payloads: list[Payload], indexes: list[int], request: Request,
                  delivery: Delivery) -> None:
        """Count a call's final answer into ``delivery``: the records it took and refused, or the
        batch sent again in halves; a refusal of the whole flow raises."""
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


def _counted(resp: Response, delivery: Delivery) -> None:
    delivery.calls += resp.calls
    delivery.retried += resp.calls - 1


class Begun:
    """A delivery begun by ``ApiTarget.begin``, with what the runner asks of a sender's call
    (``done``, ``result``, ``exception``, ``cancel``), all on the thread that began it.  Reading
    the answer is where the rest of ``send`` happens: retries of a failed first attempt,
    halving on a 400, the records refused."""

    __slots__ = ("_call", "_delivery", "_error", "_payloads", "_request", "_target")

    def __init__(self, target: ApiTarget, payloads: list[Payload], request: Request | None, call: Call | None,
                 error: BaseException | None = None) -> None:
        self._target, self._payloads, self._request, self._call = target, payloads, request, call
        self._delivery: Delivery | None = None
        self._error = error

    def done(self) -> bool:
        """The answer is in (reading it will not wait for the API to start answering)."""
        return self._call is None or self._call.ready()

    def result(self, timeout: float | None = None) -> Delivery:
        if timeout is not None and self._call is not None and not self._call.ready(max(0.0, timeout)):
            raise FutureTimeout()
        self._finish()
        if self._error is not None:
            raise self._error
        assert self._delivery is not None
        return self._delivery

    def exception(self) -> BaseException | None:
        self._finish()
        return self._error

    def cancel(self) -> bool:
        """Not taken back (it was written); an answer never read closes its connection."""
        call, self._call = self._call, None
        if call is not None:
            call.abandon()
            if self._error is None and self._delivery is None:
                self._error = CancelledError()
        return False

    def _finish(self) -> None:
        call, self._call = self._call, None
        if call is None:
            return
        try:
            resp = call.result()
            delivery = Delivery()
            _counted(resp, delivery)
            assert self._request is not None
            self._target._answered(resp, self._payloads, list(range(len(self._payloads))), self._request, delivery)
            self._delivery = delivery
        except BaseException as exc:  # the caller's result() raises it, as a sender's call would
            self._error = exc
