"""Listing PagerDuty collections completely despite the 10,000-result and 6-month limits.

PagerDuty has no cursor for incidents: offset + limit may not pass 10,000, and since/until may not be more
than 6 months apart. The only way to reach every incident is to cut the time range into windows that each
hold at most 10,000 incidents, which `total=true` tells us before we page through a window.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from . import settings
from .client import PagerDutyClient, PagerDutyError, TooManyIncidentsError

Page = list[dict[str, Any]]


def iso_utc(moment: datetime) -> str:
    """PagerDuty reads a since/until without an offset in the account's time zone: always send 'Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Optional[str]) -> Optional[datetime]:
    """Parse an ISO-8601 timestamp from PagerDuty into an aware UTC datetime (None stays None)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return moment.astimezone(UTC)


def windows(since: datetime, until: datetime, width: timedelta = settings.MAX_WINDOW) -> Iterator[tuple]:
    """Contiguous half-open [start, end) windows covering [since, until), none wider than `width`."""
    start = since
    while start < until:
        end = min(start + width, until)
        yield start, end
        start = end


def iter_offset_pages(
    client: PagerDutyClient,
    path: str,
    collection: str,
    params: Mapping[str, Any],
    first: Optional[dict[str, Any]] = None,
) -> Iterator[Page]:
    """Page through one listing by offset. Fails (never truncates) if it would pass offset 10,000."""
    body = first
    offset = 0
    while True:
        if body is None:
            if offset + settings.PAGE_LIMIT > settings.MAX_OFFSET_PLUS_LIMIT:
                raise PagerDutyError(
                    f"{client.connection_label}: {path} lists more than {settings.MAX_OFFSET_PLUS_LIMIT}"
                    " results and cannot be narrowed further"
                )
            body = client.get(path, {**params, "limit": settings.PAGE_LIMIT, "offset": offset})
        items = body.get(collection) or []
        if items:
            yield items
        if not body.get("more") or not items:
            return
        offset += len(items)
        body = None


def _bisect(start: datetime, end: datetime) -> datetime:
    """The whole second halfway between start and end."""
    half = int((end - start).total_seconds()) // 2
    return start + timedelta(seconds=max(half, 1))


def iter_incident_windows(
    client: PagerDutyClient,
    since: datetime,
    until: datetime,
    params: Mapping[str, Any],
    exact: bool = True,
) -> Iterator[Page]:
    """Every incident created in [since, until), page by page, oldest first (see iter_windows)."""
    params = {**params, "sort_by": "created_at:asc"}
    return iter_windows(client, "/incidents", "incidents", since, until, params, exact)


def iter_windows(
    client: PagerDutyClient,
    path: str,
    collection: str,
    since: datetime,
    until: datetime,
    params: Mapping[str, Any],
    exact: bool = True,
) -> Iterator[Page]:
    """Every object of a since/until listing (incidents, change events) in [since, until), page by page.

    Each window is first asked for its total; one holding 10,000 objects or more is split in two and
    tried again. With `exact`, a window is then checked: fewer distinct objects than its total means the
    listing moved under us (PagerDuty has no snapshot), so it is read once more, and a second shortfall stops
    the load. Listings filtered by status are not exact: incidents leave them legitimately while paged.
    """
    base = dict(params)
    for window_start, window_end in windows(since, until):
        pending = [(window_start, window_end)]
        while pending:
            start, end = pending.pop()
            query = {**base, "since": iso_utc(start), "until": iso_utc(end)}
            first = client.get(path, {**query, "limit": settings.PAGE_LIMIT, "offset": 0, "total": "true"})
            total = first.get("total")
            if total is None:
                raise PagerDutyError(f"{client.connection_label}: GET {path} ignored total=true")
            # split at 10,000 too: an API that capped its count there would otherwise go unnoticed
            if total >= settings.MAX_OFFSET_PLUS_LIMIT and end - start > settings.SMALLEST_WINDOW:
                middle = _bisect(start, end)
                pending.extend([(middle, end), (start, middle)])  # the earlier half is popped first
                continue
            if total > settings.MAX_OFFSET_PLUS_LIMIT:
                raise TooManyIncidentsError(
                    f"{client.connection_label}: {total} {collection} were created in the one second at"
                    f" {iso_utc(start)}; PagerDuty serves at most {settings.MAX_OFFSET_PLUS_LIMIT} per"
                    " query, so this load stops rather than skip any"
                )
            if exact:
                yield from _read_window_checked(client, path, collection, query, first, total)
            else:
                yield from iter_offset_pages(client, path, collection, query, first)


def _read_window_checked(
    client: PagerDutyClient,
    path: str,
    collection: str,
    query: Mapping[str, Any],
    first: dict[str, Any],
    total: int,
) -> Iterator[Page]:
    seen: set[str] = set()
    for _attempt in (1, 2):
        for page in iter_offset_pages(client, path, collection, query, first):
            fresh = [item for item in page if item["id"] not in seen]
            seen.update(item["id"] for item in fresh)
            if fresh:
                yield fresh
        if len(seen) >= total:
            return
        first = None
    raise PagerDutyError(
        f"{client.connection_label}: the window {query['since']} to {query['until']} reported {total}"
        f" {collection} but only {len(seen)} could be read, twice; stopping rather than load a partial window"
    )
