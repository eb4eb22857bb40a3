"""Index-backed selection of what a listing returns: incidents, log entries, change events.

Windows arrive as half-open integer ranges [lo, hi) in the unit of what they select (epoch seconds for
incidents and log entries, milliseconds for change events); half_open() turns since/until and a boundary
convention into one, so every listing honours the same convention.

The common loader query (a created_at window, optionally one service, default sort) is answered by two
bisects on a sorted key array and a slice, so a page costs O(limit) whatever the account size. Other
filter combinations build the full result list once and cache it per dataset version, so paging through
them with offset stays cheap too.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from datetime import datetime

from .catalog import BASE_TS, RESOLVED, SLOT_BITS, SLOT_MASK
from .store import Dataset
from .times import to_us

SORT_FIELDS = ("created_at", "incident_number", "resolved_at", "urgency")
WINDOW_BOUNDS = ("[)", "[]", "(]", "()")  # since inclusive? until inclusive? ("[)" is the default)
# Generated histories end at most 5 days after creation; a log entry window looks back this far.
LOOKBACK = 5 * 86_400 + 1


def half_open(
    since: datetime | None, until: datetime | None, bounds: str = "[)", unit_us: int = 1_000_000
) -> tuple[int | None, int | None]:
    """[lo, hi) in units of unit_us microseconds selecting the integer times t with since <(=) t <(=) until.

    For integer t and a real bound s: t >= s iff t >= ceil(s), t > s iff t >= floor(s) + 1; t < u iff
    t < ceil(u), t <= u iff t < floor(u) + 1. None stays None (unbounded).
    """
    lo = hi = None
    if since is not None:
        us = to_us(since)
        lo = -(-us // unit_us) if bounds[0] == "[" else us // unit_us + 1
    if until is not None:
        us = to_us(until)
        hi = -(-us // unit_us) if bounds[1] == ")" else us // unit_us + 1
    return lo, hi


class KeyRange:
    """Slots of keys[lo:hi] (created_at order), optionally reversed, without copying."""

    def __init__(self, keys: array, lo: int, hi: int, desc: bool) -> None:
        self.keys, self.lo, self.hi, self.desc = keys, lo, max(lo, hi), desc

    def __len__(self) -> int:
        return self.hi - self.lo

    def page(self, offset: int, limit: int) -> list[int]:
        if self.desc:
            stop = self.hi - offset
            start = max(self.lo, stop - limit)
            chunk = self.keys[start:stop] if stop > start else []
            return [k & SLOT_MASK for k in reversed(chunk)]
        start = self.lo + offset
        return [k & SLOT_MASK for k in self.keys[start : min(self.hi, start + limit)]]


class ListView:
    """A precomputed result sequence."""

    def __init__(self, items) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def page(self, offset: int, limit: int) -> list:
        return list(self.items[offset : offset + limit])


def _bounds(keys: array, since: int | None, until: int | None) -> tuple[int, int]:
    lo = 0 if since is None else bisect_left(keys, (since - BASE_TS) << SLOT_BITS)
    hi = len(keys) if until is None else bisect_left(keys, (until - BASE_TS) << SLOT_BITS)
    return lo, hi


def select_incidents(
    ds: Dataset,
    since: int | None,
    until: int | None,
    services: list[int] | None,
    statuses: set[int] | None,
    urgencies: set[int] | None,
    sort_field: str = "created_at",
    desc: bool = False,
) -> KeyRange | ListView:
    """Incidents with since <= created_at < until matching the filters, in the requested order.

    None for since/until means unbounded; None for a filter means no filter. Ties are broken by incident
    number (ascending, or descending for :desc).
    """
    if statuses is not None and len(statuses) == 3:
        statuses = None
    if urgencies is not None and len(urgencies) == 2:
        urgencies = None
    svc = None if services is None else sorted(set(services))
    if svc is not None and len(svc) == len(ds.service_keys):
        svc = None
    simple = statuses is None and urgencies is None and sort_field == "created_at"
    if simple and (svc is None or len(svc) == 1):
        keys = ds.keys if svc is None else ds.service_keys[svc[0]]
        lo, hi = _bounds(keys, since, until)
        return KeyRange(keys, lo, hi, desc)
    cache_key = (
        "incidents",
        since,
        until,
        tuple(svc) if svc is not None else None,
        tuple(sorted(statuses)) if statuses is not None else None,
        tuple(sorted(urgencies)) if urgencies is not None else None,
        sort_field,
        desc,
    )
    return ListView(
        ds.cached(cache_key, lambda: _build(ds, since, until, svc, statuses, urgencies, sort_field, desc))
    )


def _build(
    ds: Dataset,
    since: int | None,
    until: int | None,
    svc: list[int] | None,
    statuses: set[int] | None,
    urgencies: set[int] | None,
    sort_field: str,
    desc: bool,
) -> array:
    status, urgency = ds.status, ds.urgency
    if statuses is not None and RESOLVED not in statuses:
        # only open incidents wanted: the open set is small, scan it instead of the window
        low = -(1 << 62) if since is None else since
        high = 1 << 62 if until is None else until
        wanted = None if svc is None else set(svc)
        slots = [
            s
            for s in ds.open
            if low <= ds.created[s] < high
            and status[s] in statuses
            and (wanted is None or ds.service[s] in wanted)
            and (urgencies is None or urgency[s] in urgencies)
        ]
        keyed = sorted((ds.created[s] - BASE_TS) << SLOT_BITS | s for s in slots)
    else:
        keyed = []
        for keys in [ds.keys] if svc is None else [ds.service_keys[i] for i in svc]:
            lo, hi = _bounds(keys, since, until)
            part = keys[lo:hi]
            if statuses is not None or urgencies is not None:
                part = [
                    k
                    for k in part
                    if (statuses is None or status[k & SLOT_MASK] in statuses)
                    and (urgencies is None or urgency[k & SLOT_MASK] in urgencies)
                ]
            keyed.extend(part)
        if svc is not None and len(svc) > 1:
            keyed.sort()
    slots = [k & SLOT_MASK for k in keyed]
    if sort_field == "incident_number":
        slots.sort()
    elif sort_field == "resolved_at":
        resolved = ds.resolved
        slots.sort(key=lambda s: (0, resolved[s], s) if status[s] == RESOLVED else (1, 0, s))
    elif sort_field == "urgency":
        slots.sort(key=lambda s: (urgency[s], s))  # "high" < "low"
    if desc:
        slots.reverse()
    return array("q", slots)


# ------------------------------------------------------------------------------------------ log entries
def incident_log(ds: Dataset, slot: int) -> list[tuple[int, int, int]]:
    """(ts, slot, seq) of one incident's log entries, oldest first."""
    return sorted((event[0], slot, seq) for seq, event in enumerate(ds.events(slot)))


def log_window(ds: Dataset, since: int | None, until: int | None) -> list[tuple[int, int, int]]:
    """(ts, slot, seq) of every log entry with since <= created_at < until, oldest first.

    Only incidents created in [since - LOOKBACK, until) can have generated entries in the window, so the
    scan is bounded by the window, not by the account size. Materialized histories (every incident a
    mutation touched, also after its resolution) are indexed by time in ds.mutation_events.
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
        # the same events, in the same order, as Dataset.base_events
        c = created[slot]
        if low <= c < high:
            append((c, slot, 0))
            append((c, slot, 1))
        a = acked[slot]
        if a >= 0 and low <= a < high:
            append((a, slot, 2))
        if status[slot] == RESOLVED:
            r = resolved[slot]
            if low <= r < high:
                append((r, slot, 3 if a >= 0 else 2))
    mut = ds.mutation_events
    i = 0 if since is None else bisect_left(mut, (since,))
    j = len(mut) if until is None else bisect_left(mut, (until,))
    out.extend(mut[i:j])
    if ds.deleted:  # a deleted incident's entries go with it
        out = [entry for entry in out if entry[1] not in ds.deleted]
    out.sort()
    return out


# ---------------------------------------------------------------------------------------- change events
def change_events(
    ds: Dataset,
    lo_ms: int | None,
    hi_ms: int | None,
    received_by_ms: int,
    service: int | None = None,
    integrations: set[str] | None = None,
) -> list[int]:
    """Positions (in ds.change_events) of the events whose sender's instant is in [lo_ms, hi_ms) and
    that PagerDuty had received by received_by_ms, in timestamp order."""
    keys = ds.change_keys
    i = 0 if lo_ms is None else bisect_left(keys, (lo_ms,))
    j = len(keys) if hi_ms is None else bisect_left(keys, (hi_ms,))
    ids = ds.entities.integration_ids
    sent, services, integ = ds.change_sent, ds.change_services, ds.change_integrations
    return [
        k
        for k in range(i, j)
        if sent[k] <= received_by_ms
        and (service is None or service in services[k])
        and (integrations is None or ids[integ[k]] in integrations)
    ]
