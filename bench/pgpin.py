"""PostgreSQL on the server core while the odbc workload runs, and back where it was afterwards.

The bench gives the client one core and its servers the other.  The sink and the bench's sshd
are its own children and are pinned when started (sinkctl.py, sftpd.py); PostgreSQL is the
machine's own service, so its processes are pinned here for the odbc workload: the postmaster
(each backend it forks for a new connection inherits its CPU set) and the processes already
running.  Unpinned, a backend serving the client could be scheduled on the client's core.
Pinning another user's processes needs root (or the postgres user); without it the workload
runs with PostgreSQL where the scheduler puts it, and the note says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name in ("postgres", "postmaster"):
            pids.append(int(entry))
    return pids


@contextlib.contextmanager
def postgres_on(cpus: set[int] | None) -> Iterator[str | None]:
    """Pin PostgreSQL's processes to ``cpus`` inside the block; yields why not (None: pinned)."""
    if not cpus:
        yield "not pinned (no CPU set)"
        return
    before: dict[int, set[int]] = {}
    problem: str | None = None
    for pid in _postgres_pids():
        try:
            before[pid] = os.sched_getaffinity(pid)
            os.sched_setaffinity(pid, cpus)
        except ProcessLookupError:
            continue
        except OSError as exc:
            problem = f"PostgreSQL's processes could not be pinned ({exc.strerror})"
            break
    if not before and problem is None:
        problem = "no PostgreSQL process found on this machine (a remote server?)"
    try:
        yield problem
    finally:
        for pid, old in before.items():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(pid, old)
