"""From PagerDuty's JSON objects to raw rows: typed columns beside the object itself.

Every raw table is declared once, here (`RAW_TABLES`): the column names and SQL types the lake creates, the
dlt column hints the resources carry, and what dbt's sources describe (a test checks the sources YAML against
these declarations). Times are parsed with their offsets and stored as naive UTC; times inside nested lists
(`assignments[].at`, ...) are rewritten as UTC text that SQL casts to DATETIME as it is. The object itself is
kept whole in `raw`, and `content_hash` tells a rerun whether PagerDuty changed anything since the version the
lake holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

import orjson
from dlt.common.schema.typing import TTableSchemaColumns

from .times import parse_sql_text, parse_utc_naive

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One raw column: its SQL type in the lake, and how values are encoded (int, text, time or json)."""

    name: str
    sql: str
    kind: str = "text"
    nullable: bool = True
    in_current: bool = True  # the current table keeps every column but the object itself


@dataclass(frozen=True)
class RawTable:
    """A raw entity: `<name>_versions` keeps every version a completed load wrote (append-only), `<name>` the
    latest one per (connection_id, id), replaced when a load completes."""

    name: str
    columns: tuple[Column, ...]
    current_indexes: tuple[tuple[str, ...], ...] = ()
    description: str = ""
    keys: tuple[str, ...] = ("connection_id", "id")

    @property
    def versions(self) -> str:
        return f"{self.name}_versions"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def current_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.in_current)

    def dlt_columns(self) -> TTableSchemaColumns:
        """The same declaration as dlt column hints, for anyone running the source into another
        destination."""
        types = {"int": "bigint", "text": "text", "time": "timestamp", "json": "json"}
        return {c.name: {"data_type": types[c.kind], "nullable": c.nullable} for c in self.columns}  # type: ignore[misc]


def _keys() -> tuple[Column, ...]:
    return (
        Column("connection_id", "BIGINT", "int", nullable=False),
        Column("id", "VARCHAR(64)", nullable=False),
    )


def _tail() -> tuple[Column, ...]:
    return (
        Column("raw", "LONGTEXT", "json", in_current=False),
        Column("content_hash", "CHAR(32)", nullable=False),
        Column("fetched_at", "DATETIME(6)", "time", nullable=False),
    )


INCIDENTS = RawTable(
    "incidents",
    (
        *_keys(),
        Column("incident_number", "BIGINT", "int"),
        Column("title", "TEXT"),
        Column("summary", "TEXT"),
        Column("status", "VARCHAR(32)"),
        Column("urgency", "VARCHAR(32)"),
        Column("priority_id", "VARCHAR(64)"),
        Column("priority_name", "VARCHAR(255)"),
        Column("service_id", "VARCHAR(64)"),
        Column("service_name", "TEXT"),
        Column("escalation_policy_id", "VARCHAR(64)"),
        Column("incident_key", "TEXT"),
        Column("html_url", "TEXT"),
        Column("created_at", "DATETIME(6)", "time"),
        Column("updated_at", "DATETIME(6)", "time"),
        Column("resolved_at", "DATETIME(6)", "time"),
        Column("last_status_change_at", "DATETIME(6)", "time"),
        Column("resolve_reason_type", "VARCHAR(64)"),
        Column("merged_into_id", "VARCHAR(64)"),
        Column("assignments", "LONGTEXT", "json"),
        Column("acknowledgements", "LONGTEXT", "json"),
        Column("teams", "LONGTEXT", "json"),
        *_tail(),
    ),
    current_indexes=(
        ("connection_id", "status"),
        ("connection_id", "service_id"),
        ("connection_id", "priority_id"),
    ),
    description="PagerDuty incidents",
)

SERVICES = RawTable(
    "services",
    (
        *_keys(),
        Column("name", "TEXT"),
        Column("description", "TEXT"),
        Column("status", "VARCHAR(32)"),
        Column("html_url", "TEXT"),
        Column("escalation_policy_id", "VARCHAR(64)"),
        Column("created_at", "DATETIME(6)", "time"),
        Column("updated_at", "DATETIME(6)", "time"),
        Column("teams", "LONGTEXT", "json"),
        *_tail(),
    ),
    description="PagerDuty services",
)

CHANGE_EVENTS = RawTable(
    "change_events",
    (
        *_keys(),
        Column("timestamp", "DATETIME(6)", "time"),
        Column("summary", "TEXT"),
        Column("source", "TEXT"),
        Column("integration_id", "VARCHAR(64)"),
        Column("services", "LONGTEXT", "json"),
        Column("custom_details", "LONGTEXT", "json"),
        Column("links", "LONGTEXT", "json"),
        *_tail(),
    ),
    description="PagerDuty change events (deploys sent by CI/CD tools)",
)

LOG_ENTRIES = RawTable(
    "log_entries",
    (
        *_keys(),
        Column("type", "VARCHAR(64)"),
        Column("created_at", "DATETIME(6)", "time"),
        Column("incident_id", "VARCHAR(64)"),
        Column("service_id", "VARCHAR(64)"),
        Column("agent_id", "VARCHAR(64)"),
        Column("agent_type", "VARCHAR(64)"),
        Column("channel_type", "VARCHAR(64)"),
        Column("summary", "TEXT"),
        Column("assignees", "LONGTEXT", "json"),
        Column("user_id", "VARCHAR(64)"),
        *_tail(),
    ),
    current_indexes=(("connection_id", "incident_id"),),
    description="PagerDuty log entries (what happened to an incident, and when; who was notified)",
)

PRIORITIES = RawTable(
    "priorities",
    (
        *_keys(),
        Column("name", "VARCHAR(255)"),
        Column("description", "TEXT"),
        Column("ordinal", "BIGINT", "int"),
        *_tail(),
    ),
    description="The account's priority scheme (GET /priorities, listed every run): incidents name their"
    " priority by id, and a priority renamed in the scheme is renamed here",
)

TEAMS = RawTable(
    "teams",
    (
        *_keys(),
        Column("name", "TEXT"),
        Column("description", "TEXT"),
        Column("html_url", "TEXT"),
        *_tail(),
    ),
    description="The account's teams (GET /teams, listed every run)",
)

USERS = RawTable(
    "users",
    (
        *_keys(),
        Column("name", "TEXT"),
        Column("time_zone", "VARCHAR(64)"),
        Column("html_url", "TEXT"),
        *_tail(),
    ),
    description="The account's users (GET /users, listed every run), with the time zone each one's off and"
    " sleep hours are judged in",
)

TIME_ZONE_OFFSETS = RawTable(
    "time_zone_offsets",
    (
        *_keys(),
        Column("time_zone", "VARCHAR(64)"),
        Column("valid_from", "DATETIME(6)", "time"),
        Column("valid_until", "DATETIME(6)", "time"),
        Column("utc_offset_seconds", "BIGINT", "int"),
        *_tail(),
    ),
    current_indexes=(("connection_id", "time_zone", "valid_from"),),
    description="The UTC offset of each user's time zone over time (from Python's tz database, written by"
    " the loader): SQL tells a responder's local hour with it, without the server's time zone tables",
)

DEPLOYMENTS = RawTable(
    "deployments",
    (
        Column("id", "VARCHAR(255)", nullable=False),
        Column("connection_id", "BIGINT", "int"),
        Column("service_id", "VARCHAR(64)", nullable=False),
        Column("name", "TEXT"),
        Column("started_at", "DATETIME(6)", "time"),
        Column("finished_at", "DATETIME(6)", "time", nullable=False),
        Column("result", "VARCHAR(32)", nullable=False),
        Column("environment", "VARCHAR(32)", nullable=False),
        Column("custom_details", "LONGTEXT", "json"),
        Column("line", "BIGINT", "int", in_current=False),
    ),
    keys=("id",),
    description="deployments from outside PagerDuty (run.py run --deployments FILE.csv)",
)

PAGERDUTY_TABLES: tuple[RawTable, ...] = (
    INCIDENTS,
    SERVICES,
    CHANGE_EVENTS,
    LOG_ENTRIES,
    PRIORITIES,
    TEAMS,
    USERS,
    TIME_ZONE_OFFSETS,
)
RAW_TABLES: tuple[RawTable, ...] = (*PAGERDUTY_TABLES, DEPLOYMENTS)


# --------------------------------------------------------------------------------------------- helpers
def _ref(obj: Any, key: str) -> Optional[str]:
    value = obj.get(key) if isinstance(obj, dict) else None
    return None if value is None else str(value)


def _hash(obj: Any) -> str:
    return hashlib.blake2b(orjson.dumps(obj), digest_size=16).hexdigest()


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _object_id(obj: dict[str, Any], what: str) -> str:
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not object_id:
        raise ValueError(f"a {what} without an id: refusing to guess which one it is")
    return object_id


def _tail_values(obj: dict[str, Any], fetched_at: datetime) -> Row:
    return {"raw": obj, "content_hash": _hash(obj), "fetched_at": fetched_at}


# ------------------------------------------------------------------------------------------------ rows
def incident_row(connection_id: int, incident: dict[str, Any], fetched_at: datetime) -> Row:
    """One `incidents` row. `resolved_at` is kept as given: absent on incidents resolved before May 2023."""
    incident_id = _object_id(incident, "incident")
    where = f"incident {incident_id}"
    priority = incident.get("priority")
    service = incident.get("service")
    reason = incident.get("resolve_reason")
    return {
        "connection_id": connection_id,
        "id": incident_id,
        "incident_number": incident.get("incident_number"),
        "title": incident.get("title"),
        "summary": incident.get("summary"),
        "status": incident.get("status"),
        "urgency": incident.get("urgency"),
        "priority_id": _ref(priority, "id"),
        "priority_name": _ref(priority, "name") or _ref(priority, "summary"),
        "service_id": _ref(service, "id"),
        "service_name": _ref(service, "summary"),
        "escalation_policy_id": _ref(incident.get("escalation_policy"), "id"),
        "incident_key": incident.get("incident_key"),
        "html_url": incident.get("html_url"),
        "created_at": parse_utc_naive(incident.get("created_at"), f"{where}: created_at"),
        "updated_at": parse_utc_naive(incident.get("updated_at"), f"{where}: updated_at"),
        "resolved_at": parse_utc_naive(incident.get("resolved_at"), f"{where}: resolved_at"),
        "last_status_change_at": parse_utc_naive(
            incident.get("last_status_change_at"), f"{where}: last_status_change_at"
        ),
        "resolve_reason_type": _ref(reason, "type"),
        "merged_into_id": _ref(reason.get("incident"), "id") if isinstance(reason, dict) else None,
        "assignments": [
            {
                "at": parse_sql_text(item.get("at"), f"{where}: assignments[{i}].at"),
                "assignee_id": _ref(item.get("assignee"), "id"),
                "assignee_name": _ref(item.get("assignee"), "summary"),
            }
            for i, item in enumerate(_list(incident.get("assignments")))
            if isinstance(item, dict)
        ],
        "acknowledgements": [
            {
                "at": parse_sql_text(item.get("at"), f"{where}: acknowledgements[{i}].at"),
                "acknowledger_id": _ref(item.get("acknowledger"), "id"),
                "acknowledger_name": _ref(item.get("acknowledger"), "summary"),
            }
            for i, item in enumerate(_list(incident.get("acknowledgements")))
            if isinstance(item, dict)
        ],
        "teams": [{"id": _ref(t, "id"), "name": _ref(t, "summary")} for t in _list(incident.get("teams"))],
        **_tail_values(incident, fetched_at),
    }


def service_row(connection_id: int, service: dict[str, Any], fetched_at: datetime) -> Row:
    """One `services` row: a PagerDuty service becomes a DevLake board."""
    service_id = _object_id(service, "service")
    where = f"service {service_id}"
    return {
        "connection_id": connection_id,
        "id": service_id,
        "name": service.get("name") or service.get("summary"),
        "description": service.get("description"),
        "status": service.get("status"),
        "html_url": service.get("html_url"),
        "escalation_policy_id": _ref(service.get("escalation_policy"), "id"),
        "created_at": parse_utc_naive(service.get("created_at"), f"{where}: created_at"),
        "updated_at": parse_utc_naive(service.get("updated_at"), f"{where}: updated_at"),
        "teams": [{"id": _ref(t, "id"), "name": _ref(t, "summary")} for t in _list(service.get("teams"))],
        **_tail_values(service, fetched_at),
    }


def change_event_row(connection_id: int, event: dict[str, Any], fetched_at: datetime) -> Row:
    """One `change_events` row: a change (a deploy, when a CI/CD tool sends it) naming one or more services.
    Its timestamp carries the sender's own offset."""
    event_id = _object_id(event, "change event")
    details = event.get("custom_details")
    return {
        "connection_id": connection_id,
        "id": event_id,
        "timestamp": parse_utc_naive(event.get("timestamp"), f"change event {event_id}: timestamp"),
        "summary": event.get("summary"),
        "source": event.get("source"),
        "integration_id": _ref(event.get("integration"), "id"),
        "services": [
            {"id": _ref(s, "id"), "name": _ref(s, "summary")}
            for s in _list(event.get("services"))
            if _ref(s, "id")
        ],
        "custom_details": details if isinstance(details, dict) else {},
        "links": _list(event.get("links")),
        **_tail_values(event, fetched_at),
    }


def log_entry_row(connection_id: int, entry: dict[str, Any], fetched_at: datetime) -> Row:
    """One `log_entries` row: what happened to an incident and when; assign, escalate and delegate entries
    name who had it, which the incident itself forgets once resolved, and notify entries whom they woke
    (`user_id`)."""
    entry_id = _object_id(entry, "log entry")
    agent = entry.get("agent")
    return {
        "connection_id": connection_id,
        "id": entry_id,
        "type": entry.get("type"),
        "created_at": parse_utc_naive(entry.get("created_at"), f"log entry {entry_id}: created_at"),
        "incident_id": _ref(entry.get("incident"), "id"),
        "service_id": _ref(entry.get("service"), "id"),
        "agent_id": _ref(agent, "id"),
        "agent_type": _ref(agent, "type"),
        "channel_type": _ref(entry.get("channel"), "type"),
        "summary": entry.get("summary"),
        "assignees": [
            {"id": _ref(a, "id"), "name": _ref(a, "summary")}
            for a in _list(entry.get("assignees"))
            if _ref(a, "id")
        ],
        "user_id": _ref(entry.get("user"), "id"),
        **_tail_values(entry, fetched_at),
    }


def priority_row(connection_id: int, priority: dict[str, Any], ordinal: int, fetched_at: datetime) -> Row:
    """One `priorities` row: a priority of the account's scheme, and its place in it (1 = the highest)."""
    return {
        "connection_id": connection_id,
        "id": _object_id(priority, "priority"),
        "name": priority.get("name") or priority.get("summary"),
        "description": priority.get("description"),
        "ordinal": ordinal,
        **_tail_values(priority, fetched_at),
    }


def team_row(connection_id: int, team: dict[str, Any], fetched_at: datetime) -> Row:
    return {
        "connection_id": connection_id,
        "id": _object_id(team, "team"),
        "name": team.get("name") or team.get("summary"),
        "description": team.get("description"),
        "html_url": team.get("html_url"),
        **_tail_values(team, fetched_at),
    }


def user_row(connection_id: int, user: dict[str, Any], fetched_at: datetime) -> Row:
    """One `users` row: a responder, with the time zone their off and sleep hours are judged in."""
    return {
        "connection_id": connection_id,
        "id": _object_id(user, "user"),
        "name": user.get("name") or user.get("summary"),
        "time_zone": user.get("time_zone"),
        "html_url": user.get("html_url"),
        **_tail_values(user, fetched_at),
    }


def time_zone_offset_row(
    connection_id: int, zone: str, start: datetime, until: datetime, offset: int, fetched_at: datetime
) -> Row:
    """One `time_zone_offsets` row: `zone` is `offset` seconds ahead of UTC from `start` until `until`."""
    valid_from, valid_until = start.replace(tzinfo=None), until.replace(tzinfo=None)
    raw = {"time_zone": zone, "valid_from": valid_from.isoformat(), "utc_offset_seconds": offset}
    return {
        "connection_id": connection_id,
        "id": f"{zone}@{valid_from.isoformat()}",
        "time_zone": zone,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "utc_offset_seconds": offset,
        **_tail_values(raw, fetched_at),
    }
