"""Which parts of legacy_bridge and which alternatives are there to measure right now."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess

# workload -> the legacy_bridge parts it runs through: (what to call it, module, registry, kind)
PARTS: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "common": [
        ("runner", "legacy_bridge.runtime.runner", None, None),
        ("mapping compiler", "legacy_bridge.mapping", None, None),
        ("hubspot target", "legacy_bridge.targets.profiles.hubspot", "legacy_bridge.targets", "hubspot"),
    ],
    "files": [("files source", "legacy_bridge.sources.files", "legacy_bridge.sources", "files"),
              ("local transport", "legacy_bridge.transports.local", "legacy_bridge.transports", "local")],
    "csv": [("csv format", "legacy_bridge.formats.csv", "legacy_bridge.formats", "csv")],
    "sftp": [("sftp transport", "legacy_bridge.transports.sftp", "legacy_bridge.transports", "sftp")],
    "xml": [("xml format", "legacy_bridge.formats.xml", "legacy_bridge.formats", "xml")],
    "excel": [("excel format", "legacy_bridge.formats.excel", "legacy_bridge.formats", "excel")],
    "odbc": [("ODBC source", "legacy_bridge.sources.odbc", "legacy_bridge.sources", "odbc")],
}


def missing_parts(groups: list[str]) -> list[str]:
    """Names of the legacy_bridge parts a workload needs that cannot be imported or are not registered."""
    missing: list[str] = []
    for group in groups:
        for label, module, registry, kind in PARTS[group]:
            try:
                importlib.import_module(module)
                if registry and kind:
                    reg = importlib.import_module(registry).REGISTRY
                    if kind not in reg.kinds():
                        missing.append(f"{label} (not registered)")
            except Exception:  # any failure to import means: not there yet
                missing.append(label)
    return missing


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def postgres_odbc_problem(dsn: str, connection: str) -> str | None:
    """None when PostgreSQL answers through psycopg and through the psqlODBC driver."""
    if not has_module("psycopg"):
        return "psycopg (pip install 'legacy-bridge[postgres]')"
    if not has_module("pyodbc"):
        return "pyodbc"
    if shutil.which("odbcinst"):
        drivers = subprocess.run(["odbcinst", "-q", "-d"], capture_output=True, text=True).stdout
        if "PostgreSQL Unicode" not in drivers:
            return "the psqlODBC driver (apt-get install odbc-postgresql)"
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=5):
            pass
        import pyodbc

        pyodbc.connect(connection, timeout=5).close()
    except Exception as exc:  # report, do not fail the bench
        return f"PostgreSQL at {dsn} ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:120]})"
    return None
