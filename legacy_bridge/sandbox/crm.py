"""The CRM sandbox: a small HubSpot CRM v3 look-alike that keeps what it receives in SQLite.

    python -m legacy_bridge.sandbox.crm --port 0 --db var/crm.db [--token T] [--rate 100/10s]
        [--client-id ID --client-secret S] [--fault-error-rate 0.2] [--reject-property P] ...

Binds 127.0.0.1 (``--port 0``: a free port) and prints ``listening on http://127.0.0.1:PORT``.
Routes: ``POST /crm/v3/objects/{type}/batch/upsert``, ``GET /crm/v3/objects/{type}``,
``POST /crm/v3/objects/{type}/batch/read|archive``,
``POST /crm/v4/associations/{from}/{to}/batch/associate/default|create`` (crm_more.py),
``POST /oauth/v1/token`` (client credentials), ``GET /_sandbox/stats``,
``POST /_sandbox/reset``, ``GET|POST /_sandbox/faults``, ``GET /healthz``.
See api.py for the request contract and faults.py for fault injection.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import ssl
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from legacy_bridge.sandbox import api, crm_more, rest, salesforce
from legacy_bridge.sandbox.auth import TokenBook
from legacy_bridge.sandbox.faults import Dice, Faults
from legacy_bridge.sandbox.store import SandboxStore
from legacy_bridge.targets.ratelimit import parse_rate

PREFIX = "/crm/v3/objects/"


class RateWindow:
    """HubSpot-style fixed windows: at most ``count`` calls per ``window`` seconds."""

    def __init__(self, count: int, window: float) -> None:
        self.count, self.window = count, window
        self._start, self._used = 0.0, 0
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until the window resets)."""
        now = time.monotonic()
        with self._lock:
            if now - self._start >= self.window:
                self._start, self._used = now, 0
            reset_in = self.window - (now - self._start)
            if self._used >= self.count:
                return False, 0, reset_in
            self._used += 1
            return True, self.count - self._used, reset_in


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], store: SandboxStore, tokens: TokenBook, dice: Dice,
                 rate: RateWindow | None) -> None:
        super().__init__(address, Handler)
        self.store, self.tokens, self.dice, self.rate = store, tokens, dice, rate


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing ----------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
                 "Content-Type: application/json;charset=utf-8", f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)

    def drop(self) -> None:
        """Close the connection without an answer (RST), as a crashed proxy would."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def log_call(self, path: str, inputs: int, status: int, fault: str = "") -> None:
        self.server.store.log_call(self.command, path, inputs, status, fault, self.headers.get("Idempotency-Key"))

    # --- routes ------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self.send_json(200, {"status": "ok"})
        elif url.path == "/_sandbox/stats":
            self.send_json(200, self.server.store.stats())
        elif url.path == "/_sandbox/faults":
            self.send_json(200, self.server.dice.faults.as_dict())
        elif url.path.startswith(PREFIX) and "/" not in url.path[len(PREFIX):]:
            self._list(url.path[len(PREFIX):], parse_qs(url.query))
        else:
            self.send_json(404, api.error_body(f"No route for GET {url.path}", "OBJECT_NOT_FOUND"))

    def do_PATCH(self) -> None:
        body = self._body()
        path = urlsplit(self.path).path
        if path.startswith(salesforce.PREFIX):
            salesforce.upsert(self, path, body)
        else:
            self.send_json(404, [{"errorCode": "NOT_FOUND", "message": f"No route for PATCH {path}"}])

    def do_PUT(self) -> None:
        rest.handle(self, urlsplit(self.path).path, self._body())

    def do_POST(self) -> None:
        body = self._body()
        path = urlsplit(self.path).path
        if path.startswith(rest.PREFIX):
            rest.handle(self, path, body)
        elif crm_more.handles(path):
            crm_more.handle(self, path, body)
        elif path.startswith(PREFIX) and path.endswith("/batch/upsert"):
            self._upsert(path, path[len(PREFIX):-len("/batch/upsert")], body)
        elif path == "/oauth/v1/token":
            self._token(body)
        elif path == "/_sandbox/reset":
            self.server.store.reset()
            self.send_json(200, {"status": "reset"})
        elif path == "/_sandbox/faults":
            try:
                faults = self.server.dice.faults.updated(json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                self.send_json(400, {"status": "error", "message": str(exc)})
                return
            self.server.dice.set(faults)
            self.send_json(200, faults.as_dict())
        else:
            self.send_json(404, api.error_body(f"No route for POST {path}", "OBJECT_NOT_FOUND"))

    def _gate(self, path: str, inputs: int) -> bool:
        """Auth and rate limit; False when an answer was already sent."""
        srv = self.server
        verdict = srv.tokens.check(self.headers.get("Authorization"), srv.dice.faults.expire_token_after)
        if verdict != "ok":
            self.log_call(path, inputs, 401, f"auth_{verdict}")
            category = "EXPIRED_AUTHENTICATION" if verdict == "expired" else "INVALID_AUTHENTICATION"
            message = {"missing": "Authentication credentials not found.",
                       "invalid": "The OAuth token used to make this call is invalid.",
                       "expired": "The OAuth token used to make this call expired."}[verdict]
            self.send_json(401, api.error_body(message + " This API supports OAuth 2.0 and private app tokens.", category))
            return False
        if srv.rate is not None:
            allowed, remaining, reset_in = srv.rate.take()
            headers = {"X-HubSpot-RateLimit-Max": str(srv.rate.count), "X-HubSpot-RateLimit-Remaining": str(remaining),
                       "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(srv.rate.window * 1000))}
            if not allowed:
                self.log_call(path, inputs, 429, "rate_limit")
                headers["Retry-After"] = str(max(1, math.ceil(reset_in)))
                self.send_json(429, {**api.RATE_LIMIT_BODY, "correlationId": "sandbox"}, headers)
                return False
        return True

    def admit(self, path: str, count: int) -> str | None:
        """Faults, auth and rate limit for one API call: the fault action to go on with
        ("ok", "delay", "drop_after"), or None when the call was already answered."""
        srv = self.server
        action, code = srv.dice.roll()
        if action == "drop_before":
            self.log_call(path, count, 0, "drop_before")
            self.drop()
            return None
        if not self._gate(path, count):
            return None
        if action == "throttle":
            self.log_call(path, count, 429, "throttle")
            retry_after = srv.dice.faults.throttle_retry_after
            headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            self.send_json(429, {**api.RATE_LIMIT_BODY, "correlationId": "sandbox"}, headers)
            return None
        if action == "error":
            self.log_call(path, count, code, f"error_{code}")
            self.send_json(code, api.error_body("Internal error (injected by the sandbox)", "INTERNAL_ERROR"))
            return None
        if action == "delay":
            time.sleep(srv.dice.faults.delay)
        return action

    def _upsert(self, path: str, object_type: str, raw: bytes) -> None:
        started = time.time()
        try:
            doc: Any = json.loads(raw)
        except ValueError:
            doc = None
        count = len(doc["inputs"]) if isinstance(doc, dict) and isinstance(doc.get("inputs"), list) else 0
        action = self.admit(path, count)
        if action is None:
            return
        try:
            inputs = api.parse_inputs(doc)
        except api.BadRequest as exc:
            self.log_call(path, count, 400, "bad_request")
            self.send_json(400, api.error_body(str(exc), "VALIDATION_ERROR"))
            return
        self._store(path, object_type, inputs, started, action)

    def _store(self, path: str, object_type: str, inputs: list[api.Input], started: float, action: str) -> None:
        srv = self.server
        faults = srv.dice.faults
        bad = {i: found for i, item in enumerate(inputs) if (found := api.problems(item, faults.reject_properties))}
        errors = [api.input_error(inputs[i], found) for i, found in bad.items()]
        if bad and faults.validation == "batch":
            self.log_call(path, len(inputs), 400, "validation")
            flat = [e for found in bad.values() for e in found]
            detail = json.dumps([{"isValid": False, "message": m, "name": n} for n, m in flat])
            self.send_json(400, api.error_body(f"Property values were not valid: {detail}", "VALIDATION_ERROR",
                                           errors=[{"message": m, "in": n} for n, m in flat]))
            return
        good = [item for i, item in enumerate(inputs) if i not in bad]
        status = 207 if bad else 200
        fault = "drop_after" if action == "drop_after" else ("delay" if action == "delay" else "")
        call = (self.command, path, len(inputs), status, fault, self.headers.get("Idempotency-Key"))
        stored = srv.store.upsert(object_type, [(g.id_property, g.id, g.properties) for g in good], call)
        if action == "drop_after":
            self.drop()
            return
        now = time.time()
        results = [api.result(hs_id, new, g.properties, now) for g, (hs_id, new) in zip(good, stored, strict=True)]
        self.send_json(status, api.batch_response(results, errors, started))

    def _list(self, object_type: str, query: dict[str, list[str]]) -> None:
        path = PREFIX + object_type
        if not self._gate(path, 0):
            return
        limit = min(100, max(1, int((query.get("limit") or ["10"])[0])))
        after = int((query.get("after") or ["0"])[0])
        rows = self.server.store.page(object_type, after, limit)
        results = [{"id": str(hs_id), "properties": {**json.loads(props), "hs_object_id": str(hs_id)},
                    "createdAt": api.iso(created), "updatedAt": api.iso(updated), "archived": False}
                   for hs_id, props, created, updated in rows]
        body: dict[str, Any] = {"results": results}
        if len(rows) == limit:
            nxt = str(rows[-1][0])
            body["paging"] = {"next": {"after": nxt, "link": f"{path}?limit={limit}&after={nxt}"}}
        self.send_json(200, body)

    def _token(self, raw: bytes) -> None:
        ctype = self.headers.get("Content-Type", "")
        form: dict[str, str]
        if ctype.startswith("application/json"):
            form = {k: str(v) for k, v in json.loads(raw or b"{}").items()}
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            self.send_json(400, {"error": "unsupported_grant_type", "error_description": "use client_credentials"})
            return
        issued = self.server.tokens.issue(form.get("client_id", ""), form.get("client_secret", ""))
        if issued is None:
            self.send_json(401, {"error": "invalid_client", "error_description": "unknown client id or wrong secret"})
            return
        token, ttl = issued
        self.send_json(200, {"access_token": token, "token_type": "bearer", "expires_in": int(ttl)})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m legacy_bridge.sandbox.crm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--db", required=True, type=Path, help="SQLite file keeping objects and calls")
    p.add_argument("--token", help="bearer token to accept (no --token and no --client-id: auth not checked)")
    p.add_argument("--client-id", help="OAuth client id for POST /oauth/v1/token")
    p.add_argument("--client-secret")
    p.add_argument("--token-ttl", type=float, default=1800.0, help="seconds an OAuth token lives")
    p.add_argument("--rate", help="at most N calls per window, e.g. 100/10s; then 429 with Retry-After")
    p.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", type=Path)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fault-error-rate", type=float, default=0.0)
    p.add_argument("--fault-error-codes", default="500,502,503")
    p.add_argument("--fault-throttle-rate", type=float, default=0.0)
    p.add_argument("--fault-throttle-retry-after", default="1", help="seconds, or 'none' for no header")
    p.add_argument("--fault-delay-rate", type=float, default=0.0)
    p.add_argument("--fault-delay", type=float, default=0.0)
    p.add_argument("--fault-drop-before-rate", type=float, default=0.0)
    p.add_argument("--fault-drop-after-rate", type=float, default=0.0)
    p.add_argument("--fault-expire-token-after", type=int)
    p.add_argument("--reject-property", action="append", default=[])
    p.add_argument("--validation", choices=["partial", "batch"], default="partial")
    return p


def faults_from_args(args: argparse.Namespace) -> Faults:
    retry_after = args.fault_throttle_retry_after
    return Faults().updated({
        "seed": args.seed, "error_rate": args.fault_error_rate,
        "error_codes": [int(c) for c in args.fault_error_codes.split(",") if c.strip()],
        "throttle_rate": args.fault_throttle_rate,
        "throttle_retry_after": None if retry_after.lower() == "none" else float(retry_after),
        "delay_rate": args.fault_delay_rate, "delay": args.fault_delay,
        "drop_before_rate": args.fault_drop_before_rate, "drop_after_rate": args.fault_drop_after_rate,
        "expire_token_after": args.fault_expire_token_after, "reject_properties": args.reject_property,
        "validation": args.validation,
    })


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rate = None
    if args.rate:
        count, window = parse_rate(args.rate)
        rate = RateWindow(int(count), window)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    tokens = TokenBook(args.token, args.client_id, args.client_secret, args.token_ttl)
    server = SandboxServer((args.host, args.port), SandboxStore(args.db), tokens, Dice(faults_from_args(args)), rate)
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    host, port = server.server_address[:2]
    print(f"listening on {scheme}://{host!s}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
