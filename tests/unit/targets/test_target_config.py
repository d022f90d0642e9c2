"""Target tables in job files: every problem found at load, with its key path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from legacy_bridge.targets import REGISTRY


def validate(spec: dict[str, Any]) -> Any:
    return TypeAdapter(REGISTRY.spec_type()).validate_python(spec)


def errors(spec: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        validate(spec)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in err.value.errors()}


BASE = {"kind": "hubspot", "base_url": "https://api.hubapi.com", "object": "companies", "id_property": "erp_id"}


def test_hubspot_defaults() -> None:
    spec = validate({**BASE, "auth": {"type": "bearer", "token": "pat-na1-123"}})
    assert spec.batch_size == 100 and spec.concurrency == 4 and spec.verify is True
    assert "pat-na1-123" not in repr(spec)


def test_hubspot_batch_size_is_bounded_by_its_api() -> None:
    problems = errors({**BASE, "batch_size": 250, "concurrency": 0, "rate_limit": "lots", "base_url": "api.hubapi.com"})
    assert set(problems) == {"hubspot.batch_size", "hubspot.concurrency", "hubspot.rate_limit", "hubspot.base_url"}
    assert "100" in problems["hubspot.batch_size"]


def test_auth_tables_are_checked_by_type() -> None:
    problems = errors({**BASE, "auth": {"type": "oauth2", "token_url": "https://x/token", "client_id": "c"}})
    assert any("client_secret" in k for k in problems)
    spec = validate({**BASE, "auth": {"type": "api_key", "in": "query", "name": "hapikey", "value": "k-12345"}})
    assert spec.auth.in_ == "query"


def test_timeout_takes_one_duration_or_a_table() -> None:
    assert validate({**BASE, "timeout": "5s"}).timeout.read == 5.0
    assert validate({**BASE, "timeout": {"connect": "2s", "read": "1m"}}).timeout.read == 60.0
