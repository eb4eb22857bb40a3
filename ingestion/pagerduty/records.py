"""From PagerDuty's JSON objects to raw table rows: typed columns beside the object itself.

Nested lists stay JSON columns (dlt child tables make merges hang on MariaDB); dbt unnests them. Rows carry
the connection id, part of the primary key, so two connections never overwrite each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from dlt.common.schema.typing import TTableSchemaColumns

from .paging import parse_time


def _ref(obj: Optional[dict[str, Any]], key: str) -> Optional[str]:
    return obj.get(key) if isinstance(obj, dict) else None


def incident_row(connection_id: int, incident: dict[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """One `incidents` row. `resolved_at` is kept as given: absent on old incidents, where dbt falls back."""
    service = incident.get("service")
    priority = incident.get("priority")
    return {
        ROW_KEY: row_key(connection_id, incident["id"]),
        "connection_id": connection_id,
        "id": incident["id"],
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
        "created_at": parse_time(incident.get("created_at")),
        "updated_at": parse_time(incident.get("updated_at")),
        "resolved_at": parse_time(incident.get("resolved_at")),
        "last_status_change_at": parse_time(incident.get("last_status_change_at")),
        "assignments": incident.get("assignments") or [],
        "acknowledgements": incident.get("acknowledgements") or [],
        "teams": incident.get("teams") or [],
        "raw": incident,
        "fetched_at": fetched_at,
    }


def service_row(connection_id: int, service: dict[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """One `services` row: a PagerDuty service becomes a DevLake board."""
    return {
        ROW_KEY: row_key(connection_id, service["id"]),
        "connection_id": connection_id,
        "id": service["id"],
        "name": service.get("name") or service.get("summary"),
        "description": service.get("description"),
        "status": service.get("status"),
        "html_url": service.get("html_url"),
        "escalation_policy_id": _ref(service.get("escalation_policy"), "id"),
        "created_at": parse_time(service.get("created_at")),
        "updated_at": parse_time(service.get("updated_at")),
        "teams": service.get("teams") or [],
        "raw": service,
        "fetched_at": fetched_at,
    }


def change_event_row(connection_id: int, event: dict[str, Any], fetched_at: datetime) -> dict[str, Any]:
    """One `change_events` row: a change event (a deploy, when CI/CD sends one) naming some services."""
    details = event.get("custom_details")
    return {
        ROW_KEY: row_key(connection_id, event["id"]),
        "connection_id": connection_id,
        "id": event["id"],
        "timestamp": parse_time(event.get("timestamp")),
        "summary": event.get("summary"),
        "source": event.get("source"),
        "integration_id": _ref(event.get("integration"), "id"),
        "services": event.get("services") or [],
        "custom_details": details if isinstance(details, dict) else {},
        "links": event.get("links") or [],
        "raw": event,
        "fetched_at": fetched_at,
    }


def _text(precision: Optional[int] = None, nullable: bool = True) -> dict[str, Any]:
    column: dict[str, Any] = {"data_type": "text", "nullable": nullable}
    if precision:
        column["precision"] = precision
    return column


# dlt writes each column's name into its hint dict: every column needs a dict of its own
def _timestamp(nullable: bool = True) -> dict[str, Any]:
    return {"data_type": "timestamp", "nullable": nullable}


def _json() -> dict[str, Any]:
    return {"data_type": "json", "nullable": True}


def row_key(connection_id: int, object_id: str) -> str:
    """The merge key: `<connection id>:<PagerDuty id>`, unique per connection.

    One column rather than two: dlt's delete-insert merge repeats its key clause once per key column,
    and MariaDB cannot use the primary key for `a AND b OR a AND b`, so a rerun scanned the whole table."""
    return f"{connection_id}:{object_id}"


ROW_KEY = "row_key"


def _keys() -> TTableSchemaColumns:
    return {
        # a real VARCHAR primary key: dlt's merge is quadratic without one (stack-notes)
        ROW_KEY: {"data_type": "text", "precision": 96, "nullable": False},
        "connection_id": {"data_type": "bigint", "nullable": False},
        "id": {"data_type": "text", "precision": 64, "nullable": False},
    }


INCIDENT_COLUMNS: TTableSchemaColumns = {
    **_keys(),
    "incident_number": {"data_type": "bigint", "nullable": True},
    "title": _text(),
    "summary": _text(),
    "status": _text(32),
    "urgency": _text(32),
    "priority_id": _text(64),
    "priority_name": _text(255),
    "service_id": _text(64),
    "service_name": _text(),
    "escalation_policy_id": _text(64),
    "incident_key": _text(),
    "html_url": _text(),
    "created_at": _timestamp(),
    "updated_at": _timestamp(),
    "resolved_at": _timestamp(),
    "last_status_change_at": _timestamp(),
    "assignments": _json(),
    "acknowledgements": _json(),
    "teams": _json(),
    "raw": _json(),
    "fetched_at": _timestamp(nullable=False),
}

SERVICE_COLUMNS: TTableSchemaColumns = {
    **_keys(),
    "name": _text(),
    "description": _text(),
    "status": _text(32),
    "html_url": _text(),
    "escalation_policy_id": _text(64),
    "created_at": _timestamp(),
    "updated_at": _timestamp(),
    "teams": _json(),
    "raw": _json(),
    "fetched_at": _timestamp(nullable=False),
}

CHANGE_EVENT_COLUMNS: TTableSchemaColumns = {
    **_keys(),
    "timestamp": _timestamp(),
    "summary": _text(),
    "source": _text(),
    "integration_id": _text(64),
    "services": _json(),
    "custom_details": _json(),
    "links": _json(),
    "raw": _json(),
    "fetched_at": _timestamp(nullable=False),
}
