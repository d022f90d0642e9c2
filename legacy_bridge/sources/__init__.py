"""Sources by ``kind``: one line per plugin."""

from legacy_bridge.registry import Plugin, Registry
from legacy_bridge.sources import files as _files
from legacy_bridge.sources import odbc as _odbc
from legacy_bridge.sources.base import Source

REGISTRY: Registry[Source] = Registry("source", [
    Plugin("files", _files.FilesSpec, _files.build, "file drops: local folders or SFTP; csv, xml, excel"),
    Plugin("odbc", _odbc.OdbcSpec, _odbc.build, "tables over ODBC: incremental by cursor, diff, full"),
])
