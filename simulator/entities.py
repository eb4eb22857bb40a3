"""Account-level objects (services, users, teams, escalation policies, priorities, integrations).

They are few, so they are built once per dataset and their reference dicts are pre-rendered: an incident
page then reuses the same small dicts instead of building them 100 times per request.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field

from .catalog import (
    ALPHABET,
    API_BASE,
    INTEGRATIONS,
    PRIORITY_DESCRIPTIONS,
    SERVICE_NAMES,
    TEAM_NAMES,
    USER_NAMES,
    USER_TIME_ZONES,
    WEB_BASE,
)


def _ref(kind: str, path: str, oid: str, summary: str, web: str | None = None) -> dict:
    """A PagerDuty '<kind>_reference' object; html_url only for kinds that have a web page."""
    ref = {"id": oid, "type": f"{kind}_reference", "summary": summary, "self": f"{API_BASE}/{path}/{oid}"}
    ref["html_url"] = f"{WEB_BASE}/{web or path}/{oid}"
    return ref


@dataclass
class Entities:
    """Everything account-wide that incidents point at, with ready-made reference dicts."""

    service_ids: list[str] = field(default_factory=list)
    service_names: list[str] = field(default_factory=list)
    service_refs: list[dict] = field(default_factory=list)
    service_objects: list[dict] = field(default_factory=list)  # without times (rendered per zone)
    service_times: list[tuple[int, int]] = field(default_factory=list)  # (created_at, updated_at)
    service_team: list[int] = field(default_factory=list)
    service_pool: list[tuple[int, ...]] = field(default_factory=list)
    ep_refs: list[dict] = field(default_factory=list)
    team_ids: list[str] = field(default_factory=list)
    team_refs: list[dict] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    user_refs: list[dict] = field(default_factory=list)
    user_zones: list[str] = field(default_factory=list)
    priority_refs: list[dict | None] = field(default_factory=list)
    """Index 0 is "no priority". Renaming a priority edits its reference in place: every incident that
    carries it shows the new name at once, as PagerDuty does (with no log entry)."""
    integration_ids: list[str] = field(default_factory=list)
    integration_names: list[str] = field(default_factory=list)
    deleted_services: set[int] = field(default_factory=set)
    """Services deleted from the account: gone from GET /services, still named by their incidents."""

    def priority_code(self, name: object) -> int:
        """A priority's column code from its current name (any case; "1".."5" for P1..P5 too), None -> 0."""
        if name is None:
            return 0
        text = str(name).strip()
        for code, ref in enumerate(self.priority_refs):
            if ref is not None and ref["name"].lower() == text.lower():
                return code
        if text.isdigit() and 1 <= int(text) < len(self.priority_refs):
            return int(text)
        names = ", ".join(ref["name"] for ref in self.priority_refs if ref is not None)
        raise ValueError(f"priority must be one of {names}, or None")

    def priority_name(self, code: int) -> str | None:
        ref = self.priority_refs[code]
        return None if ref is None else ref["name"]

    def service_index(self, service_id: str) -> int | None:
        """Index of a service id, None if unknown (a few services: a scan is fine)."""
        try:
            return self.service_ids.index(service_id)
        except ValueError:
            return None


def _id_maker(rng: random.Random):
    """Deterministic unique 'P'-prefixed 7-char ids, like PagerDuty's classic object ids."""
    used: set[str] = set()

    def make() -> str:
        while True:
            oid = "P" + "".join(rng.choice(ALPHABET[10:] + ALPHABET[1:10]) for _ in range(6))
            if oid not in used:
                used.add(oid)
                return oid

    return make


def build_entities(rng: random.Random, services: int) -> Entities:
    """Create the account's services, teams, escalation policies, users, priorities and integrations."""
    if not 1 <= services <= 200:
        raise ValueError("services must be between 1 and 200")
    make_id = _id_maker(rng)
    ent = Entities()
    for name in TEAM_NAMES:
        tid = make_id()
        ent.team_ids.append(tid)
        ent.team_refs.append(_ref("team", "teams", tid, name))
    for name, time_zone in zip(USER_NAMES, USER_TIME_ZONES, strict=True):
        uid = make_id()
        ent.user_ids.append(uid)
        ent.user_refs.append(_ref("user", "users", uid, name))
        ent.user_zones.append(time_zone)
    ent.priority_refs.append(None)
    for level in range(1, len(PRIORITY_DESCRIPTIONS)):
        pid = make_id()
        ent.priority_refs.append(
            {
                "id": pid,
                "type": "priority_reference",
                "summary": f"P{level}",
                "name": f"P{level}",
                "self": f"{API_BASE}/priorities/{pid}",
            }
        )
    for name, *_sender in INTEGRATIONS:
        ent.integration_ids.append(make_id())
        ent.integration_names.append(name)
    n_users = len(USER_NAMES)
    for idx in range(services):
        base = SERVICE_NAMES[idx % len(SERVICE_NAMES)]
        name = base if idx < len(SERVICE_NAMES) else f"{base} {idx // len(SERVICE_NAMES) + 1}"
        sid, epid = make_id(), make_id()
        team = idx % len(TEAM_NAMES)
        pool = tuple(sorted(rng.sample(range(n_users), 4)))
        ep = _ref("escalation_policy", "escalation_policies", epid, f"{name} Escalation")
        ref = _ref("service", "services", sid, name, web="service-directory")
        ent.service_ids.append(sid)
        ent.service_names.append(name)
        ent.service_refs.append(ref)
        ent.service_team.append(team)
        ent.service_pool.append(pool)
        ent.ep_refs.append(ep)
        ent.service_objects.append(
            {
                "id": sid,
                "type": "service",
                "summary": name,
                "name": name,
                "description": f"{name} (simulated)",
                "self": ref["self"],
                "html_url": ref["html_url"],
                "status": "active",
                "auto_resolve_timeout": 14400,
                "acknowledgement_timeout": 1800,
                "alert_creation": "create_alerts_and_incidents",
                "escalation_policy": ep,
                "teams": [ent.team_refs[team]],
                "integrations": [],
                "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            }
        )
        ent.service_times.append(
            (calendar.timegm((2019, 3, 4, 10, 0, 0)), calendar.timegm((2024, 1, 15, 8, 30, 0)))
        )
    return ent
