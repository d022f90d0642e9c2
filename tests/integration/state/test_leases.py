"""One runner per flow: leases on SQLite and PostgreSQL, raced by real separate processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from legacy_bridge.state import StateStore, open_store

JOB, FLOW = "erp_to_crm", "customers"
ROOT = Path(__file__).resolve().parents[3]


def test_a_free_lease_is_taken_and_others_see_its_holder(store: StateStore) -> None:
    assert store.current_lease(JOB, FLOW) is None
    assert store.acquire_lease(JOB, FLOW, "scheduler-1", ttl_s=60) is None
    other = store.acquire_lease(JOB, FLOW, "adhoc-2", ttl_s=60)
    assert other is not None
    assert (other.job, other.flow, other.holder, other.host, other.pid) == (
        JOB, FLOW, "scheduler-1", socket.gethostname(), os.getpid())
    assert other.acquired.utcoffset() is not None and other.expires > other.acquired
    assert store.current_lease(JOB, FLOW) == other
    assert store.acquire_lease(JOB, "orders", "adhoc-2", ttl_s=60) is None  # other flows are separate


def test_a_host_pid_token_holder_records_that_host_and_pid(store: StateStore) -> None:
    store.acquire_lease(JOB, FLOW, "erp-gw-2:4711:9f3c2a", ttl_s=60)
    lease = store.current_lease(JOB, FLOW)
    assert lease is not None and (lease.holder, lease.host, lease.pid) == ("erp-gw-2:4711:9f3c2a", "erp-gw-2", 4711)


def test_the_holder_may_take_its_lease_again_and_renew_it(store: StateStore) -> None:
    assert store.acquire_lease(JOB, FLOW, "me", ttl_s=60) is None
    first = store.current_lease(JOB, FLOW)
    assert store.acquire_lease(JOB, FLOW, "me", ttl_s=600) is None
    again = store.current_lease(JOB, FLOW)
    assert first is not None and again is not None
    assert again.acquired == first.acquired and again.expires > first.expires
    assert store.renew_lease(JOB, FLOW, "me", ttl_s=900) is True
    renewed = store.current_lease(JOB, FLOW)
    assert renewed is not None and renewed.expires > again.expires
    assert store.renew_lease(JOB, FLOW, "someone-else", ttl_s=900) is False


def test_releasing_frees_the_lease_but_only_for_its_holder(store: StateStore) -> None:
    store.acquire_lease(JOB, FLOW, "me", ttl_s=60)
    store.release_lease(JOB, FLOW, "not-me")
    assert store.acquire_lease(JOB, FLOW, "not-me", ttl_s=60) is not None
    store.release_lease(JOB, FLOW, "me")
    assert store.current_lease(JOB, FLOW) is None
    assert store.acquire_lease(JOB, FLOW, "not-me", ttl_s=60) is None
    assert store.renew_lease(JOB, FLOW, "me", ttl_s=60) is False


def test_an_expired_lease_is_taken_over_and_its_old_holder_learns_it_lost(store: StateStore) -> None:
    assert store.acquire_lease(JOB, FLOW, "dead-runner", ttl_s=-1) is None  # expired at once
    assert store.current_lease(JOB, FLOW) is None
    assert store.acquire_lease(JOB, FLOW, "new-runner", ttl_s=60) is None
    current = store.current_lease(JOB, FLOW)
    assert current is not None and current.holder == "new-runner"
    assert store.renew_lease(JOB, FLOW, "dead-runner", ttl_s=60) is False
    store.release_lease(JOB, FLOW, "dead-runner")  # a late release does not free someone else's lease
    assert store.acquire_lease(JOB, FLOW, "dead-runner", ttl_s=60) is not None


def test_a_lease_expires_by_time(store: StateStore) -> None:
    assert store.acquire_lease(JOB, FLOW, "slow", ttl_s=0.2) is None
    deadline = time.monotonic() + 30
    while store.acquire_lease(JOB, FLOW, "next", ttl_s=60) is not None:
        assert time.monotonic() < deadline, "a 0.2 s lease never expired"
        time.sleep(0.05)
    lease = store.current_lease(JOB, FLOW)
    assert lease is not None and lease.holder == "next"


# --- separate processes ----------------------------------------------------------------------------

RACER = """
import sys, time
from pathlib import Path
from legacy_bridge.state import open_store

url, folder, name, mode, rounds = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
store = open_store(url) if mode == "lease" else None
(folder / ("ready-" + name)).touch()
while not (folder / "go").exists():
    time.sleep(0.002)
if store is None:  # racing to open (and create) a fresh store
    store = open_store(url)
    print("run", store.begin_run("job", name), flush=True)
for i in range(rounds):
    if mode == "lease" and store.acquire_lease("job", "flow%d" % i, name, 600) is None:
        print("won", i, flush=True)
store.close()
"""


def race(url: str, folder: Path, mode: str, processes: int = 4, rounds: int = 10) -> list[str]:
    """Start ``processes`` Python processes, release them at once, return their outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, url, str(folder), f"p{i}", mode, str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(processes)]
    try:
        deadline = time.monotonic() + 120
        while len(list(folder.glob("ready-*"))) < processes:
            crashed = [p for p in procs if p.poll() is not None]
            assert not crashed, crashed[0].communicate()[1]
            assert time.monotonic() < deadline, "racer processes did not start"
            time.sleep(0.01)
        (folder / "go").touch()
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outputs.append(out)
        return outputs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_processes_racing_for_a_lease_get_exactly_one_winner(store: StateStore, store_url: str,
                                                             tmp_path: Path) -> None:
    outputs = race(store_url, tmp_path / "race", "lease", processes=4, rounds=10)
    wins = Counter(line.split()[1] for out in outputs for line in out.splitlines() if line.startswith("won"))
    assert wins == Counter({str(i): 1 for i in range(10)})
    for i in range(10):
        lease = store.current_lease("job", f"flow{i}")
        assert lease is not None and lease.pid != os.getpid()


def test_processes_opening_a_fresh_store_at_once_all_succeed(store_url: str, tmp_path: Path) -> None:
    # store_url is fresh: nothing has opened it yet (no ``store`` fixture here)
    outputs = race(store_url, tmp_path / "open", "open", processes=4, rounds=0)
    assert sorted(out.split()[0] for out in outputs) == ["run"] * 4
    opened = open_store(store_url)
    try:
        assert sorted(r.flow for r in opened.last_runs("job")) == ["p0", "p1", "p2", "p3"]
    finally:
        opened.close()
