"""Times as PagerDuty writes them, into naive UTC as the lake stores them.

PagerDuty renders every time in a time zone with its offset (`2024-03-10T01:59:59-08:00`); change events carry
whatever offset their sender wrote; users' CSV files carry theirs. Every one of them is parsed here, with its
offset, and turned into UTC. A time without an offset cannot be placed on the clock: it is refused with the
name of the field it came from, never guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


_OFFSETS: dict[str, timedelta] = {}


def _offset(suffix: str) -> Optional[timedelta]:
    """The UTC offset a suffix such as `-08:00` or `Z` names, or None; cached (an account writes a few)."""
    offset = _OFFSETS.get(suffix)
    if offset is None:
        try:
            offset = datetime.fromisoformat(f"2000-01-01T00:00:00{suffix}").utcoffset()
        except ValueError:
            return None
        if offset is not None and len(_OFFSETS) < 256:
            _OFFSETS[suffix] = offset
    return offset


def parse_utc_naive(value: object, field: str) -> Optional[datetime]:
    """parse_time, as stored: naive UTC. PagerDuty's own shape (`2024-03-10T01:59:59-08:00`, or `Z`) is read
    as a local time minus its offset: a million incidents hold several million times, and building an aware
    datetime and converting it costs ten times as much. Anything else takes parse_time's path."""
    if isinstance(value, str) and len(value) > 19 and value[10] == "T":
        if value[-1] == "Z":
            local, suffix = value[:-1], "Z"
        elif value[-6] in "+-" and value[-3] == ":":
            local, suffix = value[:-6], value[-6:]
        else:
            local = suffix = ""
        offset = _offset(suffix) if suffix else None
        if offset is not None:
            try:
                moment = datetime.fromisoformat(local)
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is None:
                return moment - offset
    return utc_naive(parse_time(value, field))


def parse_sql_text(value: object, field: str) -> Optional[str]:
    """A time inside a JSON column, as text every SQL dialect casts to DATETIME without cutting characters:
    `YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC."""
    moment = parse_utc_naive(value, field)
    return None if moment is None else moment.isoformat(" ")


def iso_z(moment: datetime) -> str:
    """A UTC time as PagerDuty's query parameters want it: whole seconds and `Z` (an offset-less since/until
    is read in the account's time zone)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
