"""What every fault scenario shares: sizes, the counted outcome, the comparison of the CRM
sandbox with the source, and running (and SIGKILLing) the real CLI.

Counts, per scenario:

* **lost**: source keys the sandbox does not hold, or holds with other than the latest content;
* **duplicated**: records the sandbox holds that the source does not have (each key must be
  there once; the sandbox upserts by id, so a duplicate shows as a key that should not exist);
* **calls repeated**: upsert calls whose records the sandbox had already written, counted from
  the sandbox's writes per id (records written again / batch size, rounded up); it must stay
  within ``bound``: for a kill, the batches in flight (concurrency); for an API fault, the calls
  the server processed but whose answer the client never saw (dropped after, timed out).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from legacy_bridge.sandbox.client import SandboxProcess
from tests.fixtures.project import ROOT, Project
from tests.fixtures.sandbox import SANDBOX_TOKEN

FULL = os.environ.get("LEGACY_BRIDGE_FAULTS_FULL") == "1"
RECORDS = int(os.environ.get("LEGACY_BRIDGE_FAULTS_RECORDS") or (100_000 if FULL else 20_000))
KILLS = int(os.environ.get("LEGACY_BRIDGE_FAULTS_KILLS") or (10 if FULL else 4))
SEED = int(os.environ.get("LEGACY_BRIDGE_FAULTS_SEED") or 20240601)
BATCH, CONCURRENCY = 100, 4
WINDOW = BATCH * CONCURRENCY  # records in flight at any moment


@dataclass
class Outcome:
    """One scenario's counted result (written to the report by tests/faults/conftest.py)."""

    scenario: str = ""
    lost: int = 0
    duplicated: int = 0
    repeated: int = 0  # calls
    bound: int = 0  # calls
    resent: int = 0  # records written more than once
    note: str = ""
    problems: list[str] = field(default_factory=list)  # failed expectations other than the counts

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated and self.repeated <= self.bound and not self.problems

    def expect(self, condition: bool, problem: str) -> None:
        """Record ``problem`` when ``condition`` is false (the scenario then fails with it)."""
        if not condition:
            self.problems.append(problem)

    def check(self) -> None:
        """Fail the pytest test with every problem at once."""
        if self.ok:
            return
        parts = [f"lost {self.lost}, duplicated {self.duplicated}, repeated {self.repeated} (bound {self.bound})",
                 *self.problems]
        raise AssertionError(f"{self.scenario}: " + "; ".join(parts) + (f" [{self.note}]" if self.note else ""))

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok})


def norm(value: Any) -> str:
    """Compare values as the CRM shows them (text), so 7 and "7" and 7.0 are the same value."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
        text = text[:-2]
    return text


def compare(outcome: Outcome, expected: Mapping[str, Mapping[str, Any]], crm: SandboxProcess,
            object_type: str = "contacts", batch: int = BATCH) -> Outcome:
    """Fill lost/duplicated/repeated from what the sandbox holds against ``expected``."""
    held = crm.objects(object_type)
    writes = crm.writes(object_type)
    missing = [k for k in expected if k not in held]
    stale = [k for k, props in expected.items() if k in held
             and any(norm(held[k].get(p)) != norm(v) for p, v in props.items())]
    extra = [k for k in held if k not in expected]
    outcome.lost = len(missing) + len(stale)
    outcome.duplicated = len(extra)
    outcome.resent = sum(n - 1 for n in writes.values() if n > 1)
    outcome.repeated = -(-outcome.resent // batch)
    if missing:
        outcome.problems.append(f"missing keys e.g. {missing[:3]}")
    if stale:
        k = stale[0]
        outcome.problems.append(f"stale content e.g. {k}: held {held[k]} expected {dict(expected[k])}")
    if extra:
        outcome.problems.append(f"keys not in the source e.g. {extra[:3]}")
    return outcome


# --- the real CLI -----------------------------------------------------------------------------


def crm_env(crm: SandboxProcess, **extra: str) -> dict[str, str]:
    return {"CRM_URL": crm.url, "CRM_TOKEN": SANDBOX_TOKEN, **extra}


def start_run(project: Project, job: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    full.pop("LEGACY_BRIDGE_STATE", None)
    full.pop("LEGACY_BRIDGE_JOBS", None)
    return subprocess.Popen([sys.executable, "-m", "legacy_bridge", "run", job], cwd=project.root, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


def upserts(crm: SandboxProcess) -> int:
    """Upsert calls the sandbox has received so far (auth and control calls not counted)."""
    return sum(1 for c in crm.calls() if c["inputs"])


def kill_after(proc: subprocess.Popen[str], crm: SandboxProcess, calls: int, timeout: float = 300) -> bool:
    """SIGKILL the run once the CRM has received ``calls`` upserts in all; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if calls <= 0 or upserts(crm) >= calls:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    raise AssertionError(f"the run made no progress in {timeout:.0f}s (stuck before upsert {calls})")


def kill_points(total_calls: int, kills: int = KILLS, seed: int = SEED) -> list[int]:
    """``kills`` random cumulative call counts in (0, total_calls), sorted, distinct, seeded."""
    rng = random.Random(seed)
    upper = max(total_calls - 1, kills + 1)
    return sorted(rng.sample(range(1, upper), min(kills, upper - 1)))


def kill_and_resume(project: Project, crm: SandboxProcess, job: str, expected: Mapping[str, Mapping[str, Any]],
                    outcome: Outcome, *, env: Mapping[str, str] | None = None, batch: int = BATCH,
                    kills: int = KILLS) -> Outcome:
    """Kill the run at ``kills`` random points, run it to the end, compare; a final rerun sends nothing."""
    full_env = {**crm_env(crm), **(env or {})}
    total = -(-len(expected) // batch)
    done = 0
    for point in kill_points(total, kills):
        if kill_after(start_run(project, job, full_env), crm, point):
            done += 1
    final = project.cli("run", job, env=full_env, timeout=900)
    outcome.expect(final.returncode == 0, f"the final run exited {final.returncode}: {tail(final)}")
    outcome.expect(done >= max(1, kills // 2), f"only {done} of {kills} kills landed before the run ended")
    compare(outcome, expected, crm, batch=batch)
    outcome.bound = done * CONCURRENCY
    again = project.cli("run", job, env=full_env, timeout=300)
    outcome.expect(again.returncode == 0 and "sent 0," in again.stdout,
                   f"a rerun after success sent again: {tail(again)}")
    outcome.note = f"{done} kills, {len(expected)} records, {outcome.resent} re-sent"
    return outcome


def tail(proc: subprocess.CompletedProcess[str], n: int = 600) -> str:
    return (proc.stdout + proc.stderr)[-n:].replace("\n", " | ")


# --- job files ---------------------------------------------------------------------------------


def job_toml(name: str, source: str, fields: Mapping[str, str], key: str, *, target_extra: str = "",
             auth: str = '{ type = "bearer", token = "${env:CRM_TOKEN}" }', state: str = "",
             batch: int = BATCH, concurrency: int = CONCURRENCY) -> str:
    """A one-flow job: ``source`` is the body of [flows.source]; the target is the hubspot sandbox."""
    mapping = "\n".join(f'{out} = "{src}"' for out, src in fields.items())
    state_block = f"[state]\nurl = {json.dumps(state)}\n" if state else ""
    return f"""
name = "{name}"
{state_block}
[[flows]]
name = "records"
[flows.source]
{source.strip()}
[flows.mapping]
key = "{key}"
[flows.mapping.fields]
{mapping}
[flows.target]
kind = "hubspot"
base_url = "${{env:CRM_URL}}"
object = "contacts"
id_property = "erp_id"
auth = {auth}
batch_size = {batch}
concurrency = {concurrency}
backoff_base = "20ms"
backoff_max = "500ms"
{target_extra.strip()}
"""


def rows(n: int, prefix: str = "K") -> dict[str, dict[str, str]]:
    """``n`` source records keyed ``prefix00001``…, with text that needs care (accents, quotes)."""
    cities = ["Köln", "Zürich", "Málaga", "Łódź", 'say "hi"; ok']
    return {f"{prefix}{i:06d}": {"erp_id": f"{prefix}{i:06d}", "name": f"Société {i} & Co",
                                 "city": cities[i % len(cities)]} for i in range(n)}
