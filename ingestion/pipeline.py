"""Running the PagerDuty source for one connection and scope into `<lake>_raw`.

Each run uses a throwaway dlt working folder, so dlt always takes its state (the high-water mark and the
open incidents) from the destination: dropping the databases reloads everything, and deleting local folders
changes nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

import dlt
import orjson
import pymysql
from dlt.pipeline.exceptions import PipelineStepFailed

from .database import Database
from .pagerduty import LoadStats, PagerDutyClient, PagerDutyError, RetryPolicy, pagerduty_source, settings

# dlt's merge job builds a subquery SQLAlchemy 2.1 warns about; the SQL is right, the warning is noise
warnings.filterwarnings("ignore", message="implicitly coercing SELECT object to scalar subquery")
# dlt reads .dlt/config.toml from the project folder wherever run.py is started from
os.environ.setdefault("DLT_PROJECT_DIR", str(Path(__file__).resolve().parent.parent))


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


@dataclass
class ScopeResult:
    connection: ConnectionSpec
    scope: ScopeSpec
    stats: LoadStats
    requests: int = 0
    seconds: float = 0.0
    error: Optional[str] = None


class LoadFailed(Exception):
    """A scope's load failed; its high-water mark did not move, so the next run fetches what was missed."""

    def __init__(self, message: str, requests: int = 0) -> None:
        super().__init__(message)
        self.requests = requests


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def destination(database: Database) -> dlt.destinations.sqlalchemy:
    """dlt's sqlalchemy destination on MySQL/MariaDB with real primary keys (merges stay linear) and
    orjson for JSON columns (the stdlib encoder SQLAlchemy uses by default was a tenth of load time)."""
    return dlt.destinations.sqlalchemy(
        database.sqlalchemy_url(),
        create_primary_keys=True,
        engine_kwargs={"json_serializer": _json_text},
    )


_NO_SUCH_TABLE = 1146
_LOAD_ID_INDEX = "ix_incidents_dlt_load_id"


@contextmanager
def throwaway_pipeline(database: Database, name: str) -> Iterator[dlt.Pipeline]:
    """A dlt pipeline into `<lake>_raw` whose working folder lives for one run: its state always comes
    from the destination, so the data and the high-water marks can never disagree."""
    workdir = tempfile.mkdtemp(prefix=f"{name}-")
    try:
        yield dlt.pipeline(
            pipeline_name=name,
            destination=destination(database),
            dataset_name=database.raw_name,
            pipelines_dir=workdir,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def pipeline_name(connection_id: int) -> str:
    return f"pagerduty_connection_{connection_id}"


def load_scope(
    connection: ConnectionSpec,
    scope: ScopeSpec,
    database: Database,
    retry: Optional[RetryPolicy] = None,
    on_progress: Optional[Callable[[LoadStats, int], None]] = None,
    on_phase: Optional[Callable[[str], None]] = None,
) -> ScopeResult:
    """Collect one scope of one connection into the raw database. Raises LoadFailed with a clear message."""
    database.ensure_databases()
    stats = LoadStats()
    client = PagerDutyClient(
        connection.endpoint,
        connection.token,
        connection.label,
        retry or RetryPolicy(),
        proxy=connection.proxy,
        rate_limit_per_hour=connection.rate_limit_per_hour,
    )
    if on_progress:
        stats.listeners.append(lambda s: on_progress(s, client.requests_made))
    source = pagerduty_source(
        connection_id=connection.id,
        start_date=scope.start_date,
        service_ids=scope.service_ids,
        api_token=connection.token,
        base_url=connection.endpoint,
        connection_name=connection.name,
        client=client,
        stats=stats,
        known_open=lambda: open_incident_ids(database, connection.id, scope),
    )
    started = time.monotonic()
    try:
        with throwaway_pipeline(database, pipeline_name(connection.id)) as pipeline:
            pipeline.sync_destination()  # the high-water mark, from the last completed load
            pipeline.extract(source)  # the slow part, talking to PagerDuty: runs beside other connections
            say = on_phase or (lambda message: None)
            say(f"{stats.incidents:,} incidents and {stats.change_events:,} change events collected; writing")
            with raw_load_lock(database):
                written = time.monotonic()
                pipeline.normalize()
                info = pipeline.load()
            say(f"written into {database.raw_name} in {time.monotonic() - written:.1f} s")
        if info.has_failed_jobs:  # dlt raises on failed jobs by default; a config that says otherwise
            raise LoadFailed(f"{connection.label}: the load had failed jobs and was not completed")
        ensure_load_id_index(database)
    except PipelineStepFailed as exc:
        if _caused_by(exc, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise LoadFailed(_reason(exc, connection), requests=client.requests_made) from None
    except PagerDutyError as exc:
        raise LoadFailed(str(exc), requests=client.requests_made) from None
    return ScopeResult(connection, scope, stats, client.requests_made, time.monotonic() - started)


@contextmanager
def raw_load_lock(database: Database, timeout_seconds: int = 3600) -> Iterator[None]:
    """One load into `<lake>_raw` at a time, across threads, processes and machines: dlt's merges share the
    staging tables of `<lake>_raw_staging`. A MySQL/MariaDB named lock, freed with its connection."""
    name = f"pagerduty_dora:{database.raw_name}"[:64]
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, %s)", (name, timeout_seconds))
        if cur.fetchone()[0] != 1:
            raise LoadFailed(f"another run kept loading into {database.raw_name} for {timeout_seconds} s")
        try:
            yield
        finally:
            cur.execute("SELECT RELEASE_LOCK(%s)", (name,))


def ensure_load_id_index(database: Database) -> None:
    """Index the raw incidents by dlt load id. dbt's incremental models read the rows of the loads
    completed since their last build; without the index each rerun scans the whole raw table."""
    table = settings.INCIDENTS_TABLE
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.statistics"
            " WHERE table_schema = %s AND table_name = %s AND index_name = %s",
            (database.raw_name, table, _LOAD_ID_INDEX),
        )
        if cur.fetchone()[0] == 0:
            cur.execute(
                f"CREATE INDEX {_LOAD_ID_INDEX} ON `{database.raw_name}`.`{table}` (_dlt_load_id(40))"
            )


def open_incident_ids(database: Database, connection_id: int, scope: ScopeSpec) -> set[str]:
    """Ids of the scope's incidents that the raw table holds as not resolved: those a rerun refreshes."""
    sql = (
        f"SELECT id FROM `{database.raw_name}`.`{settings.INCIDENTS_TABLE}`"
        " WHERE connection_id = %s AND status <> %s AND created_at >= %s"
    )
    args: list[object] = [
        connection_id,
        settings.RESOLVED,
        scope.start_date.astimezone(UTC).replace(tzinfo=None),
    ]
    if scope.service_ids:
        sql += f" AND service_id IN ({', '.join(['%s'] * len(scope.service_ids))})"
        args.extend(scope.service_ids)
    try:
        with database.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return {row[0] for row in cur.fetchall()}
    except pymysql.err.ProgrammingError as exc:
        if exc.args and exc.args[0] == _NO_SUCH_TABLE:  # state without data: nothing known to be open
            return set()
        raise


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: Optional[BaseException] = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(e, kind) for e in _chain(exc))


def _reason(exc: PipelineStepFailed, connection: ConnectionSpec) -> str:
    """The PagerDuty or database error under dlt's wrapper, in one line: the step's own exception, not
    whatever was being handled deeper down when it happened."""
    for item in _chain(exc):
        if isinstance(item, PagerDutyError):
            return str(item)
    root: BaseException = getattr(exc, "exception", None) or exc
    message = str(root).splitlines()[0] if str(root) else type(root).__name__
    if connection.token and connection.token in message:
        message = message.replace(connection.token, "***")
    return f"{connection.label}: {type(root).__name__}: {message}"


def drop_databases(database: Database, names: Sequence[str] = ()) -> None:
    """Drop this project's databases (tests and `--full-refresh`): the next run reloads everything."""
    with database.connect() as conn, conn.cursor() as cur:
        for name in names or database.all_names:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
