"""Job files: every problem reported at once with its key path; secret references."""

from __future__ import annotations

import pytest

from legacy_bridge.cli import main
from legacy_bridge.config.loader import load_job
from legacy_bridge.errors import ConfigError
from legacy_bridge.observe.redact import redact
from tests.fixtures.project import Project

GOOD = """
name = "demo"
description = "orders from a folder to the CRM"
schedule = "*/15 6-22 * * 1-5"

[[flows]]
name = "orders"
[flows.source]
kind = "files"
transport = { kind = "local" }
path = "drop"
pattern = ["ORDERS_*.csv"]
format = { kind = "csv", encoding = "cp1252", delimiter = ";" }
[flows.mapping]
key = "ORDER_NO"
[flows.mapping.fields]
order_no = "ORDER_NO"
[flows.target]
kind = "hubspot"
base_url = "${env:CRM_URL}"
object = "deals"
id_property = "order_no"
auth = { type = "bearer", token = "${env:CRM_TOKEN}" }
"""


def test_a_valid_job_loads_with_references_resolved(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CRM_TOKEN", "tok-7f3a9c1d-secret")
    path = project.write_job("demo", GOOD)
    job = load_job("demo")
    assert job.path == path and job.name == "demo"
    flow = job.flow("orders")
    assert flow.target.base_url == "http://127.0.0.1:9"
    assert redact("Authorization: Bearer tok-7f3a9c1d-secret") == "Authorization: Bearer ***"


def test_an_unset_reference_is_an_error_naming_the_key(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_TOKEN", raising=False)
    monkeypatch.setenv("CRM_URL", "http://127.0.0.1:9")
    project.write_job("demo", GOOD)
    with pytest.raises(ConfigError) as err:
        load_job("demo")
    assert any(p.startswith("flows[0].target.auth.token: environment variable CRM_TOKEN is not set")
               for p in err.value.problems)


def test_three_mistakes_are_reported_together_with_their_key_paths(
        project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CRM_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CRM_TOKEN", "x" * 12)
    bad = (GOOD.replace('schedule = "*/15 6-22 * * 1-5"', 'schedule = "every quarter hour"')
               .replace('pattern = ["ORDERS_*.csv"]', 'pattern = ["ORDERS_*.csv"]\nbatchsize = 10')
               .replace('id_property = "order_no"', 'id_property = "order_no"\nbatch_size = 500'))
    project.write_job("demo", bad)
    code = main(["validate", "demo"])
    err = capsys.readouterr().err
    assert code == 2
    assert "has 3 problems" in err
    assert "schedule: 'every quarter hour' is not a cron expression" in err
    assert "flows[0].source.batchsize: unknown key" in err
    assert "flows[0].target.batch_size:" in err and "100" in err


def test_an_unknown_kind_lists_the_known_ones(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CRM_TOKEN", "x" * 12)
    project.write_job("demo", GOOD.replace('kind = "hubspot"', 'kind = "hubspott"'))
    with pytest.raises(ConfigError) as err:
        load_job("demo")
    text = "\n".join(err.value.problems)
    assert "flows[0].target" in text and "hubspot" in text and "jsonl" in text


def test_validate_without_secrets_and_schema_export(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.write_job("demo", GOOD)
    assert main(["validate", "--no-secrets", "demo"]) == 0
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert '"flows"' in out and '"hubspot"' in out


def test_a_missing_job_says_which_jobs_exist(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.write_job("demo", GOOD)
    assert main(["validate", "nope"]) == 2
    assert "known jobs: demo" in capsys.readouterr().err


def test_a_wrong_time_zone_is_refused_at_validation(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.write_job("demo", GOOD.replace('schedule = "*/15 6-22 * * 1-5"',
                                           'schedule = "*/15 6-22 * * 1-5"\ntimezone = "Europe/Pariss"'))
    assert main(["validate", "--no-secrets", "demo"]) == 2
    assert "timezone: 'Europe/Pariss' is not a time zone" in capsys.readouterr().err
