"""Running a blueprint: every scope's load, the deployments file, then dbt; recorded as DevLake's pipeline.

The command line (`run.py run`, `schedule`) and the REST API (`serve`) both call `run_blueprint`, which
returns what happened (`BlueprintRun`) and reports it through `output.out` as it goes; neither knows of the
other.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import reduce
from typing import Optional

import pymysql

from ingestion.database import Database
from ingestion.deployments import DeploymentsFile, load_deployments
from ingestion.raw_store import Drift, ensure_schema, record_scopes
from ingestion.scope_load import LoadFailed, ScopeResult, load_scope

from .blueprints import Blueprint, Task
from .formats import count, duration, is_partial, month_label, percent
from .output import out
from .pipeline_records import COMPLETED, FAILED, PipelineRecord
from .progress import ProgressPrinter
from .settings import Settings
from .transform import DbtOutcome, run_dbt

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DBT_SELECTION = ("--exclude", "tag:heavy")
"""dbt tests that read every row (tag heavy) run in `make test` and on demand, not on every load."""
_DBT_LOCK_SECONDS = 3600


@dataclass(frozen=True)
class SyncPolicy:
    """How a blueprint runs, in DevLake's words (its trigger body): an ordinary run collects what changed
    since the previous one; `full_sync` re-collects every incident (a reconcile: drift found and healed),
    since `since` when given; `skip_collectors` collects nothing and only rebuilds the models."""

    full_sync: bool = False
    skip_collectors: bool = False
    since: Optional[datetime] = None

    @property
    def kind(self) -> str:
        return "reconcile" if self.full_sync else "models only" if self.skip_collectors else "run"


@dataclass
class BlueprintRun:
    """What a run of a blueprint did."""

    pipeline_id: int
    exit_code: int = EXIT_OK
    scopes: list[ScopeResult] = field(default_factory=list)
    failures: list[LoadFailed] = field(default_factory=list)
    deployments_loaded: Optional[int] = None
    dbt: Optional[DbtOutcome] = None
    dbt_result: Optional[str] = None

    @property
    def drift(self) -> Optional[Drift]:
        """What a reconcile found, over every scope it loaded (None for other runs)."""
        found = [r.drift for r in self.scopes if r.drift is not None]
        return reduce(lambda a, b: a + b, found) if found else None

    @property
    def incidents(self) -> int:
        return sum(r.stats.incidents for r in self.scopes)

    @property
    def change_events(self) -> int:
        return sum(r.stats.change_events for r in self.scopes)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.scopes) + sum(f.requests for f in self.failures)


def run_blueprint(
    blueprint: Blueprint,
    database: Database,
    quiet: bool = False,
    dbt: bool = True,
    deployments: Optional[DeploymentsFile] = None,
    parallel: int = 2,
    record: Optional[PipelineRecord] = None,
    settings: Settings = Settings(),
    sync: SyncPolicy = SyncPolicy(),
) -> BlueprintRun:
    """Ingest every scope, then dbt; the run is recorded in `record` (a new one by default). `settings`
    give the endpoint policy and the way raw rows are written; `sync` says what to collect."""
    announce_created(database.claim(), database)  # before the record, which would create the lake silently
    if record is None:
        record = PipelineRecord.begin(
            database, blueprint.name, full_sync=sync.full_sync, skip_collectors=sync.skip_collectors
        )
    else:
        record.mark_running()
    out.progress(
        f"Pipeline {record.id}: blueprint {blueprint.name!r} ({sync.kind})",
        event="pipeline",
        pipeline_id=record.id,
    )
    run = BlueprintRun(pipeline_id=record.id)
    try:
        _run(blueprint, database, quiet, dbt, deployments, parallel, run, settings, sync, record)
    except BaseException as exc:
        message = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        record.finish(FAILED, message=message[:2000])
        raise
    notes = [str(failure) for failure in run.failures]
    if run.drift is not None:
        notes.append(f"drift: {run.drift.describe()}")
    record.finish(
        COMPLETED if run.exit_code == EXIT_OK else FAILED,
        message="; ".join(notes)[:2000] or None,
        incidents=run.incidents,
        deployments=run.change_events,
        requests=run.requests,
        dbt_result=run.dbt_result,
    )
    return run


def _run(
    blueprint: Blueprint,
    database: Database,
    quiet: bool,
    dbt: bool,
    deployments: Optional[DeploymentsFile],
    parallel: int,
    run: BlueprintRun,
    settings: Settings,
    sync: SyncPolicy,
    record: PipelineRecord,
) -> None:
    started = time.monotonic()
    ensure_schema(database)
    with dbt_turn(database):  # a blueprint's scopes change what dbt builds: never under a build in progress
        record_scopes(
            database,
            blueprint.name,
            blueprint.project,
            [(task.connection.id, task.scope.service_ids, task.scope.start_date) for task in blueprint.tasks],
        )

    if sync.skip_collectors:  # DevLake's skipCollectors: the models are rebuilt from what the lake holds
        out.info(f"Blueprint {blueprint.name!r}: collectors skipped; rebuilding the models", event="summary")
        if dbt:
            record.progress("dbt build", 0, 1)
            run.dbt, run.dbt_result = transform(database)
            run.exit_code = EXIT_OK if run.dbt.success else EXIT_FAILED
        return

    total = len(blueprint.tasks) + (deployments is not None) + bool(dbt)
    record.progress(f"collecting {len(blueprint.tasks)} scope(s)", 0, total)

    def load(task: Task) -> ScopeResult:
        progress = None if quiet else ProgressPrinter(task.connection.label)
        label = task.connection.label

        def phase(message: str) -> None:
            out.progress(f"{label}: {message}", event="phase")
            record.progress(f"collecting {label}", message=f"{label}: {message}")

        reconcile_since = None
        if sync.full_sync:  # every incident of the scope, or those created since the date asked
            reconcile_since = max(filter(None, (task.scope.start_date, sync.since)))
        return load_scope(
            task.connection,
            task.scope,
            database,
            on_progress=progress,
            on_phase=phase,
            policy=settings.endpoint_policy,
            bulk_load=settings.bulk_load,
            reconcile_since=reconcile_since,
            history_since=settings.history_since,
        )

    # connections are collected side by side (PagerDuty's limits are per account); loads complete in turn.
    # Interrupted (SIGTERM, Ctrl-C), the run does not wait for loads in flight: nothing of them is visible
    # until they complete, and the next run deletes what they wrote.
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(blueprint.tasks))))
    try:
        for done, future in enumerate([pool.submit(load, task) for task in blueprint.tasks], start=1):
            try:
                run.scopes.append(future.result())
            except LoadFailed as exc:
                run.failures.append(exc)
            record.progress("collecting", done)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    out.info(
        f"Blueprint {blueprint.name!r}: {len(run.scopes)} of {len(blueprint.tasks)} scopes loaded,"
        f" {run.incidents:,} incidents, {run.requests:,} requests in {time.monotonic() - started:.1f} s"
        f" into {database.describe()} (raw: {database.raw_name})",
        event="summary",
        scopes_loaded=len(run.scopes),
        scopes=len(blueprint.tasks),
        incidents=run.incidents,
        requests=run.requests,
    )
    for result in run.scopes:
        out.info(
            describe_scope(result),
            event="scope",
            connection_id=result.connection.id,
            incidents=result.stats.incidents,
            change_events=result.stats.change_events,
            requests=result.requests,
            seconds=round(result.seconds, 1),
            first_load=result.stats.first_load,
        )
    if deployments is not None:
        record.progress(f"loading deployments from {deployments.path}")
        run.deployments_loaded = load_deployments(database, deployments, bulk_load=settings.bulk_load)
        record.progress("deployments loaded", len(blueprint.tasks) + 1)
        out.info(
            f"Deployments: {run.deployments_loaded:,} from {deployments.path} loaded into"
            f" {database.raw_name}",
            event="deployments",
            deployments=run.deployments_loaded,
        )
    drift = run.drift
    if drift is not None:
        out.info(
            f"Reconcile: {drift.describe()}",
            event="drift",
            checked=sum(r.stats.incidents for r in run.scopes),
            **drift.to_json(),
        )
    for result in run.scopes:
        for warning in result.stats.warnings:
            out.warning(f"{result.connection.label}: {warning}", connection_id=result.connection.id)
    for failure in run.failures:
        out.error(str(failure), event="load_failed")
    run.exit_code = EXIT_FAILED if run.failures else EXIT_OK
    if dbt and run.scopes:
        record.progress("dbt build")
        run.dbt, run.dbt_result = transform(database)
        if not run.dbt.success:
            run.exit_code = EXIT_FAILED


def announce_created(created: tuple[str, ...], database: Database) -> None:
    """Say so when a command created the lake: a mistyped DB_URL shows at once, not as an empty dashboard."""
    if created:
        out.info(
            f"Created {', '.join(created)} on {database.host}:{database.port} (a new lake)",
            event="created",
            databases=list(created),
        )


def describe_scope(result: ScopeResult) -> str:
    services = ", ".join(result.scope.service_ids) if result.scope.service_ids else "all services"
    stats = result.stats
    kind = "first load" if stats.first_load else f"incremental, {stats.incidents_refreshed:,} open refreshed"
    return (
        f"  {result.connection.label}, since {result.scope.start_date:%Y-%m-%dT%H:%M:%SZ}, {services}:"
        f" {stats.incidents:,} incidents ({kind}), {stats.change_events:,} change events,"
        f" {stats.services:,} services, {result.requests:,} requests,"
        f" {result.seconds:.1f} s; {stats.open_incidents:,} still open"
    )


class dbt_turn:  # noqa: N801 - a context manager read as a phrase: `with dbt_turn(database):`
    """One dbt build of a lake at a time, across threads, processes and machines (a named lock on the
    server); scope changes take the same turn, so a build never sees half a blueprint's scopes."""

    _local = threading.local()

    def __init__(self, database: Database) -> None:
        self.database = database
        self.name = f"pdd:dbt:{database.name}"[:64]
        self.conn: Optional[pymysql.connections.Connection] = None

    def __enter__(self) -> dbt_turn:
        self.conn = self.database.connect()
        with self.conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, %s)", (self.name, _DBT_LOCK_SECONDS))
            if cur.fetchone()[0] != 1:
                self.conn.close()
                raise LoadFailed(f"another dbt build of {self.database.name} ran for {_DBT_LOCK_SECONDS} s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.close()  # frees the lock


def transform(database: Database) -> tuple[DbtOutcome, str]:
    """Run dbt build (its heavy tests aside); the outcome, and a one-line result for the pipeline record."""
    started = time.monotonic()
    with dbt_turn(database):
        outcome = run_dbt(database, ["build", *DBT_SELECTION])
    if outcome.success:
        tests = (
            f"{outcome.tests} tests passed"
            if outcome.tests
            else "tests: skipped on scheduled runs (tag heavy; make test runs them)"
        )
        line = f"dbt build: {outcome.models} models; {tests}"
        seconds = round(time.monotonic() - started, 1)
        out.info(f"{line} into {database.name} in {seconds} s", event="dbt", success=True, seconds=seconds)
        print_metrics(database)
        return outcome, line
    out.error(f"dbt build failed: {outcome.error or 'see below'}", event="dbt", success=False)
    for failure in outcome.failures:
        out.error(failure, event="dbt_failure")
    first = outcome.failures[0] if outcome.failures else outcome.error or "failed"
    return outcome, f"dbt build failed: {first}"[:255]


def _mttr_months(cur: pymysql.cursors.Cursor, count: int) -> list[date]:
    """The `count` latest months with a resolved incident that MTTR counts, newest first. Each is the first
    row of the index on the stored resolution month below the last: a few reads, where grouping the whole
    view would rank every resolved incident (5 s at a million)."""
    months: list[date] = []
    for _ in range(count):
        cur.execute(
            "SELECT resolution_month FROM dora_incidents"
            " WHERE resolution_date IS NOT NULL AND lead_time_minutes IS NOT NULL"
            + (" AND resolution_month < %s" if months else "")
            + " ORDER BY resolution_month DESC LIMIT 1",
            months[-1:],
        )
        row = cur.fetchone()
        if row is None:
            break
        months.append(row[0])
    return months


def _print_mtta(rows: tuple) -> None:
    """Time to acknowledge beside MTTR: the month of creation, acknowledged incidents, median and p90."""
    if not rows:
        out.info("MTTA: no acknowledged incidents yet")
        return
    out.info("MTTA (median time to acknowledge, by month of creation), last three months:")
    for month, acknowledged, seconds, p90 in rows:
        out.info(
            f"  {month_label(month):<17} {count(acknowledged):>7} acknowledged  {duration(seconds):>8}"
            f"  p90 {duration(p90)}",
            event="mtta",
            month=f"{month:%Y-%m}",
            partial=is_partial(month),
            acknowledged_incidents=acknowledged,
            mtta_seconds=int(seconds),
            mtta_p90_seconds=int(p90),
            mtta=duration(seconds),
            mtta_p90=duration(p90),
        )


def print_metrics(database: Database) -> None:
    """The last three months' MTTR, MTTA, CFR and deployment frequency, formatted as the report formats them
    (runner/formats.py), the month not over yet marked partial. MTTR is read from its view with the months
    named: the filter reaches the indexed month of the incidents, so only theirs are ranked."""
    with database.connect(database.name) as conn, conn.cursor() as cur:
        months = _mttr_months(cur, 3)
        mttr: tuple = ()
        if months:
            cur.execute(
                "SELECT month, resolved_incidents, mttr_seconds, level"
                " FROM dora_mttr_monthly WHERE month >= %s ORDER BY month DESC LIMIT 3",
                (months[-1],),
            )
            mttr = cur.fetchall()
        cur.execute(
            "SELECT month, acknowledged_incidents, mtta_seconds, mtta_p90_seconds FROM response_mtta_monthly"
            " WHERE acknowledged_incidents > 0 ORDER BY month DESC LIMIT 3"
        )
        mtta = cur.fetchall()
        cur.execute(
            "SELECT month, deployments, failed_deployments, change_failure_rate, level"
            " FROM dora_cfr_monthly ORDER BY month DESC LIMIT 3"
        )
        cfr = cur.fetchall()
        cur.execute(
            "SELECT month, deployments, median_deployment_days_per_week, level"
            " FROM dora_deployment_frequency_monthly ORDER BY month DESC LIMIT 3"
        )
        frequency = cur.fetchall()
    if mttr:
        out.info("MTTR (median time to restore service), last three months:")
        for month, resolved, seconds, level in mttr:
            out.info(
                f"  {month_label(month):<17} {count(resolved):>7} resolved  {duration(seconds):>8}  {level}",
                event="mttr",
                month=f"{month:%Y-%m}",
                partial=is_partial(month),
                resolved_incidents=resolved,
                mttr_seconds=int(seconds),
                mttr_minutes=int(seconds) // 60,
                mttr_hours=int(seconds) / 3600,
                mttr=duration(seconds),
                level=level,
            )
    else:
        out.info("MTTR: no resolved incidents yet")
    _print_mtta(mtta)
    if cfr:
        out.info("CFR (change failure rate), last three months:")
        for month, deployments, failed, rate, level in cfr:
            out.info(
                f"  {month_label(month):<17} {count(deployments):>7} deployments  {count(failed):>6} failed"
                f"  {percent(rate):>6}  {level}",
                event="cfr",
                month=f"{month:%Y-%m}",
                partial=is_partial(month),
                deployments=deployments,
                failed_deployments=failed,
                change_failure_rate=float(rate),
                cfr=percent(rate),
                level=level,
            )
    else:
        out.info("CFR: no production deployments yet")
    if frequency:
        out.info("Deployment frequency, last three months:")
        for month, deployments, days, level in frequency:
            out.info(
                f"  {month_label(month):<17} {count(deployments):>7} deployments"
                f"  {days:g} deployment days a week (median)  {level}",
                event="deployment_frequency",
                month=f"{month:%Y-%m}",
                partial=is_partial(month),
                deployments=deployments,
                median_deployment_days_per_week=days,
                level=level,
            )
