"""`run.py run` (a blueprint once) and `run.py schedule` (on its cronConfig)."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from ingestion.database import Database
from ingestion.deployments import read_deployments

from ..blueprints import Blueprint, load_blueprint
from ..connections.files import load_connections
from ..connections.store import ConnectionStore
from ..cron import is_manual, next_fire
from ..errors import InputError
from ..orchestration import run_blueprint
from ..output import out
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


def add_parsers(commands: Any, epilog: str) -> None:
    run = commands.add_parser(
        "run",
        help="run a blueprint: ingest every scope, then dbt build",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _blueprint_args(run)
    schedule = commands.add_parser(
        "schedule",
        help="keep running and run the blueprint on its cronConfig schedule, one run at a time",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _blueprint_args(schedule)
    schedule.add_argument("--max-runs", type=int, help="stop after this many runs (default: never)")


def connections_for(args: argparse.Namespace, database: Database, settings: Settings) -> dict:
    """The connections a blueprint run uses: the --connections file, else those saved in the database."""
    if args.connections:
        return load_connections(args.connections, settings.environ)
    return ConnectionStore(database, settings.environ).specs()


def run_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    blueprint = load_blueprint(args.blueprint, connections_for(args, database, settings), force=args.force)
    return _run(blueprint, args, database, settings)


def _run(blueprint: Blueprint, args: argparse.Namespace, database: Database, settings: Settings) -> int:
    deployments = read_deployments(args.deployments) if args.deployments else None
    result = run_blueprint(
        blueprint,
        database,
        quiet=args.quiet,
        dbt=not args.skip_dbt,
        deployments=deployments,
        parallel=args.parallel,
        settings=settings,
    )
    return result.exit_code


def schedule_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """Run the blueprint each time its cronConfig fires, one run at a time, logging each. A run that overruns
    delays the next tick instead of overlapping it; missed ticks are skipped, not queued."""
    blueprint = load_blueprint(args.blueprint, connections_for(args, database, settings), force=args.force)
    if is_manual(blueprint.cron):
        raise InputError(
            "cronConfig: the blueprint is manual; use `run.py run`, or give it a cron expression"
        )
    due = next_fire(blueprint.cron, datetime.now(UTC))
    database.claim()  # a database this project did not create is refused before the first tick
    runs = worst = 0
    out.info(f"schedule: blueprint {blueprint.name!r} on {blueprint.cron!r}", event="schedule")
    while True:
        wait = (due - datetime.now(UTC)).total_seconds()
        if wait > 0:
            time.sleep(wait)
        started = datetime.now(UTC)
        out.info(f"schedule: run {runs + 1} starting at {started:%Y-%m-%dT%H:%M:%SZ}", event="schedule_run")
        # the blueprint's connections are read again at each run: a rotated token or a new one is used
        current = load_blueprint(args.blueprint, connections_for(args, database, settings), force=args.force)
        code = _run(current, args, database, settings)
        runs += 1
        worst = max(worst, code)
        out.info(
            f"schedule: run {runs} finished with exit code {code}", event="schedule_done", exit_code=code
        )
        if args.max_runs and runs >= args.max_runs:
            return worst
        due = next_fire(blueprint.cron, datetime.now(UTC))
