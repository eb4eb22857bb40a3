"""DevLake blueprints (the seed's JSON, version 1.0.0) into the scopes to load.

Everything is checked before anything is written, and every problem is reported with its JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Optional

from ingestion.scope_load import ConnectionSpec, ScopeSpec

from .connections.files import check_text
from .cron import validate_cron
from .errors import InputError
from .jsonfile import read_json

ENTITY = "TICKET"
VERSIONS = ("1.0.0", "2.0.0")
EARLIEST = datetime(2009, 1, 1, tzinfo=UTC)
"""A 2.0.0 blueprint without timeAfter collects everything: no incident predates PagerDuty (2009)."""
OLDEST_START = datetime(1970, 1, 1, tzinfo=UTC)
"""start_date / timeAfter before this are refused (PagerDuty holds nothing that old)."""
MAX_NAME = 255  # _devlake_blueprints.name and _devlake_pipelines.blueprint_name are VARCHAR(255)
MAX_SCOPES = 100
"""Scopes per blueprint (1.0.0 scope entries plus 2.0.0 service ids, over all its connections): each is a
load, or a service id in every request; split larger sets into several blueprints."""
MAX_PROBLEMS = 20
_SERVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Task:
    """One scope of one connection: the unit a run loads."""

    connection: ConnectionSpec
    scope: ScopeSpec


@dataclass(frozen=True)
class Blueprint:
    name: str
    cron: str
    tasks: tuple[Task, ...]
    project: str = ""
    """DevLake's project: the blueprint's projectName when it has one, else its name."""

    def __post_init__(self) -> None:
        if not self.project:
            object.__setattr__(self, "project", self.name)


def _start_date(value: Any, where: str, now: datetime, problems: list[str]) -> Optional[datetime]:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: required (ISO-8601 with a zone, e.g. 2022-06-01T15:04:05Z)")
        return None
    shown = repr(value) if len(value) <= 64 else repr(value[:64] + "...")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        problems.append(f"{where}: {shown} is not an ISO-8601 time (e.g. 2022-06-01T15:04:05Z)")
        return None
    if moment.tzinfo is None:
        problems.append(f"{where}: {shown} has no time zone; add Z or an offset such as +00:00")
        return None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        problems.append(f"{where}: {shown} is out of range")
        return None
    if moment < OLDEST_START:
        problems.append(f"{where}: {shown} is before 1970-01-01; PagerDuty holds nothing that old")
        return None
    if moment > now:
        problems.append(f"{where}: {shown} is in the future")
        return None
    return moment


def parse_since(value: str, where: str = "--since") -> datetime:
    """A date given on the command line, checked as a scope's start date is (a bare date is midnight UTC)."""
    text = value.strip()
    if len(text) == 10:  # 2026-01-31
        text += "T00:00:00Z"
    problems: list[str] = []
    moment = _start_date(text, where, datetime.now(UTC), problems)
    if moment is None:
        raise InputError(problems[0])
    return moment


def _v1_scopes(item: dict, where: str, conn_id: Any, now: datetime, problems: list[str]) -> list[ScopeSpec]:
    """Version 1.0.0 (the seed's): scopes with entities and options {connectionId, start_date}."""
    scopes = item.get("scope")
    if not isinstance(scopes, list) or not scopes:
        problems.append(f"{where}.scope: expected a non-empty list")
        return []
    found = []
    for j, scope in enumerate(scopes):
        swhere = f"{where}.scope[{j}]"
        if not isinstance(scope, dict):
            problems.append(f"{swhere}: expected an object")
            continue
        _check_entities(scope.get("entities"), f"{swhere}.entities", problems)
        options = scope.get("options")
        if not isinstance(options, dict):
            problems.append(f"{swhere}.options: required object with start_date")
            continue
        option_conn = options.get("connectionId", conn_id)
        if option_conn != conn_id:
            problems.append(
                f"{swhere}.options.connectionId: {option_conn!r} disagrees with connectionId {conn_id!r}"
            )
        start = _start_date(options.get("start_date"), f"{swhere}.options.start_date", now, problems)
        if start is not None:
            found.append(ScopeSpec(start_date=start))
    return found


def _v2_scope(item: dict, where: str, time_after: Any, now: datetime, problems: list[str]) -> list[ScopeSpec]:
    """Version 2.0.0: each scope is a PagerDuty service id; one start (timeAfter) for the blueprint."""
    scopes = item.get("scopes")
    if not isinstance(scopes, list) or not scopes:
        problems.append(f'{where}.scopes: expected a non-empty list of {{"scopeId": "<service id>"}}')
        return []
    service_ids = []
    for j, scope in enumerate(scopes):
        scope_id = scope.get("scopeId") if isinstance(scope, dict) else None
        if not isinstance(scope_id, str) or not _SERVICE_ID.match(scope_id.strip()):
            problems.append(f"{where}.scopes[{j}].scopeId: expected a PagerDuty service id")
            continue
        service_ids.append(scope_id.strip())
    _check_entities(item.get("entities"), f"{where}.entities", problems)
    if time_after is None:
        start: Optional[datetime] = EARLIEST
    else:
        start = _start_date(time_after, "settings.timeAfter", now, problems)
    if start is None or not service_ids:
        return []
    return [ScopeSpec(start_date=start, service_ids=tuple(sorted(set(service_ids))))]


def _check_entities(entities: Any, where: str, problems: list[str]) -> None:
    entities = entities or [ENTITY]
    if not isinstance(entities, list) or any(e != ENTITY for e in entities):
        others = [e for e in entities if e != ENTITY] if isinstance(entities, list) else [entities]
        problems.append(f"{where}: {others!r} not supported; PagerDuty collects TICKET only")


def parse_blueprint(
    document: Any,
    connections: Mapping[int, ConnectionSpec],
    now: Optional[datetime] = None,
    force: bool = False,
) -> Blueprint:
    """Validate a blueprint against the known connections. Raises InputError listing every problem."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    if not isinstance(document, dict):
        raise InputError("blueprint: expected a JSON object")
    name = document.get("name")
    try:
        name = check_text(name, "name", MAX_NAME)
    except InputError as exc:
        problems.append(str(exc))
    try:
        cron = validate_cron(document.get("cronConfig"), now=now)
    except InputError as exc:
        problems.append(str(exc))
    mode = document.get("mode", "NORMAL")
    if mode != "NORMAL":
        problems.append(f"mode: {mode!r} is not supported; only NORMAL blueprints can be run")
    if document.get("enable") is False and not force:
        problems.append("enable: the blueprint is disabled (enable: false); pass --force to run it anyway")
    settings = document.get("settings")
    if not isinstance(settings, dict):
        raise InputError("\n".join(problems + ["settings: required object"]))
    version = settings.get("version")
    if version not in VERSIONS:
        problems.append(f'settings.version: {version!r} is not supported; expected "1.0.0" or "2.0.0"')
    plugin_connections = settings.get("connections")
    if not isinstance(plugin_connections, list) or not plugin_connections:
        problems.append("settings.connections: expected a non-empty list")
        plugin_connections = []
    time_after = settings.get("timeAfter", document.get("timeAfter"))

    tasks: list[Task] = []
    for i, item in enumerate(plugin_connections):
        where = f"settings.connections[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object")
            continue
        plugin = item.get("plugin", item.get("pluginName"))
        if not isinstance(plugin, str) or plugin.lower() != "pagerduty":
            problems.append(f"{where}.plugin: {plugin!r} is not supported; only the PagerDuty plugin is")
            continue
        conn_id = item.get("connectionId")
        valid_id = isinstance(conn_id, int) and not isinstance(conn_id, bool)
        connection = connections.get(conn_id) if valid_id else None
        if connection is None:
            problems.append(f"{where}.connectionId: no PagerDuty connection with id {conn_id!r}")
        if version == "2.0.0":
            scopes = _v2_scope(item, where, time_after, now, problems)
        else:
            scopes = _v1_scopes(item, where, conn_id, now, problems)
        if connection is not None:
            tasks.extend(Task(connection, scope) for scope in scopes)
        if sum(_scope_count(task) for task in tasks) > MAX_SCOPES:
            problems.append(
                f"settings.connections: more than {MAX_SCOPES} scopes; a blueprint holds at most {MAX_SCOPES}"
                " (split it into several blueprints)"
            )
            break
    project = document.get("projectName")
    if project is not None and (not isinstance(project, str) or not 0 < len(project.strip()) <= MAX_NAME):
        problems.append(f"projectName: expected a name of 1 to {MAX_NAME} characters")
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more problems"]
        raise InputError("\n".join(problems))
    return Blueprint(name=name, cron=cron, tasks=tuple(tasks), project=(project or "").strip() or name)


def _scope_count(task: Task) -> int:
    """A 1.0.0 scope counts once; a 2.0.0 scope once per service id."""
    return len(task.scope.service_ids) if task.scope.service_ids else 1


def load_blueprint(path: str, connections: Mapping[int, ConnectionSpec], force: bool = False) -> Blueprint:
    return parse_blueprint(read_json(path, "blueprint"), connections, force=force)
