"""PagerDuty connections as DevLake describes them: `{"id", "name", "endpoint", "token"}` plus optional
`proxy` and `rateLimitPerHour`. A token written `${NAME}` is read from the environment variable NAME, so
connection files can be committed without secrets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from ingestion.pipeline import ConnectionSpec

from .errors import InputError
from .jsonfile import read_json

_URL = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _resolve_token(value: Any, where: str, environ: Mapping[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'{where}.token: required (a PagerDuty API token, or "${{ENV_VAR}}")')
    match = _ENV_REF.match(value.strip())
    if not match:
        return value.strip()
    token = environ.get(match.group(1), "").strip()
    if not token:
        raise InputError(f"{where}.token: environment variable {match.group(1)} is not set")
    return token


def validate_connection(item: Any, where: str, environ: Mapping[str, str] = os.environ) -> ConnectionSpec:
    """One connection body (DevLake's fields plus id); every problem names its JSON path."""
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected an object")
    conn_id = item.get("id")
    if isinstance(conn_id, bool) or not isinstance(conn_id, int) or conn_id < 1:
        raise InputError(f"{where}.id: expected a positive integer")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}.name: required")
    endpoint = item.get("endpoint")
    if not isinstance(endpoint, str) or not _URL.match(endpoint.strip()):
        raise InputError(f"{where}.endpoint: expected an http(s) URL such as https://api.pagerduty.com")
    rate = item.get("rateLimitPerHour")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or rate < 0):
        raise InputError(f"{where}.rateLimitPerHour: expected a non-negative integer")
    proxy = item.get("proxy") or None
    if proxy is not None and not isinstance(proxy, str):
        raise InputError(f"{where}.proxy: expected a URL string")
    return ConnectionSpec(
        id=conn_id,
        name=name.strip(),
        endpoint=endpoint.strip(),
        token=_resolve_token(item.get("token"), where, environ),
        proxy=proxy,
        rate_limit_per_hour=rate or None,
    )


def parse_connections(document: Any, environ: Mapping[str, str] = os.environ) -> dict[int, ConnectionSpec]:
    """Connections by id; every problem names its JSON path."""
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise InputError("connections: expected a JSON list of connections")
    connections: dict[int, ConnectionSpec] = {}
    for index, item in enumerate(document):
        spec = validate_connection(item, f"connections[{index}]", environ)
        if spec.id in connections:
            raise InputError(f"connections[{index}].id: connection {spec.id} is defined twice")
        connections[spec.id] = spec
    return connections


def load_connections(path: str, environ: Mapping[str, str] = os.environ) -> dict[int, ConnectionSpec]:
    return parse_connections(read_json(path, "connections file"), environ)
