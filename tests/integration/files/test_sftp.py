"""SFTP drops against a real OpenSSH sshd (tests/fixtures/sshd.py)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.errors import ConfigError, HostKeyError, TransportError
from legacy_bridge.state import open_store
from legacy_bridge.state.base import StateStore
from legacy_bridge.transports.sftp import SftpSpec, SftpTransport
from tests.fixtures.sshd import SftpDrop, SshdServer
from tests.integration.files.helpers import make_ctx, make_source, rows_of, run

pytestmark = pytest.mark.sshd


def spec(server: SshdServer, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "sftp", "host": server.host, "port": server.port, "username": server.user,
                            "key_file": server.key_file, "known_hosts": server.known_hosts,
                            "backoff": 0.05, "connect_timeout": 5, "read_timeout": 10}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def transport(server: SshdServer, root: str, **over: Any) -> SftpTransport:
    return SftpTransport(SftpSpec.model_validate(spec(server, **over)), root)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(str(tmp_path / "state.db"))
    yield s
    s.close()


def test_key_login_lists_and_reads(sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    sftp_drop.put("ORDERS_1.csv", b"a\n1\n")
    sftp_drop.put("sub/ORDERS_2.csv", b"a\n2\n")
    t = transport(sshd_server, sftp_drop.remote)
    try:
        assert [f.name for f in t.list(["ORDERS_*.csv"])] == ["ORDERS_1.csv"]
        assert sorted(f.name for f in t.list(["*.csv"], recursive=True)) == ["ORDERS_1.csv", "sub/ORDERS_2.csv"]
        with t.open("ORDERS_1.csv") as f:
            assert f.read() == b"a\n1\n"
    finally:
        t.close()


@pytest.mark.parametrize("how", ["password", "encrypted_key"])
def test_password_and_encrypted_key_logins(sshd_server: SshdServer, sftp_drop: SftpDrop, how: str) -> None:
    sftp_drop.put("x.csv", b"x")
    over: dict[str, Any] = ({"key_file": None, "password": sshd_server.password} if how == "password" else
                            {"key_file": sshd_server.encrypted_key_file, "key_passphrase": sshd_server.key_passphrase})
    t = transport(sshd_server, sftp_drop.remote, **over)
    try:
        assert [f.name for f in t.list(["*"])] == ["x.csv"]
    finally:
        t.close()


def test_wrong_password_and_missing_passphrase_are_clear(sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    t = transport(sshd_server, sftp_drop.remote, key_file=None, password="wrong-password")
    with pytest.raises(TransportError, match="was refused"):
        t.list(["*"])
    t = transport(sshd_server, sftp_drop.remote, key_file=sshd_server.encrypted_key_file)
    with pytest.raises(ConfigError, match="encrypted and no passphrase"):
        t.list(["*"])


def test_a_changed_host_key_is_refused_with_the_offered_fingerprint(sshd_server: SshdServer, sftp_drop: SftpDrop,
                                                                     tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    other.write_text(f"[127.0.0.1]:{sshd_server.port} ssh-ed25519 "
                     "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    with pytest.raises(HostKeyError) as caught:
        transport(sshd_server, sftp_drop.remote, known_hosts=str(other)).list(["*"])
    text = str(caught.value)
    assert "HOST KEY CHANGED" in text and sshd_server.host_fingerprint in text and "ssh-keygen -R" in text


def test_an_unknown_host_is_refused_unless_pinned_or_trusted(sshd_server: SshdServer, sftp_drop: SftpDrop,
                                                             tmp_path: Path) -> None:
    empty = tmp_path / "none"
    with pytest.raises(HostKeyError) as caught:
        transport(sshd_server, sftp_drop.remote, known_hosts=str(empty)).list(["*"])
    assert sshd_server.host_fingerprint in str(caught.value) and "ssh-keyscan" in str(caught.value)
    pinned = transport(sshd_server, sftp_drop.remote, known_hosts=str(empty),
                       host_key_fingerprint=sshd_server.host_fingerprint)
    assert pinned.list(["*"]) == []
    pinned.close()
    with pytest.raises(HostKeyError, match="not the pinned"):
        transport(sshd_server, sftp_drop.remote, host_key_fingerprint="SHA256:" + "A" * 43).list(["*"])
    trusting = transport(sshd_server, sftp_drop.remote, known_hosts=str(empty), trust_unknown_host=True)
    assert trusting.list(["*"]) == []
    trusting.close()


def test_names_never_escape_the_folder(sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    outside = sshd_server.chroot / "drop" / "secret.csv"
    outside.write_text("secret")
    os.symlink("../secret.csv", sftp_drop.local / "link.csv")
    t = transport(sshd_server, sftp_drop.remote)
    try:
        for name in ("../secret.csv", "/drop/secret.csv", "a/../../secret.csv"):
            with pytest.raises(TransportError):
                t.open(name)
        with pytest.raises(TransportError, match="outside"):
            t.open("link.csv")
        assert t.list(["*"]) == []
    finally:
        t.close()
        outside.unlink()


def test_a_large_download_holds_one_read_ahead_window_not_the_file(sshd_server: SshdServer,
                                                                     sftp_drop: SftpDrop) -> None:
    """With paramiko's own limit on requests in flight, its read-ahead gave up after the first ones
    (paramiko PR 2519): every later read waited for its own round trip while the data it had asked
    for piled up unread, the whole file in memory by the end.  Read a window at a time, the Python
    memory held while downloading stays near one window (8 reads of 32 KB here), whatever the size."""
    data = os.urandom(24 * 1024 * 1024)
    sftp_drop.put("big.bin", data)
    t = transport(sshd_server, sftp_drop.remote, prefetch_requests=8)
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        stream = t.open("big.bin")
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
        stream.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        t.close()
    assert digest.digest() == hashlib.sha256(data).digest()
    assert peak < 6 * 1024 * 1024, f"{peak / 2**20:.1f} MB held while downloading 24 MB"


def test_the_ssh_connection_sends_small_requests_at_once(sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    """Each read-ahead window starts with small requests; with Nagle's algorithm they waited for the
    server's delayed ACK, ~40 ms a window (a 137 MB drop: 6.3 s instead of 0.7 s on loopback)."""
    t = transport(sshd_server, sftp_drop.remote)
    try:
        t.list(["*"])
        sock: Any = t.client().get_channel().get_transport().sock  # type: ignore[union-attr]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        t.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # paramiko's prefetch thread
def test_a_cut_connection_mid_download_reconnects_and_resumes(sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    data = os.urandom(6 * 1024 * 1024)
    sftp_drop.put("big.bin", data)
    t = transport(sshd_server, sftp_drop.remote, prefetch_requests=4)
    try:
        stream = t.open("big.bin")
        head = stream.read(1024 * 1024)
        assert sshd_server.kill_sessions() >= 1
        rest = stream.read()
        stream.close()
        assert hashlib.sha256(head + rest).digest() == hashlib.sha256(data).digest()
        assert t.reconnects >= 1
    finally:
        t.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # paramiko's prefetch thread
def test_an_early_end_of_file_short_of_the_size_is_a_lost_connection(sshd_server: SshdServer,
                                                                     sftp_drop: SftpDrop) -> None:
    """paramiko answered a cut connection under load with b"" (an end of file) instead of an error;
    the download must not end there: it reconnects and resumes at the byte it had."""
    data = os.urandom(3 * 1024 * 1024)
    sftp_drop.put("big.bin", data)
    t = transport(sshd_server, sftp_drop.remote, prefetch_requests=4)
    try:
        stream: Any = t.open("big.bin")
        head = stream.read(1024 * 1024)
        raw = stream.raw if hasattr(stream, "raw") else stream
        raw._file.read = lambda n: b""  # what paramiko returned: the end, 2 MB early
        rest = stream.read()
        stream.close()
        assert head + rest == data
        assert t.reconnects == 1
    finally:
        t.close()


def test_sftp_drop_flow_archives_and_quarantines(sshd_server: SshdServer, sftp_drop: SftpDrop, tmp_path: Path,
                                                  store: StateStore) -> None:
    sftp_drop.put("ORDERS_1.csv", "ORDER_NO;NAME\r\n1;Müller\r\n2;Öz\r\n".encode("cp1252"), mtime=time.time() - 900)
    sftp_drop.put("ORDERS_1.csv.done", b"")
    sftp_drop.put("ORDERS_2.csv", b"ORDER_NO;NAME\r\n\"3;unterminated\r\n", mtime=time.time() - 800)
    sftp_drop.put("ORDERS_2.csv.done", b"")
    sftp_drop.put("ORDERS_3.csv", b"ORDER_NO;NAME\r\n4;late\r\n")  # no marker yet
    source = make_source(tmp_path, transport=spec(sshd_server), path=sftp_drop.remote, pattern="ORDERS_*.csv",
                         format={"kind": "csv", "encoding": "cp1252", "delimiter": ";"},
                         ready={"done_marker": "{name}.done"},
                         after={"success": "archive", "archive_to": "archive", "quarantine_to": "failed"},
                         spool_dir=str(tmp_path / "spool"))
    batches = run(source, make_ctx(store, tmp_path, 10))
    assert rows_of(batches) == [{"ORDER_NO": "1", "NAME": "Müller"}, {"ORDER_NO": "2", "NAME": "Öz"}]
    assert (sftp_drop.local / "archive" / "ORDERS_1.csv").exists()
    assert not (sftp_drop.local / "ORDERS_1.csv.done").exists()
    assert (sftp_drop.local / "failed" / "ORDERS_2.csv").exists()
    assert "truncated" in (sftp_drop.local / "failed" / "ORDERS_2.csv.reason.txt").read_text()
    assert (sftp_drop.local / "ORDERS_3.csv").exists()
    assert list((tmp_path / "spool").rglob("*.csv*")) == []  # spooled copies are removed
    entries = {e.name: e for e in store.list_files("job", "flow")}
    assert entries["archive/ORDERS_1.csv"].sha256 == hashlib.sha256(
        "ORDER_NO;NAME\r\n1;Müller\r\n2;Öz\r\n".encode("cp1252")).hexdigest()


def test_a_remote_file_still_being_written_is_left_for_the_next_run(sshd_server: SshdServer, sftp_drop: SftpDrop,
                                                                      tmp_path: Path, store: StateStore) -> None:
    growing = sftp_drop.put("g.csv", b"x\n1\n", mtime=time.time())

    def append() -> None:
        time.sleep(0.2)
        with open(growing, "ab") as f:
            f.write(b"2\n")

    writer = threading.Thread(target=append)
    writer.start()
    kw = {"transport": spec(sshd_server), "path": sftp_drop.remote, "spool_dir": str(tmp_path / "spool")}
    assert run(make_source(tmp_path, ready={"min_age": "1s"}, **kw), make_ctx(store, tmp_path)) == []
    writer.join()
    later = run(make_source(tmp_path, ready={"min_age": "0.2s"}, **kw), make_ctx(store, tmp_path))
    assert rows_of(later) == [{"x": "1"}, {"x": "2"}]


def test_a_kill_mid_file_resumes_without_loss_or_duplicates(sshd_server: SshdServer, sftp_drop: SftpDrop,
                                                            tmp_path: Path, store: StateStore) -> None:
    lines = "".join(f"{i};name {i}\n" for i in range(1, 101))
    sftp_drop.put("ORDERS.csv", ("ID;NAME\n" + lines).encode())
    kw = {"transport": spec(sshd_server), "path": sftp_drop.remote, "spool_dir": str(tmp_path / "spool"),
          "format": {"kind": "csv", "delimiter": ";"}}
    first = run(make_source(tmp_path, **kw), make_ctx(store, tmp_path, 30), commit_limit=2)
    second = run(make_source(tmp_path, **kw), make_ctx(store, tmp_path, 30))
    committed = [r["ID"] for b in first[:2] for r in b.rows] + [r["ID"] for r in rows_of(second)]
    assert committed == [str(i) for i in range(1, 101)]
