"""Shared pytest setup: fixtures that start real servers live in tests/fixtures/ and are
registered here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.sandbox",
    "tests.fixtures.sshd",
    "tests.fixtures.odbc",
    "tests.fixtures.project",
    "tests.fixtures.observe",
]
