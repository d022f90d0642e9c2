"""The legacy_bridge job files the bench runs (jobs/bench.toml in a temporary project folder)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.mapping import MAPPING_TOML, SINK_TOKEN
from bench.sftpd import Sftpd


def _s(value: str) -> str:
    return json.dumps(value)  # a TOML basic string


def files_source(data_file: Path, fmt: str, transport: str = '{ kind = "local" }') -> str:
    formats = {
        "csv": '{ kind = "csv", encoding = "cp1252", delimiter = ";" }',
        "xml": '{ kind = "xml", record = "Customer" }',
        "excel": '{ kind = "excel", sheet = "Customers" }',
        # the same workbook streamed (openpyxl, flat memory) instead of loaded under the memory budget
        "excel-stream": '{ kind = "excel", sheet = "Customers", engine = "openpyxl" }',
    }
    return f'''
[flows.source]
kind = "files"
transport = {transport}
path = {_s(str(data_file.parent.resolve()))}
pattern = [{_s(data_file.name)}]
format = {formats[fmt]}
after = {{ success = "leave", failure = "leave" }}
'''


def sftp_source(server: Sftpd, data_file: Path) -> str:
    """The csv workload's file source, over SFTP from the bench's sshd (host key checked)."""
    transport = (f'{{ kind = "sftp", host = {_s(server.host)}, port = {server.port}, username = {_s(server.user)}, '
                 f'key_file = {_s(server.key_file)}, known_hosts = {_s(server.known_hosts)} }}')
    return files_source(data_file, "csv", transport)


def odbc_source(connection: str, table: str) -> str:
    return f'''
[flows.source]
kind = "odbc"
connection = {_s(connection)}
table = {_s(table)}
mode = "incremental"
cursor = ["CUSTNO"]
'''


def target(url: str, concurrency: int, token_file: Path) -> str:
    """The hubspot target on the sink; its token referenced from a file, as the jobs/ folder's are."""
    return f'''
[flows.target]
kind = "hubspot"
base_url = {_s(url)}
object = "contacts"
id_property = "erp_id"
auth = {{ type = "bearer", token = {_s("${file:" + str(token_file.resolve()) + "}")} }}
batch_size = 100
concurrency = {concurrency}
'''


def write_job(project: Path, source_toml: str, url: str, concurrency: int) -> Path:
    """``project/jobs/bench.toml``: one flow, source -> the 12-field mapping -> hubspot -> the sink."""
    jobs = project / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    token_file = project / "sink.token"
    token_file.write_text(SINK_TOKEN + "\n", encoding="utf-8")
    text = (f'name = "bench"\ndescription = "scripts/bench workload"\n\n[[flows]]\nname = "customers"\n'
            f"{source_toml}{MAPPING_TOML}{target(url, concurrency, token_file)}")
    path = jobs / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path
