"""scripts/bench --quick runs every workload at tiny sizes and writes its table (speed is not checked here)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BENCH_EXTRA = ("dlt", "requests", "httpx", "xlsxwriter")


def _missing_extra() -> list[str]:
    return [name for name in BENCH_EXTRA if importlib.util.find_spec(name) is None]


@pytest.fixture
def bench_extra() -> None:
    missing = _missing_extra()
    if missing and os.environ.get("LEGACY_BRIDGE_REQUIRE_BENCH") != "1":
        pytest.skip(f"the bench extra is not installed ({', '.join(missing)}): pip install -e '.[bench]'")


def run_bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run([sys.executable, "-m", "bench.harness", "--quick", "--output", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    return proc, out


@pytest.mark.usefixtures("bench_extra")
def test_quick_bench_writes_a_table_of_the_file_workloads(tmp_path: Path) -> None:
    proc, out = run_bench(tmp_path, "--only", "csv,xml,excel,mapping")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert "| workload | tool | records/s (median) | peak RSS MB | private MB |" in text
    assert "- machine: " in text and "- command: `scripts/bench --quick" in text
    for workload in ("| csv |", "| xml |", "| excel |"):
        assert workload in text, f"{workload} missing from\n{text}"
    for tool in ("hand-written (requests, batches of 100)", "dlt (@dlt.destination batch_size=100)",
                 "ceiling: csv.reader alone", "ceiling: lxml iterparse alone"):
        assert tool in text
    # every tool that ran delivered exactly what it read (the sink counts and checks)
    assert "count check" not in text and "failed (exit" not in text, text


@pytest.mark.usefixtures("bench_extra")
def test_quick_bench_measures_the_http_target_and_latency(tmp_path: Path) -> None:
    proc, out = run_bench(tmp_path, "--only", "http,latency")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    for workload in ("http target c=1", "http target c=8", "latency 20ms c=32"):
        assert f"| {workload} |" in text
    assert "count check" not in text and "failed (exit" not in text, text


@pytest.mark.sshd
@pytest.mark.usefixtures("bench_extra")
def test_quick_bench_fetches_the_csv_drop_over_sftp_from_a_real_sshd(tmp_path: Path) -> None:
    from bench.sftpd import problem

    if problem() and os.environ.get("LEGACY_BRIDGE_REQUIRE_BENCH") != "1":
        pytest.skip(f"the SFTP workload needs {problem()}")
    before = set(_running("lb-bench-sshd-"))
    proc, out = run_bench(tmp_path, "--only", "sftp")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    for tool in ("| sftp | legacy_bridge (concurrency 4) |", "| sftp | hand-written (paramiko get",
                 "| sftp | ceiling: paramiko download alone", "| sftp | ceiling: OpenSSH sftp client download alone"):
        assert tool in text, f"{tool} missing from\n{text}"
    # each tool delivered or counted every record of the drop; the bench's sshd is gone afterwards
    assert "count check" not in text and "failed (exit" not in text and "not available" not in text, text
    assert set(_running("lb-bench-sshd-")) <= before


def _running(marker: str) -> list[str]:
    """Command lines of the processes whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and marker in args:
            found.append(args)
    return found


def test_unknown_workload_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    proc, out = run_bench(tmp_path, "--only", "parquet")
    assert proc.returncode == 2
    assert "unknown workload(s) parquet" in proc.stderr and "csv" in proc.stderr
    assert not out.exists()
