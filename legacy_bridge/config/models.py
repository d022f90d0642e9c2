"""The job-file model: a job, its flows, and each flow's source, mapping and target.

Sources and targets are chosen by ``kind`` from their registries; the model is
built once, on first use, from whatever the registries hold.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pydantic import Field, create_model, field_validator

from legacy_bridge.config.durations import Duration
from legacy_bridge.mapping.spec import MappingSpec
from legacy_bridge.registry import Spec

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


def check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError("must start with a letter and use only letters, digits, '_' and '-' (at most 64)")
    return value


class StateSpec(Spec):
    url: str | None = Field(default=None, description="the state store: a SQLite path, sqlite:///PATH or a postgresql:// URL")


AlertKind = Literal["failed", "rejects", "lag"]
ALERT_KINDS: tuple[AlertKind, ...] = ("failed", "rejects", "lag")


class SmtpSpec(Spec):
    """Alerts by email (``[alerts.smtp]``); the password is a secret reference."""

    host: str
    port: int = Field(default=25, ge=1, le=65535)
    from_: str = Field(alias="from", description="sender address")
    to: list[str] = Field(min_length=1, description="recipient addresses")
    username: str | None = None
    password: str | None = Field(default=None, description="a reference: '${env:SMTP_PASSWORD}'")
    starttls: bool = False
    ssl: bool = Field(default=False, description="SMTP over TLS from the first byte (port 465)")
    timeout: Duration = 30.0


class AlertsSpec(Spec):
    """Where alerts go (``[alerts]``): one message per incident, one when it recovers."""

    webhook: str | None = Field(default=None, description="Slack/Teams-compatible incoming webhook URL")
    smtp: SmtpSpec | None = None
    command: str | list[str] | None = Field(
        default=None, description="program run per alert; the alert is on stdin as JSON and in LB_ALERT_* variables")
    on: list[AlertKind] = Field(default_factory=lambda: list(ALERT_KINDS), description="which incidents alert")
    rejects_threshold: int = Field(default=0, ge=0, description="alert when a run rejects more records than this")
    mention: str | None = Field(default=None, description="who is told, added to every message (e.g. '@oncall')")
    timeout: Duration = 10.0


class FlowBase(Spec):
    name: str
    description: str = ""
    enabled: bool = True
    max_lag: Duration | None = Field(default=None, description="alert when no success for this long")
    mapping: MappingSpec

    _check_name = field_validator("name")(check_name)


class JobBase(Spec):
    name: str
    description: str = ""
    owner: str | None = None
    schedule: str | None = Field(default=None, description="cron expression (5 fields)")
    timezone: str | None = Field(default=None, description="time zone of the schedule, e.g. Europe/Paris")
    catch_up: bool = Field(default=False, description="run a missed schedule slot once at start")
    jitter: Duration = 0.0
    state: StateSpec | None = None
    alerts: AlertsSpec | None = None

    _check_name = field_validator("name")(check_name)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (e.g. 'Europe/Paris', 'UTC')") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (e.g. '*/15 6-22 * * 1-5')")
        return value


@cache
def job_model() -> type[JobBase]:
    """The JobSpec model with the source and target unions of the current registries."""
    from legacy_bridge.sources import REGISTRY as SOURCES
    from legacy_bridge.targets import REGISTRY as TARGETS

    flow_model: Any = create_model(
        "FlowSpec",
        __base__=FlowBase,
        source=(SOURCES.spec_type(), ...),
        target=(TARGETS.spec_type(), ...),
    )
    @field_validator("flows")
    def _unique(cls: Any, flows: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for flow in flows:
            if flow.name in seen:
                raise ValueError(f"two flows are named {flow.name!r}")
            seen.add(flow.name)
        return flows

    model: Any = create_model("JobSpec", __base__=JobBase, __validators__={"unique_flows": _unique},
                              flows=(list[flow_model], Field(min_length=1)))
    return model  # type: ignore[no-any-return]
