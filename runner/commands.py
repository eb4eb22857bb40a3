"""run.py's management commands: `connections`, `pipelines` and `schedule`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ingestion.database import Database

from .blueprint import load_blueprint
from .connection_check import check_connection
from .connection_store import ConnectionStore
from .connections import load_connections
from .cron import next_fire
from .errors import InputError
from .output import out
from .pipeline_records import list_pipelines


def connections_for(args: argparse.Namespace, database: Database) -> dict:
    """The connections a blueprint run uses: the --connections file, else those saved in the database."""
    return load_connections(args.connections) if args.connections else ConnectionStore(database).specs()


def _token_args(parser: argparse.ArgumentParser, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--token-env", metavar="VAR", help="read the token from environment variable VAR")
    group.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    group.add_argument(
        "--token", help="the token itself (visible to other users of this machine: prefer the above)"
    )


def _connection_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--name", required=required)
    parser.add_argument("--endpoint", required=required, help="API base URL, e.g. https://api.pagerduty.com")
    parser.add_argument("--proxy")
    parser.add_argument("--rate-limit-per-hour", type=int)
    _token_args(parser, required)


def add_management_commands(commands: Any) -> None:
    conns = commands.add_parser(
        "connections",
        help="PagerDuty connections saved in the lake database (tokens encrypted with ENCRYPTION_SECRET)",
    )
    sub = conns.add_subparsers(dest="action", required=True)
    _connection_args(sub.add_parser("add", help="save a connection; prints its id"), required=True)
    sub.add_parser("list", help="every connection, tokens masked")
    sub.add_parser("show", help="one connection, token masked").add_argument("id", type=int)
    update = sub.add_parser("update", help="change a connection's fields")
    update.add_argument("id", type=int)
    _connection_args(update, required=False)
    sub.add_parser("delete", help="forget a connection").add_argument("id", type=int)
    sub.add_parser("test", help="call PagerDuty with a saved connection").add_argument("id", type=int)

    serve = commands.add_parser(
        "serve", help="DevLake's REST API (connections, blueprints, pipelines) on http://127.0.0.1:8080"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--no-schedule", action="store_true", help="do not trigger blueprints on their cronConfig"
    )

    pipelines = commands.add_parser("pipelines", help="records of blueprint runs")
    psub = pipelines.add_subparsers(dest="action", required=True)
    psub.add_parser("list", help="the latest runs")
    psub.add_parser("show", help="one run").add_argument("id", type=int)

    schedule = commands.add_parser(
        "schedule", help="keep running and run the blueprint on its cronConfig schedule, one run at a time"
    )
    schedule.add_argument("--blueprint", required=True)
    schedule.add_argument("--connections", help="as for run (default: saved connections)")
    schedule.add_argument("--force", action="store_true", help="run a blueprint even if it has enable: false")
    schedule.add_argument("--quiet", action="store_true")
    schedule.add_argument("--log-format", choices=("text", "json"), default="text")
    schedule.add_argument("--skip-dbt", action="store_true")
    schedule.add_argument("--deployments", metavar="FILE.csv")
    schedule.add_argument("--max-runs", type=int, help="stop after this many runs (default: never)")


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    token = None
    if getattr(args, "token_env", None):
        token = f"${{{args.token_env}}}"
    elif getattr(args, "token_stdin", False):
        token = sys.stdin.readline().strip()
    elif getattr(args, "token", None):
        token = args.token
    return {
        "name": args.name,
        "endpoint": args.endpoint,
        "proxy": args.proxy,
        "rateLimitPerHour": args.rate_limit_per_hour,
        "token": token,
    }


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def management_command(args: argparse.Namespace, database: Database) -> int:
    if args.command == "pipelines":
        rows = list_pipelines(database, args.id if args.action == "show" else None)
        if args.action == "show":
            _print_json(rows[0])
        else:
            for row in rows:
                print(
                    f"{row['id']:>5}  {row['status']:<15} {row['began_at']:%Y-%m-%d %H:%M:%S}"
                    f"  {row['blueprint_name']}  incidents={row['incidents']} requests={row['requests']}"
                    + (f"  {row['message']}" if row["message"] else "")
                )
        return 0
    store = ConnectionStore(database)
    if args.action == "add":
        conn_id = store.add(_fields(args))
        print(f"connection {conn_id} saved")
    elif args.action == "list":
        for item in store.public():
            print(f"{item['id']:>4}  {item['name']:<30} {item['endpoint']}  token {item['token']}")
    elif args.action == "show":
        _print_json(store.public(args.id)[0])
    elif args.action == "update":
        store.update(args.id, _fields(args))
        print(f"connection {args.id} updated")
    elif args.action == "delete":
        store.delete(args.id)
        print(f"connection {args.id} deleted")
    elif args.action == "test":
        specs = store.specs()
        if args.id not in specs:
            raise InputError(f"no PagerDuty connection with id {args.id}")
        ok, line = check_connection(specs[args.id])
        print(line if ok else f"error: {line}", file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    return 0


def schedule_command(
    args: argparse.Namespace, database: Database, run: Callable[[argparse.Namespace, Database], int]
) -> int:
    """Run the blueprint each time its cronConfig fires, one run at a time, logging each."""
    blueprint = load_blueprint(args.blueprint, connections_for(args, database), force=args.force)
    if blueprint.cron.strip().lower() in ("", "manual"):
        raise InputError(
            "cronConfig: the blueprint is manual; use `run.py run`, or give it a cron expression"
        )
    due = next_fire(blueprint.cron, datetime.now(UTC))
    runs = 0
    worst = 0
    out.info(f"schedule: blueprint {blueprint.name!r} on {blueprint.cron!r}", event="schedule")
    while True:
        wait = (due - datetime.now(UTC)).total_seconds()
        if wait > 0:
            time.sleep(wait)
        started = datetime.now(UTC)
        out.info(f"schedule: run {runs + 1} starting at {started:%Y-%m-%dT%H:%M:%SZ}", event="schedule_run")
        code = run(args, database)  # runs are sequential: a slow run delays the next one, never overlaps it
        runs += 1
        worst = max(worst, code)
        out.info(
            f"schedule: run {runs} finished with exit code {code}", event="schedule_done", exit_code=code
        )
        if args.max_runs and runs >= args.max_runs:
            break
        # the next fire time after this run ended: missed ticks are skipped, not queued
        due = next_fire(blueprint.cron, datetime.now(UTC))
    return worst


def serve_command(args: argparse.Namespace, database: Database) -> int:
    """`run.py serve`: the API until SIGINT/SIGTERM. API_TOKEN, when set, is required as a bearer token."""
    import uvicorn

    from .api.app import create_app

    app = create_app(database, api_token=os.environ.get("API_TOKEN") or None, schedule=not args.no_schedule)
    out.info(f"serving DevLake's API on http://{args.host}:{args.port} (docs: /swagger)", event="serve")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    # stopped (SIGINT/SIGTERM): do not wait for pipelines in flight, whose thread pools would hold the
    # interpreter open; record them as failed and leave at once
    app.state.runner.abandon()
    out.info("server stopped", event="serve_stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
