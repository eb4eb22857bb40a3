"""Fixture-driven dbt tests (as Fivetran's dbt packages do): PagerDuty objects written by hand, loaded into
the raw tables through the same dlt resources the source uses, so dbt reads exactly what ingestion writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from ingestion.database import Database
from ingestion.pagerduty import change_events_resource, incidents_resource, services_resource
from ingestion.pagerduty.records import change_event_row, incident_row, service_row
from ingestion.pipeline import throwaway_pipeline

SERVICES = {"PSVC001": "Checkout API", "PSVC002": "Search"}


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
        "service": {"id": service, "type": "service_reference", "summary": SERVICES[service]},
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
) -> dict[str, Any]:
    """A PagerDuty change event (a deploy) as GET /change_events returns it."""
    return {
        "id": event_id,
        "type": "change_event",
        "timestamp": timestamp,
        "summary": f"Deploy {event_id} to {environment}",
        "source": "ci",
        "services": [{"id": s, "type": "service_reference", "summary": SERVICES[s]} for s in services],
        "integration": {"id": integration, "type": "inbound_integration_reference"},
        "custom_details": {"environment": environment, "build": event_id},
        "links": [],
    }


def service(service_id: str) -> dict[str, Any]:
    return {
        "id": service_id,
        "type": "service",
        "name": SERVICES[service_id],
        "status": "active",
        "html_url": f"https://acme.pagerduty.com/service-directory/{service_id}",
    }


def load_raw(
    database: Database,
    incidents: list[dict[str, Any]],
    connection_id: int = 1,
    change_events: tuple[dict[str, Any], ...] = (),
) -> None:
    """Upsert PagerDuty objects into `<db>_raw` as the ingestion would, with fetched_at = now."""
    database.ensure_databases()
    fetched_at = datetime.now(UTC)
    resources = [
        incidents_resource([[incident_row(connection_id, i, fetched_at) for i in incidents]]),
        services_resource([[service_row(connection_id, service(s), fetched_at) for s in SERVICES]]),
    ]
    if change_events:
        rows = [change_event_row(connection_id, e, fetched_at) for e in change_events]
        resources.append(change_events_resource([rows]))
    with throwaway_pipeline(database, "fixture") as pipeline:
        pipeline.run(resources)
