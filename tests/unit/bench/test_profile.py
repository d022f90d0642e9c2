"""bench/profile.py: py-spy's folded stacks summarised (no py-spy run, no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import profile
from bench.profile import OTHER, STAGES, parse_folded, split_frame, stage_of, summarise

START_UP, READ, MAP, SEND, CHECKPOINT = (name for name, _ in STAGES)

MAIN = "_run_module_as_main (<frozen runpy>:198);main (legacy_bridge/cli/__init__.py:73)"
IMPORT = ("_find_and_load (<frozen importlib._bootstrap>:1176);"
          "_load_unlocked (<frozen importlib._bootstrap>:690)")
CSV = "FilesSource.batches (legacy_bridge/sources/files.py:120);_scan (legacy_bridge/formats/csv.py:471)"
FOLDED = f"""\
{MAIN};walk (tree.py:10);walk (tree.py:12);walk (tree.py:12) 3
{MAIN};walk (tree.py:10) 2
{MAIN};{IMPORT};{CSV} 4
{MAIN};{CSV} 5
{MAIN};FlowRun._units (legacy_bridge/runtime/runner.py:230);VectorMapping.map_batch (legacy_bridge/columnar/vector.py:88) 6
Thread.run (threading.py:982);ApiTarget.send (legacy_bridge/targets/batching.py:88);SocketIO.readinto (socket.py:706) 7
{MAIN};FlowRun._settle (legacy_bridge/runtime/runner.py:272);FlowRun._commit (legacy_bridge/runtime/runner.py:298) 8
{MAIN};ThreadPoolExecutor.submit (concurrent/futures/thread.py:175) 1

not a stack line
"""


@pytest.fixture
def stacks() -> list[tuple[list[str], int]]:
    return parse_folded(FOLDED)


def test_parse_reads_frames_root_first_and_skips_what_is_not_a_stack(stacks: list[tuple[list[str], int]]) -> None:
    assert len(stacks) == 8
    frames, count = stacks[0]
    assert count == 3
    assert frames[0] == "_run_module_as_main (<frozen runpy>:198)"
    assert frames[-1] == "walk (tree.py:12)"


def test_frames_split_into_function_short_file_and_line() -> None:
    assert split_frame("_scan (legacy_bridge/formats/csv.py:471)") == ("_scan", "legacy_bridge/formats/csv.py", "471")
    assert split_frame("_scan (/work/main/legacy_bridge/formats/csv.py:471)") == (
        "_scan", "legacy_bridge/formats/csv.py", "471")
    assert split_frame("get (/x/.venv/lib/python3.11/site-packages/pyarrow/compute.py:9)") == (
        "get", "pyarrow/compute.py", "9")
    assert split_frame("<module> (<frozen site>:616)") == ("<module>", "<frozen site>", "616")
    assert split_frame("no parentheses") == ("no parentheses", "", "")


def test_inclusive_counts_a_recursive_function_once_per_stack(stacks: list[tuple[list[str], int]]) -> None:
    s = summarise(stacks, rate=100)
    inclusive = dict(s.inclusive)
    assert inclusive["walk (tree.py)"] == 3 + 2  # not 3 * 3 + 2
    assert inclusive["main (legacy_bridge/cli/__init__.py)"] == 3 + 2 + 4 + 5 + 6 + 8 + 1
    assert inclusive["_scan (legacy_bridge/formats/csv.py)"] == 4 + 5
    # importlib's internals are folded into _find_and_load
    assert inclusive["_find_and_load (<frozen importlib._bootstrap>)"] == 4
    assert not any(name.startswith("_load_unlocked") for name in inclusive)
    assert s.inclusive[:2] == [("_run_module_as_main (<frozen runpy>)", 29),  # a tie: the caller first
                               ("main (legacy_bridge/cli/__init__.py)", 29)]


def test_self_is_the_leaf_frame_with_its_line(stacks: list[tuple[list[str], int]]) -> None:
    self_ = dict(summarise(stacks, rate=100).self)
    assert self_["walk (tree.py:12)"] == 3
    assert self_["walk (tree.py:10)"] == 2
    assert self_["_scan (legacy_bridge/formats/csv.py:471)"] == 9
    assert "main (legacy_bridge/cli/__init__.py:73)" not in self_
    assert sum(self_.values()) == 36


def test_totals_and_seconds_come_from_the_rate(stacks: list[tuple[list[str], int]]) -> None:
    s = summarise(stacks, rate=250)
    assert s.samples == 36
    assert s.seconds == pytest.approx(36 / 250)
    assert s.share(9) == pytest.approx(25.0)


def test_top_lists_are_cut_to_their_length(stacks: list[tuple[list[str], int]]) -> None:
    s = summarise(stacks, rate=100, top_inclusive=3, top_self=2)
    assert len(s.inclusive) == 3 and len(s.self) == 2
    assert s.self == [("_scan (legacy_bridge/formats/csv.py:471)", 9),
                      ("FlowRun._commit (legacy_bridge/runtime/runner.py:298)", 8)]


def test_a_stack_counts_for_the_first_stage_in_priority_order() -> None:
    importing_csv = [*MAIN.split(";"), *IMPORT.split(";"), *CSV.split(";")]
    assert stage_of(importing_csv) == START_UP  # an import under the CSV reader is start-up
    assert stage_of([*MAIN.split(";"), *CSV.split(";")]) == READ
    encode_in_send = ["ApiTarget.send (legacy_bridge/targets/batching.py:88)", "dumps (legacy_bridge/targets/values.py:80)"]
    assert stage_of(encode_in_send) == MAP  # encoding wins over sending
    assert stage_of(encode_in_send[:1]) == SEND
    assert stage_of(["FlowRun._commit (legacy_bridge/runtime/runner.py:298)"]) == CHECKPOINT
    assert stage_of(["SqlStateStore.commit_batches (legacy_bridge/state/sql.py:300)"]) == CHECKPOINT
    assert stage_of(["FlowRun._pump (legacy_bridge/runtime/runner.py:207)"]) == OTHER
    assert stage_of(["build_parser (legacy_bridge/cli/__init__.py:44)"]) == START_UP


def test_stage_shares_add_up_to_the_whole(stacks: list[tuple[list[str], int]]) -> None:
    s = summarise(stacks, rate=100)
    assert list(s.stages) == [*(name for name, _ in STAGES), OTHER]
    assert sum(s.stages.values()) == s.samples
    assert sum(s.share(n) for n in s.stages.values()) == pytest.approx(100.0)
    assert s.stages == {START_UP: 4, READ: 5, MAP: 6, SEND: 7, CHECKPOINT: 8, OTHER: 3 + 2 + 1}


def test_stage_table_rows_and_total(stacks: list[tuple[list[str], int]]) -> None:
    s = summarise(stacks, rate=100)
    table = profile.stage_table(s, s)
    assert len(table) == 2 + len(STAGES) + 1 + 1
    assert table[2].startswith(f"| {START_UP} | 11.1 % | 0.04 |")
    assert table[-1] == "| total | 100 % | 0.36 | 100 % | 0.36 |"


def test_workload_names_become_file_names() -> None:
    assert profile.file_safe("latency 20ms c=32") == "latency-20ms-c32"
    assert profile.file_safe("csv") == "csv"


def test_missing_py_spy_is_a_note_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert profile.find_pyspy() is None
    outcome = profile.profile_tool("latency 20ms c=32", lambda i: ["python", "-m", "legacy_bridge", "run", "bench"], tmp_path / "profiles", cwd=tmp_path)
    assert outcome.note == "py-spy not installed (pip install py-spy)"
    assert outcome.gil is None and outcome.all_threads is None
    assert outcome.markdown == tmp_path / "profiles" / "latency-20ms-c32.md"
    text = outcome.markdown.read_text(encoding="utf-8")
    assert "py-spy not installed (pip install py-spy)" in text
    assert "python -m legacy_bridge run bench" in text
    assert not list((tmp_path / "profiles").glob("*.txt"))


def test_the_py_spy_command_pins_the_program_not_py_spy() -> None:
    argv = ["python", "-m", "legacy_bridge", "run", "bench"]
    gil = profile.pyspy_command("py-spy", Path("out.txt"), argv, gil=True, cpus={0})
    assert gil[:9] == ["py-spy", "record", "--rate", "250", "--format", "raw", "--output", "out.txt", "--nonblocking"]
    assert "--gil" in gil
    after = gil[gil.index("--") + 1:]
    assert after[-len(argv):] == argv
    assert after[:-len(argv)] in ([], ["taskset", "-c", "0"])  # taskset when the machine has it
    every = profile.pyspy_command("py-spy", Path("out.txt"), argv, gil=False, cpus=None)
    assert "--gil" not in every and every[every.index("--") + 1:] == argv


FAKE_PY_SPY = """#!/bin/sh
# stands in for py-spy: writes a folded file to --output and says what py-spy says
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out="$2"; shift 2 ;;
    --) shift; break ;;
    *) shift ;;
  esac
done
echo "$*" >> "$(dirname "$0")/programs.txt"
printf '%s\\n' "main (legacy_bridge/cli/__init__.py:73);_scan (legacy_bridge/formats/csv.py:471) 3" \\
  "main (legacy_bridge/cli/__init__.py:73);_find_and_load (<frozen importlib._bootstrap>:1176) 1" > "$out"
echo "py-spy> Wrote raw flamegraph data to '$out'. Samples: 4 Errors: 0"
"""


def test_a_profile_is_written_from_two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "py-spy"
    fake.write_text(FAKE_PY_SPY)
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    events: list[str] = []
    outcome = profile.profile_tool(
        "csv", lambda i: ["python", "-m", "legacy_bridge", "--state", f"state-{i}.db", "run", "bench"],
        tmp_path / "profiles", cwd=tmp_path, before=lambda: events.append("reset"),
        check=lambda: "count check: got 0 of 4" if len(events) == 2 else "")
    folder = tmp_path / "profiles"
    assert sorted(p.name for p in folder.iterdir()) == ["csv.all.txt", "csv.gil.txt", "csv.md"]
    programs = (bin_dir / "programs.txt").read_text().splitlines()
    assert [p.split("--state ")[1].split()[0] for p in programs] == ["state-0.db", "state-1.db"]
    assert events == ["reset", "reset"]
    assert outcome.gil is not None and outcome.gil.samples == 4
    assert outcome.gil.stages[START_UP] == 1 and outcome.gil.stages[READ] == 3
    assert "largest stage read + parse (source) 75 %" in outcome.note
    assert "all: count check: got 0 of 4" in outcome.note
    text = outcome.markdown.read_text(encoding="utf-8")
    assert "# Profile: csv" in text and "Samples: 4 Errors: 0" in text
    assert f"| {READ} | 75.0 % | 0.01 |" in text
    assert "`_scan (legacy_bridge/formats/csv.py:471)`" in text
