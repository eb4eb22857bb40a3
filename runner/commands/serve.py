"""`run.py serve`: DevLake's REST API (connections, blueprints, pipelines) until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ingestion.database import Database
from ingestion.pagerduty.endpoints import is_loopback_host

from ..errors import InputError
from ..orchestration import announce_created
from ..output import out
from ..settings import Settings


def add_parsers(commands: Any, epilog: Callable[[str], str]) -> None:
    serve = commands.add_parser(
        "serve",
        help="DevLake's REST API (connections, blueprints, pipelines) on http://127.0.0.1:8080",
        epilog=epilog("serve"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; any other needs API_TOKEN)",
    )
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument(
        "--no-schedule", action="store_true", help="do not trigger blueprints on their cronConfig"
    )
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line on stdout (access lines, pipelines, errors), for log collectors",
    )


def serve_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """The API until SIGINT/SIGTERM. API_TOKEN, when set, is required as a bearer token; without it the server
    binds loopback addresses only."""
    import uvicorn  # imported late: only this command needs the web server

    from ..api.access_log import AccessLog
    from ..api.app import create_app

    if not settings.server.api_token and not is_loopback_host(args.host):
        raise InputError(
            f"--host {args.host!r} is not a loopback address: set API_TOKEN to serve other machines (every"
            " request must then send Authorization: Bearer <API_TOKEN>)"
        )
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port: {args.port} is not 0..65535")
    announce_created(database.claim(), database)  # one this project did not create: refused, nothing served
    app = create_app(database, schedule=not args.no_schedule, settings=settings)
    out.info(f"serving DevLake's API on http://{args.host}:{args.port} (docs: /swagger)", event="serve")
    # a client that keeps a request open must not hold the server when it is told to stop
    uvicorn.run(
        AccessLog(app),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,  # ours (AccessLog) leaves query strings out
        timeout_graceful_shutdown=3,
    )
    # stopped (SIGINT/SIGTERM): do not wait for pipelines in flight, whose thread pools would hold the
    # interpreter open; record them as failed and leave at once
    app.state.runner.abandon()
    out.info("server stopped", event="serve_stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
