"""The bad-input corpus (tests/faults/corpus.py) dropped beside good files and run once through
the real CLI: every bad file quarantined or its records rejected with a reason naming the file
(and, for text formats, a position); every good record delivered; the run's peak RSS under the
ceiling; nothing hangs (the run has a timeout)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping

import pytest

from legacy_bridge.sandbox.client import SandboxProcess
from legacy_bridge.state import open_store
from tests.faults.corpus import Case, generate
from tests.faults.harness import Outcome, crm_env, norm
from tests.fixtures.project import ROOT, Project

pytestmark = pytest.mark.faults
CEILING_MB = int(os.environ.get("LEGACY_BRIDGE_FAULTS_RSS_MB") or 256)
POSITION = re.compile(r"\b(line|lines|byte|offset|row|record|column|position)\b", re.IGNORECASE)

TARGET = """
[flows.target]
kind = "hubspot"
base_url = "${env:CRM_URL}"
object = "contacts"
id_property = "erp_id"
auth = { type = "bearer", token = "${env:CRM_TOKEN}" }
batch_size = 100
"""
AFTER = 'after = { success = "leave", failure = "quarantine", quarantine_to = "failed" }'


def flow(name: str, patterns: str, fmt: str, key: str) -> str:
    return f"""
[[flows]]
name = "{name}"
[flows.source]
kind = "files"
transport = {{ kind = "local" }}
path = "drop"
pattern = {patterns}
format = {fmt}
{AFTER}
[flows.mapping]
key = "{key}"
[flows.mapping.fields]
erp_id = "{key}"
name = "NAME"
city = "CITY"
{TARGET}"""


JOB = 'name = "bad"\n' + flow("csv", '["*.csv"]', '{ kind = "csv", delimiter = ";" }', "ID") + \
    flow("xml", '["*.xml"]', '{ kind = "xml", record = "rec" }', "@id") + \
    flow("excel", '["*.xlsx", "*.xls"]', '{ kind = "excel" }', "ID")

MEASURED = """
import sys
from legacy_bridge.cli import main
code = main(sys.argv[1:])
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(f"PEAK_RSS_KB {peak[0]}", file=sys.stderr)  # VmHWM: this process only (ru_maxrss survives exec)
sys.exit(code)
"""


def judge(case: Case, outcome: Outcome, files: Mapping[str, tuple[str, str]], rejects: dict[str, list[str]],
          held: dict[str, dict[str, str]], text_format: bool) -> str:
    """How ``case`` was handled ('quarantined', 'rejected N', 'delivered', ...); problems go to outcome."""
    status, reason = files.get(case.name, ("", ""))
    if not status:  # quarantined files are listed under their new name
        status, reason = next(((s, r) for n, (s, r) in files.items() if n.endswith("/" + case.name)), ("", ""))
    if case.expect == "deliver":
        missing = [k for k in case.good_keys if k not in held]
        wrong = [k for k in case.good_keys if k in held and (norm(held[k].get("city")) != "Köln"
                                                             or not str(held[k].get("name", "")).startswith("Name "))]
        outcome.expect(not missing and not wrong, f"{case.name} ({case.what}): records missing {missing[:3]} "
                                                  f"or wrong {wrong[:3]}; ledger: {status} {reason}; "
                                                  f"rejects: {rejects.get(case.name, [])[:3]}")
        return "delivered" if not missing else f"not delivered ({status})"
    if case.expect == "empty":
        outcome.expect(status in ("done", "quarantined"), f"{case.name} ({case.what}): ledger status {status!r}")
        return status or "not seen"
    if status == "quarantined":
        outcome.expect(case.name in (reason or ""), f"{case.name}: the quarantine reason does not name the file: {reason!r}")
        if text_format:
            outcome.expect(bool(POSITION.search(reason or "")),
                           f"{case.name}: the quarantine reason names no position: {reason!r}")
        return "quarantined"
    got = rejects.get(case.name, [])
    if got:
        outcome.expect(all(p for p in got), f"{case.name}: rejects without a position: {got[:3]}")
        return f"rejected {len(got)} at {got[0]}"
    outcome.problems.append(f"{case.name} ({case.what}): neither quarantined nor rejected (ledger: {status!r} "
                            f"{reason!r})")
    return f"accepted ({status})"


def test_bad_input_corpus(project: Project, sandbox_factory: Callable[..., SandboxProcess],
                          outcome: Outcome) -> None:
    cases = generate(project.root / "drop")
    for path in (project.root / "drop").iterdir():  # old enough to be stable
        os.utime(path, (path.stat().st_mtime - 3600,) * 2)
    project.write_job("bad", JOB)
    crm = sandbox_factory()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **crm_env(crm)}
    try:
        proc = subprocess.run([sys.executable, "-c", MEASURED, "run", "bad"], cwd=project.root, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        outcome.problems.append("the run hung: no answer within 300 s")
        outcome.check()
        return
    peak = int(m.group(1)) // 1024 if (m := re.search(r"PEAK_RSS_KB (\d+)", proc.stderr)) else -1
    outcome.expect(0 <= peak <= CEILING_MB, f"peak RSS {peak} MB above the ceiling of {CEILING_MB} MB "
                                            "(-1: the run died before measuring)")
    outcome.expect("Traceback" not in proc.stderr, f"the run crashed: {proc.stderr[-800:]}")
    store = open_store(str(project.state))
    try:
        files: dict[str, tuple[str, str]] = {e.name: (str(e.status), e.reason or "") for e in store.list_files("bad")}
        rejects: dict[str, list[str]] = {}
        for r in store.list_rejects("bad", status=None):
            rejects.setdefault(r.origin.rsplit("/", 1)[-1], []).append(r.position)
    finally:
        store.close()
    held = crm.objects("contacts")
    verdicts = [f"{c.name}: {judge(c, outcome, files, rejects, held, not c.name.endswith(('.xlsx', '.xls')))}"
                for c in cases]
    good = {k for c in cases for k in c.good_keys}
    outcome.lost = sum(1 for k in good if k not in held)
    outcome.duplicated = sum(1 for k in held if not k.startswith(("G", "BAD")))
    leaked = [k for k, v in held.items() if "root:" in str(v.get("name", ""))]
    outcome.expect(not leaked, f"an external entity was resolved: /etc/passwd reached the CRM in {leaked}")
    outcome.note = f"{len(cases)} files, exit {proc.returncode}, peak RSS {peak} MB"
    print("\n".join(verdicts))
    outcome.check()
