"""Index-backed incident selection for GET /incidents.

The common loader query (a created_at window, optionally one service, default sort) is answered by two
bisects on a sorted key array and a slice, so a page costs O(limit) whatever the account size. Other
filter combinations build the full result list once and cache it per dataset version, so paging through
them with offset stays cheap too.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING

from .catalog import BASE_TS, SLOT_BITS, SLOT_MASK

if TYPE_CHECKING:
    from .data import Dataset

SORT_FIELDS = ("created_at", "incident_number", "resolved_at", "urgency")
RESOLVED = 2


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
