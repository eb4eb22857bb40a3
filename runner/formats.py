"""How a number is shown, once for every place that shows it: the report's charts and tables and the CLI's
summary. The views keep full precision (ratios as exact quotients, durations in seconds); these functions are
the only place a metric is rounded.

- a rate: percent with one decimal (`43.1%`);
- a duration: whole minutes under an hour (`42 min`, truncated as DevLake counts minutes, so that a duration
  shown in minutes is always one DORA grades under an hour), hours with one decimal from an hour on
  (`6.8 h`), always computed from seconds (408.95 minutes is 6.8 h, never 6.80 from whole minutes);
- a count: thousands separated (`12,345`);
- a rate of deployments: one decimal a week (`4.7 a week`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional, Union

Number = Union[int, float, Decimal]


def _as_decimal(value: Number) -> Decimal:
    """The exact value: a float through its shortest repr (0.4315 stays 0.4315, not 0.43149999...)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _rounded(value: Number, places: int) -> Decimal:
    """Half-up rounding to `places` decimals, the way people round."""
    return _as_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def percent(ratio: Optional[Number]) -> str:
    """A rate between 0 and 1, as a percentage with one decimal."""
    return "-" if ratio is None else f"{_rounded(_as_decimal(ratio) * 100, 1)}%"


def duration(seconds: Optional[Number]) -> str:
    """A duration from seconds: whole minutes (truncated) under an hour, hours with one decimal from an hour
    on."""
    if seconds is None:
        return "-"
    exact = _as_decimal(seconds)
    if exact < 3600:
        return f"{int(exact // 60)} min"
    return f"{_rounded(exact / 3600, 1)} h"


def count(value: Optional[Number]) -> str:
    return "-" if value is None else f"{int(value):,}"


def per_week(value: Optional[Number]) -> str:
    return "-" if value is None else f"{_rounded(_as_decimal(value), 1)} a week"


def month_label(month: date, today: Optional[date] = None) -> str:
    """`2026-11`, or `2026-12 (partial)` for the month not over yet (UTC)."""
    return f"{month:%Y-%m}" + (" (partial)" if is_partial(month, today) else "")


def is_partial(month: date, today: Optional[date] = None) -> bool:
    """Whether the calendar month (UTC) has not ended yet: its figures will still change."""
    today = today or datetime.now(UTC).date()
    return (month.year, month.month) >= (today.year, today.month)
