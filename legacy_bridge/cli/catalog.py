"""``legacy-bridge catalog``: Markdown and HTML documentation of every job, generated from the
job files and the state store (always current because it is generated)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from legacy_bridge.cli.common import load_jobs, open_job_state
from legacy_bridge.errors import BridgeError, ConfigError
from legacy_bridge.observe.catalog import JobDoc, catalog_md, job_doc
from legacy_bridge.observe.catalog_html import catalog_html
from legacy_bridge.observe.overview import job_status


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "catalog", help="generate Markdown and HTML documentation of every job",
        description="Document every job (or the ones named): a diagram of systems and flows, each flow's "
                    "source, schedule and target, its field mapping, and the latest run figures. Secret "
                    "references are shown as written, never resolved.",
        epilog="examples:\n  legacy-bridge catalog                      writes docs/catalog/\n"
               "  legacy-bridge catalog erp_to_crm --out /srv/www/integrations",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("jobs", nargs="*", metavar="JOB", help="job names or paths (default: every job in jobs/)")
    p.add_argument("--out", default="docs/catalog", metavar="DIR",
                   help="folder for catalog.md and catalog.html (default docs/catalog)")
    p.set_defaults(func=cmd_catalog)


def collect(args: argparse.Namespace, refs: list[str] | None) -> list[JobDoc]:
    """The catalog documents of the jobs, with run figures where the state store is readable."""
    docs = []
    for job in load_jobs(refs or None, resolve_secrets=False):
        try:
            store = open_job_state(args, job)
        except (BridgeError, ConfigError) as exc:
            docs.append(job_doc(job, None, state_note=f"no run figures: {str(exc).splitlines()[0]}"))
            continue
        try:
            docs.append(job_doc(job, job_status(job, store), state_note=store.display_url))
        finally:
            store.close()
    return docs


def generated_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def cmd_catalog(args: argparse.Namespace) -> int:
    docs = collect(args, args.jobs)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        stamp = generated_stamp()
        (out / "catalog.md").write_text(catalog_md(docs, stamp), encoding="utf-8")
        (out / "catalog.html").write_text(catalog_html(docs, stamp), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the catalog to {out}: {exc.strerror or exc}",
                          hint="choose a writable folder with --out DIR") from exc
    flows = sum(len(d.flows) for d in docs)
    print(f"catalog of {len(docs)} job(s), {flows} flow(s): {out / 'catalog.md'}, {out / 'catalog.html'}")
    return 0
