"""discover: what a source holds, and a starter [[flows]] block."""

from __future__ import annotations

import argparse
from pathlib import Path

from legacy_bridge.cli.common import print_json, print_table
from legacy_bridge.config.refs import resolve_refs
from legacy_bridge.errors import ConfigError, UsageError

EPILOG = """\
examples:
  legacy-bridge discover odbc --connection "Driver=SQLite3;Database=fixtures/erp.sqlite"
  legacy-bridge discover odbc --connection 'DSN=ERP;UID=${env:ERP_USER};PWD=${env:ERP_PASSWORD}' --schema QS36F
  legacy-bridge discover odbc --connection "..." --table Customers      columns, cursor candidates, a [[flows]] block
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("discover", help="list what a source holds and print a starter flow",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    kinds = p.add_subparsers(dest="discover_kind", metavar="KIND")
    kinds.required = True
    o = kinds.add_parser("odbc", help="tables over ODBC: columns, keys, row counts, cursor candidates",
                         formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    o.add_argument("--connection", required=True,
                   help="pyodbc connection string or DSN=...; ${env:...} references are resolved")
    o.add_argument("--schema", help="only this schema")
    o.add_argument("--table", help="one table: its columns and a starter [[flows]] block")
    o.add_argument("--no-counts", action="store_true", help="skip COUNT(*) (large tables)")
    o.add_argument("--json", action="store_true", help="machine-readable output")
    o.set_defaults(func=cmd_discover_odbc)


def cmd_discover_odbc(args: argparse.Namespace) -> int:
    from legacy_bridge.sources.odbc_discover import discover, starter_flow

    problems: list[str] = []
    connection = str(resolve_refs(args.connection, Path.cwd(), problems, ("connection",)))
    if problems:
        raise ConfigError("cannot resolve the connection string", problems=problems)
    tables = discover(connection, schema=args.schema, table=args.table, counts=not args.no_counts)
    if args.table and not tables:
        raise UsageError(f"no table {args.table!r} found" + (f" in schema {args.schema}" if args.schema else ""),
                         hint="run without --table to list the tables")
    if args.json:
        print_json([t.as_dict() for t in tables])
        return 0
    if not args.table:
        print_table(["table", "kind", "rows", "primary key", "cursor candidates"],
                    [[f"{t.schema}.{t.name}" if t.schema else t.name, t.kind.lower(), t.rows,
                      ", ".join(t.primary_key), ", ".join(t.cursor_candidates)] for t in tables])
        print("\nnext: legacy-bridge discover odbc --connection ... --table NAME   (prints a starter [[flows]] block)")
        return 0
    for t in tables:
        print(f"{t.name}: {t.rows if t.rows is not None else '?'} rows, primary key "
              f"{', '.join(t.primary_key) or '(none)'}")
        print_table(["column", "type", "size", "nullable"],
                    [[c.name, c.type_name, c.size, "yes" if c.nullable else "no"] for c in t.columns])
        candidates = ", ".join(t.cursor_candidates) or '(none: use mode = "diff")'
        print(f"cursor candidates: {candidates}\n")
        print(starter_flow(t, args.connection))
    return 0
