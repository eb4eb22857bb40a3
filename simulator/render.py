"""JSON as the API returns it: incidents, log entries, services and change events.

Functions of a Dataset's stored state and a Zone (the time zone the response is rendered in). They read
the dataset (columns, sparse facts, history events) and never change it; they do not import it either,
so storage can call them (Dataset.render) without an import cycle. Nested reference dicts are shared
with the account's Entities: callers must not mutate what they get.
"""

from __future__ import annotations

from .catalog import (
    ACK_TIMEOUT,
    ACKNOWLEDGE,
    ACKNOWLEDGED,
    API_BASE,
    ASSIGN,
    DELEGATE,
    ESCALATE,
    FLAG_AUTO_RESOLVED,
    FLAG_OMIT_RESOLVED_AT,
    INTEGRATIONS,
    LINK,
    LOG_TYPES,
    MANUAL,
    NO_USER,
    NOTIFY,
    PRIORITY_CHANGE,
    PRIORITY_DESCRIPTIONS,
    REOPENED,
    RESOLVE,
    RESOLVED,
    SERVICE_CHANGE,
    SNOOZE,
    STATUSES,
    TEAM_NAMES,
    TRIGGER,
    UNACKNOWLEDGE,
    UNLINK,
    URGENCIES,
    URGENCY_CHANGE,
    USER_NAMES,
    WEB_BASE,
    incident_id,
    log_entry_id,
)
from .entities import Entities
from .times import Zone

INCIDENT_KEY_MULT = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd 128-bit constant: well-spread hex keys


def incident_reference(ds, slot: int) -> dict:
    """{"id", "type": "incident_reference", "summary", "self", "html_url"} of an incident."""
    number = slot + 1
    iid = incident_id(number, ds.salt)
    return {
        "id": iid,
        "type": "incident_reference",
        "summary": f"[#{number}] {ds.title(slot)}",
        "self": f"{API_BASE}/incidents/{iid}",
        "html_url": f"{WEB_BASE}/incidents/{iid}",
    }


def incident_key(ds, number: int) -> str | None:
    """The de-duplication key: a hash from the sending tool, or null for one in seven incidents (opened in
    the web UI or by e-mail with no key), as real accounts have them."""
    if number % 7 == 3:
        return None
    return f"{((number + ds.salt) * INCIDENT_KEY_MULT) % (1 << 128):032x}"


def incident(ds, slot: int, zone: Zone) -> dict:
    """Incident JSON as GET /incidents returns it, times rendered in `zone`."""
    ent = ds.entities
    iso = zone.iso
    number = slot + 1
    iid = incident_id(number, ds.salt)
    title = ds.title(slot)
    status = ds.status[slot]
    svc = ds.service[slot]
    created = ds.created[slot]
    u1 = ds.user1[slot]
    user_ref = ent.user_refs[u1]
    resolve_reason = None
    if status == RESOLVED:
        assignments: list = []
        acks: list = []
        changed_by = ent.service_refs[svc] if ds.flags[slot] & FLAG_AUTO_RESOLVED else user_ref
        target = ds.merged_into.get(slot)
        if target is not None:
            resolve_reason = {"type": "merge_resolve_reason", "incident": incident_reference(ds, target)}
    else:
        at = iso(ds.assigned_at.get(slot, created))
        assignments = [{"at": at, "assignee": user_ref}]
        u2 = ds.user2[slot]
        if u2 != NO_USER:
            assignments.append({"at": at, "assignee": ent.user_refs[u2]})
        if status == ACKNOWLEDGED:
            acker = ent.user_refs[ds.acker.get(slot, u1)]
            acks = [{"at": iso(ds.acked[slot]), "acknowledger": acker}]
            changed_by = acker
        else:
            acks = []
            changed_by = ent.service_refs[svc]
    alerts = ds.alerts[slot]
    open_alerts = 0 if status == RESOLVED else alerts
    trigger_id = log_entry_id(slot, 0, ds.salt)
    out = {
        "id": iid,
        "type": "incident",
        "summary": f"[#{number}] {title}",
        "self": f"{API_BASE}/incidents/{iid}",
        "html_url": f"{WEB_BASE}/incidents/{iid}",
        "incident_number": number,
        "title": title,
        "description": title,
        "created_at": iso(created),
        "updated_at": iso(ds.updated_at(slot)),
        "status": STATUSES[status],
        "incident_key": incident_key(ds, number),
        "service": ent.service_refs[svc],
        "assignments": assignments,
        "assigned_via": "escalation_policy",
        "last_status_change_at": iso(ds.last_status_change(slot)),
        "resolved_at": iso(ds.resolved[slot]) if status == RESOLVED else None,
        "first_trigger_log_entry": {
            "id": trigger_id,
            "type": "trigger_log_entry_reference",
            "summary": "Triggered through the API.",
            "self": f"{API_BASE}/log_entries/{trigger_id}",
            "html_url": f"{WEB_BASE}/incidents/{iid}/log_entries/{trigger_id}",
        },
        "alert_counts": {"all": alerts, "triggered": open_alerts, "resolved": alerts - open_alerts},
        "is_mergeable": True,
        "incident_type": {"name": "incident_default"},
        "escalation_policy": ent.ep_refs[svc],
        "teams": [ent.team_refs[ent.service_team[svc]]],
        "pending_actions": [],
        "acknowledgements": acks,
        "alert_grouping": None,
        "last_status_change_by": changed_by,
        "priority": ent.priority_refs[ds.priority[slot]],
        "resolve_reason": resolve_reason,
        "conference_bridge": None,
        "urgency": URGENCIES[ds.urgency[slot]],
    }
    if ds.flags[slot] & FLAG_OMIT_RESOLVED_AT:
        del out["resolved_at"]
    extra = ds.extra.get(slot)
    if extra:
        out.update(extra)
    return out


def _summary(ds, event: tuple, agent_name: str) -> tuple[str, str]:
    """(summary, channel type) of a log entry."""
    ent = ds.entities
    _ts, kind, agent, assignees, _svc, detail = event
    if kind == TRIGGER:
        if detail == REOPENED:
            return f"Reopened by {agent_name}.", "website"
        return "Triggered through the API.", "api"
    if kind == ASSIGN:
        names = " and ".join(ent.user_refs[u]["summary"] for u in assignees)
        if agent < 0:
            return f"Assigned to {names}.", "auto"
        return f"Reassigned to {names} by {agent_name}.", "website"
    if kind == ESCALATE:
        names = " and ".join(ent.user_refs[u]["summary"] for u in assignees)
        if detail == MANUAL:
            return f"Escalated to {names} by {agent_name}.", "website"
        return f"Escalated to {names} (escalation policy timeout).", "timeout"
    if kind == DELEGATE:
        names = " and ".join(ent.user_refs[u]["summary"] for u in assignees)
        return f"Delegated to {names} by {agent_name}.", "website"
    if kind == NOTIFY:
        how = {"push_notification": "push notification", "sms": "SMS", "phone": "phone", "email": "email"}
        return f"Notified {ent.user_refs[assignees[0]]['summary']} by {how[detail]}.", detail
    if kind == SNOOZE:
        return f"Snoozed for {detail // 60} minutes by {agent_name}.", "website"
    if kind == UNACKNOWLEDGE:
        return "Unacknowledged due to timeout.", "timeout"
    if kind == ACKNOWLEDGE:
        return f"Acknowledged by {agent_name}.", "website"
    if kind == RESOLVE:
        if detail is not None:
            return f"Resolved by merge into [#{detail + 1}] by {agent_name}.", "website"
        if agent < 0:
            return "Resolved by timeout.", "timeout"
        return f"Resolved by {agent_name}.", "website"
    if kind == PRIORITY_CHANGE:
        old, new = (ent.priority_name(p) or "no priority" for p in detail)
        return f"Priority changed from {old} to {new} by {agent_name}.", "website"
    if kind == URGENCY_CHANGE:
        old, new = (URGENCIES[u] for u in detail)
        return f"Urgency changed from {old} to {new} by {agent_name}.", "website"
    if kind == SERVICE_CHANGE:
        old, new = (ent.service_names[s] for s in detail)
        return f'Moved from "{old}" to "{new}" by {agent_name}.', "website"
    if kind == LINK:
        return f"Alerts of [#{detail + 1}] linked to this incident by {agent_name}.", "website"
    if kind == UNLINK:
        return f"Alerts unlinked and moved to [#{detail + 1}] by {agent_name}.", "website"
    raise ValueError(f"unknown log entry kind {kind}")


def log_entry(ds, slot: int, seq: int, event: tuple, zone: Zone) -> dict:
    """Log entry JSON as GET /log_entries returns it, created_at rendered in `zone`.

    event = (ts, kind, agent user index or -1 for the service, assignee user indexes, service index at
    the time, detail): see Dataset.events.
    """
    ts, kind, agent, assignees, svc, detail = event
    ent = ds.entities
    iid = incident_id(slot + 1, ds.salt)
    lid = log_entry_id(slot, seq, ds.salt)
    agent_ref = ent.service_refs[svc] if agent < 0 else ent.user_refs[agent]
    summary, channel = _summary(ds, event, agent_ref["summary"])
    entry = {
        "id": lid,
        "type": LOG_TYPES[kind],
        "summary": summary,
        "self": f"{API_BASE}/log_entries/{lid}",
        "html_url": f"{WEB_BASE}/incidents/{iid}/log_entries/{lid}",
        "created_at": zone.iso(ts),
        "agent": agent_ref,
        "channel": {"type": channel},
        "service": ent.service_refs[svc],
        "incident": incident_reference(ds, slot),
        "teams": [ent.team_refs[ent.service_team[svc]]],
        "contexts": [],
    }
    if kind == TRIGGER:
        entry["event_details"] = {"description": ds.title(slot)}
    elif kind in (ASSIGN, ESCALATE, DELEGATE):
        entry["assignees"] = [ent.user_refs[u] for u in assignees]
    elif kind == NOTIFY:
        entry["user"] = ent.user_refs[assignees[0]]
        kind_of = detail if detail == "push_notification" else f"{detail}_notification"
        entry["channel"] = {"type": detail, "notification": {"type": kind_of, "status": "success"}}
    elif kind == ACKNOWLEDGE:
        entry["acknowledgement_timeout"] = ACK_TIMEOUT
    elif kind == SNOOZE:
        entry["changed_actions"] = [{"type": "unacknowledge", "at": zone.iso(ts + detail)}]
    elif kind == PRIORITY_CHANGE:
        old, new = (ent.priority_refs[p] for p in detail)
        entry["channel"] = {**entry["channel"], "old_priority": old, "new_priority": new}
    elif kind == SERVICE_CHANGE:
        entry["channel"] = {**entry["channel"], "old_service": ent.service_refs[detail[0]]}
    return entry


def priority(ent: Entities, code: int) -> dict:
    """A priority of the account's scheme, as GET /priorities lists it (its current name)."""
    ref = ent.priority_refs[code]
    return {**ref, "type": "priority", "summary": ref["name"], "description": PRIORITY_DESCRIPTIONS[code]}


def team(ent: Entities, index: int) -> dict:
    ref = ent.team_refs[index]
    return {**ref, "type": "team", "name": TEAM_NAMES[index], "description": f"{TEAM_NAMES[index]} team"}


def user(ent: Entities, index: int) -> dict:
    """A user as GET /users lists it, with the time zone their off and sleep hours are judged in."""
    ref = ent.user_refs[index]
    name = USER_NAMES[index]
    local = name.lower().replace(" ", ".").replace("'", "")
    return {
        **ref,
        "type": "user",
        "name": name,
        "email": f"{local.encode('ascii', 'ignore').decode() or 'user'}@acme.example",
        "time_zone": ent.user_zones[index],
        "color": "green",
        "role": "user",
        "avatar_url": "https://pd-static-assets.pagerduty.com/users/blank-avatar.png",
        "description": None,
        "invitation_sent": False,
        "job_title": "Site Reliability Engineer",
        "teams": [],
        "contact_methods": [],
        "notification_rules": [],
    }


def service(ent: Entities, index: int, zone: Zone) -> dict:
    """Service JSON as GET /services returns it."""
    created, updated = ent.service_times[index]
    return {**ent.service_objects[index], "created_at": zone.iso(created), "updated_at": zone.iso(updated)}


def change_event(
    ent: Entities,
    eid: str,
    timestamp: str,
    services: list[int],
    integration: int,
    summary: str,
    custom_details: dict,
    links: list,
) -> dict:
    """Change event JSON: `timestamp` is the sender's text, verbatim (no time zone applies to it)."""
    path = f"services/{ent.service_ids[services[0]]}/integrations/{ent.integration_ids[integration]}"
    return {
        "id": eid,
        "type": "change_event",
        "timestamp": timestamp,
        "summary": summary,
        "source": INTEGRATIONS[integration][1],
        "services": [ent.service_refs[s] for s in services],
        "integration": {
            "id": ent.integration_ids[integration],
            "type": "inbound_integration_reference",
            "summary": ent.integration_names[integration],
            "self": f"{API_BASE}/{path}",
            "html_url": f"{WEB_BASE}/{path}",
        },
        "custom_details": custom_details,
        "links": links,
    }
