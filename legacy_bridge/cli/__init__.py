"""The ``legacy-bridge`` command line.  Each command is a module in this package with a
``register(subparsers)`` function; adding a command is one module and one line below."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from legacy_bridge import __version__
from legacy_bridge.errors import BridgeError

# One line per command module (each registers one or more subcommands).
COMMANDS = [
    "legacy_bridge.cli.discover",
    "legacy_bridge.cli.run",
    "legacy_bridge.cli.inspect",
    "legacy_bridge.cli.status",
    "legacy_bridge.cli.catalog",
    "legacy_bridge.cli.serve",
    "legacy_bridge.cli.schedule",
    "legacy_bridge.cli.watch",
    "legacy_bridge.cli.files",
    "legacy_bridge.cli.rejects",
]

EPILOG = """\
examples:
  legacy-bridge run erp_to_crm                 run every flow of jobs/erp_to_crm.toml once
  legacy-bridge run erp_to_crm --flow orders   one flow only
  legacy-bridge validate jobs/*.toml           check job files, every problem at once
  legacy-bridge status --json                  last run of every flow, for machines
  legacy-bridge history erp_to_crm --limit 5   past runs with counts and errors

exit codes: 0 all delivered, 3 finished with rejects, 1 failed (checkpoint intact), 2 configuration or usage error
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="legacy-bridge",
        description="Move rows from legacy systems (file drops, ODBC tables) to modern APIs, exactly once in effect.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"legacy-bridge {__version__}")
    parser.add_argument("--state", metavar="PATH|URL", help="state store (default: $LEGACY_BRIDGE_STATE or var/state.db beside jobs/)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"], help="json for log collectors")
    parser.add_argument("--metrics-file", metavar="PATH",
                        help="after each flow run, write Prometheus metrics here (node-exporter textfile collector)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return int(exc.code or 0)
    from legacy_bridge.observe.logs import setup_logging

    setup_logging(args.log_level, args.log_format)
    from legacy_bridge.observe.install import install

    install(args)
    try:
        return int(args.func(args))
    except BridgeError as exc:  # exit_code: 2 for configuration and usage errors, else 1
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
