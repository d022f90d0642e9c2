"""scripts/install-service on a real systemd: a Debian root booted with systemd-nspawn, the
scheduler unit running a job, surviving ``systemctl restart`` (every row delivered once), and the
timer unit.  Slow (a debootstrap the first time, a pip install from PyPI every time) and needs
root, systemd-nspawn and debootstrap; run with ``pytest -m slow``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.runtime.support import ROOT

SCRIPT = ROOT / "scripts" / "try-service-in-container"


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root (systemd-nspawn boots a container)"
    for tool, package in (("systemd-nspawn", "systemd-container"), ("debootstrap", "debootstrap")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (apt-get install {package})"
    return None


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")
def test_the_service_runs_a_job_and_survives_restart_on_real_systemd(tmp_path: Path) -> None:
    log = tmp_path / "try.log"
    with log.open("w") as out:
        proc = subprocess.run(["bash", str(SCRIPT)], stdout=out,
                              stderr=subprocess.STDOUT, text=True, timeout=1700)
    text = log.read_text()
    if proc.returncode == 2:
        pytest.skip(f"this machine cannot boot the container: {text.strip().splitlines()[-1]}")
    assert proc.returncode == 0, text
    for check in ("PASS scheduler active", "PASS first drop delivered by the scheduler",
                  "PASS active again after restart", "PASS every row exactly once",
                  "PASS timer active", "PASS still exactly once (9 lines, 9 keys)",
                  "PASS scheduler and timer on one flow"):
        assert check in text, text
    assert "FAIL" not in text, text
