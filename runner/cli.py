"""Command line of run.py. Exit codes: 0 done, 1 a load or dbt failed, 2 bad input (nothing written)."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import pymysql

from ingestion.database import Database, DatabaseUrlError, NotOurDatabase, database_from_env
from ingestion.deployments import DeploymentsFile, DeploymentsFileError, load_deployments, read_deployments
from ingestion.raw_store import ensure_schema, record_scopes
from ingestion.scope_load import LoadFailed, ScopeResult, load_scope

from .blueprint import Blueprint, Task, load_blueprint
from .commands import (
    add_management_commands,
    connections_for,
    management_command,
    schedule_command,
    serve_command,
)
from .errors import InputError
from .output import out
from .pipeline_records import COMPLETED, FAILED, PipelineRecord
from .progress import ProgressPrinter
from .transform import run_dbt

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """exit codes:
  0    the blueprint ran to the end
  1    a load failed (PagerDuty, network or database) or dbt failed; what was loaded before it
       stays, a failed load's high-water mark does not move, and the next run fetches what was missed
  2    bad input (blueprint, connections, deployments CSV, DB_URL, ENCRYPTION_SECRET); nothing was
       written and PagerDuty was not called
  130  interrupted

environment:
  DB_URL             mysql://user:password@host:port/lake (default mysql://root@127.0.0.1:3306/lake);
                     raw tables go to the database <lake>_raw
  ENCRYPTION_SECRET  key for the tokens of saved connections (run.py connections ...)
  NEW_ENCRYPTION_SECRET  connections rotate-secret: the new secret
  API_TOKEN          run.py serve: bearer token for every route but /ping; needed to bind beyond loopback
  PAGERDUTY_ALLOW_HTTP=1           plain http endpoints on any host (default: https; http on loopback only)
  PAGERDUTY_ALLOW_PRIVATE_HOSTS=1  endpoints and proxies on private, link-local or reserved addresses

commands:
  run          run a blueprint once: ingest, then dbt build
  schedule     run a blueprint on its cronConfig, one run at a time
  connections  add | list | show | update | delete | test | rotate-secret saved connections
  pipelines    list | show records of runs
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Load PagerDuty incidents into MySQL/MariaDB for DORA metrics, DevLake-style.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="run a blueprint: ingest every scope",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--blueprint", required=True, help="blueprint JSON (DevLake's, verbatim)")
    run.add_argument(
        "--connections",
        help="JSON list of PagerDuty connections (default: those saved with `run.py connections add`)",
    )
    run.add_argument("--force", action="store_true", help="run a blueprint even if it has enable: false")
    run.add_argument("--quiet", action="store_true", help="no progress lines, only the summary and errors")
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line on stdout, for orchestrators",
    )
    run.add_argument("--skip-dbt", action="store_true", help="ingest only; do not run dbt")
    run.add_argument(
        "--parallel", type=int, default=2, metavar="N", help="connections collected at once (default 2)"
    )
    run.add_argument(
        "--deployments",
        metavar="FILE.csv",
        help="deployments from outside PagerDuty (id, service_id, finished_at, result, environment)",
    )
    add_management_commands(commands)
    return parser


def _describe_scope(result: ScopeResult) -> str:
    services = ", ".join(result.scope.service_ids) if result.scope.service_ids else "all services"
    stats = result.stats
    kind = "first load" if stats.first_load else f"incremental, {stats.incidents_refreshed:,} open refreshed"
    return (
        f"  {result.connection.label}, since {result.scope.start_date:%Y-%m-%dT%H:%M:%SZ}, {services}:"
        f" {stats.incidents:,} incidents ({kind}), {stats.change_events:,} change events,"
        f" {stats.services:,} services, {result.requests:,} requests,"
        f" {result.seconds:.1f} s; {stats.open_incidents:,} still open"
    )


def _print_metrics(database: Database) -> None:
    """The last three months' MTTR and CFR, as the dashboards will show them."""
    with database.connect(database.name) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT month, resolved_incidents, mttr_minutes, mttr_hours, level"
            " FROM dora_mttr_monthly ORDER BY month DESC LIMIT 3"
        )
        mttr = cur.fetchall()
        cur.execute(
            "SELECT month, deployments, failed_deployments, change_failure_rate, level"
            " FROM dora_cfr_monthly ORDER BY month DESC LIMIT 3"
        )
        cfr = cur.fetchall()
    if mttr:
        out.info("MTTR (median time to restore service), last three months:")
        for month, count, minutes, hours, level in mttr:
            out.info(
                f"  {month:%Y-%m}  {count:>6,} resolved  {minutes:>7,} min  {hours:>8} h  {level}",
                event="mttr",
                month=f"{month:%Y-%m}",
                resolved_incidents=count,
                mttr_minutes=minutes,
                mttr_hours=float(hours),
                level=level,
            )
    else:
        out.info("MTTR: no resolved incidents yet")
    if cfr:
        out.info("CFR (change failure rate), last three months:")
        for month, deployments, failed, rate, level in cfr:
            out.info(
                f"  {month:%Y-%m}  {deployments:>6,} deployments  {failed:>6,} failed  {rate:>7.1%}  {level}"
            )
    else:
        out.info("CFR: no production deployments yet")


def _transform(database: Database) -> tuple[bool, str]:
    """Run dbt build; (success, a one-line result for the pipeline record)."""
    started = time.monotonic()
    outcome = run_dbt(database)
    if outcome.success:
        line = f"dbt build: {outcome.models} models, {outcome.tests} tests passed"
        seconds = round(time.monotonic() - started, 1)
        out.info(f"{line} into {database.name} in {seconds} s", event="dbt", success=True, seconds=seconds)
        _print_metrics(database)
        return True, line
    out.error(f"dbt build failed: {outcome.error or 'see below'}", event="dbt", success=False)
    for failure in outcome.failures:
        out.error(failure, event="dbt_failure")
    first = outcome.failures[0] if outcome.failures else outcome.error or "failed"
    return False, f"dbt build failed: {first}"[:255]


def run_blueprint(
    blueprint: Blueprint,
    database: Database,
    quiet: bool = False,
    dbt: bool = True,
    deployments: Optional[DeploymentsFile] = None,
    parallel: int = 2,
    record: Optional[PipelineRecord] = None,
) -> int:
    """Ingest every scope, then dbt; the run is recorded in `record` (a new one by default)."""
    if record is None:
        record = PipelineRecord.begin(database, blueprint.name)
    else:
        record.mark_running()
    out.progress(
        f"Pipeline {record.id}: blueprint {blueprint.name!r}", event="pipeline", pipeline_id=record.id
    )
    results: list[ScopeResult] = []
    failures: list[LoadFailed] = []
    try:
        code, dbt_result = _run_tasks(
            blueprint, database, quiet, dbt, deployments, results, failures, parallel
        )
    except BaseException as exc:
        message = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        record.finish(FAILED, message[:2000], 0, 0, 0, None)
        raise
    incidents = sum(r.stats.incidents for r in results)
    deployments_seen = sum(r.stats.change_events for r in results)
    requests = sum(r.requests for r in results) + sum(getattr(f, "requests", 0) for f in failures)
    record.finish(
        COMPLETED if code == EXIT_OK else FAILED,
        "; ".join(str(f) for f in failures)[:2000] or None,
        incidents,
        deployments_seen,
        requests,
        dbt_result,
    )
    return code


def _run_tasks(
    blueprint: Blueprint,
    database: Database,
    quiet: bool,
    dbt: bool,
    deployments: Optional[DeploymentsFile],
    results: list[ScopeResult],
    failures: list,
    parallel: int,
) -> tuple[int, Optional[str]]:
    started = time.monotonic()
    database.claim()
    ensure_schema(database)
    record_scopes(
        database,
        blueprint.name,
        blueprint.name,
        [(task.connection.id, task.scope.service_ids, task.scope.start_date) for task in blueprint.tasks],
    )

    def load(task: Task) -> ScopeResult:
        progress = None if quiet else ProgressPrinter(task.connection.label)
        label = task.connection.label
        return load_scope(
            task.connection,
            task.scope,
            database,
            on_progress=progress,
            on_phase=lambda message: out.progress(f"{label}: {message}", event="phase"),
        )

    # connections are collected side by side (PagerDuty's limits are per account); loads take turns
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(blueprint.tasks)))) as pool:
        futures = [pool.submit(load, task) for task in blueprint.tasks]
        for future in futures:
            try:
                results.append(future.result())
            except LoadFailed as exc:
                failures.append(exc)
    incidents = sum(r.stats.incidents for r in results)
    requests = sum(r.requests for r in results) + sum(f.requests for f in failures)
    out.info(
        f"Blueprint {blueprint.name!r}: {len(results)} of {len(blueprint.tasks)} scopes loaded,"
        f" {incidents:,} incidents, {requests:,} requests in {time.monotonic() - started:.1f} s"
        f" into {database.describe()} (raw: {database.raw_name})",
        event="summary",
        scopes_loaded=len(results),
        scopes=len(blueprint.tasks),
        incidents=incidents,
        requests=requests,
    )
    for result in results:
        out.info(
            _describe_scope(result),
            event="scope",
            connection_id=result.connection.id,
            incidents=result.stats.incidents,
            change_events=result.stats.change_events,
            requests=result.requests,
            seconds=round(result.seconds, 1),
            first_load=result.stats.first_load,
        )
    if deployments is not None:
        count = load_deployments(database, deployments)
        out.info(
            f"Deployments: {count:,} from {deployments.path} loaded into {database.raw_name}.deployments",
            event="deployments",
            deployments=count,
        )
    for result in results:
        for warning in result.stats.warnings:
            out.warning(f"{result.connection.label}: {warning}", connection_id=result.connection.id)
    for failure in failures:
        out.error(str(failure), event="load_failed")
    dbt_result = None
    if dbt and results:
        ok, dbt_result = _transform(database)
        if not ok:
            return EXIT_FAILED, dbt_result
    return (EXIT_FAILED if failures else EXIT_OK), dbt_result


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_command(args: argparse.Namespace, database: Database) -> int:
    blueprint = load_blueprint(args.blueprint, connections_for(args, database), force=args.force)
    deployments = read_deployments(args.deployments) if args.deployments else None
    return run_blueprint(
        blueprint,
        database,
        quiet=args.quiet,
        dbt=not args.skip_dbt,
        deployments=deployments,
        parallel=getattr(args, "parallel", 2),
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    out.configure(getattr(args, "log_format", "text"), getattr(args, "quiet", False))
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # an orchestrator's stop ends the run like Ctrl-C
    database: Optional[Database] = None
    try:
        database = database_from_env()
        if args.command == "run":
            return _run_command(args, database)
        if args.command == "schedule":
            return schedule_command(args, database, _run_command)
        if args.command == "serve":
            return serve_command(args, database)
        return management_command(args, database)
    except (InputError, DatabaseUrlError, DeploymentsFileError, NotOurDatabase) as exc:
        for line in str(exc).splitlines():
            out.error(line, event="bad_input")
        return EXIT_BAD_INPUT
    except pymysql.err.OperationalError as exc:
        where = database.describe() if database else "DB_URL"
        out.error(f"cannot use the database at {where}: {exc.args[-1]}", event="database")
        return EXIT_FAILED
    except KeyboardInterrupt:
        out.error("interrupted; the interrupted load was not committed", event="interrupted")
        return EXIT_INTERRUPTED
