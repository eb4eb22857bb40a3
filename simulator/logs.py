"""Log entries derived from each incident's history.

Generated incidents keep no stored history: their trigger/assign/acknowledge/resolve entries are derived
from the columns. An incident touched by a mutation gets its history materialized (Dataset._history) and
indexed in Dataset.mutation_events, so account-wide queries combine both sources.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING

from .catalog import (
    API_BASE,
    BASE_TS,
    NO_USER,
    SLOT_BITS,
    SLOT_MASK,
    WEB_BASE,
    incident_id,
    iso,
    log_entry_id,
)

if TYPE_CHECKING:
    from .data import Dataset

TRIGGER, ASSIGN, ACKNOWLEDGE, RESOLVE = 0, 1, 2, 3
TYPES = ("trigger_log_entry", "assign_log_entry", "acknowledge_log_entry", "resolve_log_entry")
# Generated histories end at most 5 days after creation; a window query looks back this far.
LOOKBACK = 5 * 86_400 + 1

Event = tuple  # (ts, kind, agent user index or -1 for the service, assignee user indexes)


def base_events(ds: Dataset, slot: int) -> list[Event]:
    """History implied by an incident's current columns (valid until its first mutation)."""
    created = ds.created[slot]
    u1, u2 = ds.user1[slot], ds.user2[slot]
    assignees = (u1,) if u2 == NO_USER else (u1, u2)
    events: list[Event] = [(created, TRIGGER, -1, ()), (created, ASSIGN, -1, assignees)]
    if ds.acked[slot] >= 0:
        events.append((ds.acked[slot], ACKNOWLEDGE, ds.acker.get(slot, u1), ()))
    if ds.status[slot] == 2 and ds.resolved[slot] >= 0:
        auto = ds.flags[slot] & 2
        events.append((ds.resolved[slot], RESOLVE, -1 if auto else u1, ()))
    return events


def events(ds: Dataset, slot: int) -> list[Event]:
    """An incident's full history, in recorded order (seq = list position)."""
    hist = ds.history.get(slot)
    return hist if hist is not None else base_events(ds, slot)


def incident_entries(ds: Dataset, slot: int) -> list[tuple[int, int, int]]:
    """(ts, slot, seq) for one incident, oldest first."""
    return sorted((event[0], slot, seq) for seq, event in enumerate(events(ds, slot)))


def window(ds: Dataset, since: int | None, until: int | None) -> list[tuple[int, int, int]]:
    """(ts, slot, seq) of every log entry with since <= created_at < until, oldest first.

    Only incidents created in [since - LOOKBACK, until) can have generated entries in the window, so the
    scan is bounded by the window, not by the account size.
    """
    keys = ds.keys
    lo = 0 if since is None else bisect_left(keys, (since - LOOKBACK - BASE_TS) << SLOT_BITS)
    hi = len(keys) if until is None else bisect_left(keys, (until - BASE_TS) << SLOT_BITS)
    low = -(1 << 62) if since is None else since
    high = 1 << 62 if until is None else until
    created, acked, resolved, status, history = ds.created, ds.acked, ds.resolved, ds.status, ds.history
    out = []
    append = out.append
    for key in keys[lo:hi]:
        slot = key & SLOT_MASK
        if slot in history:
            continue
        c = created[slot]
        if low <= c < high:
            append((c, slot, 0))
            append((c, slot, 1))
        a = acked[slot]
        if a >= 0 and low <= a < high:
            append((a, slot, 2))
        if status[slot] == 2:
            r = resolved[slot]
            if low <= r < high:
                append((r, slot, 3 if a >= 0 else 2))
    mut = ds.mutation_events
    i = 0 if since is None else bisect_left(mut, (since,))
    j = len(mut) if until is None else bisect_left(mut, (until,))
    out.extend(mut[i:j])
    out.sort()
    return out


def render(ds: Dataset, slot: int, seq: int, event: Event | None = None) -> dict:
    """Log entry JSON as GET /log_entries returns it."""
    if event is None:
        event = events(ds, slot)[seq]
    ts, kind, agent, assignees = event
    ent = ds.entities
    number = slot + 1
    iid = incident_id(number, ds.salt)
    lid = log_entry_id(slot, seq, ds.salt)
    svc = ds.service[slot]
    agent_ref = ent.service_refs[svc] if agent < 0 else ent.user_refs[agent]
    agent_name = agent_ref["summary"]
    if kind == TRIGGER:
        summary, channel = "Triggered through the API.", "api"
    elif kind == ASSIGN:
        names = " and ".join(ent.user_refs[u]["summary"] for u in assignees)
        summary = f"Assigned to {names}." if agent < 0 else f"Reassigned to {names} by {agent_name}."
        channel = "auto" if agent < 0 else "web_ui"
    elif kind == ACKNOWLEDGE:
        summary, channel = f"Acknowledged by {agent_name}.", "web_ui"
    else:
        summary = "Resolved by timeout." if agent < 0 else f"Resolved by {agent_name}."
        channel = "timeout" if agent < 0 else "web_ui"
    entry = {
        "id": lid,
        "type": TYPES[kind],
        "summary": summary,
        "self": f"{API_BASE}/log_entries/{lid}",
        "html_url": f"{WEB_BASE}/incidents/{iid}/log_entries/{lid}",
        "created_at": iso(ts),
        "agent": agent_ref,
        "channel": {"type": channel},
        "service": ent.service_refs[svc],
        "incident": {
            "id": iid,
            "type": "incident_reference",
            "summary": f"[#{number}] {ds.title(slot)}",
            "self": f"{API_BASE}/incidents/{iid}",
            "html_url": f"{WEB_BASE}/incidents/{iid}",
        },
        "teams": [ent.team_refs[ent.service_team[svc]]],
        "contexts": [],
    }
    if kind == TRIGGER:
        entry["event_details"] = {"description": ds.title(slot)}
    elif kind == ASSIGN:
        entry["assignees"] = [ent.user_refs[u] for u in assignees]
    return entry
