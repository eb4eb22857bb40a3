"""run.py's management commands: `connections`, `pipelines`, `schedule` and `serve`."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ingestion.database import Database
from ingestion.pagerduty.endpoints import ALLOW_HTTP_ENV, ALLOW_PRIVATE_ENV, is_loopback_host

from .blueprint import load_blueprint
from .connection_check import check_connection
from .connection_store import ConnectionStore
from .connections import endpoint_policy, load_connections
from .cron import next_fire
from .errors import InputError
from .output import out
from .pipeline_records import list_pipelines

NEW_SECRET_ENV = "NEW_ENCRYPTION_SECRET"
TEMP_PREFIX = "pagerduty-dora-"
_TEMP_DIR = re.compile(r"^pagerduty-dora-(serve|schedule)-([0-9]+)-")
CONNECTIONS_EPILOG = f"""environment:
  ENCRYPTION_SECRET              the secret saved tokens are encrypted with (scrypt; salt in the database)
  {NEW_SECRET_ENV}          rotate-secret: the new secret (or --new-secret-env VAR / --new-secret-stdin)
  {ALLOW_HTTP_ENV}           1: plain http endpoints on any host (default: https; http on loopback only)
  {ALLOW_PRIVATE_ENV}  1: endpoints and proxies on private, link-local or reserved addresses
"""
SERVE_EPILOG = f"""environment:
  API_TOKEN                 Authorization: Bearer <API_TOKEN> required on every route but /ping; needed
                            to bind beyond loopback (without it only Host localhost, 127.0.0.1, [::1])
  API_MAX_CONNECTION_TESTS  connection tests at once (default 4; more answer 429)
  API_MAX_PIPELINES         pipelines running at once (default 4; more answer 429)
  ENCRYPTION_SECRET         the secret saved tokens are encrypted with
  {ALLOW_HTTP_ENV}, {ALLOW_PRIVATE_ENV}: as for `run.py connections --help`
"""


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
    parser.add_argument(
        "--endpoint",
        required=required,
        help="API base URL, https (http only on loopback hosts), e.g. https://api.pagerduty.com",
    )
    parser.add_argument(
        "--proxy", help='http(s)://[user:password@]host:port (password stored encrypted); "" removes it'
    )
    parser.add_argument("--rate-limit-per-hour", type=int)
    _token_args(parser, required)


def _subparser(sub: Any, name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
    if "description" in kwargs:
        kwargs["description"] = textwrap.fill(kwargs["description"], width=100)
    return sub.add_parser(
        name,
        help=help_text,
        epilog=CONNECTIONS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def add_management_commands(commands: Any) -> None:
    conns = commands.add_parser(
        "connections",
        help="PagerDuty connections saved in the lake database (tokens encrypted with ENCRYPTION_SECRET)",
        epilog=CONNECTIONS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = conns.add_subparsers(dest="action", required=True)
    _connection_args(_subparser(sub, "add", "save a connection; prints its id"), required=True)
    _subparser(sub, "list", "every connection, tokens masked")
    _subparser(sub, "show", "one connection, token masked").add_argument("id", type=int)
    update = _subparser(
        sub, "update", "change a connection's fields (a new endpoint or proxy needs the token again)"
    )
    update.add_argument("id", type=int)
    _connection_args(update, required=False)
    _subparser(sub, "delete", "forget a connection (needs no secret)").add_argument("id", type=int)
    _subparser(sub, "test", "call PagerDuty with a saved connection").add_argument("id", type=int)
    rotate = _subparser(
        sub,
        "rotate-secret",
        "re-encrypt every saved connection with a new secret",
        description=(
            "Re-encrypt every saved connection with a new secret (and a new salt), in one transaction. The"
            " current secret is read from ENCRYPTION_SECRET; the new one from the environment variable"
            f" {NEW_SECRET_ENV} (or the one --new-secret-env names), or from the first line of standard input"
            " with --new-secret-stdin. Stop `run.py serve` first; afterwards set ENCRYPTION_SECRET to the new"
            " secret everywhere it is used."
        ),
    )
    source = rotate.add_mutually_exclusive_group()
    source.add_argument(
        "--new-secret-env", metavar="VAR", default=NEW_SECRET_ENV, help=f"default {NEW_SECRET_ENV}"
    )
    source.add_argument("--new-secret-stdin", action="store_true", help="read the new secret from stdin")

    serve = commands.add_parser(
        "serve",
        help="DevLake's REST API (connections, blueprints, pipelines) on http://127.0.0.1:8080",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; any other needs API_TOKEN)",
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
    """The fields given on the command line (only those). The token is read here, from the variable
    --token-env names or from stdin: the store itself never reads the environment for a token."""
    token = None
    if getattr(args, "token_env", None):
        token = os.environ.get(args.token_env, "").strip()
        if not token:
            raise InputError(f"--token-env: environment variable {args.token_env} is not set")
    elif getattr(args, "token_stdin", False):
        token = sys.stdin.readline().strip()
    elif getattr(args, "token", None):
        token = args.token
    given = {
        "name": args.name,
        "endpoint": args.endpoint,
        "proxy": args.proxy,
        "rateLimitPerHour": args.rate_limit_per_hour,
        "token": token,
    }
    return {key: value for key, value in given.items() if value is not None}


def _new_secret(args: argparse.Namespace) -> str:
    if args.new_secret_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return os.environ.get(args.new_secret_env, "")


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
        result = check_connection(store.spec(args.id))
        print(
            result.message if result.ok else f"error: {result.message}",
            file=sys.stdout if result.ok else sys.stderr,
        )
        return 0 if result.ok else 1
    elif args.action == "rotate-secret":
        count = store.rotate(_new_secret(args))
        print(
            f"{count} connection(s) re-encrypted with the new secret; set ENCRYPTION_SECRET to it wherever"
            " run.py runs"
        )
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
    database.claim()  # a database this project did not create is refused before the first tick
    workdir = private_tempdir("schedule")
    try:
        return _schedule_loop(args, database, run, blueprint, due)
    finally:
        remove_tempdir(workdir)


def _schedule_loop(
    args: argparse.Namespace,
    database: Database,
    run: Callable[[argparse.Namespace, Database], int],
    blueprint: Any,
    due: datetime,
) -> int:
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


_LOCK_NAME = ".in-use"
_held_locks: list = []  # the lock file of this server's directory, held open (and locked) until it exits


def _abandoned(path: str, pid: int) -> bool:
    """Whether a process's directory outlived it: the process holds a lock on a file in it for its whole
    life (the kernel drops the lock when the process dies, however it dies)."""
    try:
        fd = os.open(os.path.join(path, _LOCK_NAME), os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:  # killed before it took its lock: go by its process id
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def private_tempdir(kind: str = "serve") -> str:
    """A temporary directory of this process alone (mode 0700), where pipelines' dlt working folders (which
    hold incident data) and dbt profiles go, for the long-running commands (`serve`, `schedule`); the caller
    removes it when it stops. Those of processes that were killed are removed when the next one starts."""
    base = tempfile.gettempdir()
    for entry in os.scandir(base):
        match = _TEMP_DIR.match(entry.name)
        if not match:
            continue
        try:
            mine = (
                entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.getuid()
            )
        except OSError:
            continue
        if mine and _abandoned(entry.path, int(match.group(2))):
            shutil.rmtree(entry.path, ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{kind}-{os.getpid()}-", dir=base)
    fd = os.open(os.path.join(path, _LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _held_locks.append(fd)
    tempfile.tempdir = path
    os.environ["TMPDIR"] = path
    return path


def remove_tempdir(path: str) -> None:
    """Remove a private temp directory although pipeline threads may still be writing into it (a server
    told to stop does not wait for them): renamed first, so nothing new lands under its old name, then
    removed, again if something was being written meanwhile."""
    doomed = f"{path}-stopping"
    try:
        os.rename(path, doomed)
    except OSError:
        doomed = path
    for _ in range(20):
        shutil.rmtree(doomed, ignore_errors=True)
        if not os.path.lexists(doomed):
            return
        time.sleep(0.05)


def serve_command(args: argparse.Namespace, database: Database) -> int:
    """`run.py serve`: the API until SIGINT/SIGTERM. API_TOKEN, when set, is required as a bearer token;
    without it the server binds loopback addresses only."""
    import uvicorn

    from .api.app import create_app
    from .api.settings import ServerSettings

    settings = ServerSettings.from_env()
    if not settings.api_token and not is_loopback_host(args.host):
        raise InputError(
            f"--host {args.host!r} is not a loopback address: set API_TOKEN to serve other machines (every"
            " request must then send Authorization: Bearer <API_TOKEN>)"
        )
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port: {args.port} is not 0..65535")
    endpoint_policy()  # a bad PAGERDUTY_ALLOW_* value is refused now, not at the first connection
    database.claim()  # a database this project did not create is refused before anything is served
    workdir = private_tempdir("serve")
    try:
        app = create_app(database, schedule=not args.no_schedule, settings=settings)
        out.info(f"serving DevLake's API on http://{args.host}:{args.port} (docs: /swagger)", event="serve")
        # a client that keeps a request open must not hold the server when it is told to stop
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=3)
        # stopped (SIGINT/SIGTERM): do not wait for pipelines in flight, whose thread pools would hold the
        # interpreter open; record them as failed and leave at once
        app.state.runner.abandon()
    finally:
        remove_tempdir(workdir)
    out.info("server stopped", event="serve_stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
