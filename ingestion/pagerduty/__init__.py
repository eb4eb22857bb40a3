"""dlt source for PagerDuty: incidents and services of one connection, loaded incrementally.

A first run lists every incident created since `start_date`. Later runs list only incidents created since the
previous run's cut-off (minus a small overlap) and refresh every incident still open in the raw table, so
acknowledgements, reassignments and resolutions arrive without re-reading history. The cut-off lives in dlt's
resource state, which dlt stores in the destination with the data and takes back only from completed loads:
a failed run leaves it where it was. The open incidents are read from the raw table itself (the caller
passes `known_open`): thousands of ids would not fit dlt's state column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Optional

import dlt
from dlt.sources import DltResource

from . import settings
from .client import AuthenticationError, PagerDutyClient, PagerDutyError, RetryPolicy, TooManyIncidentsError
from .paging import Page, iso_utc, iter_incident_windows, iter_offset_pages, iter_windows, parse_time
from .records import (
    CHANGE_EVENT_COLUMNS,
    INCIDENT_COLUMNS,
    ROW_KEY,
    SERVICE_COLUMNS,
    change_event_row,
    incident_row,
    service_row,
)

__all__ = [
    "AuthenticationError",
    "LoadStats",
    "PagerDutyClient",
    "PagerDutyError",
    "RetryPolicy",
    "TooManyIncidentsError",
    "change_events_resource",
    "incidents_resource",
    "pagerduty_source",
    "services_resource",
    "scope_key",
]


@dataclass
class LoadStats:
    """What a run did, for progress lines and the summary. Filled in while dlt extracts."""

    incidents: int = 0
    incidents_refreshed: int = 0
    services: int = 0
    change_events: int = 0
    warnings: list = field(default_factory=list)
    first_load: bool = False
    collected_until: Optional[str] = None
    open_incidents: int = 0
    listeners: list = field(default_factory=list)

    def add_incidents(self, count: int) -> None:
        self.incidents += count
        for listener in self.listeners:
            listener(self)


def scope_key(start_date: datetime, service_ids: Optional[Sequence[str]]) -> str:
    """The state of a scope is keyed by what it collects: a new start_date or service list starts afresh."""
    services = ",".join(sorted(service_ids)) if service_ids else "*"
    return f"{iso_utc(start_date)}|{services}"


@dlt.source(name="pagerduty", max_table_nesting=0)
def pagerduty_source(
    connection_id: int,
    start_date: datetime,
    service_ids: Optional[Sequence[str]] = None,
    api_token: str = dlt.secrets.value,
    base_url: str = settings.DEFAULT_BASE_URL,
    connection_name: Optional[str] = None,
    proxy: Optional[str] = None,
    rate_limit_per_hour: Optional[int] = None,
    retry: Optional[RetryPolicy] = None,
    client: Optional[PagerDutyClient] = None,
    stats: Optional[LoadStats] = None,
    known_open: Optional[Callable[[], set[str]]] = None,
) -> Sequence[DltResource]:
    """Incidents created at or after `start_date` (and their services) of one PagerDuty connection.

    `service_ids` narrows the load to those services (a blueprint scope naming services); by default every
    service of the account is loaded. Pass `client` to share one (and its request count) with the caller.
    `known_open` returns the ids of this scope's incidents that the raw table holds as not resolved; without
    it a rerun refreshes only the incidents open now.
    """
    if start_date.tzinfo is None:
        raise ValueError("start_date needs a time zone")
    label = f"connection {connection_name or connection_id!r} (id {connection_id})"
    client = client or PagerDutyClient(
        base_url,
        api_token,
        label,
        retry or RetryPolicy(),
        proxy=proxy,
        rate_limit_per_hour=rate_limit_per_hour,
    )
    stats = stats or LoadStats()
    services = sorted(set(service_ids)) if service_ids else None
    return (
        incidents_resource(
            _incidents(client, connection_id, start_date.astimezone(UTC), services, stats, known_open or set)
        ),
        services_resource(_services(client, connection_id, services, stats)),
        change_events_resource(_change_events(client, connection_id, services, stats)),
    )


def _upserted(pages: Iterable[list[dict[str, Any]]], table: str, columns: Any) -> DltResource:
    """A raw table upserted on row_key, nested values kept as JSON columns (no dlt child tables)."""
    return dlt.resource(
        pages,
        name=table,
        write_disposition="merge",
        primary_key=ROW_KEY,
        columns=columns,
        max_table_nesting=0,
    )


def incidents_resource(pages: Iterable[list[dict[str, Any]]]) -> DltResource:
    """The `incidents` table, rows from records.incident_row."""
    return _upserted(pages, settings.INCIDENTS_TABLE, INCIDENT_COLUMNS)


def services_resource(pages: Iterable[list[dict[str, Any]]]) -> DltResource:
    """The `services` table, rows from records.service_row."""
    return _upserted(pages, settings.SERVICES_TABLE, SERVICE_COLUMNS)


def change_events_resource(pages: Iterable[list[dict[str, Any]]]) -> DltResource:
    """The `change_events` table, rows from records.change_event_row."""
    return _upserted(pages, settings.CHANGE_EVENTS_TABLE, CHANGE_EVENT_COLUMNS)


class _Emitter:
    """Turns pages into rows once per incident per run (the staging table's key refuses duplicates) and
    tracks which incidents are still open when the run ends."""

    def __init__(self, connection_id: int, start_date: datetime, stats: LoadStats) -> None:
        self.connection_id = connection_id
        self.start_date = start_date
        self.stats = stats
        self.fetched_at = datetime.now(UTC)
        self.emitted: set[str] = set()
        self.open: set[str] = set()

    def rows(self, page: Page) -> list[dict[str, Any]]:
        rows = []
        for incident in page:
            incident_id = incident["id"]
            if incident_id in self.emitted:
                continue
            created_at = parse_time(incident.get("created_at"))
            if created_at is None:
                raise PagerDutyError(f"incident {incident_id} has no created_at; refusing to guess")
            if created_at < self.start_date:
                continue
            self.emitted.add(incident_id)
            if incident.get("status") == settings.RESOLVED:
                self.open.discard(incident_id)
            else:
                self.open.add(incident_id)
            rows.append(incident_row(self.connection_id, incident, self.fetched_at))
        self.stats.add_incidents(len(rows))
        return rows


def _incidents(
    client: PagerDutyClient,
    connection_id: int,
    start_date: datetime,
    service_ids: Optional[list[str]],
    stats: LoadStats,
    known_open: Callable[[], set[str]],
) -> Iterator[list[dict[str, Any]]]:
    state = dlt.current.resource_state().setdefault("scopes", {})
    key = scope_key(start_date, service_ids)
    previous = state.get(key)
    until = datetime.now(UTC).replace(microsecond=0)
    filters: dict[str, Any] = {"service_ids[]": service_ids} if service_ids else {}
    emitter = _Emitter(connection_id, start_date, stats)

    if previous is None:
        stats.first_load = True
        since = start_date
    else:
        since = max(start_date, parse_time(previous["collected_until"]) - settings.INCREMENTAL_OVERLAP)
    for page in iter_incident_windows(client, since, until, filters):
        yield emitter.rows(page)

    if previous is not None:
        before = stats.incidents
        yield from _refresh_open(client, start_date, until, filters, emitter, known_open())
        stats.incidents_refreshed = stats.incidents - before

    state[key] = {"collected_until": iso_utc(until)}
    stats.collected_until = iso_utc(until)
    stats.open_incidents = len(emitter.open)


def _refresh_open(
    client: PagerDutyClient,
    start_date: datetime,
    until: datetime,
    filters: dict[str, Any],
    emitter: _Emitter,
    previously_open: set[str],
) -> Iterator[list[dict[str, Any]]]:
    """Bring every incident that was open at the previous run up to date.

    One listing of the incidents open now (usually a single request) returns the current state of those
    still open; the ones missing from it were resolved since, and each is read by id. A rerun with nothing
    new and K open incidents therefore costs about K/100 requests plus one per resolution. Incidents that
    change status while the listing is paged may shift between pages: those skipped are read by id.
    """
    open_filter = {**filters, "statuses[]": list(settings.OPEN_STATUSES)}
    first = client.get(
        "/incidents",
        {**open_filter, "date_range": "all", "limit": settings.PAGE_LIMIT, "offset": 0, "total": "true"},
    )
    if (first.get("total") or 0) <= settings.MAX_OFFSET_PLUS_LIMIT:
        pages = iter_offset_pages(
            client, "/incidents", "incidents", {**open_filter, "date_range": "all"}, first
        )
    else:  # more than 10,000 open: list them window by window like a first load
        pages = iter_incident_windows(client, start_date, until, open_filter, exact=False)
    for page in pages:
        previously_open.difference_update(incident["id"] for incident in page)
        yield emitter.rows(page)

    for incident_id in sorted(previously_open - emitter.emitted):
        body = client.get(f"/incidents/{incident_id}", missing_ok=True)
        if body is None:  # gone from PagerDuty: the row stays as last loaded
            continue
        yield emitter.rows([body["incident"]])


def _services(
    client: PagerDutyClient, connection_id: int, service_ids: Optional[list[str]], stats: LoadStats
) -> Iterator[list[dict[str, Any]]]:
    """All services of the account (or those the scope names), read in full at most once a day: they
    change rarely, and a rerun's request budget is for incidents. Incidents name their service anyway."""
    state = dlt.current.resource_state().setdefault("fetched_at", {})
    key = ",".join(service_ids) if service_ids else "*"
    fetched_at = datetime.now(UTC)
    last = parse_time(state.get(key))
    if last is not None and fetched_at - last < settings.SERVICES_REFRESH:
        return
    wanted = set(service_ids) if service_ids else None
    seen: set[str] = set()  # a listing that shifts while paged may repeat a service
    for page in iter_offset_pages(client, "/services", "services", {}):
        rows = []
        for item in page:
            if (wanted is None or item["id"] in wanted) and item["id"] not in seen:
                seen.add(item["id"])
                rows.append(service_row(connection_id, item, fetched_at))
        stats.services += len(rows)
        if rows:
            yield rows
    state[key] = iso_utc(fetched_at)


def _change_events(
    client: PagerDutyClient, connection_id: int, service_ids: Optional[list[str]], stats: LoadStats
) -> Iterator[list[dict[str, Any]]]:
    """Change events (deployments sent by CI/CD tools) since the previous run, or as far back as PagerDuty
    keeps them (90 days). A previous run older than that means deployments in between are lost: say so."""
    state = dlt.current.resource_state().setdefault("collected_until", {})
    key = ",".join(service_ids) if service_ids else "*"
    until = datetime.now(UTC).replace(microsecond=0)
    oldest_kept = until - settings.CHANGE_EVENT_RETENTION
    last = parse_time(state.get(key))
    if last is not None and last < oldest_kept:
        stats.warnings.append(
            f"change events (deployments) between {iso_utc(last)} and {iso_utc(oldest_kept)} are lost for"
            " good: PagerDuty keeps 90 days of them, and this connection was last loaded before that"
        )
    since = oldest_kept if last is None else max(oldest_kept, last - settings.INCREMENTAL_OVERLAP)
    wanted = set(service_ids) if service_ids else None
    fetched_at = datetime.now(UTC)
    for page in iter_windows(client, "/change_events", "change_events", since, until, {}):
        rows = [
            change_event_row(connection_id, event, fetched_at)
            for event in page
            if wanted is None or any(ref.get("id") in wanted for ref in event.get("services") or [])
        ]
        stats.change_events += len(rows)
        if rows:
            yield rows
    state[key] = iso_utc(until)
