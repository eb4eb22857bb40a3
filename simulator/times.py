"""Times as PagerDuty writes them: epoch seconds rendered in a time zone with its offset, and parsing.

Everything is stored as whole epoch seconds (change events: milliseconds) and rendered per request in the
zone the request asks for. Rendering must stay cheap at 100 incidents x 6 times per page, so a Zone caches
its UTC offset per hour (an hour that contains a transition is computed exactly, uncached) and the
"YYYY-MM-DDT" prefix per local day.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Zones whose zero offset PagerDuty writes as "Z"; any other zone writes "+00:00" when at UTC+0.
UTC_NAMES = frozenset(("UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"))
_CACHE_LIMIT = 200_000  # hours (or days) remembered per zone before the cache starts over


class Zone:
    """A time zone that renders epoch seconds as 'YYYY-MM-DDTHH:MM:SS+HH:MM' (or 'Z' for UTC)."""

    __slots__ = ("name", "tzinfo", "zulu", "_fixed", "_hours", "_days")

    def __init__(self, tz: tzinfo, name: str) -> None:
        self.name, self.tzinfo = name, tz
        self.zulu = tz is UTC or name in UTC_NAMES
        self._fixed: tuple[int, str] | None = None
        if isinstance(tz, timezone):
            self._fixed = self._entry(int(tz.utcoffset(None).total_seconds()))
        self._hours: dict[int, tuple[int, str]] = {}
        self._days: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"Zone({self.name!r})"

    def _entry(self, offset: int) -> tuple[int, str]:
        if offset == 0 and self.zulu:
            return 0, "Z"
        sign = "-" if offset < 0 else "+"
        hours, minutes = divmod(abs(offset) // 60, 60)
        return offset, f"{sign}{hours:02d}:{minutes:02d}"

    def _exact(self, ts: int) -> int:
        return int(datetime.fromtimestamp(ts, self.tzinfo).utcoffset().total_seconds())

    def offset(self, ts: int) -> tuple[int, str]:
        """(seconds east of UTC, offset text) in effect at epoch second ts."""
        if self._fixed is not None:
            return self._fixed
        hour = ts // 3600
        entry = self._hours.get(hour)
        if entry is None:
            first = self._exact(hour * 3600)
            if first != self._exact(hour * 3600 + 3599):  # a transition inside this hour
                return self._entry(self._exact(ts))
            if len(self._hours) > _CACHE_LIMIT:
                self._hours.clear()
            entry = self._hours[hour] = self._entry(first)
        return entry

    def iso(self, ts: int) -> str:
        """Epoch seconds as PagerDuty renders a time in this zone."""
        offset, suffix = self.offset(ts)
        day, sec = divmod(ts + offset, 86_400)
        prefix = self._days.get(day)
        if prefix is None:
            if len(self._days) > _CACHE_LIMIT:
                self._days.clear()
            prefix = self._days[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
        hours, rest = divmod(sec, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}{suffix}"

    def iso_ms(self, ms: int, millis: bool) -> str:
        """Epoch milliseconds as a sender writes them (with '.mmm' when `millis`)."""
        text = self.iso(ms // 1000)
        if not millis:
            return text
        cut = len(text) - len(self.offset(ms // 1000)[1])
        return f"{text[:cut]}.{ms % 1000:03d}{text[cut:]}"


_ZONES: dict[object, Zone] = {}


def zone(tz: Zone | tzinfo | str) -> Zone:
    """The shared Zone for an IANA name, a tzinfo or a Zone; ValueError for an unknown name."""
    if isinstance(tz, Zone):
        return tz
    cached = _ZONES.get(tz)
    if cached is not None:
        return cached
    if isinstance(tz, str):
        try:
            info: tzinfo = UTC if tz == "UTC" else ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {tz!r}") from None
        made = Zone(info, tz)
    elif isinstance(tz, ZoneInfo):
        made = Zone(tz, tz.key)
    elif isinstance(tz, timezone):
        made = Zone(tz, str(tz))
    else:
        raise TypeError(f"not a time zone: {tz!r}")
    if len(_ZONES) < 1000:
        _ZONES[tz] = made
    return made


UTC_ZONE = zone(UTC)


def iso(ts: int) -> str:
    """Epoch seconds to 'YYYY-MM-DDTHH:MM:SSZ'."""
    return UTC_ZONE.iso(ts)


def parse_iso(value: str | datetime) -> datetime:
    """ISO-8601 text (a trailing Z means UTC) or a datetime; naive results stay naive."""
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def to_ts(value: datetime) -> int:
    """Aware datetime to whole epoch seconds (rounded down); naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() // 1)


def to_us(value: datetime) -> int:
    """Aware datetime to exact epoch microseconds (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(microseconds=1)


def from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def now_ts() -> int:
    """Real clock in whole seconds (rounded down), the resolution of every incident time here."""
    return int(time.time())


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
