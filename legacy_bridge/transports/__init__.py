"""Transports by ``kind``: one line per plugin.  A factory takes ``(spec, root, base_dir)``."""

from legacy_bridge.registry import Plugin, Registry
from legacy_bridge.transports import local, sftp
from legacy_bridge.transports.base import Transport

REGISTRY: Registry[Transport] = Registry("transport", [
    Plugin("local", local.LocalSpec, local.build, "a local folder or network mount"),
    Plugin("sftp", sftp.SftpSpec, sftp.build, "an SFTP server (paramiko)"),
])
