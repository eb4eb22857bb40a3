"""The server's settings, read from the environment in one place (`ServerSettings.from_env`).

- API_TOKEN: required as `Authorization: Bearer <API_TOKEN>` on every route but /ping. Without it the server
  binds loopback addresses only and answers only requests whose Host is localhost, 127.0.0.1 or [::1].
- API_MAX_CONNECTION_TESTS (default 4): connection tests running at once; more answer 429.
- API_MAX_PIPELINES (default 4): pipelines running at once, over all blueprints; more answer 429.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from ..errors import InputError

MAX_BODY_BYTES = 1_000_000
"""Request bodies over this answer 413, whether sent with Content-Length or chunked."""
CONNECTION_TEST_SECONDS = 10.0
"""A connection test answers within this, whatever the endpoint does (each of its two requests gives up
after 5 s without an answer)."""
ENV_API_TOKEN = "API_TOKEN"
ENV_MAX_CONNECTION_TESTS = "API_MAX_CONNECTION_TESTS"
ENV_MAX_PIPELINES = "API_MAX_PIPELINES"
DEFAULT_MAX_CONNECTION_TESTS = 4
DEFAULT_MAX_PIPELINES = 4


def _limit(environ: Mapping[str, str], name: str, default: int, ceiling: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= ceiling:
        raise InputError(f"{name}: expected a whole number from 1 to {ceiling}, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class ServerSettings:
    api_token: Optional[str] = None
    max_connection_tests: int = DEFAULT_MAX_CONNECTION_TESTS
    max_pipelines: int = DEFAULT_MAX_PIPELINES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ServerSettings:
        return cls(
            api_token=environ.get(ENV_API_TOKEN) or None,
            max_connection_tests=_limit(environ, ENV_MAX_CONNECTION_TESTS, DEFAULT_MAX_CONNECTION_TESTS, 64),
            max_pipelines=_limit(environ, ENV_MAX_PIPELINES, DEFAULT_MAX_PIPELINES, 64),
        )
