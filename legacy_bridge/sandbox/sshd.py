"""A real OpenSSH sshd on 127.0.0.1 and a free port: what the SFTP tests' server
(tests/fixtures/sshd.py: a chroot, a system user, passwords) and the bench's (bench/sftpd.py:
the user running it, by key) share.  Each writes its own sshd_config; this makes the keys,
the known_hosts line holding the real host key, and starts sshd and waits until it answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from legacy_bridge.sandbox import procs

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def available() -> bool:
    """Are OpenSSH's sshd and ssh-keygen here?"""
    return os.path.exists(SSHD) and shutil.which("ssh-keygen") is not None


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> None:
    """A key pair at ``path`` and ``path.pub`` (RSA keys 2048 bits)."""
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)]
    if kind == "rsa":
        args += ["-b", "2048"]
    subprocess.run(args, check=True, capture_output=True)


def known_hosts_line(port: int, host_public_key: Path) -> str:
    """The known_hosts line for the server at 127.0.0.1:``port`` with that host key."""
    kind, key = host_public_key.read_text().split()[:2]
    return f"[127.0.0.1]:{port} {kind} {key}\n"


def start(config: Path, port: int, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    """``sshd -D -e -f config``, returned once 127.0.0.1:``port`` accepts connections; RuntimeError
    with what sshd said when it exits or does not answer within ``timeout`` seconds."""
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                procs.stop(proc)
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                if proc.stderr is not None:
                    proc.stderr.close()
                raise RuntimeError(f"sshd did not start: {err.strip()[:300]}") from None
            time.sleep(0.05)
