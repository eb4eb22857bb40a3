"""The load of one blueprint scope (one connection, a start date, some services or all) into `<lake>_raw`.

Collection runs the dlt source's resources; their rows go to the raw database as they come (raw_store.py), and
the load becomes visible, with the state the next run continues from, in one transaction at the end. The state
comes back from completed loads only: a run that fails or is killed leaves the cut-offs where they were, and
its rows are never read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

import pymysql

from .checkpoints import checkpoint
from .database import Database
from .pagerduty import (
    LoadStats,
    PagerDutyClient,
    PagerDutyError,
    RetryPolicy,
    ScopeState,
    TimeFormatError,
    pagerduty_source,
)
from .pagerduty.endpoints import EndpointPolicy
from .pagerduty.records import (
    CHANGE_EVENTS,
    INCIDENTS,
    LOG_ENTRIES,
    PRIORITIES,
    SERVICES,
    TEAMS,
    TIME_ZONE_OFFSETS,
    USERS,
)
from .raw_store import Drift, LakeScope, LoadError, RawLoad, clean_abandoned, ensure_schema, scope_state


@dataclass(frozen=True)
class ConnectionSpec:
    """A PagerDuty connection as DevLake keeps it. The token never appears in repr() or messages."""

    id: int
    name: str
    endpoint: str
    token: str = field(repr=False)
    proxy: Optional[str] = field(default=None, repr=False)
    rate_limit_per_hour: Optional[int] = None

    @property
    def label(self) -> str:
        return f"connection {self.name!r} (id {self.id})"


@dataclass(frozen=True)
class ScopeSpec:
    """What a blueprint scope collects: incidents created since start_date, of some services or all."""

    start_date: datetime
    service_ids: Optional[tuple[str, ...]] = None

    def key(self, connection_id: int) -> str:
        """The state of a scope is kept per connection and service set; start dates share it (an earlier
        one loads the history in between, a later one needs nothing new)."""
        services = ",".join(sorted(self.service_ids)) if self.service_ids else "*"
        return f"{connection_id}|{services}"


@dataclass
class ScopeResult:
    connection: ConnectionSpec
    scope: ScopeSpec
    stats: LoadStats
    requests: int = 0
    seconds: float = 0.0
    load_seq: Optional[int] = None
    drift: Optional[Drift] = None
    """What a reconcile found different between the lake and PagerDuty (None for other runs)."""


class LoadFailed(Exception):
    """A scope's load failed; nothing of it is visible and its cut-off did not move, so the next run fetches
    what was missed."""

    def __init__(self, message: str, requests: int = 0) -> None:
        super().__init__(message)
        self.requests = requests


RESOURCE_ORDER = (
    INCIDENTS,
    LOG_ENTRIES,
    SERVICES,
    CHANGE_EVENTS,
    PRIORITIES,
    TEAMS,
    USERS,
    TIME_ZONE_OFFSETS,
)


def load_scope(
    connection: ConnectionSpec,
    scope: ScopeSpec,
    database: Database,
    retry: Optional[RetryPolicy] = None,
    on_progress: Optional[Callable[[LoadStats, int], None]] = None,
    on_phase: Optional[Callable[[str], None]] = None,
    policy: Optional[EndpointPolicy] = None,
    bulk_load: str = "auto",
    reconcile_since: Optional[datetime] = None,
    history_since: Optional[datetime] = None,
) -> ScopeResult:
    """Collect one scope of one connection into the raw database. Raises LoadFailed with a clear message.

    With `reconcile_since` (the scope's start date, or a later one) the load is a reconcile: every incident
    created since then is listed again, what differs from the lake replaces it (the drift is counted by field
    in `ScopeResult.drift`), and incidents PagerDuty no longer has leave the lake; all in the one load.
    `history_since` bounds how far back a first load reads log entries (default: the scope's start date)."""
    say = on_phase or (lambda message: None)
    database.claim()
    ensure_schema(database)
    clean_abandoned(database)
    key = scope.key(connection.id)
    stats = LoadStats()
    client = PagerDutyClient(
        connection.endpoint,
        connection.token,
        connection.label,
        retry or RetryPolicy(),
        proxy=connection.proxy,
        rate_limit_per_hour=connection.rate_limit_per_hour,
        policy=policy,
        on_retry=say,
    )
    if on_progress:
        stats.listeners.append(lambda s: on_progress(s, client.requests_made))
    started = time.monotonic()
    load = RawLoad(database, "pagerduty", connection.id, key, bulk_load=bulk_load)
    try:
        state = ScopeState.from_json(scope_state(database, key))
        source = pagerduty_source(
            connection_id=connection.id,
            start_date=scope.start_date,
            service_ids=scope.service_ids,
            api_token=connection.token,
            base_url=connection.endpoint,
            connection_name=connection.name,
            state=state,
            lake=LakeScope(database, connection.id, scope.start_date, scope.service_ids),
            client=client,
            stats=stats,
            reconcile_since=reconcile_since,
            history_since=history_since,
        )
        with load:
            for table in RESOURCE_ORDER:
                load.write(table, _checkpointed(source.resources[table.name], f"collect:{table.name}"))
                load.flush()
                checkpoint(f"wrote:{table.name}")
            say(
                f"{stats.incidents:,} incidents and {stats.change_events:,} change events collected;"
                " completing"
            )
            written = time.monotonic()
            seq = load.complete(
                state=stats.next_state.to_json() if stats.next_state else None,
                gone=stats.gone if stats.reconcile else (),
                measure_drift=stats.reconcile,
            )
            say(f"load {seq} completed in {database.raw_name} in {time.monotonic() - written:.1f} s")
    except KeyboardInterrupt:
        client.cancel()
        load.abandon()
        raise
    except Exception as wrapped:  # dlt wraps what a resource raises: the cause is what the user must see
        client.cancel()  # requests of this load still waiting to be retried stop now
        load.abandon()
        exc = _cause(wrapped)
        if isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        if isinstance(exc, (PagerDutyError, TimeFormatError, LoadError)):
            message = str(exc)
        elif isinstance(exc, pymysql.err.Error):
            detail = exc.args[-1] if exc.args else type(exc).__name__
            message = f"{connection.label}: the database refused the load: {detail}"
        else:
            raise
        raise LoadFailed(_without(message, connection.token), requests=client.requests_made) from None
    finally:
        load.close()
    return ScopeResult(
        connection, scope, stats, client.requests_made, time.monotonic() - started, seq, load.drift
    )


def _checkpointed(rows, name: str):  # noqa: ANN001, ANN202 - a pass-through generator
    for count, row in enumerate(rows):
        if count == 1:
            checkpoint(name)
        yield row


def _cause(exc: BaseException) -> BaseException:
    """The first exception in the chain that says what went wrong (under dlt's ResourceExtractionError)."""
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        if isinstance(
            current, (PagerDutyError, TimeFormatError, LoadError, pymysql.err.Error, KeyboardInterrupt)
        ):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return exc


def _without(message: str, token: str) -> str:
    return message.replace(token, "***") if token else message
