"""dlt source for PagerDuty: the incidents, log entries, services and change events of one connection.

A first run lists every incident created since `start_date`, and the account's log entries since
`history_since` (default: `start_date`): once resolved, an incident forgets who was paged and who
acknowledged, and only its log entries remember. A rerun lists the incidents created since the previous
run's cut-off (minus a small overlap), the incidents open now (one request per 100), and the account's log
entries since the cut-off, which name every incident that changed (acknowledged, reassigned,
resolved, reopened, moved, re-prioritised or merged after resolution); each changed incident that no listing
showed is read by id. Every run also lists the account's services, priorities, teams and users (one request
per 100 of each), so that names renamed in the account reach every incident without reading it again. A rerun
with nothing new costs eight requests.

Log entries are not a complete change feed: a title edit, for one, writes none. A reconcile
(`reconcile_since`) re-lists every incident created since a date, reads by id each one the lake holds that the
listing lacks, and names those PagerDuty no longer has (`LoadStats.gone`).

The previous run's cut-offs come in as `state` and what the lake already holds as `lake`; both are read by the
caller from completed loads only, so a run killed halfway changes nothing a later run sees. The source itself
keeps no state: with any dlt destination it simply yields rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Optional, Protocol

import dlt
from dlt.sources import DltResource

from . import settings
from .client import (
    AuthenticationError,
    NotOnPlanError,
    PagerDutyClient,
    PagerDutyError,
    RetryPolicy,
    TooManyIncidentsError,
)
from .paging import (
    Page,
    fetch_all,
    iter_listing,
    iter_windows,
    listing_total,
    read_by_more,
    warn_ignored_total,
)
from .records import (
    CHANGE_EVENTS,
    INCIDENTS,
    LOG_ENTRIES,
    PRIORITIES,
    SERVICES,
    TEAMS,
    TIME_ZONE_OFFSETS,
    USERS,
    RawTable,
    Row,
    change_event_row,
    incident_row,
    log_entry_row,
    priority_row,
    service_row,
    team_row,
    user_row,
)
from .time_zones import offset_rows
from .times import TimeFormatError, iso_z, parse_time

__all__ = [
    "AuthenticationError",
    "LakeView",
    "LoadStats",
    "PagerDutyClient",
    "PagerDutyError",
    "RetryPolicy",
    "ScopeState",
    "TimeFormatError",
    "TooManyIncidentsError",
    "pagerduty_source",
]


@dataclass(frozen=True)
class ScopeState:
    """What the previous completed load of a scope left behind."""

    incidents_until: Optional[datetime] = None
    """Cut-off of the incident and log-entry listings: the start of the previous run."""
    covered_since: Optional[datetime] = None
    """The earliest start_date loaded so far: an earlier one loads the history in between."""
    change_events_until: Optional[datetime] = None

    def to_json(self) -> dict[str, Optional[str]]:
        return {k: iso_z(v) if v else None for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: Optional[dict[str, Any]]) -> ScopeState:
        data = data or {}
        return cls(**{k: parse_time(data.get(k), f"state {k}") for k in cls.__dataclass_fields__})


class LakeView(Protocol):
    """What the source asks of the lake, as of its completed loads."""

    def open_incidents(self) -> set[str]:
        """Ids of the scope's incidents the lake holds as not resolved."""

    def held_incidents(self, ids: set[str]) -> dict[str, datetime]:
        """Those of `ids` the lake holds for this connection, with when each was read (naive UTC)."""

    def incidents_since(self, since: datetime) -> set[str]:
        """Ids of the scope's incidents created at or after `since` (naive UTC) that the lake holds."""


class _EmptyLake:
    def open_incidents(self) -> set[str]:
        return set()

    def held_incidents(self, ids: set[str]) -> dict[str, datetime]:
        return {}

    def incidents_since(self, since: datetime) -> set[str]:
        return set()


@dataclass
class LoadStats:
    """What a run did, for progress lines and the summary. Filled in while the resources run."""

    incidents: int = 0
    incidents_refreshed: int = 0
    log_entries: int = 0
    services: int = 0
    change_events: int = 0
    warnings: list[str] = field(default_factory=list)
    first_load: bool = False
    reconcile: bool = False
    """A reconcile: every incident since a date listed again, not only what changed."""
    gone: list[str] = field(default_factory=list)
    """Incidents the lake holds that PagerDuty answers 404 for (a reconcile removes them from the lake)."""
    open_incidents: int = 0
    next_state: Optional[ScopeState] = None
    """The state a next run continues from: set when the run starts, committed only if its load completes."""
    listeners: list[Callable[[LoadStats], None]] = field(default_factory=list)

    def add_incidents(self, count: int) -> None:
        self.incidents += count
        for listener in self.listeners:
            listener(self)


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
    state: Optional[ScopeState] = None,
    lake: Optional[LakeView] = None,
    client: Optional[PagerDutyClient] = None,
    stats: Optional[LoadStats] = None,
    now: Optional[datetime] = None,
    reconcile_since: Optional[datetime] = None,
    history_since: Optional[datetime] = None,
) -> Sequence[DltResource]:
    """Incidents created at or after `start_date` of one PagerDuty connection, with their log entries,
    services and change events, and the account's priorities, teams and users.

    `service_ids` narrows the load to those services (a blueprint scope naming services); by default every
    service of the account is loaded. Pass `client` to share one (and its request count) with the caller.
    `reconcile_since` makes the run a reconcile: every incident created since then (at the earliest,
    `start_date`) is listed again. `history_since` bounds the log entries a first load reads (default:
    `start_date`; an earlier date reads nothing more: no incident of the scope has entries before its
    creation). After the resources have run, `stats.next_state` is the state a next run continues from.
    """
    if start_date.tzinfo is None:
        raise ValueError("start_date needs a time zone")
    label = f"connection {connection_name or connection_id!r} (id {connection_id})"
    client = client or PagerDutyClient(
        base_url, api_token, label, RetryPolicy(), proxy=proxy, rate_limit_per_hour=rate_limit_per_hour
    )
    collection = Collection(
        client,
        connection_id,
        start_date.astimezone(UTC),
        sorted(set(service_ids)) if service_ids else None,
        state or ScopeState(),
        lake or _EmptyLake(),
        stats or LoadStats(),
        (now or datetime.now(UTC)).replace(microsecond=0),
        reconcile_since.astimezone(UTC) if reconcile_since is not None else None,
        history_since.astimezone(UTC) if history_since is not None else None,
    )
    return (
        _resource(collection.incidents, INCIDENTS),
        _resource(collection.log_entries, LOG_ENTRIES),
        _resource(collection.services, SERVICES),
        _resource(collection.change_events, CHANGE_EVENTS),
        _resource(lambda: collection.account_list("/priorities", "priorities", PRIORITIES), PRIORITIES),
        _resource(lambda: collection.account_list("/teams", "teams", TEAMS), TEAMS),
        _resource(collection.users, USERS),
        _resource(collection.time_zone_offsets, TIME_ZONE_OFFSETS),
    )


def _resource(pages: Callable[[], Iterator[list[Row]]], table: RawTable) -> DltResource:
    """A raw table's resource: rows of completed pages, keyed by (connection_id, id), nested lists as JSON."""
    return dlt.resource(
        pages(),
        name=table.name,
        write_disposition="merge",
        primary_key=list(table.keys),
        columns=table.dlt_columns(),
        max_table_nesting=0,
    )


class Collection:
    """The requests of one run of one scope, in the order the incremental rules need."""

    def __init__(
        self,
        client: PagerDutyClient,
        connection_id: int,
        start_date: datetime,
        service_ids: Optional[list[str]],
        state: ScopeState,
        lake: LakeView,
        stats: LoadStats,
        now: datetime,
        reconcile_since: Optional[datetime] = None,
        history_since: Optional[datetime] = None,
    ) -> None:
        self.client = client
        self.connection_id = connection_id
        self.start_date = start_date
        self.service_ids = service_ids
        self.state = state
        self.lake = lake
        self.stats = stats
        self.until = now
        self.fetched_at = now.replace(tzinfo=None)
        self._start_naive = start_date.replace(tzinfo=None)
        self.filters: dict[str, Any] = {"service_ids[]": service_ids} if service_ids else {}
        self._log_rows: Optional[list[Row]] = None
        self._emitted: set[str] = set()
        self._open: set[str] = set()
        self.reconcile_since = reconcile_since
        self.history_since = max(start_date, history_since) if history_since is not None else start_date
        self._user_rows: Optional[list[Row]] = None
        stats.reconcile = reconcile_since is not None
        stats.next_state = replace(
            state,
            incidents_until=now,
            covered_since=min(filter(None, (state.covered_since, start_date))),
            change_events_until=now,
        )

    # ------------------------------------------------------------------------------------- incidents
    def _rows(self, page: Page, track: bool) -> list[Row]:
        rows = []
        for incident in page:
            row = incident_row(self.connection_id, incident, self.fetched_at)
            if row["created_at"] is None:
                raise PagerDutyError(f"incident {row['id']} has no created_at; refusing to guess")
            if row["created_at"] < self._start_naive:
                continue
            if track:
                self._emitted.add(row["id"])
            if row["status"] == settings.RESOLVED:
                self._open.discard(row["id"])
            else:
                self._open.add(row["id"])
            rows.append(row)
        self.stats.add_incidents(len(rows))
        return rows

    def incidents(self) -> Iterator[list[Row]]:
        previous = self.state.incidents_until
        listing = {**self.filters, "sort_by": "created_at:asc"}
        if previous is None:
            self.stats.first_load = True
            for page in iter_windows(
                self.client, "/incidents", "incidents", self.start_date, self.until, listing, warn=self.warn
            ):
                yield self._rows(page, track=False)
        else:
            since = max(self.start_date, previous - settings.INCREMENTAL_OVERLAP)
            if self.reconcile_since is not None:
                since = min(since, max(self.start_date, self.reconcile_since))
            for page in iter_windows(
                self.client, "/incidents", "incidents", since, self.until, listing, warn=self.warn
            ):
                yield self._rows(page, track=True)
            covered = self.state.covered_since
            if (
                covered is not None and self.start_date < covered
            ):  # start_date moved earlier: the history between
                history = iter_windows(
                    self.client, "/incidents", "incidents", self.start_date, covered, listing, warn=self.warn
                )
                for page in history:
                    yield self._rows(page, track=False)
            before = self.stats.incidents
            yield from self._refresh_open()
            yield from self._read_changed()
            if self.reconcile_since is not None:
                yield from self._read_missing(since)
            self.stats.incidents_refreshed = self.stats.incidents - before
        self.stats.open_incidents = len(self._open)

    def warn(self, message: str) -> None:
        """A warning for the run's summary, once however often it arises."""
        if message not in self.stats.warnings:
            self.stats.warnings.append(message)

    def _refresh_open(self) -> Iterator[list[Row]]:
        """The incidents open now, in one listing (one request per 100); those the lake held as open that the
        listing no longer shows were resolved since, and are read by id."""
        known_open = self.lake.open_incidents()
        params = {**self.filters, "statuses[]": list(settings.OPEN_STATUSES)}
        everything = {**params, "date_range": "all"}
        total, first = listing_total(self.client, "/incidents", everything)
        pages: Optional[Iterable[Page]] = None
        if total is None:  # no total: follow `more`, unless there are more than 10,000
            warn_ignored_total("/incidents", self.warn)
            pages = read_by_more(self.client, "/incidents", "incidents", everything, first)
        elif total <= settings.MAX_OFFSET_PLUS_LIMIT:
            pages = iter_listing(self.client, "/incidents", "incidents", everything, first, warn=self.warn)
        if pages is None:  # more than 10,000 open: list them window by window like a first load
            pages = iter_windows(
                self.client,
                "/incidents",
                "incidents",
                self.start_date,
                self.until,
                params,
                exact=False,
                warn=self.warn,
            )
        for page in pages:
            yield self._rows(page, track=True)
        yield from self._read_by_id(known_open - self._emitted)

    def _read_changed(self) -> Iterator[list[Row]]:
        """Incidents the log entries since the cut-off name, that no listing showed: edited, merged or moved
        after they were resolved, or resolved since the open listing. Read by id: those the lake holds (unless
        it read them well after the entry was written: the overlap with the previous run), and those moved
        into a service the scope names."""
        latest: dict[str, tuple[datetime, Optional[str]]] = {}
        for row in self.log_entries_rows():
            incident_id, at = row["incident_id"], row["created_at"]
            if incident_id and (incident_id not in latest or at >= latest[incident_id][0]):
                latest[incident_id] = (at, row["service_id"])
        candidates = set(latest) - self._emitted
        held = self.lake.held_incidents(candidates) if candidates else {}
        scoped = set(self.service_ids) if self.service_ids else None
        wanted = set()
        for incident_id in candidates:
            at, service_id = latest[incident_id]
            if incident_id in held:
                if held[incident_id] <= at + settings.READ_AFTER_CHANGE_MARGIN:
                    wanted.add(incident_id)
            elif scoped is not None and service_id in scoped:
                wanted.add(incident_id)
        yield from self._read_by_id(wanted)

    def _read_missing(self, since: datetime) -> Iterator[list[Row]]:
        """A reconcile's last step: the incidents the lake holds (created since `since`, in the scope) that no
        listing showed. Each is read by id: moved out of the scope's services, or gone from PagerDuty."""
        held = self.lake.incidents_since(since.replace(tzinfo=None))
        yield from self._read_by_id(held - self._emitted)

    def _read_by_id(self, ids: set[str]) -> Iterator[list[Row]]:
        requests = ((incident_id, f"/incidents/{incident_id}", None) for incident_id in sorted(ids))
        for incident_id, body in fetch_all(self.client, requests, missing_ok=True):
            if body is None:  # gone from PagerDuty: a reconcile removes it, other runs keep it as loaded
                self.stats.gone.append(incident_id)
                continue
            incident = body.get("incident")
            if not isinstance(incident, dict):
                raise PagerDutyError(
                    f"{self.client.connection_label}: GET /incidents/{{id}} gave no incident"
                )
            # an incident moved out of the scope's services arrives too: the lake learns it left the scope
            rows = self._rows([incident], track=True)
            if rows:
                yield rows

    # ----------------------------------------------------------------------------------- log entries
    def log_entries_rows(self) -> list[Row]:
        """A rerun's log entries since the cut-off (read once per run, shared by two resources). A first load
        reads them too, since `history_since` (_first_load_log_entries): once resolved, an incident forgets
        who was paged, who acknowledged and what escalated, and only its log entries remember. Listed
        account-wide in windows of at most 6 months, like incidents: one request per 100 entries."""
        if self._log_rows is None:
            self._log_rows = []
            previous = self.state.incidents_until
            if previous is None:  # a first load streams its log entries (log_entries) and reads none by id
                return self._log_rows
            since = previous - settings.INCREMENTAL_OVERLAP
            pages = iter_windows(
                self.client, "/log_entries", "log_entries", since, self.until, {}, warn=self.warn
            )
            for page in pages:
                self._log_rows.extend(log_entry_row(self.connection_id, e, self.fetched_at) for e in page)
            self.stats.log_entries = len(self._log_rows)
        return self._log_rows

    def log_entries(self) -> Iterator[list[Row]]:
        if self.state.incidents_until is None:  # a first load: streamed, for nothing else reads them
            yield from self._first_load_log_entries()
            return
        rows = self.log_entries_rows()
        for start in range(0, len(rows), settings.PAGE_LIMIT):
            yield rows[start : start + settings.PAGE_LIMIT]

    def _first_load_log_entries(self) -> Iterator[list[Row]]:
        """A first load's log entries since `history_since`, page by page as they arrive: about nine per
        incident, so holding them all (as a rerun holds its few to find the changed incidents) took 2.6 GB
        at 50,000 incidents (BENCHMARKS.md)."""
        pages = iter_windows(
            self.client, "/log_entries", "log_entries", self.history_since, self.until, {}, warn=self.warn
        )
        for page in pages:
            rows = [log_entry_row(self.connection_id, e, self.fetched_at) for e in page]
            self.stats.log_entries += len(rows)
            if rows:
                yield rows

    # -------------------------------------------------------------------------------------- services
    def services(self) -> Iterator[list[Row]]:
        """All services of the account (or those the scope names), every run: incidents name their service by
        id, so a service renamed in the account is renamed on every incident without reading any again. A
        deleted service drops out of the listing; the lake keeps it as last listed."""
        wanted = set(self.service_ids) if self.service_ids else None
        seen: set[str] = set()  # a listing that shifts while paged may repeat a service
        for page in iter_listing(self.client, "/services", "services", {}, warn=self.warn):
            rows = []
            for item in page:
                if (wanted is None or item.get("id") in wanted) and item.get("id") not in seen:
                    seen.add(item["id"])
                    rows.append(service_row(self.connection_id, item, self.fetched_at))
            self.stats.services += len(rows)
            if rows:
                yield rows

    # -------------------------------------------------------------------------------- account lists
    def account_list(self, path: str, collection: str, table: RawTable) -> Iterator[list[Row]]:
        """One of the account's own lists (priorities, teams, users), in full, every run. A list the account's
        plan lacks (HTTP 402, e.g. teams on the smallest plans) loads nothing, with a warning."""
        makers = {
            PRIORITIES.name: lambda item, n: priority_row(self.connection_id, item, n, self.fetched_at),
            TEAMS.name: lambda item, n: team_row(self.connection_id, item, self.fetched_at),
            USERS.name: lambda item, n: user_row(self.connection_id, item, self.fetched_at),
        }
        make = makers[table.name]
        seen: set[str] = set()
        try:
            for page in iter_listing(self.client, path, collection, {}, warn=self.warn):
                rows = []
                for item in page:
                    if item.get("id") not in seen:
                        seen.add(item.get("id"))
                        rows.append(make(item, len(seen)))
                if rows:
                    yield rows
        except NotOnPlanError:
            self.warn(f"GET {path} is not on this account's plan (HTTP 402): no {collection} are loaded")

    def users(self) -> Iterator[list[Row]]:
        """The account's users, each with their time zone (read once per run, shared with the offsets)."""
        if self._user_rows is None:
            self._user_rows = [row for page in self.account_list("/users", "users", USERS) for row in page]
        for start in range(0, len(self._user_rows), settings.PAGE_LIMIT):
            yield self._user_rows[start : start + settings.PAGE_LIMIT]

    def time_zone_offsets(self) -> Iterator[list[Row]]:
        """The UTC offsets of the users' time zones over time, so that SQL can tell a responder's local hour
        without the server's time zone tables (MySQL and MariaDB ship none by default)."""
        if self._user_rows is None:
            list(self.users())
        zones = sorted({row["time_zone"] for row in self._user_rows or [] if row.get("time_zone")})
        rows = [row for zone in zones for row in offset_rows(self.connection_id, zone, self.fetched_at)]
        for start in range(0, len(rows), settings.PAGE_LIMIT):
            yield rows[start : start + settings.PAGE_LIMIT]

    # --------------------------------------------------------------------------------- change events
    def change_events(self) -> Iterator[list[Row]]:
        """Change events (deployments sent by CI/CD tools) since the previous run, less a trailing day for
        events stamped before they were sent, or as far back as PagerDuty keeps them (90 days). A previous
        run older than that means deployments in between are lost: say so."""
        oldest_kept = self.until - settings.CHANGE_EVENT_RETENTION
        last = self.state.change_events_until
        if last is not None and last < oldest_kept:
            self.stats.warnings.append(
                f"change events (deployments) between {iso_z(last)} and {iso_z(oldest_kept)} are lost for"
                " good: PagerDuty keeps 90 days of them, and this connection was last loaded before that"
            )
        since = (
            oldest_kept if last is None else max(oldest_kept, last - settings.CHANGE_EVENT_TRAILING_WINDOW)
        )
        wanted = set(self.service_ids) if self.service_ids else None
        for page in iter_windows(self.client, "/change_events", "change_events", since, self.until, {}):
            rows = [
                change_event_row(self.connection_id, event, self.fetched_at)
                for event in page
                if wanted is None
                or any((ref or {}).get("id") in wanted for ref in event.get("services") or [])
            ]
            self.stats.change_events += len(rows)
            if rows:
                yield rows
