"""Rates in job files and the limiter shared by a target's calls (fake clock, no sleeping)."""

from __future__ import annotations

import pytest

from legacy_bridge.targets.http import retry_after
from legacy_bridge.targets.ratelimit import TokenBucket, parse_rate


@pytest.mark.parametrize(("text", "rate"), [("100/10s", (100, 10.0)), ("5/s", (5, 1.0)), ("1000/1m", (1000, 60.0))])
def test_rates_parse(text: str, rate: tuple[float, float]) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["100", "fast", "0/10s", "10/-1s"])
def test_bad_rates_say_what_a_rate_looks_like(text: str) -> None:
    with pytest.raises(ValueError, match=r"rate|positive"):
        parse_rate(text)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.starts: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_window_ever_holds_more_calls_than_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 1.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(55):
        bucket.acquire()
        starts.append(clock.now)
    for i, t in enumerate(starts):
        assert sum(1 for s in starts[i:] if s - t < 1.0) <= 10


def test_pause_holds_every_caller() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, 1.0, clock=clock, sleep=clock.sleep)
    bucket.pause(3.0)
    bucket.acquire()
    assert clock.now >= 1003.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0
    assert retry_after("0.5") == 0.5
    assert retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: go now
    import time
    from email.utils import formatdate
    later = retry_after(formatdate(time.time() + 30, usegmt=True))
    assert later is not None and 25 <= later <= 31
