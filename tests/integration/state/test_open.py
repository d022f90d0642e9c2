"""Where a store lives: paths, sqlite:// and postgres:// URLs; and errors an operator can act on."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from legacy_bridge.errors import StateError
from legacy_bridge.state import open_store
from legacy_bridge.state.db import locate

ROOT = Path(__file__).resolve().parents[3]


def test_a_bare_path_is_a_sqlite_file_in_wal_mode_with_its_folder_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "var" / "state.db"
    store = open_store(str(path))
    try:
        store.begin_run("job", "flow")
        assert store.display_url == f"sqlite:///{path}"
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_sqlite_url_works_like_a_path(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/sub/state.db")
    try:
        assert store.get_watermark("job", "flow") is None
    finally:
        store.close()
    assert (tmp_path / "sub" / "state.db").exists()


@pytest.mark.parametrize("given", ["postgres://bridge:s3cret-pw@db.example:6543/state",
                                   "postgresql://bridge:s3cret-pw@db.example:6543/state",
                                   "postgresql+psycopg://bridge:s3cret-pw@db.example:6543/state"])
def test_postgres_urls_use_psycopg_3_and_never_show_the_password(given: str) -> None:
    where = locate(given)
    assert (where.kind, where.host, where.port, where.database, where.user) == (
        "postgresql", "db.example", 6543, "state", "bridge")
    assert where.target == "postgresql://bridge:s3cret-pw@db.example:6543/state"  # what libpq is given
    assert where.display == "postgresql://bridge:***@db.example:6543/state"


def test_a_password_given_as_a_url_parameter_is_hidden_too() -> None:
    where = locate("postgresql://bridge@db.example/state?sslmode=require&password=s3cret-pw&application_name=x")
    assert where.display == "postgresql://bridge@db.example/state?sslmode=require&password=***&application_name=x"


def test_an_unknown_scheme_is_refused_with_what_to_use() -> None:
    with pytest.raises(StateError, match="unsupported state store URL scheme 'mysql'") as caught:
        open_store("mysql://root@127.0.0.1/state")
    assert "postgresql://" in str(caught.value)


def test_an_unreachable_postgres_says_where_and_what_to_check_without_the_password() -> None:
    with pytest.raises(StateError) as caught:
        open_store("postgresql://bridge:s3cret-pw@127.0.0.1:1/state?connect_timeout=3")
    text = str(caught.value)
    assert "s3cret-pw" not in text and "bridge:***@127.0.0.1:1/state" in text
    assert "cannot open the store" in text and "PostgreSQL at 127.0.0.1:1 is running" in text
    assert caught.value.__cause__ is not None


def test_an_unwritable_sqlite_file_is_a_state_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, it is a text file" * 100)
    with pytest.raises(StateError, match="cannot open the store") as caught:
        open_store(str(path))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("where", [":memory:", "sqlite://"])
def test_an_in_memory_store_serves_quick_unit_tests(where: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(where)
    try:
        run_id = store.begin_run("job", "flow")
        assert store.get_run(run_id).status == "running"
    finally:
        store.close()
    assert list(tmp_path.iterdir()) == []  # no file named ':memory:' appeared


def test_a_postgres_store_without_psycopg_installed_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` meets when it is not installed
    with pytest.raises(StateError, match="PostgreSQL needs psycopg 3") as caught:
        open_store("postgresql://bridge:s3cret-pw@127.0.0.1/state")
    assert "legacy-bridge[postgres]" in str(caught.value) and "s3cret-pw" not in str(caught.value)


def test_a_connection_left_inside_a_transaction_is_not_handed_out_again(store_url: str) -> None:
    from legacy_bridge.state.db import connect, locate

    db = connect(locate(store_url))
    try:
        with db.connection() as conn:  # a rollback that failed would leave it like this
            left = conn
            db.execute(conn.cursor(), "BEGIN" if db.kind == "sqlite" else "SELECT 1")
        with db.transaction() as cur:
            assert db.execute(cur, "SELECT 1").fetchone()[0] == 1
        with db.connection() as conn:
            assert conn is not left
    finally:
        db.close()


OPENER = """
import sys, time
from pathlib import Path
from legacy_bridge.errors import StateError
from legacy_bridge.state import open_store

folder, name, processes, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(rounds):
    (folder / f"ready-{i}-{name}").touch()
    while len(list(folder.glob(f"ready-{i}-*"))) < processes:  # all start round i together
        time.sleep(0.0005)
    try:
        open_store(str(folder / f"state-{i}.db")).close()
    except StateError as exc:
        print(exc.message.splitlines()[0], flush=True)
"""


def test_processes_opening_fresh_sqlite_stores_at_once_never_find_them_locked(tmp_path: Path) -> None:
    # Turning a new file to WAL needs it exclusively, and SQLite skips the busy timeout there:
    # scheduled jobs starting together on a new server failed with "database is locked".
    processes, rounds = 6, 30
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, str(tmp_path), f"p{n}", str(processes), str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
             for n in range(processes)]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [(proc.returncode, err) for proc, (_out, err) in zip(procs, results, strict=True)] == [(0, "")] * processes
    assert "".join(out for out, _err in results) == ""  # no open failed
    for i in range(rounds):
        with sqlite3.connect(tmp_path / f"state-{i}.db") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
