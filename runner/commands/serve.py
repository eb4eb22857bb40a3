"""`run.py serve`: DevLake's REST API (connections, blueprints, pipelines) until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ingestion.database import Database
from ingestion.pagerduty.endpoints import is_loopback_host

from ..connections.crypto import check_secret
from ..errors import InputError
from ..orchestration import announce_created
from ..output import out
from ..settings import (
    BODY_TIMEOUT_SECONDS,
    ENCRYPTION_SECRET_ENV,
    ENV_API_TOKEN,
    HEADER_TIMEOUT_SECONDS,
    MIN_API_TOKEN_LENGTH,
    Settings,
)


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


def check_server_secrets(host: str, settings: Settings) -> None:
    """Refuse (InputError, exit code 2) to serve with secrets too weak for where the server listens: beyond
    loopback, API_TOKEN is all that stands between the network and the tokens, so it must be long; a blank
    one is a mistake anywhere. ENCRYPTION_SECRET, when set, must be one check_secret accepts."""
    token = settings.server.api_token
    if token is not None and not token.strip():
        raise InputError(f"{ENV_API_TOKEN}: set but blank; unset it, or set a long random token")
    if not is_loopback_host(host):
        if not token:
            raise InputError(
                f"--host {host!r} is not a loopback address: set {ENV_API_TOKEN} to serve other machines"
                " (every request must then send Authorization: Bearer <API_TOKEN>)"
            )
        if len(token) < MIN_API_TOKEN_LENGTH:
            raise InputError(
                f"{ENV_API_TOKEN}: at least {MIN_API_TOKEN_LENGTH} characters to serve beyond loopback"
                f" ({len(token)} given); make one with: openssl rand -base64 32"
            )
    if settings.environ.get(ENCRYPTION_SECRET_ENV):
        check_secret(settings.environ[ENCRYPTION_SECRET_ENV])


def serve_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """The API until SIGINT/SIGTERM. API_TOKEN, when set, is required as a bearer token; without it the server
    binds loopback addresses only."""
    import uvicorn  # imported late: only this command needs the web server

    from ..api.access_log import AccessLog
    from ..api.app import create_app
    from ..api.slow_clients import guarded_protocol

    check_server_secrets(args.host, settings)
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port: {args.port} is not 0..65535")
    announce_created(database.claim(), database)  # one this project did not create: refused, nothing served
    app = create_app(database, schedule=not args.no_schedule, settings=settings)
    out.info(
        f"serving DevLake's API on http://{args.host}:{args.port} (OpenAPI document: /openapi.json)",
        event="serve",
    )
    # a client that keeps a request open must not hold the server when it is told to stop, nor slow clients
    # hold it at all (api/slow_clients.py)
    protocol = guarded_protocol(settings.server.max_connections, HEADER_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS)
    uvicorn.run(
        AccessLog(app),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,  # ours (AccessLog) leaves query strings out
        timeout_graceful_shutdown=3,
        http=protocol,
    )
    # stopped (SIGINT/SIGTERM): do not wait for pipelines in flight, whose thread pools would hold the
    # interpreter open; record them as failed and leave at once
    app.state.runner.abandon()
    out.info("server stopped", event="serve_stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
