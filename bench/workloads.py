"""The workloads: for each, the tools measured side by side (legacy_bridge, alternatives, ceilings)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench import datagen, jobs
from bench.availability import has_module, missing_parts, postgres_odbc_problem
from bench.sftpd import Sftpd
from bench.sftpd import problem as sftpd_problem

Role = Literal["legacy_bridge", "alternative", "ceiling"]
PY = sys.executable

DEFAULT_SIZES = {"csv": 1_000_000, "sftp": 1_000_000, "xml": 500_000, "excel": 200_000, "odbc": 1_000_000,
                 "latency": 400_000, "http": 200_000, "mapping": 1_000_000, "per_record": 20_000}
QUICK_SIZES = {"csv": 2_000, "sftp": 2_000, "xml": 1_000, "excel": 500, "odbc": 2_000,
               "latency": 2_000, "http": 2_000, "mapping": 5_000, "per_record": 200}
WORKLOADS = ["csv", "sftp", "xml", "excel", "odbc", "latency", "http", "mapping"]
LATENCY_CONCURRENCY = (1, 8, 32)
HTTP_CONCURRENCY = (1, 4, 8)
PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_ODBC = ("Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres;"
           "UseDeclareFetch=1;Fetch=10000")


@dataclass
class Tool:
    name: str
    role: Role
    command: Callable[[int], list[str]] | None  # repeat index -> argv
    expect: int  # records the tool should deliver (or read, for a ceiling)
    sends: bool = True  # the sink's count is checked
    note: str = ""
    unavailable: str | None = None  # "not available yet: ..." / "not installed: ..."
    cwd: Path | None = None  # where the command runs (default: the repository)


@dataclass
class Workload:
    name: str
    tools: list[Tool] = field(default_factory=list)
    sink: Literal["fast", "slow", "none"] = "fast"
    unavailable: str | None = None


@dataclass
class Env:
    root: Path  # the repository
    data: Path  # bench/data
    tmp: Path  # a temporary folder for projects, state stores, dlt
    sizes: dict[str, int]
    seed: int
    fast_url: Callable[[], str]
    slow_url: Callable[[], str]
    sftpd: Callable[[], Sftpd]  # the bench's sshd, started on first use


def _lb(env: Env, label: str, source_toml: str, url: str, concurrency: int, expect: int) -> Tool:
    project = env.tmp / label
    jobs.write_job(project, source_toml, url, concurrency)

    def command(rep: int) -> list[str]:
        return [PY, "-m", "legacy_bridge", "--state", str(project / f"state-{rep}.db"), "run", "bench"]

    return Tool(f"legacy_bridge (concurrency {concurrency})", "legacy_bridge", command, expect, cwd=project)


def _fixed(argv: list[str]) -> Callable[[int], list[str]]:
    return lambda rep: argv


def _alt(module: str, *args: str) -> Callable[[int], list[str]]:
    return lambda rep: [PY, "-m", f"bench.alternatives.{module}", *args]


def _hand_and_dlt(env: Env, fmt: str, source: str, url: str, n: int, table: str | None = None) -> list[Tool]:
    extra = ["--table", table] if table else []
    tools = [Tool("hand-written (requests, batches of 100)", "alternative",
                  _alt("handwritten", "--format", fmt, "--source", source, "--url", url, *extra), n,
                  unavailable=None if has_module("requests") else "not installed: requests (the bench extra)")]
    dlt_dir = str(env.tmp / f"dlt-{fmt}")
    tools.append(Tool("dlt (@dlt.destination batch_size=100)", "alternative",
                      _alt("dlt_pipeline", "--format", fmt, "--source", source, "--url", url,
                           "--workdir", dlt_dir, *extra), n,
                      unavailable=None if has_module("dlt") else "not installed: dlt (the bench extra)"))
    return tools


def _ceiling(what: str, source: str, n: int, label: str, table: str | None = None,
             needs: str | None = None) -> Tool:
    extra = ["--table", table] if table else []
    missing = needs and not has_module(needs)
    return Tool(f"ceiling: {label}", "ceiling", _alt("ceilings", what, "--source", source, *extra), n,
                sends=False, unavailable=f"not installed: {needs}" if missing else None)


def _not_yet(name: str, groups: list[str]) -> str | None:
    missing = missing_parts(["common", *groups])
    return f"not available yet: {', '.join(missing)}" if missing else None


def file_workload(env: Env, fmt: str) -> Workload:
    n = env.sizes[fmt]
    ext = {"csv": "csv", "xml": "xml", "excel": "xlsx"}[fmt]
    path = env.data / f"customers_{n}_{env.seed}.{ext}"
    writer = {"csv": datagen.write_csv, "xml": datagen.write_xml, "excel": datagen.write_xlsx}[fmt]
    writer(path, n, env.seed)
    url = env.fast_url()
    w = Workload(fmt)
    blocked = _not_yet(fmt, ["files", fmt])
    if blocked:
        w.tools.append(Tool("legacy_bridge", "legacy_bridge", None, n, unavailable=blocked))
    else:
        w.tools.append(_lb(env, f"lb-{fmt}", jobs.files_source(path, fmt), url, 4, n))
    w.tools += _hand_and_dlt(env, fmt, str(path), url, n)
    if fmt == "csv":
        limit = min(n, env.sizes["per_record"])
        w.tools.append(Tool("hand-written, one record per request", "alternative",
                            _alt("handwritten", "--format", "csv", "--source", str(path), "--url", url,
                                 "--per-record", "--limit", str(limit)), limit,
                            note=f"first {limit:,} records only"))
        w.tools.append(_ceiling("csv-reader", str(path), n, "csv.reader alone"))
        w.tools.append(_ceiling("bodies", str(path), n, "build the bodies, send nothing"))
    elif fmt == "xml":
        w.tools.append(_ceiling("xml-iterparse", str(path), n, "lxml iterparse alone"))
    else:
        if not blocked:  # the default loads the sheet under memory_budget; this is the flat-memory mode
            stream = _lb(env, "lb-excel-stream", jobs.files_source(path, "excel-stream"), url, 4, n)
            stream.name, stream.role = "legacy_bridge streaming (engine = openpyxl)", "alternative"
            w.tools.append(stream)
        w.tools.append(_ceiling("openpyxl", str(path), n, "openpyxl read-only alone"))
        w.tools.append(_ceiling("calamine", str(path), n, "python-calamine alone (whole sheet)",
                                needs="python_calamine"))
    return w


def sftp_workload(env: Env) -> Workload:
    """The CSV drop of the csv workload, fetched from a real OpenSSH sshd (bench/sftpd.py) on
    the sink's core: what the SFTP transport adds to the local path, against a team's paramiko
    script and the downloads alone."""
    n = env.sizes["sftp"]
    w = Workload("sftp")
    problem = sftpd_problem()
    if problem:
        w.unavailable = f"not available: {problem}"
        return w
    path = datagen.write_csv(env.data / f"customers_{n}_{env.seed}.csv", n, env.seed)
    server = env.sftpd()
    url = env.fast_url()
    blocked = _not_yet("csv", ["files", "csv", "sftp"])
    if blocked:
        w.tools.append(Tool("legacy_bridge", "legacy_bridge", None, n, unavailable=blocked))
    else:
        w.tools.append(_lb(env, "lb-sftp", jobs.sftp_source(server, path), url, 4, n))
    drop = server.url(path)
    w.tools.append(Tool("hand-written (paramiko get, then requests, batches of 100)", "alternative",
                        _alt("handwritten", "--format", "sftp-csv", "--source", drop, "--url", url), n,
                        unavailable=None if has_module("requests") else "not installed: requests (the bench extra)"))
    w.tools.append(_ceiling("sftp-paramiko", drop, n, "paramiko download alone (prefetch)"))
    w.tools.append(_ceiling("sftp-openssh", drop, n, "OpenSSH sftp client download alone"))
    return w


def odbc_workload(env: Env) -> Workload:
    n = env.sizes["odbc"]
    w = Workload("odbc")
    problem = postgres_odbc_problem(PG_DSN, PG_ODBC)
    if problem:
        w.unavailable = f"not available: {problem}"
        return w
    table = datagen.write_pg(PG_DSN, n, env.seed)
    url = env.fast_url()
    blocked = _not_yet("odbc", ["odbc"])
    if blocked:
        w.tools.append(Tool("legacy_bridge", "legacy_bridge", None, n, unavailable=blocked))
    else:
        w.tools.append(_lb(env, "lb-odbc", jobs.odbc_source(PG_ODBC, table), url, 4, n))
    w.tools += _hand_and_dlt(env, "odbc", PG_ODBC, url, n, table)
    w.tools.append(_ceiling("pyodbc", PG_ODBC, n, "pyodbc fetchmany loop", table))
    w.tools.append(_ceiling("arrow-odbc", PG_ODBC, n, "arrow-odbc batches", table, needs="arrow_odbc"))
    return w


def latency_workloads(env: Env) -> list[Workload]:
    """CSV -> API with 20 ms per call: what concurrency buys against a far-away API."""
    out = []
    blocked = _not_yet("csv", ["files", "csv"])
    top = env.sizes["latency"]
    for conc in LATENCY_CONCURRENCY:
        n = min(top, max(100, env.sizes["per_record"], top * conc // max(LATENCY_CONCURRENCY)))
        path = datagen.write_csv(env.data / f"customers_{n}_{env.seed}.csv", n, env.seed)
        url = env.slow_url()
        w = Workload(f"latency 20ms c={conc}", sink="slow")
        if blocked:
            w.tools.append(Tool("legacy_bridge", "legacy_bridge", None, n, unavailable=blocked))
        else:
            w.tools.append(_lb(env, f"lb-latency-{conc}", jobs.files_source(path, "csv"), url, conc, n))
        limit = min(n, env.sizes["per_record"])
        w.tools.append(Tool("hand-written (requests, batches of 100)", "alternative",
                            _alt("handwritten", "--format", "csv", "--source", str(path), "--url", url,
                                 "--limit", str(limit)), limit, note=f"one call at a time; first {limit:,}"))
        w.tools.append(Tool(f"ceiling: urllib3, {conc} in flight, prebuilt bodies", "ceiling",
                            _alt("http_ceiling", "--client", "urllib3", "--concurrency", str(conc),
                                 "--records", str(n - n % 100 or 100), "--url", url), n - n % 100 or 100))
        out.append(w)
    return out


def http_workloads(env: Env) -> list[Workload]:
    """The HTTP target alone (issue 6): prebuilt payloads to the fast sink, against plain httpx."""
    n = max(100, env.sizes["http"] - env.sizes["http"] % 100)
    out = []
    blocked = _not_yet("common", [])
    for conc in HTTP_CONCURRENCY:
        url = env.fast_url()
        w = Workload(f"http target c={conc}")
        if blocked:
            w.tools.append(Tool("legacy_bridge", "legacy_bridge", None, n, unavailable=blocked))
        else:
            argv = [PY, "-m", "bench.lb_target", "--concurrency", str(conc), "--records", str(n), "--url", url]
            w.tools.append(Tool(f"legacy_bridge hubspot target (concurrency {conc})", "legacy_bridge",
                                _fixed(argv), n))
        w.tools.append(Tool(f"ceiling: plain httpx loop, {conc} threads", "ceiling",
                            _alt("http_ceiling", "--client", "httpx", "--concurrency", str(conc),
                                 "--records", str(n), "--url", url), n,
                            unavailable=None if has_module("httpx") else "not installed: httpx"))
        out.append(w)
    return out
