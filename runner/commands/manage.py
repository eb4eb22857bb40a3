"""`run.py connections` (saved PagerDuty connections) and `run.py pipelines` (records of runs)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from ingestion.database import Database

from ..connections.check import check_connection
from ..connections.store import ConnectionStore
from ..errors import InputError
from ..pipeline_records import list_pipelines
from ..settings import NEW_SECRET_ENV, Settings


def _token_args(parser: argparse.ArgumentParser, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--token-env", metavar="VAR", help="read the token from environment variable VAR")
    group.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    group.add_argument(
        "--token", help="the token itself (visible to other users of this machine: prefer the above)"
    )


def _connection_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--name", required=required, help="the connection's name (1-100 characters)")
    parser.add_argument(
        "--endpoint",
        required=required,
        help="API base URL, https (http only on loopback hosts), e.g. https://api.pagerduty.com",
    )
    parser.add_argument(
        "--proxy", help='http(s)://[user:password@]host:port (password stored encrypted); "" removes it'
    )
    parser.add_argument(
        "--rate-limit-per-hour",
        type=int,
        help="at most this many requests an hour (default: PagerDuty's 960 a minute)",
    )
    _token_args(parser, required)


ID_HELP = "the connection's id (run.py connections list)"


def _subparser(sub: Any, name: str, help_text: str, epilog: str, **kwargs: Any) -> argparse.ArgumentParser:
    if "description" in kwargs:
        kwargs["description"] = textwrap.fill(kwargs["description"], width=100)
    return sub.add_parser(
        name,
        help=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def add_parsers(commands: Any, epilogs: Callable[[str], str]) -> None:
    epilog = epilogs("connections")
    conns = commands.add_parser(
        "connections",
        help="PagerDuty connections saved in the lake database (tokens encrypted with ENCRYPTION_SECRET)",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = conns.add_subparsers(dest="action", required=True)
    _connection_args(_subparser(sub, "add", "save a connection; prints its id", epilog), required=True)
    _subparser(sub, "list", "every connection, tokens masked", epilog)
    _subparser(sub, "show", "one connection, token masked", epilog).add_argument("id", type=int, help=ID_HELP)
    update = _subparser(
        sub, "update", "change a connection's fields (a new endpoint or proxy needs the token again)", epilog
    )
    update.add_argument("id", type=int, help=ID_HELP)
    _connection_args(update, required=False)
    _subparser(sub, "delete", "forget a connection (needs no secret)", epilog).add_argument(
        "id", type=int, help=ID_HELP
    )
    _subparser(sub, "test", "call PagerDuty with a saved connection", epilog).add_argument(
        "id", type=int, help=ID_HELP
    )
    rotate = _subparser(
        sub,
        "rotate-secret",
        "re-encrypt every saved connection with a new secret",
        epilog,
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

    runs = epilogs("pipelines")
    pipelines = commands.add_parser(
        "pipelines",
        help="records of blueprint runs",
        epilog=runs,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    psub = pipelines.add_subparsers(dest="action", required=True)
    _subparser(psub, "list", "the latest runs (a running one with its progress)", runs)
    _subparser(psub, "show", "one run, every field", runs).add_argument(
        "id", type=int, help="the pipeline's id (run.py pipelines list)"
    )


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


def _new_secret(args: argparse.Namespace, settings: Settings) -> str:
    if args.new_secret_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return settings.environ.get(args.new_secret_env, "")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def manage_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    if args.command == "pipelines":
        rows = list_pipelines(database, args.id if args.action == "show" else None)
        if args.action == "show":
            _print_json(rows[0])
        else:
            for row in rows:
                progress = (
                    f"  {row['finished_tasks']}/{row['total_tasks']} tasks, {row['stage']}"
                    if row["status"] == "TASK_RUNNING" and row["total_tasks"]
                    else ""
                )
                print(
                    f"{row['id']:>5}  {row['status']:<15} {row['began_at']:%Y-%m-%d %H:%M:%S}"
                    f"  {row['blueprint_name']}  incidents={row['incidents']} requests={row['requests']}"
                    + progress
                    + (f"  {row['message']}" if row["message"] else "")
                )
        return 0
    store = ConnectionStore(database, settings.environ)
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
        result = check_connection(store.spec(args.id), policy=settings.endpoint_policy)
        print(
            result.message if result.ok else f"error: {result.message}",
            file=sys.stdout if result.ok else sys.stderr,
        )
        return 0 if result.ok else 1
    elif args.action == "rotate-secret":
        count = store.rotate(_new_secret(args, settings))
        print(
            f"{count} connection(s) re-encrypted with the new secret; set ENCRYPTION_SECRET to it wherever"
            " run.py runs"
        )
    return 0
