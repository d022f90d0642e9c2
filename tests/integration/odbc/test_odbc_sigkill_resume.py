"""SIGKILL in the middle of a large table: the next run takes exactly the rows after the last
committed checkpoint - nothing lost, nothing committed twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.fixtures.odbc import OdbcDatabase, drive, open_test_store

pytestmark = [pytest.mark.odbc, pytest.mark.faults]
N = 50_000
CHILD = """
import sys
from tests.fixtures.odbc import drive, open_test_store
from pathlib import Path
store = open_test_store(Path(sys.argv[1]))
def tell(n):
    print(n, flush=True)
drive(sys.argv[2], store, batch_size=500, fetch=1000, table=sys.argv[3], cursor=["changed", "id"], on_batch=tell)
print("finished", flush=True)
"""


def test_a_run_killed_mid_table_resumes_after_its_last_checkpoint(odbc_db: OdbcDatabase, tmp_path: Path):
    if not hasattr(open_test_store(tmp_path / "probe.db"), "history"):
        pytest.skip("needs the SQL state store (a file that survives the process)")
    table = f"big_{uuid.uuid4().hex[:8]}"
    stamp = {"sqlite": "datetime('2024-01-01', '+' || (i / 7) || ' seconds')",
             "postgres": "TIMESTAMP '2024-01-01' + (i / 7) * INTERVAL '1 second'",
             "mariadb": "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i DIV 7) SECOND"}[odbc_db.kind]
    odbc_db.execute(f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY, "changed" {odbc_db.timestamp_type}, '
                    '"note" VARCHAR(40))')
    odbc_db.execute(f'INSERT INTO "{table}" SELECT i, {stamp}, i FROM ({odbc_db.series(N)}) lb_s')
    state = tmp_path / "state.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(state), odbc_db.connection, table],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3],
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])})
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "5":
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    store = open_test_store(state)
    try:
        watermark = store.get_watermark("odbc_test", "f")
        done = watermark[1]
        assert 2500 <= done < N and done % 500 == 0  # the kill landed mid-table, on a batch boundary
        rest = drive(odbc_db, store, batch_size=500, fetch=1000, table=table, cursor=["changed", "id"])
        assert rest.values("id") == list(range(done + 1, N + 1))
    finally:
        store.close()
