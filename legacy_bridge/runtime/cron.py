"""Cron schedules of jobs: the next and the previous slot, in the job's time zone.

Five fields (minute hour day month weekday) as in crontab; a sixth field, when given,
counts seconds (``* * * * * */5`` = every five seconds), which tests and very busy drop
folders use.  Slots are computed in the job's time zone (``timezone = "Europe/Paris"``,
default: the server's local zone), so ``0 6 * * *`` stays at 06:00 across daylight
saving changes; every time handed out is timezone-aware UTC.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from legacy_bridge.errors import ConfigError


def zone(name: str | None) -> tzinfo:
    """The named IANA time zone, or the server's local zone when ``name`` is None."""
    if name is None:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}",
                          hint="use an IANA name such as 'Europe/Paris' or 'UTC'") from exc


class CronSchedule:
    """``CronSchedule("*/15 6-22 * * 1-5", "Europe/Paris", jitter_s=30)``."""

    def __init__(self, expression: str, timezone: str | None = None, jitter_s: float = 0.0,
                 rng: random.Random | None = None) -> None:
        from croniter import croniter

        if not croniter.is_valid(expression):
            raise ConfigError(f"{expression!r} is not a cron expression",
                              hint="five fields: minute hour day month weekday, e.g. '*/15 6-22 * * 1-5'")
        self.expression = expression
        self.timezone = timezone
        self.tz = zone(timezone)
        self.jitter_s = max(0.0, float(jitter_s))
        self._rng = rng or random.Random()

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment`` (UTC)."""
        from croniter import croniter

        it = croniter(self.expression, moment.astimezone(self.tz))
        return it.get_next(datetime).astimezone(UTC)  # type: ignore[no-any-return]

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last slot at or before ``moment`` (UTC): the one a catch-up run makes up for."""
        from croniter import croniter

        local = moment.astimezone(self.tz)
        if croniter.match(self.expression, local) and (local.second == 0 or self._has_seconds):
            return moment.astimezone(UTC).replace(microsecond=0)
        it = croniter(self.expression, local)
        return it.get_prev(datetime).astimezone(UTC)  # type: ignore[no-any-return]

    @property
    def _has_seconds(self) -> bool:
        return len(self.expression.split()) >= 6

    def jitter(self) -> float:
        """A random delay in [0, jitter] added to a slot, so many jobs on one slot spread out."""
        return self._rng.uniform(0.0, self.jitter_s) if self.jitter_s else 0.0

    def describe(self, moment: datetime) -> str:
        """``2024-05-02 06:00:00 Europe/Paris`` for log lines."""
        local = moment.astimezone(self.tz)
        return f"{local:%Y-%m-%d %H:%M:%S} {self.timezone or local.tzname() or 'local'}"
