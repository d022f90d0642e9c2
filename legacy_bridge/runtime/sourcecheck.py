"""``validate``'s deeper check: compile each flow's mapping and, when the source's columns
can be learned cheaply, name every source field the mapping reads that is not a column.

Columns are learned from:

* a ``files`` source on a local folder with a tabular format (csv, excel): the first
  record of the first matching file, in the order the source would take them;
* an ``odbc`` source: its declared ``columns``, else the table's columns from the ODBC
  catalog (skipped when the connection string still holds ``${...}`` references or the
  database cannot be reached: ``validate`` must not fail because a server is down).

SFTP drops, XML (whose records do not all carry every path) and ODBC queries are not
checked.  Problems are worded like load problems: ``flows[1].mapping.fields.email: ...``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.errors import BridgeError, ConfigError
from legacy_bridge.mapping import compile_mapping
from legacy_bridge.mapping.plan import base_ctx, build_plan

TABULAR_FORMATS = ("csv", "excel")
MAX_LEAD_RECORDS = 100  # unreadable records tolerated before the first good one
SHOWN_COLUMNS = 30


def check_against_source(job: LoadedJob) -> list[str]:
    """Every mapping problem of every flow of ``job``: compile errors, and source fields
    that are not columns of the source (when they can be learned)."""
    problems: list[str] = []
    for i, flow in enumerate(job.spec.flows):
        where = f"flows[{i}].mapping"
        try:
            compile_mapping(flow.mapping, base_dir=job.base_dir)
        except ConfigError as exc:
            problems.extend(f"{where}.{p}" for p in (exc.problems or [exc.message]))
            continue
        learned = source_columns(flow.source, job.base_dir)
        if learned is None:
            continue
        columns, origin = learned
        problems.extend(f"{where}.{place}: source field {name} is not a column of {origin} ({_known(name, columns)})"
                        for place, name in reads(flow.mapping, job.base_dir) if name not in columns)
    return problems


def reads(mapping: Any, base_dir: Path) -> list[tuple[str, str]]:
    """(place in the mapping, source field) for every field the mapping reads."""
    keys = [mapping.key] if isinstance(mapping.key, str) else list(mapping.key)
    out = [("key", k) for k in keys]
    ctx = base_ctx(base_dir)
    for name, spec in mapping.fields.items():
        plan = build_plan(name, spec, ctx, [])
        if plan is not None:
            fields = ([] if plan.kind == "value" else list(plan.sources)) + list(plan.also_reads)
            out.extend((f"fields.{name}", f) for f in dict.fromkeys(fields))
    conditions = mapping.filter if isinstance(mapping.filter, list) else [mapping.filter]
    out.extend(("filter", c.field) for c in conditions if c is not None)
    return out


def source_columns(source: Any, base_dir: Path) -> tuple[set[str], str] | None:
    """(columns, where they come from) or None when they cannot be learned cheaply."""
    kind = getattr(source, "kind", None)
    try:
        if kind == "files":
            return _file_columns(source, base_dir)
        if kind == "odbc":
            return _table_columns(source)
    except (BridgeError, OSError, ImportError):
        return None  # unreachable, unreadable, driver missing: nothing to say about columns
    return None


def _file_columns(spec: Any, base_dir: Path) -> tuple[set[str], str] | None:
    from legacy_bridge.formats import REGISTRY as FORMATS
    from legacy_bridge.sources.files import drop_files
    from legacy_bridge.transports import REGISTRY as TRANSPORTS

    if spec.transport.kind != "local" or spec.format.kind not in TABULAR_FORMATS:
        return None
    transport = TRANSPORTS.build(spec.transport, spec.path, base_dir)
    try:
        files = drop_files(spec, transport.list(["*"], spec.recursive))  # exactly what the source would take
        if not files:
            return None
        first = min(files, key=(lambda f: (f.mtime, f.name)) if spec.order == "mtime" else (lambda f: (f.name, 0)))
        path = str(transport.local_path(first.name))  # type: ignore[attr-defined]
    finally:
        transport.close()
    fmt = FORMATS.build(spec.format, base_dir)
    rows = fmt.rows(path, first.name, 0)
    try:
        for n, (_pos, row) in enumerate(rows):
            if isinstance(row, dict):
                return set(row), first.name
            if n >= MAX_LEAD_RECORDS:
                break
    finally:
        close = getattr(rows, "close", None)
        if callable(close):
            close()
    return None


def _table_columns(spec: Any) -> tuple[set[str], str] | None:
    if spec.columns:
        return set(spec.columns), f"{spec.origin} (its declared columns)"
    if spec.table is None or "${" in spec.connection:
        return None
    from legacy_bridge.sources.odbc_discover import discover

    found = [t for t in discover(spec.connection, schema=spec.schema_, table=spec.table, counts=False,
                                 login_timeout=min(float(spec.login_timeout), 10.0))
             if t.name == spec.table]
    if len(found) != 1 or not found[0].columns:
        return None
    return {c.name for c in found[0].columns}, spec.origin


def _known(name: str, columns: Iterable[str]) -> str:
    ordered = sorted(columns, key=str.lower)
    close = difflib.get_close_matches(name, ordered, n=1, cutoff=0.6) or \
        [c for c in ordered if c.lower() == name.lower()]
    shown = ", ".join(ordered[:SHOWN_COLUMNS]) + (", ..." if len(ordered) > SHOWN_COLUMNS else "")
    return (f"did you mean {close[0]}? " if close else "") + f"columns: {shown}"
