"""DevLake's cronConfig, for `run.py schedule` and the API's scheduler alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Optional

from croniter import croniter

from .errors import InputError

MAX_LENGTH = 100
MANUAL = "manual"


def is_manual(expression: Optional[str]) -> bool:
    return str(expression or MANUAL).strip().lower() in ("", MANUAL)


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time after `after` that the expression fires: five cron fields, or six with seconds first;
    @daily-style names too. Any expression croniter cannot use (a bad one, or one that never fires, such as
    "0 0 31 2 *") is an InputError that names it."""
    try:
        schedule = croniter(expression, after, second_at_beginning=len(expression.split()) == 6)
        return schedule.get_next(datetime)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:  # croniter's errors are ValueErrors
        raise InputError(f"cronConfig: {expression!r} is not a cron expression that fires ({exc})") from None


def validate_cron(value: Any, where: str = "cronConfig", now: Optional[datetime] = None) -> str:
    """A cronConfig as saved: "manual" (or absent), or an expression that fires. Returns it trimmed."""
    if value is None:
        return MANUAL
    if not isinstance(value, str):
        raise InputError(f'{where}: expected a cron expression such as "0 0 * * *", or "manual"')
    expression = value.strip()
    if len(expression) > MAX_LENGTH:
        raise InputError(f"{where}: at most {MAX_LENGTH} characters")
    if is_manual(expression):
        return expression or MANUAL
    try:
        next_fire(expression, now or datetime.now(UTC))
    except InputError as exc:
        raise InputError(str(exc).replace("cronConfig", where, 1)) from None
    return expression
