"""A source connection killed in the middle of a read (pg_terminate_backend / MariaDB KILL):
the source reconnects and resumes after the last row it handed out, or - out of reconnects -
fails with a clear message and the checkpoint of the last committed batch intact."""

from __future__ import annotations

import uuid

import pytest

from legacy_bridge.errors import DatabaseRetryable
from tests.fixtures.odbc import OdbcDatabase, drive

pytestmark = pytest.mark.odbc
N = 3000


@pytest.fixture
def server_db(odbc_db: OdbcDatabase) -> OdbcDatabase:
    if odbc_db.kind == "sqlite":
        pytest.skip("SQLite has no server connection to kill")
    return odbc_db


def make_numbers(db: OdbcDatabase) -> str:
    table = f"k_{uuid.uuid4().hex[:8]}"
    db.execute(f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY, "note" VARCHAR(20))')
    db.execute(f'INSERT INTO "{table}" ("id", "note") SELECT i, i FROM ({db.series(N)}) lb_s')
    return table


def test_a_killed_connection_is_reopened_and_the_read_resumes_without_loss_or_repeat(server_db, odbc_store):
    table = make_numbers(server_db)
    killed: list[int] = []

    def kill_after_second(n: int) -> None:
        if n == 2:
            killed.append(server_db.kill_readers())

    run = drive(server_db, odbc_store, batch_size=100, table=table, cursor=["id"], fetch=100, page_rows=300,
                reconnect_backoff=0.05, on_batch=kill_after_second)
    assert killed and killed[0] >= 1
    assert run.values("id") == list(range(1, N + 1))


def test_out_of_reconnects_the_run_fails_clearly_with_the_checkpoint_intact(server_db, odbc_store):
    table = make_numbers(server_db)

    delivered: list[int] = []

    def kill_after_second(n: int) -> None:
        delivered.append(n)
        if n == 2:
            server_db.kill_readers()

    with pytest.raises(DatabaseRetryable) as info:
        drive(server_db, odbc_store, batch_size=100, table=table, cursor=["id"], fetch=100, page_rows=300,
              reconnects=0, on_batch=kill_after_second)
    message = str(info.value)
    assert "connection dropped" in message and "checkpoint is intact" in message
    assert f"table {table}" in message
    done = 100 * len(delivered)  # rows already buffered by the driver may still arrive after the kill
    assert done < N
    assert odbc_store.get_watermark("odbc_test", "f") == [done]
    rest = drive(server_db, odbc_store, batch_size=100, table=table, cursor=["id"])
    assert rest.values("id") == list(range(done + 1, N + 1))
