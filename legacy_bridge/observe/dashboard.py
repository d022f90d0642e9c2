"""A small read-only web dashboard (stdlib ``http.server``): status, history, rejects per
flow, the catalog, ``/metrics`` (Prometheus) and ``/healthz``.

Every page is built from the job files and the state store at request time; nothing is
written anywhere.  Optional HTTP basic auth guards every page except ``/healthz``.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from legacy_bridge.errors import BridgeError
from legacy_bridge.observe.html import badge, esc, page, table
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.observe.overview import age_text
from legacy_bridge.observe.redact import redact

NAV = [("Status", "/"), ("Catalog", "/catalog"), ("Metrics", "/metrics")]
REJECTS_SHOWN = 500


@dataclass
class DataSource:
    """What the pages read; the CLI builds it from its arguments (tests may pass their own)."""

    status: Callable[[], list[dict[str, Any]]]  # overview documents of every flow
    history: Callable[[str, str | None, int], list[dict[str, Any]]]  # job, flow, limit -> run docs
    rejects: Callable[[str, str, int], list[dict[str, Any]]]  # job, flow, limit -> reject docs
    catalog: Callable[[], str]  # the catalog page (HTML)
    metrics: Callable[[], str]  # Prometheus text


def _href(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


def _when(ts: Any) -> str:
    return f"{ts:%Y-%m-%d %H:%M:%S}" if hasattr(ts, "strftime") else ""


def status_page(docs: list[dict[str, Any]]) -> str:
    rows, classes = [], []
    for d in docs:
        run = d["last_run"] or {}
        counts = run.get("counts", {})
        job, flow = d["job"], d["flow"]
        oldest = d["oldest_file_waiting"]
        rows.append([
            f'<a href="{_href("history", job)}">{esc(job)}</a>',
            f'<a class="flow" href="{_href("history", job)}?flow={quote(flow)}">{esc(flow)}</a>',
            badge(d["state"], d["health"]), esc(_when(run.get("started"))),
            counts.get("read", ""), counts.get("sent", ""), counts.get("rejected", ""),
            esc(age_text(d["lag_s"]) + (" LATE" if d["late"] else "")),
            esc(f"{d['files_waiting']} (oldest {age_text(oldest['age_s'])})" if oldest else ""),
            f'<a class="rejects" href="{_href("rejects", job, flow)}">{d["open_rejects"]}</a>',
            f'<span class="err">{esc((run.get("error") or "").splitlines()[0] if run.get("error") else "")}</span>',
        ])
        classes.append("fail" if d["health"] == "fail" else "")
    body = table(["job", "flow", "state", "last run (UTC)", "read", "sent", "rejected", "lag", "files waiting",
                  "open rejects", "error"], rows, raw_cols=(0, 1, 2, 3, 7, 8, 9, 10), row_classes=classes,
                 num_cols=(4, 5, 6, 9), table_id="status")
    workers: dict[str, dict[str, Any]] = {}
    for d in docs:
        for w in d.get("workers", []):
            workers[f"{w.get('kind')}:{w.get('host')}:{w.get('pid')}"] = w
    if workers:
        body += "<h2>Schedulers and watchers</h2>" + table(
            ["kind", "host", "pid", "last heartbeat", "state"],
            [[w.get("kind", ""), w.get("host", ""), w.get("pid", ""), age_text(w.get("age_s")) + " ago",
              badge("stale", "fail") if w.get("stale") else badge("alive", "ok")] for w in workers.values()],
            raw_cols=(4,))
    return page("Status", body, NAV)


def history_page(job: str, flow: str | None, runs: list[dict[str, Any]]) -> str:
    rows = [[r["run_id"], r["flow"], badge(r["status"], {"ok": "ok", "failed": "fail"}.get(r["status"], "warn")),
             _when(r["started"]), f"{r['duration_s']:.1f}s" if r["duration_s"] is not None else "",
             r["counts"]["read"], r["counts"]["sent"], r["counts"]["rejected"], r["counts"]["retried"],
             f'<span class="err">{esc(r["error"] or "")}</span>'] for r in runs]
    title = f"History of {job}" + (f" / {flow}" if flow else "")
    return page(title, table(["run", "flow", "status", "started (UTC)", "duration", "read", "sent", "rejected",
                              "retried", "error"], rows, raw_cols=(2, 9), num_cols=(5, 6, 7, 8),
                             table_id="history"), NAV)


def rejects_page(job: str, flow: str, rejects: list[dict[str, Any]]) -> str:
    rows = [[r["id"], r["origin"], r["position"], r["key"] or "", r["field"] or "", r["value"] or "", r["reason"],
             r["stage"], _when(r["created"])] for r in rejects]
    note = (f"<p>{len(rejects)} open reject(s){' (first ' + str(REJECTS_SHOWN) + ')' if len(rejects) >= REJECTS_SHOWN else ''}. "
            f"Fix the data or the mapping, then <code>legacy-bridge replay {esc(job)} --flow {esc(flow)}</code>.</p>")
    return page(f"Open rejects of {job} / {flow}", note + table(
        ["id", "origin", "position", "key", "field", "value", "reason", "stage", "created (UTC)"], rows,
        table_id="rejects"), NAV)


class Handler(BaseHTTPRequestHandler):
    server_version = "legacy-bridge"
    data: DataSource
    auth: tuple[str, str] | None = None

    def log_message(self, format: str, *args: Any) -> None:
        get_logger().debug("dashboard: " + format, *args)

    def _send(self, status: int, body: str, content_type: str = "text/html; charset=utf-8") -> None:
        raw = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", 'Basic realm="legacy-bridge", charset="UTF-8"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    def _authorised(self) -> bool:
        if self.auth is None:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        same_user = hmac.compare_digest(user.encode(), self.auth[0].encode())
        return hmac.compare_digest(password.encode(), self.auth[1].encode()) and same_user

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        if parts == ["healthz"]:
            self._send(200, "ok\n", "text/plain; charset=utf-8")
            return
        if not self._authorised():
            self._send(HTTPStatus.UNAUTHORIZED, "authentication required\n", "text/plain; charset=utf-8")
            return
        try:
            self._route(parts, query)
        except BridgeError as exc:
            self._send(500, page("Error", f"<pre>{esc(exc)}</pre>", NAV))
        except Exception as exc:  # a bug: say so, keep serving
            get_logger().warning("dashboard error on %s: %s", url.path, exc, exc_info=True)
            self._send(500, page("Error", f"<pre>internal error: {esc(redact(str(exc)))}</pre>", NAV))

    def _route(self, parts: list[str], query: dict[str, list[str]]) -> None:
        if not parts or parts == ["status"]:
            self._send(200, status_page(self.data.status()))
        elif parts == ["api", "status"]:
            from legacy_bridge.cli.common import to_jsonable

            self._send(200, json.dumps(to_jsonable(self.data.status()), indent=2), "application/json")
        elif parts == ["metrics"]:
            self._send(200, self.data.metrics(), "text/plain; version=0.0.4; charset=utf-8")
        elif parts == ["catalog"]:
            self._send(200, self.data.catalog())
        elif len(parts) == 2 and parts[0] == "history":
            flow = query["flow"][0] if query.get("flow") else None
            text = query["limit"][0] if query.get("limit") else "50"
            limit = int(text) if text.isdigit() else 50
            self._send(200, history_page(parts[1], flow, self.data.history(parts[1], flow, max(1, limit))))
        elif len(parts) == 3 and parts[0] == "rejects":
            self._send(200, rejects_page(parts[1], parts[2], self.data.rejects(parts[1], parts[2], REJECTS_SHOWN)))
        else:
            self._send(404, page("Not found", f"<p>No page at {esc('/' + '/'.join(parts))}.</p>", NAV))


def make_server(data: DataSource, host: str = "127.0.0.1", port: int = 8080,
                auth: tuple[str, str] | None = None) -> ThreadingHTTPServer:
    handler = type("DashboardHandler", (Handler,), {"data": data, "auth": auth})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
