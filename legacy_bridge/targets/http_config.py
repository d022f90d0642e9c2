"""Job-file settings every HTTP target shares: where, how to authenticate, how hard to push.

```toml
[flows.target]
kind = "hubspot"
base_url = "${env:CRM_URL}"
auth = { type = "bearer", token = "${env:CRM_TOKEN}" }
# auth = { type = "api_key", in = "header", name = "X-Api-Key", value = "${env:KEY}" }
# auth = { type = "basic", username = "bridge", password = "${env:CRM_PASSWORD}" }
# auth = { type = "oauth2", token_url = "https://…/oauth/token", client_id = "…", client_secret = "${env:…}" }
batch_size = 100          # bounded by the profile (hubspot 1..100, salesforce 1..200)
concurrency = 4           # batches in flight
rate_limit = "100/10s"    # token bucket shared by every in-flight call
timeout = { connect = "5s", read = "60s" }
max_attempts = 8          # transient failures (timeouts, resets, 5xx) per call
max_retry_time = "10m"    # give up on a call after this long (429 waits included)
verify = true             # TLS verification; ca_bundle / client_cert / client_key for private PKI
```
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator

from legacy_bridge.config.durations import Duration
from legacy_bridge.config.refs import is_reference
from legacy_bridge.registry import Spec
from legacy_bridge.targets.ratelimit import parse_rate


class BearerAuth(Spec):
    type: Literal["bearer"]
    token: SecretStr


class ApiKeyAuth(Spec):
    type: Literal["api_key"]
    in_: Literal["header", "query"] = Field("header", alias="in")
    name: str = "X-API-Key"
    value: SecretStr


class BasicAuth(Spec):
    type: Literal["basic"]
    username: str
    password: SecretStr


class OAuth2Auth(Spec):
    type: Literal["oauth2"]
    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str | None = None


AuthSpec = Annotated[BearerAuth | ApiKeyAuth | BasicAuth | OAuth2Auth, Field(discriminator="type")]


def _timeouts(value: Any) -> Any:
    return {"connect": value, "read": value} if isinstance(value, int | float | str) else value


class Timeouts(Spec):
    connect: Duration = 10.0
    read: Duration = 60.0


class HttpTargetSpec(Spec):
    """Base of every HTTP target profile; profiles add ``kind`` and their own fields and
    narrow ``batch_size`` to their API's limit."""

    base_url: str = Field(description="scheme://host[:port][/prefix] of the API")
    auth: AuthSpec | None = None
    batch_size: int = Field(100, ge=1)
    concurrency: int = Field(4, ge=1, le=64, description="batches in flight")
    rate_limit: str | None = Field(None, description="calls per window shared by all in-flight calls, e.g. '100/10s'")
    timeout: Annotated[Timeouts, BeforeValidator(_timeouts)] = Timeouts()
    max_attempts: int = Field(8, ge=1, le=100, description="tries per call for transient failures")
    max_retry_time: Duration = Field(600.0, description="give up on one call after this long")
    backoff_base: Duration = Field(0.5, description="first backoff; doubles each retry, with jitter")
    backoff_max: Duration = Field(30.0, description="longest single backoff")
    verify: bool = Field(True, description="verify the server's TLS certificate")
    ca_bundle: str | None = Field(None, description="PEM file of CAs to trust instead of the system store")
    client_cert: str | None = Field(None, description="PEM client certificate (mutual TLS)")
    client_key: str | None = Field(None, description="PEM key of client_cert")
    idempotency_header: str | None = Field("Idempotency-Key", description="header carrying the batch's key; '' for none")

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if is_reference(value):
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("rate_limit")
    @classmethod
    def _check_rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value
