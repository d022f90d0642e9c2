"""``python -m legacy_bridge.jobs.<name>`` entry points, and Python hooks jobs may use.

Each job module is a thin door to the same CLI: ``python -m legacy_bridge.jobs.erp_to_crm``
does what ``legacy-bridge run erp_to_crm`` does and takes the same options.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from legacy_bridge.cli import main as cli_main


def main_for(job: str, argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    global_opts: list[str] = []
    # options of the top-level parser may be given too: --state, --log-level, --log-format, --metrics-file
    for flag in ("--state", "--log-level", "--log-format", "--metrics-file"):
        while flag in args:
            i = args.index(flag)
            global_opts += args[i:i + 2]
            del args[i:i + 2]
    command = "run"
    if "--watch" in args:  # watch takes its own options; one it does not take is a usage error (exit 2)
        command = "watch"
        args.remove("--watch")
    return cli_main([*global_opts, command, job, *args])
