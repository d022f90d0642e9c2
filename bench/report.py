"""The results table: printed, and written to bench/RESULTS.md with the date, machine and command."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Result:
    workload: str
    tool: str
    role: str
    rates: list[float] = field(default_factory=list)  # records/s per repeat
    rss_mb: list[float] = field(default_factory=list)
    note: str = ""
    private_mb: list[float] = field(default_factory=list)  # the largest RssAnon polled, per repeat

    @property
    def rate(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None

    @property
    def rss(self) -> float | None:
        return max(self.rss_mb) if self.rss_mb else None

    @property
    def private(self) -> float | None:
        return max(self.private_mb) if self.private_mb else None


HEADERS = ["workload", "tool", "records/s (median)", "peak RSS MB", "private MB", "legacy_bridge / this", "note"]


def rows(results: list[Result]) -> list[list[str]]:
    lb_rate: dict[str, float] = {}
    for r in results:
        if r.role == "legacy_bridge" and r.rate:
            lb_rate[r.workload] = r.rate
    out = []
    for r in results:
        ratio = ""
        if r.role != "legacy_bridge" and r.rate and r.workload in lb_rate:
            ratio = f"{lb_rate[r.workload] / r.rate:.2f}x"
        out.append([r.workload, r.tool, f"{r.rate:,.0f}" if r.rate else "-",
                    f"{r.rss:,.0f}" if r.rss else "-", f"{r.private:,.0f}" if r.private else "-", ratio, r.note])
    return out


def text_table(results: list[Result]) -> str:
    body = rows(results)
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(HEADERS)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in body]
    return "\n".join(lines)


def markdown_table(results: list[Result]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows(results)]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    mem_gb = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {mem_gb:.1f} GB memory, {platform.system()} {platform.release()}, "
            f"Python {sys.version.split()[0]}")


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)


def write_markdown(path: Path, results: list[Result], targets: list[str], command: str,
                   notes: list[str], profiles: list[tuple[str, Path, str]] | None = None) -> None:
    """``profiles`` (scripts/bench --profile): (workload, its profile's .md, a one-line summary)."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmark results",
        "",
        f"- date: {when}",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        "",
        "Records/s are end to end for one process run (start-up included), the median of the repeats "
        "(interleaved: each round runs every tool of a workload once, in turn); peak RSS is that process's own high-water resident set (`VmHWM` from /proc, which starts afresh "
        "at exec), the largest of the repeats. It counts the shared libraries' pages mapped from the page "
        "cache, which vary with the page cache's state (pyarrow's libraries right after pip wrote them: "
        "~26 MB more than after they were read back from disk; `--drop-caches` evens that out); private MB is the largest `RssAnon` "
        "polled every 20 ms, the memory the process allocated itself, which does not vary so. "
        "The ratio is legacy_bridge's rate divided by the tool's (above 1: legacy_bridge is faster).",
        "",
        markdown_table(results),
        "",
    ]
    if targets:
        parts += ["## Targets (issue 10)", "", *[f"- {t}" for t in targets], ""]
    if profiles is not None:
        parts += ["## Profiles", "",
                  "Where legacy_bridge's time goes: each workload's legacy_bridge run repeated under py-spy "
                  "(GIL-holding thread and all threads; not counted above), with the stage table and the top "
                  "functions; the raw folded stacks are written beside each file (not kept in git).", ""]
        parts += [f"- {workload}: [{_relative(md, path.parent)}]({_relative(md, path.parent)})"
                  + (f" ({note})" if note else "") for workload, md, note in profiles] or ["- none profiled"]
        parts.append("")
    if notes:
        parts += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    path.write_text("\n".join(parts), encoding="utf-8")
