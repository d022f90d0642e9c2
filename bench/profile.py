"""scripts/bench --profile: where legacy_bridge's time goes, from py-spy.

The workload's legacy_bridge run is repeated twice under ``py-spy record --format raw``: once
with ``--gil`` (only the thread holding the GIL is sampled: the interpreter-bound work) and once
without (every thread that is not idle, so C code that released the GIL is seen too: pyarrow
compute, the ODBC driver, socket I/O).  Those runs are not counted in the figures.

py-spy's raw output is folded stacks, one line per distinct stack, root first::

    _run_module_as_main (<frozen runpy>:198);main (legacy_bridge/cli/__init__.py:73);... 42

Written: ``<folder>/<workload>.md`` (stages, top functions, top lines) beside the raw files
``<workload>.gil.txt`` and ``<workload>.all.txt`` (feed them to flamegraph.pl or speedscope).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RATE = 250  # samples per second
TOP_INCLUSIVE = 25
TOP_SELF = 20
NOT_INSTALLED = "py-spy not installed (pip install py-spy)"


@dataclass(frozen=True)
class Rule:
    """A frame matches when its file starts with ``file`` and its function is ``func`` (a method's
    own name also matches: ``_commit`` matches ``FlowRun._commit``); an empty part matches anything."""

    file: str = ""
    func: str = ""

    def matches(self, func: str, file: str) -> bool:
        if self.file and not file.startswith(self.file):
            return False
        return not self.func or func == self.func or func.endswith("." + self.func)


# The stages a reader understands, in priority order: a sample counts for the first stage any of
# its frames matches (an import inside the CSV reader is start-up; a body encoded inside the
# target's send is encoding).  Files are as py-spy names them: relative to the package root.
OTHER = "other"
STAGES: list[tuple[str, tuple[Rule, ...]]] = [
    ("start-up (imports, CLI, job config)", (
        Rule("<frozen importlib"), Rule(func="_find_and_load"), Rule(func="build_parser"),
        Rule("<frozen site>"), Rule("legacy_bridge/config/"), Rule("legacy_bridge/mapping/compile.py"),
        Rule("legacy_bridge/mapping/codegen.py"), Rule(func="compile_mapping"),
    )),
    ("read + parse (source)", (
        Rule("legacy_bridge/sources/"), Rule("legacy_bridge/formats/"), Rule("legacy_bridge/transports/"),
        # pyarrow's CSV reader transcodes a cp1252 file through these, called from its own threads
        # (stacks without any legacy_bridge frame)
        Rule("encodings/", "IncrementalDecoder.decode"), Rule("encodings/", "IncrementalEncoder.encode"),
    )),
    ("map + encode", (
        Rule("legacy_bridge/columnar/"), Rule("legacy_bridge/mapping/"), Rule("<mapping>"),
        Rule("legacy_bridge/targets/values.py"), Rule("legacy_bridge/targets/profiles/", "request"),
        Rule("legacy_bridge/targets/profiles/", "encode"), Rule("legacy_bridge/targets/profiles/", "text_encoder"),
        Rule(func="map_batch"),
    )),
    ("send (HTTP)", (Rule("legacy_bridge/targets/"),)),
    ("checkpoint commits (state store)", (
        Rule("legacy_bridge/state/"), Rule("legacy_bridge/runtime/runner.py", "_commit"),
        Rule("legacy_bridge/runtime/runner.py", "_settle"),
    )),
]

# importlib's own frames, left out of the top-functions lists (``_find_and_load`` stands for them all)
_IMPORT_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


# --- parsing and summarising ----------------------------------------------------------------


def split_frame(frame: str) -> tuple[str, str, str]:
    """``'read (legacy_bridge/formats/csv.py:42)'`` -> ``('read', 'legacy_bridge/formats/csv.py', '42')``."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip(), "", ""
    return m["func"], short_file(m["file"]), m["line"] or ""


def short_file(path: str) -> str:
    """A short path: ``legacy_bridge/...`` for ours, the part after site-packages or the stdlib
    folder for the rest (py-spy already shortens, unless given --full-filenames)."""
    at = path.rfind("legacy_bridge/")
    if at == 0 or (at > 0 and path[at - 1] == "/"):
        return path[at:]
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    m = re.search(r"/lib/python3\.\d+/", path)
    return path[m.end():] if m else path


def function_name(frame: str) -> str:
    func, file, _ = split_frame(frame)
    return f"{func} ({file})" if file else func


def line_name(frame: str) -> str:
    func, file, line = split_frame(frame)
    return f"{func} ({file}:{line})" if line else function_name(frame)


def parse_folded(text: str) -> list[tuple[list[str], int]]:
    """py-spy's raw output: ``frame;frame;frame COUNT`` per line, root first."""
    stacks: list[tuple[list[str], int]] = []
    for raw in text.splitlines():
        stack, _, count = raw.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append(([f for f in stack.split(";") if f], int(count)))
    return stacks


def stage_of(frames: Sequence[str]) -> str:
    parts = [split_frame(f) for f in frames]
    for stage, rules in STAGES:
        if any(rule.matches(func, file) for func, file, _ in parts for rule in rules):
            return stage
    return OTHER


@dataclass
class Summary:
    samples: int
    rate: int
    inclusive: list[tuple[str, int]]  # function (file) -> samples with it anywhere on the stack
    self: list[tuple[str, int]]  # function (file:line) -> samples with it as the leaf
    stages: dict[str, int]  # every stage (and "other") -> samples, in STAGES order

    @property
    def seconds(self) -> float:
        return self.samples / self.rate

    def share(self, count: int) -> float:
        return 100.0 * count / self.samples if self.samples else 0.0


def summarise(stacks: Iterable[tuple[list[str], int]], rate: int = RATE, top_inclusive: int = TOP_INCLUSIVE,
              top_self: int = TOP_SELF) -> Summary:
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    stages: dict[str, int] = {name: 0 for name, _ in STAGES} | {OTHER: 0}
    total = 0
    for frames, count in stacks:
        if not frames:
            continue
        total += count
        names: dict[str, None] = {}  # root first, so ties list the caller first
        for frame in frames:
            func, file, _ = split_frame(frame)
            if file not in _IMPORT_FILES or func == "_find_and_load":
                names[f"{func} ({file})" if file else func] = None
        for name in names:  # a recursive function counts once per stack
            inclusive[name] += count
        leaf[line_name(frames[-1])] += count
        stages[stage_of(frames)] += count
    return Summary(total, rate, inclusive.most_common(top_inclusive), leaf.most_common(top_self), stages)


# --- running py-spy -------------------------------------------------------------------------


def find_pyspy() -> Path | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("py-spy")
    return Path(found) if found else None


@dataclass
class Recording:
    stacks: list[tuple[list[str], int]] = field(default_factory=list)
    wall_s: float = 0.0
    returncode: int | None = None
    said: str = ""  # py-spy's "Samples: N Errors: M" line
    problem: str = ""  # what went wrong: no samples, the timeout, the sink's count


def pyspy_command(pyspy: Path | str, output: Path, argv: Sequence[str], *, gil: bool, rate: int = RATE,
                  cpus: set[int] | None = None) -> list[str]:
    """The py-spy command line; the profiled program is pinned like the measured runs (``taskset`` in
    front of it), py-spy itself is left to the scheduler rather than made to share the program's core."""
    pin = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] if cpus and shutil.which("taskset") else []
    return [str(pyspy), "record", "--rate", str(rate), "--format", "raw", "--output", str(output),
            "--nonblocking", *(["--gil"] if gil else []), "--", *pin, *argv]


def record(pyspy: Path, output: Path, argv: Sequence[str], *, gil: bool, cwd: Path, cpus: set[int] | None,
           timeout: float, rate: int = RATE) -> Recording:
    """One run of ``argv`` under py-spy; the folded stacks end up in ``output``."""
    cmd = pyspy_command(pyspy, output, argv, gil=gil, rate=rate, cpus=cpus)
    pin_py_spy = bool(cpus) and cmd[cmd.index("--") + 1] != "taskset"  # no taskset: pin py-spy, its child follows

    def preexec() -> None:
        if pin_py_spy and cpus:
            os.sched_setaffinity(0, cpus)

    output.unlink(missing_ok=True)
    rec = Recording()
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        # its own session, so a run that outlives the timeout is ended with py-spy and the program together
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=preexec if pin_py_spy else None)
        try:
            rec.returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rec.problem = f"did not finish within {timeout:.0f} s"
        rec.wall_s = time.perf_counter() - start
        log.seek(0)
        said = log.read().decode(errors="replace")
    lines = [ln.removeprefix("py-spy> ").strip() for ln in said.splitlines() if ln.strip()]
    said_m = re.search(r"Samples: \d+ Errors: \d+", said)
    rec.said = said_m[0] if said_m else ""
    text = output.read_text(encoding="utf-8", errors="replace") if output.exists() else ""
    rec.stacks = parse_folded(text)
    if not rec.stacks and not rec.problem:
        tail = " / ".join(lines[-3:])[:300]
        rec.problem = f"py-spy wrote no samples (exit {rec.returncode}): {tail}"
    return rec


# --- the report -----------------------------------------------------------------------------


def file_safe(name: str) -> str:
    """``'latency 20ms c=32'`` -> ``'latency-20ms-c32'``."""
    return re.sub(r"[^A-Za-z0-9._]+", "-", name.replace("=", "")).strip("-.") or "workload"


@dataclass
class ProfileOutcome:
    workload: str
    markdown: Path
    note: str = ""  # a line for the console and RESULTS.md
    gil: Summary | None = None
    all_threads: Summary | None = None


def profile_tool(workload: str, command: Callable[[int], Sequence[str]], folder: Path, *, cwd: Path,
                 cpus: set[int] | None = None,
                 timeout: float = 3600.0, before: Callable[[], None] | None = None,
                 check: Callable[[], str] | None = None, rate: int = RATE) -> ProfileOutcome:
    """Profile the program twice, ``command(0)`` with ``--gil`` and ``command(1)`` for all threads (two
    argvs, so a job can use a fresh state store each time), write ``folder/<workload>.md`` and the raw files.
    ``before`` runs ahead of each run (the harness resets the sink there), ``check`` after it says
    what went wrong, if anything (py-spy exits 0 whatever the program did: the sink's count tells).
    Never raises for a missing or failing py-spy: the note says what happened and the bench goes on."""
    folder.mkdir(parents=True, exist_ok=True)
    base = file_safe(workload)
    md = folder / f"{base}.md"
    exe = find_pyspy()
    argv = list(command(0))
    if exe is None:
        _write(md, workload, argv, cwd, problem=NOT_INSTALLED)
        return ProfileOutcome(workload, md, NOT_INSTALLED)
    runs: dict[str, Recording] = {}
    for i, kind in enumerate(("gil", "all")):
        if before is not None:
            before()
        runs[kind] = record(exe, folder / f"{base}.{kind}.txt", command(i), gil=kind == "gil", cwd=cwd,
                            cpus=cpus, timeout=timeout, rate=rate)
        wrong = check() if check is not None else ""
        if wrong:
            runs[kind].problem = "; ".join(filter(None, [runs[kind].problem, wrong]))
    gil = summarise(runs["gil"].stacks, rate) if runs["gil"].stacks else None
    every = summarise(runs["all"].stacks, rate) if runs["all"].stacks else None
    cmd = pyspy_command("py-spy", Path(f"{base}.gil.txt"), argv, gil=True, rate=rate, cpus=cpus)
    _write(md, workload, argv, cwd, runs=runs, gil=gil, every=every, command=cmd)
    problems = [f"{kind}: {r.problem}" for kind, r in runs.items() if r.problem]
    if gil is not None:
        stage, n = max(gil.stages.items(), key=lambda kv: kv[1])
        note = (f"GIL held {gil.seconds:.1f} s of {runs['gil'].wall_s:.1f} s; "
                f"largest stage {stage} {gil.share(n):.0f} %")
    else:
        note = "no GIL profile"
    return ProfileOutcome(workload, md, "; ".join([note, *problems]), gil, every)


def _table(summary: Summary, items: list[tuple[str, int]]) -> list[str]:
    out = ["| # | function | share | seconds |", "| ---: | --- | ---: | ---: |"]
    for i, (name, n) in enumerate(items, 1):
        out.append(f"| {i} | `{name}` | {summary.share(n):.1f} % | {n / summary.rate:.2f} |")
    return out


def stage_table(gil: Summary, every: Summary | None) -> list[str]:
    head = "| stage | share of GIL samples | seconds |"
    rule = "| --- | ---: | ---: |"
    if every is not None:
        head += " share of all-thread samples | thread-seconds |"
        rule += " ---: | ---: |"
    out = [head, rule]
    for stage, n in gil.stages.items():
        row = f"| {stage} | {gil.share(n):.1f} % | {n / gil.rate:.2f} |"
        if every is not None:
            m = every.stages.get(stage, 0)
            row += f" {every.share(m):.1f} % | {m / every.rate:.2f} |"
        out.append(row)
    total = f"| total | 100 % | {gil.seconds:.2f} |"
    if every is not None:
        total += f" 100 % | {every.seconds:.2f} |"
    return [*out, total]


def _write(md: Path, workload: str, argv: Sequence[str], cwd: Path, *, problem: str = "",
           runs: dict[str, Recording] | None = None, gil: Summary | None = None, every: Summary | None = None,
           command: Sequence[str] = ()) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    base = file_safe(workload)
    parts = [f"# Profile: {workload}", "", f"- date: {when}",
             f"- command: `{shlex.join(command or argv)}` (and the same without `--gil` for all threads)"
             if command else f"- program: `{shlex.join(argv)}`",
             f"- in: `{cwd}`"]
    if problem:
        md.write_text("\n".join([*parts, "", problem, ""]), encoding="utf-8")
        return
    runs = runs or {}
    for kind, label in (("gil", "GIL"), ("all", "all threads")):
        r = runs.get(kind)
        if r is not None:
            parts.append(f"- {label} run: {r.wall_s:.1f} s wall under py-spy"
                         + (f"; py-spy: {r.said}" if r.said else "") + (f"; {r.problem}" if r.problem else ""))
    parts += [f"- raw folded stacks: `{base}.gil.txt`, `{base}.all.txt` (beside this file where the bench ran, not kept in git; flamegraph.pl or speedscope.app)",
              "",
              f"These two runs are extra ones under py-spy ({RATE} samples/s, `--nonblocking`), not counted in "
              "the results table. The GIL profile samples only the thread holding the GIL: the Python-level "
              "work, which one core bounds. The all-threads profile samples every thread that is not idle, so it "
              "also sees C code that released the GIL (pyarrow compute, the ODBC driver, socket I/O); with several "
              "threads busy its samples are thread-seconds and can exceed the wall time.",
              ""]
    if gil is not None:
        wall = runs["gil"].wall_s if "gil" in runs else 0.0
        held = f" of {wall:.1f} s wall ({100 * gil.seconds / wall:.0f} %)" if wall else ""
        parts += ["## Where the time goes, by stage", "",
                  f"{gil.samples:,} GIL samples = {gil.seconds:.2f} s with the GIL held{held}. A sample counts "
                  "for the first stage (top to bottom) that any frame of its stack belongs to; the rules are "
                  "`STAGES` in bench/profile.py.", "", *stage_table(gil, every), ""]
    for label, s in (("GIL held", gil), ("all threads", every)):
        if s is None:
            parts += [f"## {label}", "", "no samples: " + "; ".join(r.problem for r in runs.values() if r.problem), ""]
            continue
        parts += [f"## Top functions, {label} (inclusive)", "",
                  f"{s.samples:,} samples = {s.seconds:.2f} s; a function's share is of the samples with it "
                  "anywhere on the stack (once per stack, however deep it recurses). importlib's internal frames "
                  "are left out: `_find_and_load` stands for them.", "",
                  *_table(s, s.inclusive), "",
                  f"## Top lines, {label} (self)", "", "The line that was running (the leaf frame).", "",
                  *_table(s, s.self), ""]
    md.write_text("\n".join(parts), encoding="utf-8")
