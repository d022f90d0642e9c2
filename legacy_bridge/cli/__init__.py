"""The ``legacy-bridge`` command line.  Each command is a module in this package with a
``register(subparsers)`` function; adding a command is one module and one line below.

A command line that names its command imports only the module that registers it: the
modules import what their commands use (the job-file models, the runner, pyarrow, the
dashboard ...), and importing all ten made `run` load the dashboard, the scheduler, the
replay code and more it never calls (`run --help`: 0.29 against 0.32 s of CPU, medians of 12
interleaved runs).  ``--help``, no command or an unknown one builds the whole parser, so help
and usage errors list every command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from legacy_bridge import __version__
from legacy_bridge.errors import BridgeError

# One line per command module: the subcommands it registers (tests/unit/cli checks the two agree).
COMMANDS: dict[str, tuple[str, ...]] = {
    "legacy_bridge.cli.discover": ("discover",),
    "legacy_bridge.cli.run": ("run",),
    "legacy_bridge.cli.inspect": ("validate", "schema", "reset"),
    "legacy_bridge.cli.status": ("status", "history"),
    "legacy_bridge.cli.catalog": ("catalog",),
    "legacy_bridge.cli.serve": ("serve",),
    "legacy_bridge.cli.schedule": ("schedule",),
    "legacy_bridge.cli.watch": ("watch",),
    "legacy_bridge.cli.files": ("files",),
    "legacy_bridge.cli.rejects": ("rejects", "replay", "preview"),
}
_MODULE_OF = {command: module for module, commands in COMMANDS.items() for command in commands}

EPILOG = """\
examples:
  legacy-bridge run erp_to_crm                 run every flow of jobs/erp_to_crm.toml once
  legacy-bridge run erp_to_crm --flow orders   one flow only
  legacy-bridge validate jobs/*.toml           check job files, every problem at once
  legacy-bridge status --json                  last run of every flow, for machines
  legacy-bridge history erp_to_crm --limit 5   past runs with counts and errors

exit codes: 0 all delivered, 3 finished with rejects, 1 failed (checkpoint intact), 2 configuration or usage error
"""


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", metavar="PATH|URL", help="state store (default: $LEGACY_BRIDGE_STATE or var/state.db beside jobs/)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"], help="json for log collectors")
    parser.add_argument("--metrics-file", metavar="PATH",
                        help="after each flow run, write Prometheus metrics here (node-exporter textfile collector)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or, given a command's name, of that command's module only."""
    parser = argparse.ArgumentParser(
        prog="legacy-bridge",
        description="Move rows from legacy systems (file drops, ODBC tables) to modern APIs, exactly once in effect.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"legacy-bridge {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    only = _MODULE_OF.get(command) if command is not None else None
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(name).register(sub)
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names after the global options, if it is one (else None)."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _global_options(pre)
    try:
        _known, rest = pre.parse_known_args(list(argv))
    except SystemExit:  # a bad global option: the whole parser says what is wrong
        return None
    return rest[0] if rest and rest[0] in _MODULE_OF else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(argv))
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
