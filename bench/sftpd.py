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
import tempfile
from pathlib import Path

from legacy_bridge.sandbox import procs, sshd

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
    if not sshd.available():
        return "OpenSSH's sshd and ssh-keygen (apt-get install openssh-server)"
    return None


class Sftpd:
    def __init__(self, cpus: set[int] | None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lb-bench-sshd-"))
        self.host, self.user = "127.0.0.1", getpass.getuser()
        self.key_file = str(self.dir / "client_ed25519")
        self.known_hosts = str(self.dir / "known_hosts")
        for key in ("host_ed25519", "client_ed25519"):
            sshd.keygen(self.dir / key)
        shutil.copy(self.dir / "client_ed25519.pub", self.dir / "authorized_keys")
        self.port = procs.free_port()
        (self.dir / "sshd_config").write_text(CONFIG.format(port=self.port, dir=self.dir))
        Path(self.known_hosts).write_text(sshd.known_hosts_line(self.port, self.dir / "host_ed25519.pub"))
        try:
            self.proc = sshd.start(self.dir / "sshd_config", self.port)
        except RuntimeError as exc:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"the bench's {exc}") from None
        if cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self.proc.pid, cpus)  # the sessions it forks inherit it

    def url(self, path: Path) -> str:
        """How the alternatives are told where a file is: sftp://user@host:port/abs/path?key=..&known_hosts=.."""
        return (f"sftp://{self.user}@{self.host}:{self.port}{path.resolve()}"
                f"?key={self.key_file}&known_hosts={self.known_hosts}")

    def stop(self) -> None:
        procs.stop(self.proc)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
