"""The job file the bench writes keeps the project's rule: its sink token is referenced, not
written in it, and the token is no word the logs hold otherwise (the job's name was masked as
``job=***`` in every log line while the token was the literal "bench")."""

from __future__ import annotations

from pathlib import Path

from bench import jobs
from bench.mapping import SINK_TOKEN
from legacy_bridge.config.loader import load_job
from legacy_bridge.observe.redact import forget_all, redact
from legacy_bridge.targets.auth import Credentials


def test_the_bench_job_references_its_token_and_its_name_stays_readable_in_logs(tmp_path: Path) -> None:
    forget_all()
    try:
        path = jobs.write_job(tmp_path, jobs.odbc_source("DSN=erp", "customers"), "http://127.0.0.1:9", 4)
        assert SINK_TOKEN not in path.read_text(encoding="utf-8")
        loaded = load_job(path)
        flow = loaded.spec.flows[0]
        assert flow.target.auth.token.get_secret_value() == SINK_TOKEN
        Credentials(flow.target.auth)  # registers the token for redaction, as a run does
        assert redact(f"job={loaded.spec.name} flow={flow.name}") == "job=bench flow=customers"
        assert redact(f"Authorization: Bearer {SINK_TOKEN}") == "Authorization: Bearer ***"
    finally:
        forget_all()
