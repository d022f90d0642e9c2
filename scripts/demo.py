#!/usr/bin/env python3
"""Run erp_to_crm against the local CRM sandbox and show what the sandbox holds afterwards.

The sandbox keeps its data in var/crm-sandbox.db and the job its state in var/state.db,
so a second run continues where the first stopped (and finds nothing new).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from legacy_bridge.sandbox.client import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    os.chdir(ROOT)
    (ROOT / "var").mkdir(exist_ok=True)
    token = secrets.token_urlsafe(24)  # a fresh sandbox token per demo run
    sandbox = SandboxProcess(db=ROOT / "var" / "crm-sandbox.db", token=token)
    try:
        env = {**os.environ, "CRM_URL": sandbox.url, "CRM_TOKEN": token}
        print(f"CRM sandbox listening on {sandbox.url} (data in var/crm-sandbox.db)\n")
        cmd = [sys.executable, "-m", "legacy_bridge.jobs.erp_to_crm", *sys.argv[1:]]
        code = subprocess.call(cmd, env=env)
        stats = sandbox.stats()
        print("\nthe CRM sandbox now holds:")
        for object_type, count in sorted(stats.get("objects", {}).items()):
            print(f"  {object_type:<12} {count}")
        for pair, count in sorted(stats.get("associations", {}).items()):
            print(f"  {pair:<12} {count} associations")
        print(f"  ({stats.get('calls', 0)} API calls received in all)")
        print("\nnext: run scripts/demo again (nothing new is sent), or see `.venv/bin/legacy-bridge status`")
        return code
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
