"""A real OpenSSH sshd for the SFTP workload, started by the bench and stopped after it.

It listens on 127.0.0.1 and a free port, with a host key and a client key made for this run
(ssh-keygen), and lets in only the user running the bench, by that key: root through
``PermitRootLogin prohibit-password``, anyone else through an sshd of their own (which can only
log in the user it runs as).  No chroot: the bench's data files are read at their own paths.
The known_hosts file it writes holds the real host key, so every client checks it.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from legacy_bridge.sandbox import procs

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
LogLevel ERROR
"""


def problem() -> str | None:
    """Why the SFTP workload cannot run here (None: it can)."""
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen"):
        return "OpenSSH's sshd and ssh-keygen (apt-get install openssh-server)"
    return None


class Sftpd:
    def __init__(self, cpus: set[int] | None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lb-bench-sshd-"))
        self.host, self.user = "127.0.0.1", getpass.getuser()
        self.key_file = str(self.dir / "client_ed25519")
        self.known_hosts = str(self.dir / "known_hosts")
        for key in ("host_ed25519", "client_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.dir / key)],
                           check=True, capture_output=True)
        shutil.copy(self.dir / "client_ed25519.pub", self.dir / "authorized_keys")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        (self.dir / "sshd_config").write_text(CONFIG.format(port=self.port, dir=self.dir))
        kind, key = (self.dir / "host_ed25519.pub").read_text().split()[:2]
        Path(self.known_hosts).write_text(f"[127.0.0.1]:{self.port} {kind} {key}\n")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self.proc.pid, cpus)  # the sessions it forks inherit it
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    self.stop()
                    raise RuntimeError(f"the bench sshd did not start: {err.strip()[:300]}") from None
                time.sleep(0.05)

    def url(self, path: Path) -> str:
        """How the alternatives are told where a file is: sftp://user@host:port/abs/path?key=..&known_hosts=.."""
        return (f"sftp://{self.user}@{self.host}:{self.port}{path.resolve()}"
                f"?key={self.key_file}&known_hosts={self.known_hosts}")

    def stop(self) -> None:
        procs.stop(self.proc)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
