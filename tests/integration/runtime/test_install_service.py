"""scripts/install-service staged in a temporary root (this machine runs no systemd): the files
a server gets, idempotence that keeps secrets and jobs, units systemd accepts, and the unit's
own command line running a job and stopping cleanly."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.runtime.support import ROOT, files_job, order_lines, wait_for, write_drop

SCRIPT = ROOT / "scripts" / "install-service"


def install(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    """A prefix whose venv/bin/legacy-bridge is this checkout's (no pip install in tests)."""
    p = tmp_path / "opt"
    (p / "venv" / "bin").mkdir(parents=True)
    (p / "venv" / "bin" / "legacy-bridge").symlink_to(ROOT / ".venv" / "bin" / "legacy-bridge")
    return p


def unit_settings(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_staged_install_is_complete_and_idempotent(tmp_path: Path, prefix: Path) -> None:
    stage = tmp_path / "stage"
    args = ["--root", str(stage), "--prefix", str(prefix), "--no-venv", "--user", "erpbridge",
            "--home", "/srv/bridge", "--watch", "erp_to_crm", "--timer", "erp_to_crm"]
    first = install(*args)
    assert first.returncode == 0, first.stderr
    units = stage / "etc" / "systemd" / "system"
    assert sorted(p.name for p in units.iterdir()) == [
        "legacy-bridge-run@.service", "legacy-bridge-run@.timer", "legacy-bridge-schedule.service",
        "legacy-bridge-watch@.service"]
    schedule = unit_settings(units / "legacy-bridge-schedule.service")
    assert schedule["User"] == ["erpbridge"] and schedule["WorkingDirectory"] == ["/srv/bridge"]
    assert schedule["ExecStart"] == [f"{prefix}/venv/bin/legacy-bridge --log-format json schedule"]
    assert "LEGACY_BRIDGE_JOBS=/srv/bridge/jobs" in schedule["Environment"]
    assert "su root erpbridge" in (stage / "etc" / "logrotate.d" / "legacy-bridge").read_text()
    for folder in ("srv/bridge/jobs", "srv/bridge/var", "var/log/legacy-bridge"):
        assert (stage / folder).is_dir()
    env = stage / "etc" / "legacy-bridge" / "env"
    assert oct(env.stat().st_mode & 0o777) == "0o640"
    # an operator fills in secrets and jobs; installing again (an upgrade) keeps them
    env.write_text("CRM_TOKEN=s3cret\n")
    (stage / "srv" / "bridge" / "jobs" / "mine.toml").write_text("name = 'mine'\n")
    again = install(*args)
    assert again.returncode == 0, again.stderr
    assert env.read_text() == "CRM_TOKEN=s3cret\n" and "kept as it is" in again.stdout
    assert (stage / "srv" / "bridge" / "jobs" / "mine.toml").exists()
    # a dry run touches nothing
    dry = install("--root", str(tmp_path / "dry"), "--dry-run")
    assert dry.returncode == 0 and "+ install -d" in dry.stdout and not (tmp_path / "dry").exists()
    assert install("--watch", "../etc").returncode == 2  # not a job name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path, prefix: Path) -> None:
    stage = tmp_path / "stage"
    assert install("--root", str(stage), "--prefix", str(prefix), "--no-venv").returncode == 0
    check = tmp_path / "verify"
    check.mkdir()
    for unit in (stage / "etc" / "systemd" / "system").iterdir():  # templates verified as instances
        shutil.copy(unit, check / unit.name.replace("@.", "@erp_to_crm."))
    proc = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in check.iterdir())],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_the_unit_command_runs_a_job_and_survives_a_restart(tmp_path: Path, prefix: Path) -> None:
    stage = tmp_path / "stage"
    home = tmp_path / "home"
    assert install("--root", str(stage), "--prefix", str(prefix), "--no-venv", "--home", str(home)).returncode == 0
    unit = unit_settings(stage / "etc" / "systemd" / "system" / "legacy-bridge-schedule.service")
    home = stage / str(home).lstrip("/")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LEGACY_BRIDGE_STATE", None)
    for item in unit["Environment"]:
        key, value = item.split("=", 1)
        env[key] = str(stage) + value if value.startswith("/") else value
    (home / "jobs" / "drops.toml").write_text(  # the real jsonl target: the unit runs the plain CLI
        files_job("drops", schedule="* * * * * *", target='kind = "jsonl"\npath = "var/sink.jsonl"'))
    lines = order_lines()[1]
    command = shlex.split(unit["ExecStart"][0])
    sink = home / "var" / "sink.jsonl"
    for start in range(2):  # start, then a restart (SIGTERM + start) with a new file waiting
        write_drop(home / "drop", f"ORDERS_{start}.csv", lines[start * 20:(start + 1) * 20])
        log = tmp_path / f"service{start}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_for(lambda n=start: sink.exists() and len(sink.read_text().splitlines()) >= (n + 1) * 20,
                         what="the job to run")
            finally:
                proc.terminate()
                assert proc.wait(timeout=60) == 0, log.read_text()
    assert len(sink.read_text().splitlines()) == 40
    assert (home / "var" / "state.db").exists()  # the default state store beside jobs/
