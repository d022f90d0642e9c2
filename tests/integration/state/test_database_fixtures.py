"""The database fixtures other suites use give each test its own empty database, dropped after."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.fixtures.databases import DbInfo, create_database, drop_database, server_problem


@pytest.mark.parametrize("kind", [pytest.param("postgres", marks=pytest.mark.postgres),
                                  pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_each_test_gets_an_empty_database_of_its_own_that_is_dropped_after(
        kind: str, request: pytest.FixtureRequest) -> None:
    first: DbInfo = request.getfixturevalue("pg_db" if kind == "postgres" else "mariadb_db")
    second = create_database(kind)
    try:
        assert second.database != first.database
        engine: Any = create_engine(first.url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert inspect(engine).get_table_names() == ["t"]
        engine.dispose()
        other: Any = create_engine(second.url)
        assert inspect(other).get_table_names() == []
        other.dispose()
    finally:
        drop_database(second)
    admin: Any = create_engine(DbInfo(kind, first.host, first.port, first.user, first.password, "test").url)
    with admin.connect() as conn:
        query = ("SELECT datname FROM pg_database" if kind == "postgres" else "SHOW DATABASES")
        assert second.database not in {row[0] for row in conn.execute(text(query))}
    admin.dispose()


def test_an_unreachable_server_is_reported_with_where_it_was_looked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.fixtures.databases as databases

    monkeypatch.setattr(databases, "PG_ADMIN_URL", "postgresql://nobody@127.0.0.1:1/test")
    server_problem.cache_clear()
    try:
        problem = server_problem("postgres")
        assert problem is not None and "127.0.0.1:1" in problem and "not reachable" in problem
    finally:
        server_problem.cache_clear()


def test_a_missing_server_skips_unless_the_environment_requires_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.fixtures.databases as databases

    monkeypatch.setattr(databases, "PG_ADMIN_URL", "postgresql://nobody@127.0.0.1:1/test")
    server_problem.cache_clear()
    try:
        monkeypatch.delenv("LEGACY_BRIDGE_REQUIRE_DBS", raising=False)
        with pytest.raises(pytest.skip.Exception, match=r"127\.0\.0\.1:1"):
            databases.require_server("postgres")
        monkeypatch.setenv("LEGACY_BRIDGE_REQUIRE_DBS", "1")
        with pytest.raises(pytest.fail.Exception, match="LEGACY_BRIDGE_REQUIRE_DBS=1 requires it"):
            databases.require_server("postgres")
    finally:
        server_problem.cache_clear()
