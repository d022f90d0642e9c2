"""The state store: runs, checkpoints, file ledger, rejects, record hashes, leases, heartbeats.

``open_store("var/state.db")`` (a SQLite file) or ``open_store("postgresql://…")``.
"""

from __future__ import annotations

from legacy_bridge.state.base import StateStore


def open_store(url_or_path: str) -> StateStore:
    """Open (creating or upgrading its schema if needed) the store at a path or URL.

    A bare path or ``sqlite:///PATH`` is a SQLite file (its folder is created);
    ``postgresql://`` / ``postgres://`` URLs use PostgreSQL through psycopg 3.
    Nothing is cached: every call has its own connections; ``close()`` the store when done.
    """
    from legacy_bridge.state.sql import SqlStateStore

    return SqlStateStore(url_or_path)


__all__ = ["StateStore", "open_store"]
