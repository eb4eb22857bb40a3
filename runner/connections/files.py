"""PagerDuty connections as DevLake describes them: `{"id", "name", "endpoint", "token"}` plus optional
`proxy` and `rateLimitPerHour`.

In a connections file (and only there: `parse_connections`, `load_connections`), a token written `${NAME}` is
read from the environment variable NAME, so the file can be committed without secrets. A connection that
arrives any other way (the API, `run.py connections`) keeps its token exactly as given: a caller must never
be able to make the server read its own environment.

Every value is checked before it reaches the database or an HTTP library: lengths, characters, the endpoint
and proxy against the policy of ingestion/pagerduty/endpoints.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Optional

from ingestion.pagerduty.endpoints import (
    EndpointPolicy,
    EndpointRefused,
    EndpointSettingError,
    policy_from_env,
)
from ingestion.scope_load import ConnectionSpec

from ..errors import InputError
from ..jsonfile import read_json

MAX_NAME = 100  # _tool_pagerduty_connections.name VARCHAR(100)
MAX_ENDPOINT = 255  # .endpoint VARCHAR(255)
MAX_PROXY = 1000
MAX_TOKEN = 1000
MAX_RATE_LIMIT_PER_HOUR = 1_000_000
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")


def check_text(value: Any, where: str, max_length: int) -> str:
    """A name-like string: non-empty after trimming, at most `max_length` characters, valid Unicode (no lone
    surrogates), no control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: required")
    value = value.strip()
    if len(value) > max_length:
        raise InputError(f"{where}: at most {max_length} characters ({len(value)} given)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{where}: not valid Unicode text") from None
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise InputError(f"{where}: control characters are not allowed")
    return value


def check_token(value: Any, where: str) -> str:
    """A token as an HTTP header can carry it: printable ASCII, no spaces, at most MAX_TOKEN characters."""
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: required (a PagerDuty API token)")
    if len(value) > MAX_TOKEN or not _TOKEN.match(value):
        raise InputError(
            f"{where}: expected a PagerDuty API token (printable ASCII without spaces, at most {MAX_TOKEN}"
            " characters)"
        )
    return value


def _file_token(value: Any, where: str, environ: Mapping[str, str]) -> str:
    """A connections file's token: itself, or `${NAME}` read from the environment variable NAME."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'{where}: required (a PagerDuty API token, or "${{ENV_VAR}}")')
    match = _ENV_REF.match(value.strip())
    if not match:
        return check_token(value.strip(), where)
    token = environ.get(match.group(1), "").strip()
    if not token:
        raise InputError(f"{where}: environment variable {match.group(1)} is not set")
    return check_token(token, f"{where} (from {match.group(1)})")


def endpoint_policy(environ: Mapping[str, str] = os.environ) -> EndpointPolicy:
    try:
        return policy_from_env(environ)
    except EndpointSettingError as exc:
        raise InputError(str(exc)) from None


def check_endpoint_url(value: Any, where: str, policy: EndpointPolicy, resolve: bool = False) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: expected an https URL such as https://api.pagerduty.com")
    value = value.strip()
    if len(value) > MAX_ENDPOINT:
        raise InputError(f"{where}: at most {MAX_ENDPOINT} characters")
    try:
        policy.check_endpoint(value, resolve=resolve)
    except EndpointRefused as exc:
        raise InputError(f"{where}{str(exc).removeprefix('endpoint')}") from None
    return value


def check_proxy_url(value: Any, where: str, policy: EndpointPolicy, resolve: bool = False) -> Optional[str]:
    """None for no proxy (absent, null or ""), else a URL the policy allows."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: expected a URL string such as http://proxy.example:3128")
    value = value.strip()
    if len(value) > MAX_PROXY:
        raise InputError(f"{where}: at most {MAX_PROXY} characters")
    try:
        policy.check_proxy(value, resolve=resolve)
    except EndpointRefused as exc:
        raise InputError(f"{where}{str(exc).removeprefix('proxy')}") from None
    return value


def check_rate_limit(value: Any, where: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RATE_LIMIT_PER_HOUR:
        raise InputError(f"{where}: expected an integer from 0 to {MAX_RATE_LIMIT_PER_HOUR}")
    return value or None


def validate_connection(
    item: Any,
    where: str,
    environ: Optional[Mapping[str, str]] = None,
    *,
    policy: Optional[EndpointPolicy] = None,
    resolve: bool = False,
) -> ConnectionSpec:
    """One connection body (DevLake's fields plus id); every problem names its JSON path.

    With `environ`, a token `${NAME}` is read from it (connections files); without, the token is used exactly
    as given. `policy` defaults to the one the environment sets; `resolve` also checks what the endpoint's and
    proxy's names resolve to (when a connection is saved or tested)."""
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected an object")
    policy = policy or endpoint_policy()
    conn_id = item.get("id")
    if isinstance(conn_id, bool) or not isinstance(conn_id, int) or not 1 <= conn_id < 2**63:
        raise InputError(f"{where}.id: expected a positive integer")
    name = check_text(item.get("name"), f"{where}.name", MAX_NAME)
    endpoint = check_endpoint_url(item.get("endpoint"), f"{where}.endpoint", policy, resolve)
    rate = check_rate_limit(item.get("rateLimitPerHour"), f"{where}.rateLimitPerHour")
    proxy = check_proxy_url(item.get("proxy"), f"{where}.proxy", policy, resolve)
    token_where = f"{where}.token"
    if environ is None:
        token = check_token(item.get("token"), token_where)
    else:
        token = _file_token(item.get("token"), token_where, environ)
    return ConnectionSpec(
        id=conn_id, name=name, endpoint=endpoint, token=token, proxy=proxy, rate_limit_per_hour=rate
    )


def parse_connections(document: Any, environ: Mapping[str, str] = os.environ) -> dict[int, ConnectionSpec]:
    """Connections by id, from a connections file (`${NAME}` tokens read from `environ`); every problem
    names its JSON path."""
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise InputError("connections: expected a JSON list of connections")
    policy = endpoint_policy()
    connections: dict[int, ConnectionSpec] = {}
    for index, item in enumerate(document):
        spec = validate_connection(item, f"connections[{index}]", environ, policy=policy)
        if spec.id in connections:
            raise InputError(f"connections[{index}].id: connection {spec.id} is defined twice")
        connections[spec.id] = spec
    return connections


def load_connections(path: str, environ: Mapping[str, str] = os.environ) -> dict[int, ConnectionSpec]:
    return parse_connections(read_json(path, "connections file"), environ)
