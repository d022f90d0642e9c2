"""Watch mode on an SFTP drop (a real OpenSSH sshd): polled at ``poll_interval``; the backlog at
start and files arriving later are each delivered once."""

from __future__ import annotations

import time

import pytest

from tests.fixtures.project import Project
from tests.fixtures.sshd import SftpDrop, SshdServer
from tests.integration.runtime.support import delivered, files_job, order_lines, start_cli, stop_cli, wait_for

pytestmark = pytest.mark.sshd


def csv_bytes(lines: list[str]) -> bytes:
    return ("\n".join([order_lines()[0], *lines]) + "\n").encode()


def test_an_sftp_drop_is_polled(project: Project, sshd_server: SshdServer, sftp_drop: SftpDrop) -> None:
    s = sshd_server
    transport = (f'transport = {{ kind = "sftp", host = "{s.host}", port = {s.port}, username = "{s.user}", '
                 f'key_file = "{s.key_file}", known_hosts = "{s.known_hosts}" }}')
    job = files_job("remote", drop=sftp_drop.remote, extra_source='poll_interval = "1s"')
    job = job.replace('transport = { kind = "local" }', transport)
    project.write_job("remote", job)
    orders = order_lines()[1]
    sink, log = project.root / "var" / "sink.jsonl", project.root / "watch.log"
    sftp_drop.put("ORDERS_1.csv", csv_bytes(orders[:15]))  # waiting before the watcher starts
    watcher = start_cli(project.root, "watch", "remote", log=log)
    try:
        wait_for(lambda: len(delivered(sink)) >= 15, what="the backlog over SFTP")
        sftp_drop.put("ORDERS_2.csv", csv_bytes(orders[15:30]), mtime=time.time() - 60)
        wait_for(lambda: len(delivered(sink)) >= 30, what="a file arriving later, found by polling")
    finally:
        assert stop_cli(watcher) == 0, log.read_text()
    got = delivered(sink)
    assert set(got) == {line.split(";")[0] for line in orders[:30]} and set(got.values()) == {1}
    assert f"watching sftp {sftp_drop.remote}, listing every 1s" in log.read_text()
    assert sorted(p.name for p in (sftp_drop.local / "archive").iterdir()) == ["ORDERS_1.csv", "ORDERS_2.csv"]
