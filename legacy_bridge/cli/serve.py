"""``legacy-bridge serve``: the read-only web dashboard (status, history, rejects, catalog,
/metrics, /healthz), bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from typing import Any

from legacy_bridge.cli.catalog import collect, generated_stamp
from legacy_bridge.cli.common import load_jobs, open_job_state
from legacy_bridge.cli.status import gather_status
from legacy_bridge.config.loader import load_job
from legacy_bridge.errors import ConfigError, UsageError
from legacy_bridge.observe.catalog_html import catalog_html
from legacy_bridge.observe.dashboard import NAV, DataSource, make_server
from legacy_bridge.observe.metrics import render, state_families
from legacy_bridge.observe.overview import run_doc


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve", help="a small read-only web dashboard",
        description="Serve status, history, rejects per flow, the catalog, /metrics (Prometheus) and /healthz. "
                    "Read-only; bound to 127.0.0.1 by default.",
        epilog="examples:\n  legacy-bridge serve\n  legacy-bridge serve --port 9100\n"
               "  DASH_PASSWORD=... legacy-bridge serve --host 0.0.0.0 --basic-auth-user ops "
               "--basic-auth-password-env DASH_PASSWORD",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("jobs", nargs="*", metavar="JOB", help="jobs to show (default: every job in jobs/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--basic-auth-user", metavar="USER", help="require HTTP basic auth with this user name")
    p.add_argument("--basic-auth-password-env", metavar="VAR",
                   help="environment variable holding the basic-auth password")
    p.set_defaults(func=cmd_serve)


def data_source(args: argparse.Namespace, refs: list[str] | None) -> DataSource:
    def history(job_ref: str, flow: str | None, limit: int) -> list[dict[str, Any]]:
        job = load_job(job_ref, resolve_secrets=False)
        if flow:
            job.flow(flow)
        store = open_job_state(args, job)
        try:
            return [run_doc(r) for r in store.history(job.name, flow, limit=limit)]
        finally:
            store.close()

    def rejects(job_ref: str, flow: str, limit: int) -> list[dict[str, Any]]:
        job = load_job(job_ref, resolve_secrets=False)
        job.flow(flow)
        store = open_job_state(args, job)
        try:
            return [asdict(r) for r in store.list_rejects(job.name, flow, status="open", limit=limit)]
        finally:
            store.close()

    def catalog() -> str:
        return catalog_html(collect(args, refs), generated_stamp(), links=True, nav=list(NAV))

    def metrics() -> str:
        return render(state_families(gather_status(args, refs)))

    return DataSource(status=lambda: gather_status(args, refs), history=history, rejects=rejects,
                      catalog=catalog, metrics=metrics)


def _auth(args: argparse.Namespace) -> tuple[str, str] | None:
    if not args.basic_auth_user and not args.basic_auth_password_env:
        return None
    if not (args.basic_auth_user and args.basic_auth_password_env):
        raise UsageError("basic auth needs both --basic-auth-user and --basic-auth-password-env")
    password = os.environ.get(args.basic_auth_password_env)
    if not password:
        raise ConfigError(f"environment variable {args.basic_auth_password_env} (the dashboard password) is not set",
                          hint=f"export {args.basic_auth_password_env}=... before `legacy-bridge serve`")
    from legacy_bridge.observe.redact import register_secret

    register_secret(password)
    return args.basic_auth_user, password


def cmd_serve(args: argparse.Namespace) -> int:
    refs = args.jobs or None
    load_jobs(refs)  # fail now, not at the first request, if the jobs cannot be read
    auth = _auth(args)
    try:
        server = make_server(data_source(args, refs), args.host, args.port, auth)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                         hint="choose another --port, or stop what uses it") from exc
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"dashboard on http://{host}:{port}/ (read-only{', basic auth' if auth else ''}); Ctrl-C stops it",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
