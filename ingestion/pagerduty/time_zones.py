"""The UTC offsets of a time zone over time, as rows SQL can join on.

A responder's business, off and sleep hours are judged in their own time zone (`users.time_zone`, an IANA
name). MySQL's and MariaDB's CONVERT_TZ knows named zones only once the server's time zone tables are loaded,
which neither does by default; so the loader writes each zone's offsets itself, from Python's own tz
database: one row per span of constant offset between TZ_RANGE_START and TZ_RANGE_END.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .records import Row, time_zone_offset_row

TZ_RANGE_START = datetime(2000, 1, 1, tzinfo=UTC)
TZ_RANGE_END = datetime(2040, 1, 1, tzinfo=UTC)
"""The spans cover these years: fixed, so that a rerun writes the same rows (and no new version)."""


def _offset(zone: ZoneInfo, at: datetime) -> int:
    return int((at.astimezone(zone).utcoffset() or timedelta()).total_seconds())


@cache
def offset_spans(name: str) -> tuple[tuple[datetime, datetime, int], ...]:
    """(valid_from, valid_until, UTC offset in seconds) of `name` over the range; () for an unknown zone
    (its users' hours are then judged in UTC, which the models say)."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ()
    spans = []
    start, current = TZ_RANGE_START, _offset(zone, TZ_RANGE_START)
    day = TZ_RANGE_START
    while day < TZ_RANGE_END:
        following = day + timedelta(days=1)
        if _offset(zone, following) != current:
            low, high = day, following  # the change is in (low, high]: bisect it to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _offset(zone, middle) == current:
                    low = middle
                else:
                    high = middle
            spans.append((start, high, current))
            start, current = high, _offset(zone, high)
        day = following
    spans.append((start, TZ_RANGE_END, current))
    return tuple(spans)


def offset_rows(connection_id: int, name: str, fetched_at: datetime) -> list[Row]:
    """The `time_zone_offsets` rows of one zone."""
    return [
        time_zone_offset_row(connection_id, name, start, until, offset, fetched_at)
        for start, until, offset in offset_spans(name)
    ]
