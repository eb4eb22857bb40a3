"""`run.py run` (a blueprint once), `run.py reconcile` (every incident again: drift found and healed) and
`run.py schedule` (on its cronConfig, with a reconcile every few days in place of that day's run)."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from ingestion.database import Database
from ingestion.deployments import read_deployments

from ..blueprints import Blueprint, load_blueprint, parse_since
from ..connections.files import load_connections
from ..connections.store import ConnectionStore
from ..cron import is_manual, next_fire
from ..errors import InputError
from ..orchestration import SyncPolicy, announce_created, run_blueprint
from ..output import out
from ..pipeline_records import last_full_sync
from ..settings import Settings


def _blueprint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--blueprint", required=True, help="blueprint JSON (DevLake's, verbatim)")
    parser.add_argument(
        "--connections",
        help="JSON list of PagerDuty connections (default: those saved with `run.py connections add`)",
    )
    parser.add_argument("--force", action="store_true", help="run a blueprint even if it has enable: false")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the summary and errors")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line on stdout, for orchestrators",
    )
    parser.add_argument("--skip-dbt", action="store_true", help="ingest only; do not run dbt")
    parser.add_argument(
        "--parallel", type=int, default=2, metavar="N", help="connections collected at once (default 2)"
    )
    parser.add_argument(
        "--deployments",
        metavar="FILE.csv",
        help="deployments from outside PagerDuty (id, service_id, finished_at, result, environment); the file"
        " replaces the previous one's deployments",
    )


def add_parsers(commands: Any, epilog: Callable[[str], str]) -> None:
    run = commands.add_parser(
        "run",
        help="run a blueprint: ingest every scope, then dbt build",
        epilog=epilog("run"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _blueprint_args(run)
    schedule = commands.add_parser(
        "schedule",
        help="keep running and run the blueprint on its cronConfig schedule, one run at a time",
        epilog=epilog("schedule"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _blueprint_args(schedule)
    schedule.add_argument("--max-runs", type=int, help="stop after this many runs (default: never)")
    schedule.add_argument(
        "--reconcile-every",
        type=int,
        default=7,
        metavar="DAYS",
        help="run a reconcile in place of the ordinary run when the last one is this many days old or more"
        " (default 7; 0: never)",
    )
    reconcile = commands.add_parser(
        "reconcile",
        help="list every incident of the blueprint's scopes again and replace whatever differs in the lake",
        description="Re-list every incident of the blueprint's scopes (or those created since --since) at"
        " PagerDuty's rate limit, replace in one all-or-nothing load whatever differs from the lake (titles"
        " edited without a log entry, moves, merges, reopens, incidents PagerDuty no longer has), then run"
        " dbt. Prints one line with the drift found, by field. Recorded as a pipeline (fullSync).",
        epilog=epilog("reconcile"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _blueprint_args(reconcile)
    reconcile.add_argument(
        "--since",
        metavar="DATE",
        help="only incidents created at or after DATE (ISO-8601; a bare date is midnight UTC); default: each"
        " scope's start_date",
    )


def connections_for(args: argparse.Namespace, database: Database, settings: Settings) -> dict:
    """The connections a blueprint run uses: the --connections file, else those saved in the database."""
    if args.connections:
        return load_connections(args.connections, settings.environ)
    return ConnectionStore(database, settings.environ).specs()


def run_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    sync = SyncPolicy()
    if args.command == "reconcile":
        sync = SyncPolicy(full_sync=True, since=parse_since(args.since) if args.since else None)
    blueprint = load_blueprint(args.blueprint, connections_for(args, database, settings), force=args.force)
    return _run(blueprint, args, database, settings, sync)


def _run(
    blueprint: Blueprint,
    args: argparse.Namespace,
    database: Database,
    settings: Settings,
    sync: SyncPolicy = SyncPolicy(),
) -> int:
    deployments = read_deployments(args.deployments) if args.deployments else None
    result = run_blueprint(
        blueprint,
        database,
        quiet=args.quiet,
        dbt=not args.skip_dbt,
        deployments=deployments,
        parallel=args.parallel,
        settings=settings,
        sync=sync,
    )
    return result.exit_code


def reconcile_due(database: Database, blueprint: Blueprint, every_days: int, now: datetime) -> bool:
    """Whether a scheduled tick runs a reconcile: none completed yet, or the last is `every_days` old."""
    if every_days <= 0:
        return False
    last: Optional[datetime] = last_full_sync(database, blueprint.name)
    return last is None or now.replace(tzinfo=None) - last >= timedelta(days=every_days)


class _Stops:
    """SIGTERM and Ctrl-C for `schedule`: between runs they only set `requested` (the idle wait sees it within
    a second and the command ends normally); during a run they interrupt it as they interrupt `run`. A flag,
    not an exception, between runs: an exception raised while a line is being printed would escape as an
    interrupted run. A flag and short sleeps, not an Event: setting an Event from a handler can deadlock on
    the lock the interrupted wait holds."""

    def __init__(self) -> None:
        self.requested = False
        self.running = False

    def handle(self, signum: int, frame: object) -> None:
        if self.running:
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.handle)
            signal.signal(signal.SIGINT, self.handle)

    def wait_until(self, due: datetime) -> bool:
        """Sleep until `due`; False as soon as a stop is requested."""
        while not self.requested:
            left = (due - datetime.now(UTC)).total_seconds()
            if left <= 0:
                return True
            time.sleep(min(left, 1.0))
        return False


def schedule_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """Run the blueprint each time its cronConfig fires, one run at a time, logging each. A run that overruns
    delays the next tick instead of overlapping it; missed ticks are skipped, not queued. Stopped (SIGTERM,
    Ctrl-C) between runs, it ends normally (exit 0); during a run, as an interrupted run does (130)."""
    blueprint = load_blueprint(args.blueprint, connections_for(args, database, settings), force=args.force)
    if is_manual(blueprint.cron):
        raise InputError(
            "cronConfig: the blueprint is manual; use `run.py run`, or give it a cron expression"
        )
    stops = _Stops()
    stops.install()
    due = next_fire(blueprint.cron, datetime.now(UTC))
    announce_created(database.claim(), database)  # one this project did not create: refused before a tick
    runs = worst = 0
    out.info(
        f"schedule: blueprint {blueprint.name!r} on {blueprint.cron!r}; next run at {due:%Y-%m-%dT%H:%M:%SZ}",
        event="schedule",
        next_run=f"{due:%Y-%m-%dT%H:%M:%SZ}",
    )
    while True:
        if not stops.wait_until(due):  # stopped between runs: nothing was running, nothing is lost
            out.info(
                f"schedule: stopped after {runs} run(s); no run was in progress", event="schedule_stopped"
            )
            return worst
        started = datetime.now(UTC)
        stops.running = True
        # the blueprint's connections are read again at each run: a rotated token or a new one is used
        current = load_blueprint(args.blueprint, connections_for(args, database, settings), force=args.force)
        full = reconcile_due(database, current, args.reconcile_every, started)
        out.info(f"schedule: run {runs + 1} starting at {started:%Y-%m-%dT%H:%M:%SZ}", event="schedule_run")
        code = _run(current, args, database, settings, SyncPolicy(full_sync=full))
        stops.running = False
        runs += 1
        worst = max(worst, code)
        if args.max_runs and runs >= args.max_runs:
            out.info(
                f"schedule: run {runs} finished with exit code {code}", event="schedule_done", exit_code=code
            )
            return worst
        due = next_fire(blueprint.cron, datetime.now(UTC))
        out.info(
            f"schedule: run {runs} finished with exit code {code}; next run at {due:%Y-%m-%dT%H:%M:%SZ}",
            event="schedule_done",
            exit_code=code,
            next_run=f"{due:%Y-%m-%dT%H:%M:%SZ}",
        )
