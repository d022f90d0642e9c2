"""validate, schema, reset."""

from __future__ import annotations

import argparse
import json
import sys

from legacy_bridge.cli.common import add_job_arg, load_jobs, open_job_state
from legacy_bridge.config.loader import load_job
from legacy_bridge.config.models import job_model
from legacy_bridge.errors import ConfigError, UsageError
from legacy_bridge.runtime.sourcecheck import check_against_source


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("validate", help="check job files and report every problem at once", formatter_class=fmt,
                       epilog="examples:\n  legacy-bridge validate erp_to_crm\n  legacy-bridge validate jobs/*.toml\n"
                              "  legacy-bridge validate --no-secrets jobs/erp_to_crm.toml   (do not resolve ${env:...})")
    p.add_argument("jobs", nargs="*", help="job names or paths (default: every job in jobs/)")
    p.add_argument("--no-secrets", action="store_true", help="do not resolve ${env:...}/${file:...} references")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of job files (for editors)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("reset", help="forget a flow's watermark, file ledger and hashes", formatter_class=fmt,
                       epilog="example:\n  legacy-bridge reset erp_to_crm --flow customers --yes")
    add_job_arg(p)
    p.add_argument("--flow", required=True)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_reset)


def cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    refs = args.jobs or [None]
    for ref in refs:
        try:
            jobs = load_jobs([ref] if ref else None, resolve_secrets=not args.no_secrets)
        except ConfigError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        for job in jobs:
            problems = check_against_source(job)
            if problems:
                failed += 1
                print(f"error: {ConfigError(f'job file {job.path} has {len(problems)} mapping problem(s)', problems=problems)}",
                      file=sys.stderr)
                continue
            print(f"ok: {job.path} (job {job.name}, {len(job.spec.flows)} flow{'s' if len(job.spec.flows) != 1 else ''})")
    return 2 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    schema = job_model().model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "legacy_bridge job file"
    json.dump(schema, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    job = load_job(args.job, resolve_secrets=False)
    job.flow(args.flow)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("reset needs confirmation: run it in a terminal or add --yes")
        answer = input(f"Forget the watermark, file ledger and hashes of {job.name}/{args.flow}? "
                       "Everything will be sent again on the next run. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing changed")
            return 0
    store = open_job_state(args, job)
    try:
        store.reset(job.name, args.flow)
    finally:
        store.close()
    print(f"reset {job.name}/{args.flow}: the next run starts from the beginning")
    return 0
