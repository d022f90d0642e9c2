"""SFTP host-key checks: a known_hosts file or a pinned SHA256 fingerprint.

An unknown or changed key is refused with the fingerprint the server offered and the
exact line or command that would trust it; ``trust_unknown_host`` is an explicit opt-in
(a changed key is refused even then)."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from typing import TYPE_CHECKING

from legacy_bridge.errors import HostKeyError

if TYPE_CHECKING:
    import paramiko

log = logging.getLogger("legacy_bridge.transports.sftp")

# known_hosts key type -> host-key algorithms paramiko may negotiate for it
_ALGOS = {
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
}


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def known_types(known_hosts: str | None, host: str, port: int) -> list[str]:
    """Host-key algorithms to ask for, so the server offers a key we know (like OpenSSH does)."""
    entries = _lookup(known_hosts, host, port)
    out: list[str] = []
    for key_type in entries:
        out.extend(_ALGOS.get(key_type, [key_type]))
    return out


def _lookup(known_hosts: str | None, host: str, port: int) -> dict[str, paramiko.PKey]:
    if not known_hosts:
        return {}
    import paramiko

    path = os.path.expanduser(known_hosts)
    if not os.path.exists(path):
        return {}
    try:
        keys = paramiko.HostKeys(path)
    except (OSError, paramiko.SSHException) as exc:
        raise HostKeyError(f"cannot read known_hosts file {path}: {exc}",
                           hint="fix or recreate the file (ssh-keyscan)") from exc
    found = keys.lookup(host_entry(host, port))
    return dict(found) if found is not None else {}


def verify(key: paramiko.PKey, *, host: str, port: int, known_hosts: str | None, pinned: str | None,
           trust_unknown: bool) -> None:
    """Return when ``key`` is trusted; raise ``HostKeyError`` otherwise."""
    offered = fingerprint(key)
    where = {"host": f"{host}:{port}"}
    if pinned:
        if offered.rstrip("=") == pinned.strip().rstrip("="):
            return
        raise HostKeyError(
            f"SFTP server {host}:{port} offered host key {key.get_name()} {offered}, "
            f"which is not the pinned host_key_fingerprint {pinned}: the server key changed or this is "
            "not the expected server", where=where,
            hint=f"confirm the new key with the server's administrator, then set host_key_fingerprint = \"{offered}\"")
    entries = _lookup(known_hosts, host, port)
    entry = host_entry(host, port)
    known = entries.get(key.get_name())
    if known is not None and known.asbytes() == key.asbytes():
        return
    add_line = f"{entry} {key.get_name()} {key.get_base64()}"
    scan = f"ssh-keyscan -p {port} {host} >> {known_hosts or '~/.ssh/known_hosts'}"
    if entries:
        stored = ", ".join(f"{k.get_name()} {fingerprint(k)}" for k in entries.values())
        raise HostKeyError(
            f"HOST KEY CHANGED for SFTP server {host}:{port}: it offered {key.get_name()} {offered} but "
            f"{known_hosts} holds {stored}; refusing to connect (this may be an attack, or the server was rebuilt)",
            where=where,
            hint=f"confirm with the server's administrator, then remove the old line (ssh-keygen -R '{entry}' -f "
                 f"{known_hosts}) and add: {add_line}")
    if trust_unknown:
        log.warning("trusting unknown SFTP host key %s %s of %s:%s because trust_unknown_host = true; "
                    "pin it with host_key_fingerprint = \"%s\"", key.get_name(), offered, host, port, offered)
        return
    source = f"known_hosts file {known_hosts}" if known_hosts else "no known_hosts file and no host_key_fingerprint"
    raise HostKeyError(
        f"unknown host key for SFTP server {host}:{port}: it offered {key.get_name()} {offered} "
        f"({source} has no entry for {entry}); refusing to connect",
        where=where,
        hint=f"verify the fingerprint with the server's administrator, then either set "
             f"host_key_fingerprint = \"{offered}\" or add this line to known_hosts: {add_line} "
             f"(or run: {scan} and compare with ssh-keygen -lf)")
