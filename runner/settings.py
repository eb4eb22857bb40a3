"""Every setting run.py reads from the environment, in one place: declared in ENVIRONMENT (which `--help` and
the README list), read once by `Settings.from_env` when run.py starts, and handed down from there.

Tokens of connections files are the exception by design: a connections file names its own variables
(`"token": "${PAGERDUTY_TOKEN}"`), read when the file is.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Optional

from ingestion.database import DEFAULT_DB_URL, Database, parse_db_url
from ingestion.pagerduty.endpoints import (
    ALLOW_HTTP_ENV,
    ALLOW_PRIVATE_ENV,
    ALLOW_PRIVATE_PROXY_ENV,
    EndpointPolicy,
    policy_from_env,
)
from ingestion.raw_store import BULK_LOAD_ENV, BULK_LOAD_MODES

from .errors import InputError

ENCRYPTION_SECRET_ENV = "ENCRYPTION_SECRET"
HISTORY_SINCE_ENV = "HISTORY_SINCE"
NEW_SECRET_ENV = "NEW_ENCRYPTION_SECRET"

MAX_BODY_BYTES = 1_000_000
"""Request bodies over this answer 413, whether sent with Content-Length or chunked."""
HEADER_TIMEOUT_SECONDS = 10.0
"""A request's line and headers must arrive within this of its first byte, or the connection is closed."""
BODY_TIMEOUT_SECONDS = 20.0
"""A request's body must arrive within this of its headers (1 MB at 50 kB/s), or the connection is closed."""
CONNECTION_TEST_SECONDS = 10.0
"""A connection test answers within this, whatever the endpoint does (each of its two requests gives up
after 5 s without an answer)."""
ENV_API_TOKEN = "API_TOKEN"
ENV_ALLOWED_HOSTS = "ALLOWED_HOSTS"
MIN_API_TOKEN_LENGTH = 32
"""API_TOKEN's least length when the server listens beyond loopback."""
ENV_MAX_CONNECTION_TESTS = "API_MAX_CONNECTION_TESTS"
ENV_MAX_PIPELINES = "API_MAX_PIPELINES"
ENV_MAX_BLUEPRINTS = "API_MAX_BLUEPRINTS"
ENV_MAX_CONNECTIONS = "API_MAX_CONNECTIONS"
DEFAULT_MAX_CONNECTION_TESTS = 4
DEFAULT_MAX_PIPELINES = 4
DEFAULT_MAX_BLUEPRINTS = 200
DEFAULT_MAX_CONNECTIONS = 500


def _history_since(environ: Mapping[str, str]) -> Optional[datetime]:
    """HISTORY_SINCE as a UTC time: a date (midnight UTC) or an ISO time with its offset."""
    raw = environ.get(HISTORY_SINCE_ENV, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{HISTORY_SINCE_ENV}: expected a date such as 2025-01-01, not {raw!r}") from None
    if value.tzinfo is None:
        if len(raw) > 10:
            raise InputError(f"{HISTORY_SINCE_ENV}: a time needs its offset (Z or +hh:mm), not {raw!r}")
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _limit(environ: Mapping[str, str], name: str, default: int, ceiling: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= ceiling:
        raise InputError(f"{name}: expected a whole number from 1 to {ceiling}, not {raw!r}")
    return int(raw)


ENVIRONMENT: tuple[tuple[str, str], ...] = (
    (
        "DB_URL",
        f"mysql://user:password@host:port/lake (default {DEFAULT_DB_URL}); raw tables go to <lake>_raw",
    ),
    (
        ENCRYPTION_SECRET_ENV,
        "the secret saved connections' tokens are encrypted with (scrypt; salt in the lake)",
    ),
    (
        NEW_SECRET_ENV,
        "connections rotate-secret: the new secret (or --new-secret-env VAR / --new-secret-stdin)",
    ),
    (
        ENV_API_TOKEN,
        "serve: Authorization: Bearer <API_TOKEN> on every route but /ping; needed beyond loopback",
    ),
    (
        ENV_ALLOWED_HOSTS,
        "serve: host names answered beside localhost without API_TOKEN, comma-separated (the name a reverse"
        " proxy sends, e.g. devlake)",
    ),
    (
        ENV_MAX_CONNECTION_TESTS,
        f"serve: connection tests at once (default {DEFAULT_MAX_CONNECTION_TESTS}; more get 429)",
    ),
    (ENV_MAX_PIPELINES, f"serve: pipelines running at once (default {DEFAULT_MAX_PIPELINES}; more get 429)"),
    (ENV_MAX_BLUEPRINTS, f"serve: blueprints kept (default {DEFAULT_MAX_BLUEPRINTS}; more get 400)"),
    (
        ENV_MAX_CONNECTIONS,
        f"serve: open connections (default {DEFAULT_MAX_CONNECTIONS}; past it the longest-waiting client's is"
        " closed)",
    ),
    (ALLOW_HTTP_ENV, "1: plain http endpoints on any host (default: https; http on loopback only)"),
    (ALLOW_PRIVATE_ENV, "1: endpoints on private, link-local or reserved addresses (API gateways)"),
    (ALLOW_PRIVATE_PROXY_ENV, "1: proxies on private, link-local or reserved addresses (corporate proxies)"),
    (BULK_LOAD_ENV, "insert: write raw rows with INSERTs even where the server takes LOAD DATA LOCAL INFILE"),
    (
        HISTORY_SINCE_ENV,
        "a date (2025-01-01): a first load reads log entries written since then only (default: each scope's"
        " start date); bounds the cost of the response history",
    ),
)


def environment_help(names: Optional[Sequence[str]] = None, width: int = 100) -> str:
    """The `environment:` block of --help, wrapped: every variable, or those `names` a command reads."""
    shown = [(name, text) for name, text in ENVIRONMENT if names is None or name in names]
    name_width = max(len(name) for name, _ in shown) + 2
    lines = ["environment:"]
    for name, text in shown:
        lines.append(
            textwrap.fill(
                text,
                width=width,
                initial_indent=f"  {name:<{name_width}}",
                subsequent_indent=" " * (name_width + 2),
            )
        )
    return "\n".join(lines) + "\n"


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def allowed_hosts(value: str) -> tuple[str, ...]:
    """ALLOWED_HOSTS: comma-separated host names (no port, no wildcard), in lower case."""
    names = tuple(name.strip().lower().rstrip(".") for name in value.split(",") if name.strip())
    for name in names:
        if not _HOST_NAME.match(name):
            raise InputError(
                f"{ENV_ALLOWED_HOSTS}: {name[:64]!r} is not a host name (comma-separated names such as"
                " devlake,devlake.internal; no port, no wildcard)"
            )
    return names


@dataclass(frozen=True)
class ServerSettings:
    api_token: Optional[str] = None
    max_connection_tests: int = DEFAULT_MAX_CONNECTION_TESTS
    max_pipelines: int = DEFAULT_MAX_PIPELINES
    max_blueprints: int = DEFAULT_MAX_BLUEPRINTS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    allowed_hosts: tuple[str, ...] = ()
    """Host names answered beside the loopback ones without API_TOKEN (the name a reverse proxy sends)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ServerSettings:
        return cls(
            api_token=environ.get(ENV_API_TOKEN) or None,
            allowed_hosts=allowed_hosts(environ.get(ENV_ALLOWED_HOSTS, "")),
            max_connection_tests=_limit(environ, ENV_MAX_CONNECTION_TESTS, DEFAULT_MAX_CONNECTION_TESTS, 64),
            max_pipelines=_limit(environ, ENV_MAX_PIPELINES, DEFAULT_MAX_PIPELINES, 64),
            max_blueprints=_limit(environ, ENV_MAX_BLUEPRINTS, DEFAULT_MAX_BLUEPRINTS, 100_000),
            max_connections=_limit(environ, ENV_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS, 10_000),
        )


@dataclass(frozen=True)
class Settings:
    """What the environment says, read once."""

    db_url: str = DEFAULT_DB_URL
    server: ServerSettings = field(default_factory=ServerSettings)
    endpoint_policy: EndpointPolicy = field(default_factory=EndpointPolicy)
    bulk_load: str = "auto"
    history_since: Optional[datetime] = None
    """How far back a first load reads log entries (HISTORY_SINCE); None: from each scope's start date."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The environment itself, for the secrets read when a command needs them and for connections files."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        bulk_load = environ.get(BULK_LOAD_ENV, "").strip().lower() or "auto"
        if bulk_load not in BULK_LOAD_MODES:
            raise InputError(
                f"{BULK_LOAD_ENV}: expected one of {', '.join(BULK_LOAD_MODES)}, not {bulk_load!r}"
            )
        try:
            policy = policy_from_env(environ)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return cls(
            db_url=environ.get("DB_URL") or DEFAULT_DB_URL,
            server=ServerSettings.from_env(environ),
            endpoint_policy=policy,
            bulk_load=bulk_load,
            history_since=_history_since(environ),
            environ=environ,
        )

    def database(self) -> Database:
        return parse_db_url(self.db_url)
