"""Times as PagerDuty writes them, into naive UTC as the lake stores them.

PagerDuty renders every time in a time zone with its offset (`2024-03-10T01:59:59-08:00`); change events carry
whatever offset their sender wrote; users' CSV files carry theirs. Every one of them is parsed here, with its
offset, and turned into UTC. A time without an offset cannot be placed on the clock: it is refused with the
name of the field it came from, never guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional


class TimeFormatError(ValueError):
    """A time that cannot be read exactly; the message names the field."""


def parse_time(value: object, field: str) -> Optional[datetime]:
    """An ISO-8601 time with an offset as an aware UTC datetime; None and "" stay None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TimeFormatError(f"{field}: {value!r} is not an ISO-8601 time")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimeFormatError(f"{field}: {value!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimeFormatError(f"{field}: {value!r} has no UTC offset; refusing to guess its time zone")
    return moment.astimezone(UTC)


def utc_naive(moment: Optional[datetime]) -> Optional[datetime]:
    """An aware time as the naive UTC DATETIME the lake stores (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_utc_naive(value: object, field: str) -> Optional[datetime]:
    """parse_time, as stored: naive UTC."""
    return utc_naive(parse_time(value, field))


def iso_z(moment: datetime) -> str:
    """A UTC time as PagerDuty's query parameters want it: whole seconds and `Z` (an offset-less since/until
    is read in the account's time zone)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sql_text(moment: Optional[datetime]) -> Optional[str]:
    """A time inside a JSON column, as text every SQL dialect casts to DATETIME without cutting characters:
    `YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC."""
    naive = utc_naive(moment)
    return None if naive is None else naive.isoformat(" ")
