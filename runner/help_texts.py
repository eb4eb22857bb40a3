"""What each command's --help says beyond its options: its own exit codes and the environment variables it
reads (and only those), so a user never has to guess what a code means or which variable matters."""

from __future__ import annotations

import textwrap

from ingestion.pagerduty.endpoints import ALLOW_HTTP_ENV, ALLOW_PRIVATE_ENV, ALLOW_PRIVATE_PROXY_ENV
from ingestion.raw_store import BULK_LOAD_ENV

from .settings import (
    ENCRYPTION_SECRET_ENV,
    ENV_ALLOWED_HOSTS,
    ENV_API_TOKEN,
    ENV_MAX_BLUEPRINTS,
    ENV_MAX_CONNECTION_TESTS,
    ENV_MAX_CONNECTIONS,
    ENV_MAX_PIPELINES,
    NEW_SECRET_ENV,
    environment_help,
)

_RUN_EXITS = {
    0: "the blueprint ran to the end",
    1: "a load failed (PagerDuty, network or database) or dbt failed (the failing model or test is named);"
    " what was loaded before it stays, a failed load is not visible and its cut-off does not move, so the"
    " next run fetches it",
    2: "bad input (blueprint, connections, deployments CSV, settings, a database this project did not"
    " create); nothing was written and PagerDuty was not called",
    130: "interrupted (Ctrl-C or SIGTERM); the interrupted load was not committed",
}
EXIT_CODES: dict[str, dict[int, str]] = {
    "run": _RUN_EXITS,
    "reconcile": _RUN_EXITS,
    "schedule": {
        0: "stopped between runs (SIGTERM or Ctrl-C), or --max-runs reached with every run done",
        1: "--max-runs reached and a run failed (a load or dbt)",
        2: "bad input (blueprint, connections, settings, a database this project did not create)",
        130: "interrupted during a run; the interrupted load was not committed",
    },
    "serve": {0: "stopped (SIGTERM or Ctrl-C)", 2: "bad settings (host, port, API_TOKEN, the database)"},
    "connections": {
        0: "done (test: PagerDuty accepted the token)",
        1: "test: PagerDuty could not be reached or refused the token; or the database failed",
        2: "bad input (fields, secret, an unknown id, a lake that does not exist)",
    },
    "pipelines": {0: "done", 2: "an unknown id, or a lake that does not exist (DB_URL)"},
    "report": {
        0: "the page was written",
        2: "bad input (months, project, service, --out), or no lake to read",
    },
}
_LOAD_ENV = (
    "DB_URL",
    ENCRYPTION_SECRET_ENV,
    ALLOW_HTTP_ENV,
    ALLOW_PRIVATE_ENV,
    ALLOW_PRIVATE_PROXY_ENV,
    BULK_LOAD_ENV,
)
ENVIRONMENT_READ: dict[str, tuple[str, ...]] = {
    "run": _LOAD_ENV,
    "reconcile": _LOAD_ENV,
    "schedule": _LOAD_ENV,
    "serve": (
        *_LOAD_ENV,
        ENV_API_TOKEN,
        ENV_ALLOWED_HOSTS,
        ENV_MAX_CONNECTION_TESTS,
        ENV_MAX_PIPELINES,
        ENV_MAX_BLUEPRINTS,
        ENV_MAX_CONNECTIONS,
    ),
    "connections": (
        "DB_URL",
        ENCRYPTION_SECRET_ENV,
        NEW_SECRET_ENV,
        ALLOW_HTTP_ENV,
        ALLOW_PRIVATE_ENV,
        ALLOW_PRIVATE_PROXY_ENV,
    ),
    "pipelines": ("DB_URL",),
    "report": ("DB_URL",),
}


def exit_codes(command: str, width: int = 100) -> str:
    lines = ["exit codes:"]
    for code, text in EXIT_CODES[command].items():
        lines.append(textwrap.fill(text, width, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7))
    return "\n".join(lines) + "\n"


def epilog(command: str) -> str:
    """A command's --help epilog: its exit codes, then the variables it reads."""
    return exit_codes(command) + "\n" + environment_help(ENVIRONMENT_READ[command])
