"""Mapping throughput (issue 5): scripts/bench_mapping.py, run here and read back."""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

from bench.availability import missing_parts
from bench.measure import run_child
from bench.report import Result

LINE = re.compile(r"^(?P<name>\S.*?)\s+(?P<rate>[\d,]+) records/s")
NAME = "mapping 12 fields (in memory)"


def run_mapping(root: Path, rows: int, repeat: int, cpus: set[int] | None) -> list[Result]:
    script = root / "scripts" / "bench_mapping.py"
    missing = missing_parts(["common"]) if script.is_file() else ["scripts/bench_mapping.py"]
    if missing:
        return [Result(NAME, "-", "none", note=f"not available yet: {', '.join(missing)}")]
    rates: dict[str, list[float]] = {}
    rss: list[float] = []
    private: list[float] = []
    for _ in range(repeat):
        m = run_child([sys.executable, str(script), "--rows", str(rows)], cwd=root, cpus=cpus)
        if m.returncode != 0:
            tail = " / ".join((m.stderr.strip() or m.stdout.strip()).splitlines()[-3:])[:300]
            return [Result(NAME, "compiled mapping", "legacy_bridge", note=f"failed (exit {m.returncode}): {tail}")]
        rss.append(m.peak_rss_mb)
        private.append(m.peak_private_mb)
        for line in m.stdout.splitlines():
            match = LINE.match(line.strip())
            if match:
                rates.setdefault(match["name"], []).append(float(match["rate"].replace(",", "")))
        print("    " + "\n    ".join(m.stdout.strip().splitlines()), flush=True)
    out = []
    for name, values in sorted(rates.items(), key=lambda kv: not kv[0].startswith("compiled")):
        role = "legacy_bridge" if name.startswith("compiled") else "ceiling"
        note = "in-process timing; RSS holds all rows in memory" if role == "legacy_bridge" else ""
        out.append(Result(NAME, name, role, rates=[statistics.median(values)], rss_mb=[max(rss)], note=note,
                          private_mb=[max(private)]))
    return out or [Result(NAME, "-", "none", note="scripts/bench_mapping.py printed no rates")]
