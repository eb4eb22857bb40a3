"""Fixture-driven dbt tests (as Fivetran's dbt packages do): PagerDuty objects written by hand, loaded into
the raw tables through the same rows and writer ingestion uses, so dbt reads exactly what ingestion writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from ingestion.database import Database
from ingestion.pagerduty.records import (
    CHANGE_EVENTS,
    INCIDENTS,
    LOG_ENTRIES,
    SERVICES,
    change_event_row,
    incident_row,
    log_entry_row,
    service_row,
)
from ingestion.raw_store import RawLoad, clean_abandoned, ensure_schema, record_scopes

SERVICES_BY_ID = {"PSVC001": "Checkout API", "PSVC002": "Search"}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(uid: str, name: str) -> dict[str, Any]:
    return {"id": uid, "type": "user_reference", "summary": name}


def incident(
    number: int,
    created: str,
    status: str = "resolved",
    resolved_after: Optional[timedelta] = None,
    service: str = "PSVC001",
    urgency: str = "high",
    priority: Optional[str] = None,
    title: Optional[str] = None,
    assignments: tuple = (),
    omit_resolved_at: bool = False,
    last_status_change_after: Optional[timedelta] = None,
) -> dict[str, Any]:
    """A PagerDuty incident object as GET /incidents returns it."""
    created_at = ts(created)
    resolved_at = created_at + resolved_after if status == "resolved" and resolved_after is not None else None
    last_change = created_at + (last_status_change_after or resolved_after or timedelta(0))
    title = title or f"Incident {number}"
    body: dict[str, Any] = {
        "id": f"QFIX{number:04d}",
        "type": "incident",
        "incident_number": number,
        "title": title,
        "summary": f"[#{number}] {title}",
        "description": title,
        "status": status,
        "urgency": urgency,
        "priority": {
            "id": f"PRI{priority}",
            "type": "priority_reference",
            "summary": priority,
            "name": priority,
        }
        if priority
        else None,
        "created_at": iso(created_at),
        "updated_at": iso(last_change),
        "resolved_at": iso(resolved_at) if resolved_at else None,
        "last_status_change_at": iso(last_change),
        "service": {"id": service, "type": "service_reference", "summary": SERVICES_BY_ID[service]},
        "assignments": [{"at": at, "assignee": user(uid, name)} for at, uid, name in assignments],
        "acknowledgements": [],
        "teams": [],
        "html_url": f"https://acme.pagerduty.com/incidents/QFIX{number:04d}",
    }
    if omit_resolved_at:
        del body["resolved_at"]
    return body


def change_event(
    event_id: str,
    timestamp: str,
    services: tuple[str, ...] = ("PSVC001",),
    integration: str = "PINT1",
    environment: str = "production",
    **details: Any,
) -> dict[str, Any]:
    """A PagerDuty change event (a deploy) as GET /change_events returns it; `details` go to custom_details."""
    return {
        "id": event_id,
        "type": "change_event",
        "timestamp": timestamp,
        "summary": f"Deploy {event_id} to {environment}",
        "source": "ci",
        "services": [{"id": s, "type": "service_reference", "summary": SERVICES_BY_ID[s]} for s in services],
        "integration": {"id": integration, "type": "inbound_integration_reference"},
        "custom_details": {"environment": environment, "build": event_id, **details},
        "links": [],
    }


def service(service_id: str) -> dict[str, Any]:
    return {
        "id": service_id,
        "type": "service",
        "name": SERVICES_BY_ID[service_id],
        "status": "active",
        "html_url": f"https://acme.pagerduty.com/service-directory/{service_id}",
    }


def merged(body: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    """`body` as PagerDuty shows an incident merged into `into`: resolved by the merge."""
    return {
        **body,
        "status": "resolved",
        "resolve_reason": {
            "type": "merge_resolve_reason",
            "incident": {"id": into["id"], "type": "incident_reference", "summary": into["summary"]},
        },
    }


def log_entry(
    entry_id: str, kind: str, at: str, incident_number: int, *assignees: tuple[str, str]
) -> dict[str, Any]:
    """A log entry as GET /log_entries returns it; assign and escalate entries name `assignees`."""
    body: dict[str, Any] = {
        "id": entry_id,
        "type": kind,
        "created_at": at,
        "summary": kind,
        "incident": {"id": f"QFIX{incident_number:04d}", "type": "incident_reference"},
        "service": {"id": "PSVC001", "type": "service_reference"},
        "agent": {"id": "PADMIN", "type": "user_reference"},
        "channel": {"type": "web_ui"},
    }
    if assignees:
        body["assignees"] = [user(uid, name) for uid, name in assignees]
    return body


def load_raw(
    database: Database,
    incidents: list[dict[str, Any]],
    connection_id: int = 1,
    change_events: tuple[dict[str, Any], ...] = (),
    log_entries: tuple[dict[str, Any], ...] = (),
    start_date: datetime = datetime(2000, 1, 1, tzinfo=UTC),
) -> int:
    """Write PagerDuty objects into `<db>_raw` as one completed load, the way ingestion does, with
    fetched_at = now, and record a scope covering every service of the connection since `start_date`."""
    database.claim()
    ensure_schema(database)
    clean_abandoned(database)
    record_scopes(
        database, f"fixture-{connection_id}", f"fixture-{connection_id}", [(connection_id, None, start_date)]
    )
    fetched_at = datetime.now(UTC).replace(tzinfo=None)
    with RawLoad(database, "pagerduty", connection_id, f"fixture|{connection_id}") as load:
        load.write(INCIDENTS, [incident_row(connection_id, i, fetched_at) for i in incidents])
        load.write(SERVICES, [service_row(connection_id, service(s), fetched_at) for s in SERVICES_BY_ID])
        load.write(CHANGE_EVENTS, [change_event_row(connection_id, e, fetched_at) for e in change_events])
        load.write(LOG_ENTRIES, [log_entry_row(connection_id, e, fetched_at) for e in log_entries])
        return load.complete()
