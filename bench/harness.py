"""scripts/bench: every workload through legacy_bridge and through the alternatives, in one run.

    scripts/bench [--quick] [--only csv,xml] [--sizes csv=100000,xml=50000] [--repeat 3] [--profile]
                  [--drop-caches]

Each workload's tools run in rounds (every tool once per round), so the repeats of the tools
compared are interleaved in time.  Prints the table and writes bench/RESULTS.md.  With
--profile, each workload's legacy_bridge run is repeated under py-spy (not counted) and
bench/profiles/<workload>.md says where its time goes.
A workload whose legacy_bridge parts are missing says "not available yet: <part>" and the rest
still runs.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import run_child
from bench.pgpin import postgres_on
from bench.profile import ProfileOutcome, profile_tool
from bench.report import Result, text_table, write_markdown
from bench.sftpd import Sftpd
from bench.sinkctl import Sink
from bench.targets import evaluate
from bench.workloads import (
    DEFAULT_SIZES,
    LATENCY_CONCURRENCY,
    QUICK_SIZES,
    WORKLOADS,
    Env,
    Tool,
    Workload,
    file_workload,
    http_workloads,
    latency_workloads,
    odbc_workload,
    sftp_workload,
)
from bench.workloads_mapping import run_mapping

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (CI smoke: does it run?)")
    p.add_argument("--only", action="append", default=[], metavar="W",
                   help=f"run only these workloads (repeatable or comma-separated): {', '.join(WORKLOADS)}")
    p.add_argument("--sizes", default="", metavar="W=N,...",
                   help="records per workload, e.g. csv=100000,xml=50000 (keys: " + ", ".join(DEFAULT_SIZES) + ")")
    p.add_argument("--repeat", type=int, default=None, help="runs per tool; the median is reported (default 3)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument("--no-pin", action="store_true", help="do not pin the sink and the clients to separate cores")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds one tool run may take")
    p.add_argument("--drop-caches", action="store_true",
                   help="before the first workload, write back and drop the page cache (needs root): a library "
                        "pip has just written counts more pages in a process's peak RSS than one read back from "
                        "disk, so the RSS column depends on it; the private column does not")
    p.add_argument("--profile", action="store_true",
                   help="after measuring, run each workload's legacy_bridge tool again under py-spy (GIL and all "
                        "threads; not counted) and write <output folder>/profiles/<workload>.md")
    args = p.parse_args(argv)
    sizes = dict(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    for item in filter(None, args.sizes.split(",")):
        key, _, value = item.partition("=")
        if key not in sizes or not value.replace("_", "").isdigit():
            p.error(f"--sizes: {item!r} is not KEY=NUMBER with KEY one of {', '.join(sizes)}")
        sizes[key] = int(value.replace("_", ""))
    args.size_map = sizes
    only = [w for item in args.only for w in item.split(",") if w]
    unknown = [w for w in only if w not in WORKLOADS]
    if unknown:
        p.error(f"--only: unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    args.workloads = only or WORKLOADS
    args.repeat = args.repeat or (1 if args.quick else 3)
    return args


def run_workload(workload: Workload, sink: Sink | None, repeat: int, timeout: float,
                 cpus: set[int] | None) -> list[Result]:
    """Every tool of the workload, ``repeat`` times, interleaved: round r runs each tool once, in
    turn, so a slow spell of a shared machine (a noisy neighbour, a CPU throttled for a minute)
    falls on every tool of the round rather than on the three runs of one, and the ratios compare
    runs made minutes apart at most.  A tool that failed is not run again."""
    results = [Result(workload.name, tool.name, tool.role, note=tool.note) for tool in workload.tools]
    problems: list[list[str]] = [[] for _ in workload.tools]
    skip = [bool(tool.unavailable) or tool.command is None for tool in workload.tools]  # or failed
    for tool, result, unavailable in zip(workload.tools, results, skip, strict=True):
        if unavailable:
            result.note = tool.unavailable or "not available"
    for rep in range(repeat):
        for i, (tool, result) in enumerate(zip(workload.tools, results, strict=True)):
            if not skip[i]:
                skip[i] = not _run_once(tool, rep, result, problems[i], sink, timeout, cpus)
    for result, found in zip(results, problems, strict=True):
        if found:
            result.note = "; ".join(filter(None, [result.note, *dict.fromkeys(found)]))
    return results


def _run_once(tool: Tool, rep: int, result: Result, problems: list[str], sink: Sink | None, timeout: float,
              cpus: set[int] | None) -> bool:
    """One measured run of ``tool`` into ``result``; False when it failed (not run again)."""
    assert tool.command is not None
    if sink and tool.sends:
        sink.reset()
    m = run_child(tool.command(rep), cwd=tool.cwd or ROOT, timeout=timeout, cpus=cpus)
    if m.returncode not in (0, 3):
        tail = (m.stderr.strip() or m.stdout.strip()).splitlines()[-3:]
        problems.append(f"failed (exit {m.returncode}): {' / '.join(tail)[:300]}")
        print(f"    {tool.name}: FAILED exit {m.returncode}\n      " + "\n      ".join(tail), flush=True)
        return False
    got = tool.expect
    if sink and tool.sends:
        got = sink.stats()["records"]
    elif m.records() is not None:
        got = m.records() or 0
    if got != tool.expect:
        problems.append(f"count check: got {got:,} of {tool.expect:,}")
    result.rates.append(got / m.wall_s)
    result.rss_mb.append(m.peak_rss_mb)
    result.private_mb.append(m.peak_private_mb)
    print(f"    {tool.name}: {got / m.wall_s:,.0f} records/s, {m.wall_s:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB "
          f"({m.peak_private_mb:.0f} MB private)", flush=True)
    return True


def profiled_tool(workload: Workload) -> Tool | None:
    """The tool --profile runs under py-spy: the legacy_bridge one; for latency only at the top
    concurrency; none for the HTTP-target workloads (bench.lb_target, not the runner)."""
    if workload.name.startswith(("http target", "mapping")):
        return None
    if workload.name.startswith("latency") and not workload.name.endswith(f"c={max(LATENCY_CONCURRENCY)}"):
        return None
    return next((t for t in workload.tools
                 if t.role == "legacy_bridge" and t.command is not None and not t.unavailable), None)


def profile_workload(workload: Workload, tool: Tool, sink: Sink | None, repeat: int, folder: Path,
                     timeout: float, cpus: set[int] | None) -> ProfileOutcome:
    assert tool.command is not None
    command = tool.command
    # repeat indexes from ``repeat`` on: state stores none of the measured runs (nor the other profiled
    # run) used, so each profiled run does the whole work again instead of finding it checkpointed

    def argv(i: int) -> list[str]:
        return command(repeat + i)

    before = check = None
    if sink and tool.sends:
        def count() -> str:
            assert sink is not None
            got = sink.stats()["records"]
            return "" if got == tool.expect else f"count check: got {got:,} of {tool.expect:,}"

        before, check = sink.reset, count
    outcome = profile_tool(workload.name, argv, folder, cwd=tool.cwd or ROOT, cpus=cpus, timeout=timeout,
                           before=before, check=check)
    print(f"    profile: {outcome.markdown} ({outcome.note})", flush=True)
    return outcome


def drop_caches() -> str:
    """Write back and drop the page cache (root only); what was done, for the results' notes."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        print(f"bench: --drop-caches: could not drop the page cache ({exc.strerror}; it needs root); "
              "going on with it as it is", flush=True)
        return f"--drop-caches asked, but the page cache could not be dropped ({exc.strerror})"
    return "the page cache was dropped before the first workload (--drop-caches)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "scripts/bench" + ("" if argv is None and len(sys.argv) <= 1 else " " + shlex.join(
        sys.argv[1:] if argv is None else argv))
    n_cpu = len(os.sched_getaffinity(0))
    pin = not args.no_pin and n_cpu >= 2
    cpus = sorted(os.sched_getaffinity(0))
    client_cpus, sink_cpus = ({cpus[0]}, {cpus[-1]}) if pin else (None, None)
    data = ROOT / "bench" / "data"
    data.mkdir(parents=True, exist_ok=True)
    # what an installed package has: byte-code compiled once (an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would otherwise compile ~130 modules in every measured process)
    compileall.compile_dir(ROOT / "legacy_bridge", quiet=1)
    compileall.compile_dir(ROOT / "bench", quiet=1)
    results: list[Result] = []
    notes: list[str] = []
    if args.drop_caches:
        notes.append(drop_caches())
    sinks: dict[str, Sink] = {}
    profiles: list[ProfileOutcome] = []
    profile_dir = args.output.parent / "profiles"

    def sink_for(kind: str) -> Sink:
        if kind not in sinks:
            sinks[kind] = Sink(ROOT, 20.0 if kind == "slow" else 0.0, sink_cpus)
        return sinks[kind]

    servers: list[Sftpd] = []

    def sftpd() -> Sftpd:
        if not servers:
            servers.append(Sftpd(sink_cpus))  # a server: on the sink's core, like the sink
        return servers[0]

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lb-bench-") as tmp:
        env = Env(root=ROOT, data=data, tmp=Path(tmp), sizes=args.size_map, seed=args.seed,
                  fast_url=lambda: sink_for("fast").url, slow_url=lambda: sink_for("slow").url, sftpd=sftpd)
        try:
            for name in args.workloads:
                print(f"== {name}", flush=True)
                if name == "mapping":
                    results += run_mapping(ROOT, args.size_map["mapping"], args.repeat, client_cpus)
                    continue
                try:
                    if name in ("csv", "xml", "excel"):
                        batch = [file_workload(env, name)]
                    elif name == "sftp":
                        batch = [sftp_workload(env)]
                    elif name == "odbc":
                        batch = [odbc_workload(env)]
                    elif name == "latency":
                        batch = latency_workloads(env)
                    else:
                        batch = http_workloads(env)
                except Exception as exc:  # preparing one workload must not end the bench
                    results.append(Result(name, "-", "none", note=f"could not prepare: {exc}"))
                    print(f"    could not prepare {name}: {exc}", flush=True)
                    continue
                for w in batch:
                    if w.unavailable:
                        results.append(Result(w.name, "-", "none", note=w.unavailable))
                        print(f"    {w.unavailable}", flush=True)
                        continue
                    sink = None if w.sink == "none" else sink_for(w.sink)
                    # the database is a server too: on the sink's core while its workload runs
                    with postgres_on(sink_cpus if w.name == "odbc" else None) as unpinned:
                        if w.name == "odbc" and pin:
                            notes.append(unpinned or f"PostgreSQL's processes pinned to CPU {cpus[-1]} "
                                                     "while the odbc workload ran")
                        results += run_workload(w, sink, args.repeat, args.timeout, client_cpus)
                        target = profiled_tool(w) if args.profile else None
                        if target is not None:
                            profiles.append(profile_workload(w, target, sink, args.repeat, profile_dir,
                                                             args.timeout, client_cpus))
        finally:
            for s in sinks.values():
                s.stop()
            for server in servers:
                server.stop()
    if pin:
        notes.append(f"clients pinned to CPU {cpus[0]}, the sink to CPU {cpus[-1]} (one core each)")
    notes.append(f"sizes: {', '.join(f'{k}={v:,}' for k, v in args.size_map.items())}; seed {args.seed}; "
                 f"repeats {args.repeat}; bench took {time.monotonic() - started:.0f} s")
    targets = [] if args.quick else evaluate(results)
    print()
    print(text_table(results))
    for t in targets:
        print(f"  {t}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_markdown(args.output, results, targets, command, notes,
                   profiles=[(p.workload, p.markdown, p.note) for p in profiles] if args.profile else None)
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
