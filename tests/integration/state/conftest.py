"""Every state-store test runs on SQLite (a file) and on PostgreSQL (a fresh database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from legacy_bridge.state import StateStore, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh, empty store lives: a SQLite file path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "var" / "state.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()
