"""Pure units with expectations computed by hand: the client's RateLimiter on a fake clock, and `next_fire` on
cron expressions that read differently with the seconds field first or last."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from ingestion.pagerduty import settings
from ingestion.pagerduty.client import RateLimiter
from runner.cron import next_fire, validate_cron
from runner.errors import InputError


class FakeClock:
    """time.monotonic and time.sleep for the limiter: sleeping moves the clock, and every sleep is kept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(clock: FakeClock, **kw) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **kw)


def response(status: int, **headers: str) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.headers.update(headers)
    return r


def test_per_minute_limit_is_a_sliding_window() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_minute=3)
    for at in (0.0, 30.0, 59.0):  # three requests spread over the first minute: none waits
        clock.now = 1000.0 + at
        rl.acquire()
    assert clock.sleeps == []
    # the fourth, at t=59, waits until the first leaves the window (t=60): one second
    rl.acquire()
    assert clock.sleeps == [pytest.approx(1.0)] and clock.now == pytest.approx(1060.0)
    # the fifth, right away, waits for the one sent at t=30: until t=90, not a whole new minute
    rl.acquire()
    assert clock.sleeps[-1] == pytest.approx(30.0) and clock.now == pytest.approx(1090.0)
    assert rl.waited == pytest.approx(31.0)


def test_rate_limit_per_hour_replaces_the_per_minute_limit() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_hour=5, per_minute=2)
    for _ in range(5):  # more than 2 in one minute: the per-minute default no longer applies
        rl.acquire()
    assert clock.sleeps == []
    rl.acquire()  # the sixth in the hour waits for the first to be an hour old
    assert clock.sleeps == [pytest.approx(3600.0)]


def test_default_limit_is_pagerdutys_960_a_minute() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(960):
        rl.acquire()
    assert clock.sleeps == []
    rl.acquire()
    assert clock.sleeps == [pytest.approx(60.0)]


def test_a_429_pauses_until_ratelimit_reset() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_minute=100)
    rl.acquire()
    rl.observe(response(429, **{"ratelimit-reset": "7"}))
    clock.now += 2.0  # two seconds later, the next request still waits five
    rl.acquire()
    assert clock.sleeps == [pytest.approx(5.0)] and clock.now == pytest.approx(1007.0)


@pytest.mark.parametrize(
    "status, headers, pause",
    [
        (429, {}, settings.RATE_LIMIT_BARE_PAUSE_SECONDS),  # a bare 429: a fixed pause, not a hammering retry
        (429, {"ratelimit-reset": "0"}, 1.0),  # "0" means now: one second rather than none
        (200, {"ratelimit-remaining": "0", "ratelimit-reset": "12"}, 12.0),  # the last one left: pause
        (200, {"ratelimit-remaining": "3", "ratelimit-reset": "12"}, 0.0),  # some left: go on
        (200, {"ratelimit-remaining": "0"}, 0.0),  # no reset said: nothing to wait for
    ],
)
def test_what_pauses_and_for_how_long(status, headers, pause) -> None:
    clock = FakeClock()
    rl = limiter(clock, per_minute=100)
    rl.observe(response(status, **headers))
    rl.acquire()
    assert sum(clock.sleeps) == pytest.approx(pause)


def test_a_shorter_pause_never_shortens_a_longer_one() -> None:
    clock = FakeClock()
    rl = limiter(clock, per_minute=100)
    rl.pause(30)
    rl.pause(3)
    rl.acquire()
    assert sum(clock.sleeps) == pytest.approx(30.0)


# ------------------------------------------------------------------------------------------------- cron
AFTER = datetime(2026, 11, 26, 14, 31, 10, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    "expression, expected",
    [
        # six fields put seconds first (DevLake's robfig/cron): second 30 of minute 0 of every hour; read with
        # seconds last it would be 00:30 of the next day
        ("30 0 * * * *", datetime(2026, 11, 26, 15, 0, 30, tzinfo=UTC)),
        # five fields: 09:00 on Mondays; the Monday after Thursday the 26th is the 30th
        ("0 9 * * 1", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        ("@daily", datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        ("@hourly", datetime(2026, 11, 26, 15, 0, tzinfo=UTC)),
        # 45 seconds past each minute: later this very minute
        ("45 * * * * *", datetime(2026, 11, 26, 14, 31, 45, tzinfo=UTC)),
    ],
)
def test_next_fire_on_lopsided_expressions(expression, expected) -> None:
    assert next_fire(expression, AFTER) == expected


def test_next_fire_is_strictly_after() -> None:
    on_the_dot = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert next_fire("0 9 * * 1", on_the_dot) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert next_fire("30 0 * * * *", datetime(2026, 11, 26, 15, 0, 30, tzinfo=UTC)) == datetime(
        2026, 11, 26, 16, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "61 * * * *", "every day", "* * *"])
def test_expressions_that_never_fire_are_input_errors(expression) -> None:
    with pytest.raises(InputError, match="is not a cron expression that fires"):
        next_fire(expression, AFTER)
    with pytest.raises(InputError, match=r"^blueprint\.cronConfig: "):
        validate_cron(expression, "blueprint.cronConfig", now=AFTER)
