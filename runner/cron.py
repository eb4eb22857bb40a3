"""DevLake's cronConfig, for `run.py schedule` and the API's scheduler alike."""

from __future__ import annotations

from datetime import datetime

from croniter import croniter

from .errors import InputError


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time after `after` that the expression fires: five cron fields, or six with seconds first;
    @daily-style names too. A bad expression is an InputError that names it."""
    try:
        schedule = croniter(expression, after, second_at_beginning=len(expression.split()) == 6)
    except (ValueError, KeyError) as exc:
        raise InputError(f"cronConfig: {expression!r} is not a cron expression ({exc})") from None
    return schedule.get_next(datetime)
