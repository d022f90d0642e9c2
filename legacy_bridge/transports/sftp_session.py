"""Opening one authenticated SFTP session with paramiko (host key checked first)."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from legacy_bridge.errors import ConfigError, HostKeyError, TransportError, TransportRetryable
from legacy_bridge.transports import hostkeys

if TYPE_CHECKING:
    import paramiko

    from legacy_bridge.transports.sftp import SftpSpec

log = logging.getLogger("legacy_bridge.transports.sftp")

# Weak algorithms paramiko still knows; enabled only with allow_legacy_algorithms = true.
_LEGACY = {
    "ciphers": ["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"],
    "macs": ["hmac-sha1", "hmac-md5", "hmac-sha1-96", "hmac-md5-96"],
    "kex": ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"],
    "keys": ["ssh-rsa", "ssh-dss"],
    "pubkeys": ["ssh-rsa", "ssh-dss"],
}


def load_key(path: str, passphrase: str | None) -> paramiko.PKey:
    import paramiko

    try:
        return paramiko.PKey.from_path(path, password=passphrase.encode() if passphrase else None)  # type: ignore[arg-type]
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        if isinstance(exc, TypeError) and "password" not in str(exc).lower():
            raise ConfigError(f"cannot load private key {path}: {exc}") from exc
        raise ConfigError(f"private key {path} is encrypted and no passphrase was given",
                          hint="set key_passphrase = \"${env:SFTP_KEY_PASSPHRASE}\" in the transport") from exc
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise ConfigError(f"cannot load private key {path}: {exc}",
                          hint="check the path, the passphrase and that the key is RSA, ECDSA or Ed25519") from exc


def _legacy_options(transport: paramiko.Transport, allow: bool) -> None:
    opts = transport.get_security_options()
    if allow:
        for attr, extra in (("key_types", ["ssh-rsa"]), ("kex", ["diffie-hellman-group14-sha1"])):
            known = set(getattr(transport, "_key_info" if attr == "key_types" else "_kex_info", {}))
            current = list(getattr(opts, attr))
            setattr(opts, attr, tuple(current + [a for a in extra if a in known and a not in current]))
        return
    for attr, names in (("ciphers", _LEGACY["ciphers"]), ("digests", _LEGACY["macs"]), ("kex", _LEGACY["kex"]),
                        ("key_types", _LEGACY["keys"])):
        setattr(opts, attr, tuple(a for a in getattr(opts, attr) if a not in names))


def connect(spec: SftpSpec) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
    """A connected, host-key-verified, authenticated transport and its SFTP client."""
    import paramiko

    where = {"host": f"{spec.host}:{spec.port}"}
    try:
        sock = socket.create_connection((spec.host, spec.port), timeout=spec.connect_timeout)
    except OSError as exc:
        raise TransportRetryable(f"cannot reach SFTP server {spec.host}:{spec.port}: {exc}", where=where,
                                 hint="check the host, port and firewall; the next run tries again") from exc
    # the download asks for a window of reads, waits for them, asks again: with Nagle's algorithm
    # the next window's small requests sat behind the server's delayed ACK (~40 ms a window)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock, disabled_algorithms=None if spec.allow_legacy_algorithms else
                                   {"pubkeys": _LEGACY["pubkeys"]})
    try:
        _legacy_options(transport, spec.allow_legacy_algorithms)
        if not spec.host_key_fingerprint:
            wanted = hostkeys.known_types(spec.known_hosts, spec.host, spec.port)
            opts = transport.get_security_options()
            usable = [a for a in wanted if a in opts.key_types]
            if usable:
                opts.key_types = tuple(usable)
        transport.banner_timeout = spec.connect_timeout
        transport.start_client(timeout=spec.connect_timeout)
        hostkeys.verify(transport.get_remote_server_key(), host=spec.host, port=spec.port,
                        known_hosts=spec.known_hosts, pinned=spec.host_key_fingerprint,
                        trust_unknown=spec.trust_unknown_host)
        _authenticate(transport, spec)
        if spec.keepalive:
            transport.set_keepalive(int(max(1, spec.keepalive)))
        client = paramiko.SFTPClient.from_transport(transport)
        if client is None:
            raise TransportError("the server refused to start the SFTP subsystem", where=where)
        channel = client.get_channel()
        if channel is not None:
            channel.settimeout(spec.read_timeout)
        return transport, client
    except HostKeyError:
        transport.close()
        raise
    except BaseException as exc:
        transport.close()
        raise _translate(exc, spec) from exc


def _authenticate(transport: paramiko.Transport, spec: SftpSpec) -> None:
    import paramiko

    where = {"host": f"{spec.host}:{spec.port}", "user": spec.username}
    try:
        if spec.key_file:
            transport.auth_publickey(spec.username, load_key(spec.key_file, spec.key_passphrase))
        elif spec.password is not None:
            transport.auth_password(spec.username, spec.password)
        else:
            raise ConfigError("the sftp transport needs key_file or password", where=where)
    except paramiko.AuthenticationException as exc:
        how = f"key {spec.key_file}" if spec.key_file else "password"
        raise TransportError(f"SFTP login as {spec.username} with {how} was refused by {spec.host}:{spec.port}",
                             where=where, hint="check the user name and credentials with `sftp -P "
                             f"{spec.port} {spec.username}@{spec.host}`") from exc


def _translate(exc: BaseException, spec: SftpSpec) -> BaseException:
    if isinstance(exc, TransportError | ConfigError):
        return exc
    where = {"host": f"{spec.host}:{spec.port}"}
    text = str(exc) or type(exc).__name__
    if isinstance(exc, socket.timeout | TimeoutError | EOFError | ConnectionError | OSError):
        return TransportRetryable(f"SFTP connection to {spec.host}:{spec.port} failed: {text}", where=where)
    import paramiko

    if isinstance(exc, paramiko.SSHException) and "incompatible" in text.lower():
        return TransportError(f"no common algorithm with SFTP server {spec.host}:{spec.port}: {text}", where=where,
                              hint="if the server is old, set allow_legacy_algorithms = true for this transport")
    if isinstance(exc, paramiko.SSHException):
        return TransportRetryable(f"SSH negotiation with {spec.host}:{spec.port} failed: {text}", where=where)
    return exc


def is_connection_error(exc: BaseException) -> bool:
    """Errors that mean "the connection is gone", worth a reconnect."""
    import paramiko

    if isinstance(exc, FileNotFoundError | PermissionError):
        return False
    return isinstance(exc, EOFError | socket.timeout | TimeoutError | ConnectionError | paramiko.SSHException) or (
        isinstance(exc, OSError) and "closed" in str(exc).lower())


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def safe_close(obj: Any) -> None:
    try:
        obj.close()
    except Exception:
        log.debug("close failed", exc_info=True)
