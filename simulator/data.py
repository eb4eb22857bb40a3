"""Deterministic synthetic PagerDuty account: incidents, their history, change events, and mutations.

Incidents are stored column-wise (arrays and bytearrays, ~50 bytes each) and rendered to JSON dicts on
demand, so a million of them fit in well under 100 MB and generate in seconds. Sparse per-incident facts
that only mutations or add_incident() create (custom titles, reassignment times, explicit history) live in
dicts keyed by slot. A slot is the incident number minus one, which never changes.
"""

from __future__ import annotations

import random
import threading
from array import array
from bisect import insort
from collections import OrderedDict
from datetime import UTC, datetime

import orjson

from . import logs
from .catalog import (
    API_BASE,
    BASE_TS,
    NO_USER,
    RESOLVED_AT_INTRODUCED,
    SLOT_BITS,
    SPECIAL_TEMPLATES,
    STATUSES,
    TITLE_TEMPLATES,
    URGENCIES,
    WEB_BASE,
    incident_id,
    incident_number_from_id,
    iso,
    log_entry_id,
    now_ts,
    render_title,
    title_table,
    to_ts,
)
from .changes import generate_change_events
from .entities import Entities, build_entities

DAY = 86_400
RECENT = 3 * DAY  # incidents younger than this (relative to `end`) get a mix of statuses
STALE_OPEN = 0.002  # share of older incidents still open ("forgotten" incidents)
TRIGGERED, ACKNOWLEDGED, RESOLVED = 0, 1, 2
FLAG_OMIT_RESOLVED_AT = 1
FLAG_AUTO_RESOLVED = 2
MAX_SLOTS = 1 << SLOT_BITS
INCIDENT_KEY_MULT = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd 128-bit constant: well-spread hex keys


def _table(weights: list[tuple[int, int]]) -> bytes:
    """1000-entry lookup table for weighted choices: table[int(random() * 1000)]."""
    out = bytearray()
    for value, weight in weights:
        out.extend([value] * weight)
    assert len(out) == 1000
    return bytes(out)


PRIORITY_TABLE = _table([(0, 300), (1, 35), (2, 105), (3, 210), (4, 210), (5, 140)])
ALERTS_TABLE = _table([(1, 700), (2, 200), (3, 80), (7, 20)])


class Dataset:
    """One simulated PagerDuty account. All public methods are thread-safe (one re-entrant lock)."""

    def __init__(self, seed: int, entities: Entities, end: int, salt: int) -> None:
        self.seed = seed
        self.entities = entities
        self.end = end
        self.salt = salt
        self.lock = threading.RLock()
        self.version = 0  # bumped by every mutation; query caches are keyed on it
        self.steps = 0
        # columns, indexed by slot (= incident_number - 1)
        self.created = array("q")
        self.resolved = array("q")
        self.acked = array("q")
        self.service = bytearray()
        self.status = bytearray()
        self.urgency = bytearray()
        self.priority = bytearray()
        self.template = bytearray()
        self.user1 = bytearray()
        self.user2 = bytearray()
        self.alerts = bytearray()
        self.flags = bytearray()
        # indexes: (created - BASE_TS) << SLOT_BITS | slot, sorted; globally and per service
        self.keys = array("q")
        self.service_keys: list[array] = [array("q") for _ in entities.service_ids]
        self.open: set[int] = set()
        # sparse facts
        self.titles: dict[int, str] = {}
        self.updated: dict[int, int] = {}
        self.status_changed: dict[int, int] = {}
        self.assigned_at: dict[int, int] = {}
        self.acker: dict[int, int] = {}
        self.extra: dict[int, dict] = {}
        self.history: dict[int, list[tuple]] = {}
        self.mutation_events: list[tuple[int, int, int]] = []  # (ts, slot, seq) of materialized histories
        self.change_events: list[dict] = []
        self.change_ts: list[int] = []
        self.change_services: list[frozenset[int]] = []
        self.cache: OrderedDict = OrderedDict()

    # ----------------------------------------------------------------------------------------- basics
    def __len__(self) -> int:
        return len(self.created)

    def slot_for(self, id_or_number: int | str) -> int | None:
        """Resolve an incident id ('Q1ABC2D') or number (int or digits) to its slot."""
        if isinstance(id_or_number, int) or (isinstance(id_or_number, str) and id_or_number.isdigit()):
            number = int(id_or_number)
        else:
            number = incident_number_from_id(str(id_or_number), self.salt)
            if number is None:
                return None
        return number - 1 if 1 <= number <= len(self.created) else None

    def incident(self, id_or_number: int | str) -> dict | None:
        """Rendered incident (a private copy: callers may mutate it), or None."""
        with self.lock:
            slot = self.slot_for(id_or_number)
            if slot is None:
                return None
            return orjson.loads(orjson.dumps(self.render(slot)))

    def cached(self, key: tuple, build):
        """Small LRU for computed result lists, valid for the current version only."""
        with self.lock:
            key = (self.version, *key)
            hit = self.cache.get(key)
            if hit is not None:
                self.cache.move_to_end(key)
                return hit
            value = build()
            self.cache[key] = value
            while len(self.cache) > 24:
                self.cache.popitem(last=False)
            return value

    # ------------------------------------------------------------------------------------- rendering
    def title(self, slot: int) -> str:
        """Stored custom title, else the template text derived from the incident number."""
        custom = self.titles.get(slot)
        if custom is not None:
            return custom
        return render_title(self.template[slot], slot + 1, self.entities.service_names[self.service[slot]])

    def last_status_change(self, slot: int) -> int:
        """Time of the last status change: resolve, else acknowledge, else trigger."""
        if slot in self.status_changed:
            return self.status_changed[slot]
        status = self.status[slot]
        if status == RESOLVED:
            return self.resolved[slot]
        if status == ACKNOWLEDGED:
            return self.acked[slot]
        return self.created[slot]

    def updated_at(self, slot: int) -> int:
        """Last change of any kind (status or assignment)."""
        return self.updated.get(slot, self.last_status_change(slot))

    def render(self, slot: int) -> dict:
        """Incident JSON as GET /incidents returns it. Shares nested constant dicts: do not mutate."""
        ent = self.entities
        number = slot + 1
        iid = incident_id(number, self.salt)
        title = self.title(slot)
        status = self.status[slot]
        svc = self.service[slot]
        created = self.created[slot]
        lsc = self.last_status_change(slot)
        u1 = self.user1[slot]
        user_ref = ent.user_refs[u1]
        if status == RESOLVED:
            assignments: list = []
            acks: list = []
            changed_by = ent.service_refs[svc] if self.flags[slot] & FLAG_AUTO_RESOLVED else user_ref
        else:
            at = iso(self.assigned_at.get(slot, created))
            assignments = [{"at": at, "assignee": user_ref}]
            u2 = self.user2[slot]
            if u2 != NO_USER:
                assignments.append({"at": at, "assignee": ent.user_refs[u2]})
            if status == ACKNOWLEDGED:
                acker = ent.user_refs[self.acker.get(slot, u1)]
                acks = [{"at": iso(self.acked[slot]), "acknowledger": acker}]
                changed_by = acker
            else:
                acks = []
                changed_by = ent.service_refs[svc]
        alerts = self.alerts[slot]
        open_alerts = 0 if status == RESOLVED else alerts
        incident = {
            "id": iid,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": f"{API_BASE}/incidents/{iid}",
            "html_url": f"{WEB_BASE}/incidents/{iid}",
            "incident_number": number,
            "title": title,
            "description": title,
            "created_at": iso(created),
            "updated_at": iso(self.updated_at(slot)),
            "status": STATUSES[status],
            "incident_key": f"{((number + self.salt) * INCIDENT_KEY_MULT) % (1 << 128):032x}",
            "service": ent.service_refs[svc],
            "assignments": assignments,
            "assigned_via": "escalation_policy",
            "last_status_change_at": iso(lsc),
            "resolved_at": iso(self.resolved[slot]) if status == RESOLVED else None,
            "first_trigger_log_entry": {
                "id": log_entry_id(slot, 0, self.salt),
                "type": "trigger_log_entry_reference",
                "summary": "Triggered through the API.",
                "self": f"{API_BASE}/log_entries/{log_entry_id(slot, 0, self.salt)}",
                "html_url": f"{WEB_BASE}/incidents/{iid}/log_entries/{log_entry_id(slot, 0, self.salt)}",
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
            "priority": ent.priority_refs[self.priority[slot]],
            "resolve_reason": None,
            "conference_bridge": None,
            "urgency": URGENCIES[self.urgency[slot]],
        }
        if self.flags[slot] & FLAG_OMIT_RESOLVED_AT:
            del incident["resolved_at"]
        extra = self.extra.get(slot)
        if extra:
            incident.update(extra)
        return incident

    # ------------------------------------------------------------------------------------- mutations
    def _append(
        self,
        created: int,
        svc: int,
        status: int,
        urgency: int,
        priority: int,
        template: int,
        u1: int,
        u2: int,
        alerts: int,
        flags: int,
        acked: int,
        resolved: int,
    ) -> int:
        """Append one incident's columns; returns its slot (indexes are updated by _index)."""
        slot = len(self.created)
        if slot >= MAX_SLOTS:
            raise OverflowError("too many incidents")
        if created < BASE_TS:
            raise ValueError("created_at before 2000-01-01 is not supported")
        self.created.append(created)
        self.resolved.append(resolved)
        self.acked.append(acked)
        self.service.append(svc)
        self.status.append(status)
        self.urgency.append(urgency)
        self.priority.append(priority)
        self.template.append(template)
        self.user1.append(u1)
        self.user2.append(u2)
        self.alerts.append(alerts)
        self.flags.append(flags)
        return slot

    def _index(self, slot: int) -> None:
        """Insert a new slot into the sorted indexes (O(n) memmove, fine for occasional additions)."""
        key = (self.created[slot] - BASE_TS) << SLOT_BITS | slot
        insort(self.keys, key)
        insort(self.service_keys[self.service[slot]], key)
        if self.status[slot] != RESOLVED:
            self.open.add(slot)

    def _history(self, slot: int) -> list[tuple]:
        """Materialize an incident's history so mutations can append to it."""
        hist = self.history.get(slot)
        if hist is None:
            hist = logs.base_events(self, slot)
            self.history[slot] = hist
            for seq, event in enumerate(hist):
                insort(self.mutation_events, (event[0], slot, seq))
        return hist

    def _record(self, slot: int, event: tuple) -> None:
        hist = self._history(slot)
        hist.append(event)
        insort(self.mutation_events, (event[0], slot, len(hist) - 1))

    def _pick_user(self, svc: int, rng: random.Random, avoid: int = NO_USER) -> int:
        pool = [u for u in self.entities.service_pool[svc] if u != avoid]
        if not pool:
            pool = [u for u in range(len(self.entities.user_ids)) if u != avoid]
        return rng.choice(pool)

    def add_incident(
        self,
        created_at: datetime,
        service_index: int = 0,
        status: str = "triggered",
        title: str | None = None,
        **overrides,
    ) -> dict:
        """Insert an incident with the next incident number; returns it rendered.

        Known overrides: urgency ("high"/"low"), priority ("P1".."P5" or None), assignee (user index),
        acknowledged_at / resolved_at / updated_at (datetimes), omit_resolved_at (bool), auto_resolved
        (bool). Any other key is copied verbatim into the incident JSON (e.g. description=None).
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        if not 0 <= service_index < len(self.entities.service_ids):
            raise ValueError("service_index out of range")
        with self.lock:
            created = to_ts(created_at)
            number = len(self.created) + 1
            urgency = URGENCIES.index(overrides.pop("urgency", "high"))
            prio_name = overrides.pop("priority", None)
            priority = 0 if prio_name is None else int(str(prio_name).lstrip("Pp"))
            if not 0 <= priority <= 5:
                raise ValueError("priority must be P1..P5 or None")
            u1 = overrides.pop("assignee", None)
            if u1 is None:
                pool = self.entities.service_pool[service_index]
                u1 = pool[number % len(pool)]
            code = STATUSES.index(status)
            ack_at = overrides.pop("acknowledged_at", None)
            res_at = overrides.pop("resolved_at", None)
            upd_at = overrides.pop("updated_at", None)
            acked = to_ts(ack_at) if ack_at is not None else (created + 60 if code == ACKNOWLEDGED else -1)
            resolved = to_ts(res_at) if res_at is not None else (created + 300 if code == RESOLVED else -1)
            if code != RESOLVED:
                resolved = -1
            if code == TRIGGERED:
                acked = -1
            flags = (FLAG_OMIT_RESOLVED_AT if overrides.pop("omit_resolved_at", False) else 0) | (
                FLAG_AUTO_RESOLVED if overrides.pop("auto_resolved", False) else 0
            )
            slot = self._append(
                created,
                service_index,
                code,
                urgency,
                priority,
                number % 8,
                u1,
                NO_USER,
                1,
                flags,
                acked,
                resolved,
            )
            if title is not None:
                self.titles[slot] = title
            if upd_at is not None:
                self.updated[slot] = to_ts(upd_at)
            if overrides:
                self.extra[slot] = dict(overrides)
            self._index(slot)
            self._history(slot)
            self.version += 1
            return orjson.loads(orjson.dumps(self.render(slot)))

    def step(
        self,
        new: int = 5,
        acknowledge: int = 2,
        reassign: int = 2,
        resolve: int = 3,
        now: datetime | None = None,
    ) -> dict:
        """Apply one deterministic round of changes, as PagerDuty would show them, and report it.

        Each touched incident gets exactly one kind of change, so callers can derive expectations from
        the returned incident numbers alone. Fewer changes are made when too few open incidents exist.
        """
        with self.lock:
            self.steps += 1
            rng = random.Random(f"{self.seed}:{self.steps}")
            ts = to_ts(now) if now is not None else now_ts()
            eligible = sorted(s for s in self.open if self.created[s] <= ts)
            triggered = [s for s in eligible if self.status[s] == TRIGGERED]
            to_ack = rng.sample(triggered, min(acknowledge, len(triggered)))
            taken = set(to_ack)
            rest = [s for s in eligible if s not in taken]
            to_reassign = rng.sample(rest, min(reassign, len(rest)))
            taken.update(to_reassign)
            rest = [s for s in rest if s not in taken]
            to_resolve = rng.sample(rest, min(resolve, len(rest)))
            for slot in to_ack:
                self._history(slot)
                self.status[slot] = ACKNOWLEDGED
                self.acked[slot] = ts
                self.acker.pop(slot, None)
                self.status_changed[slot] = ts
                self.updated[slot] = ts
                self._record(slot, (ts, logs.ACKNOWLEDGE, self.user1[slot], ()))
            for slot in to_reassign:
                self._history(slot)
                old = self.user1[slot]
                if self.status[slot] == ACKNOWLEDGED:
                    self.acker.setdefault(slot, old)
                new_user = self._pick_user(self.service[slot], rng, avoid=old)
                self.user1[slot] = new_user
                self.user2[slot] = NO_USER
                self.assigned_at[slot] = ts
                self.updated[slot] = ts
                self._record(slot, (ts, logs.ASSIGN, old, (new_user,)))
            for slot in to_resolve:
                self._history(slot)
                self.status[slot] = RESOLVED
                self.resolved[slot] = ts
                self.flags[slot] &= ~(FLAG_OMIT_RESOLVED_AT | FLAG_AUTO_RESOLVED)
                self.status_changed[slot] = ts
                self.updated[slot] = ts
                self.open.discard(slot)
                self._record(slot, (ts, logs.RESOLVE, self.user1[slot], ()))
            created = []
            for _ in range(max(0, new)):
                svc = rng.randrange(len(self.entities.service_ids))
                when = ts - rng.randrange(60)
                number = len(self.created) + 1
                urgency = int(rng.random() < 0.3)
                priority = PRIORITY_TABLE[rng.randrange(1000)]
                slot = self._append(
                    when,
                    svc,
                    TRIGGERED,
                    urgency,
                    priority,
                    rng.randrange(8),
                    self._pick_user(svc, rng),
                    NO_USER,
                    1,
                    0,
                    -1,
                    -1,
                )
                self._index(slot)
                self._history(slot)
                created.append(number)
            self.version += 1
            return {
                "acknowledged": sorted(s + 1 for s in to_ack),
                "reassigned": sorted(s + 1 for s in to_reassign),
                "resolved": sorted(s + 1 for s in to_resolve),
                "created": created,
            }


# ------------------------------------------------------------------------------------------ generate
def _default_end() -> datetime:
    return datetime.fromtimestamp(now_ts(), tz=UTC)


def generate(
    seed: int,
    size: int,
    services: int = 5,
    days: int = 365,
    end: datetime | None = None,
    burst: int = 0,
    burst_service: int = 0,
    burst_start: datetime | None = None,
    burst_days: int = 7,
    change_events_now: datetime | None = None,
) -> Dataset:
    """Build a deterministic account of `size` incidents created over [end - days, end].

    `burst` of them (counted inside `size`) belong to service `burst_service` and are created within
    `burst_days` days from `burst_start` (default: the middle of the range), to force a loader past the
    API's 10,000-result window. Change events are anchored to `change_events_now` (default: the real
    clock) because PagerDuty's 90-day retention is relative to the real present.
    """
    if not 1 <= size < MAX_SLOTS // 2:
        raise ValueError("size must be between 1 and 8,000,000")
    if days < 1:
        raise ValueError("days must be >= 1")
    rng = random.Random(seed)
    ent = build_entities(rng, services)
    if not 0 <= burst_service < services:
        raise ValueError("burst_service out of range")
    end_ts = to_ts(end or _default_end())
    start_ts = end_ts - days * DAY
    ds = Dataset(seed, ent, end_ts, salt=rng.randrange(36**6))
    burst = max(0, min(burst, size))
    span = end_ts - start_ts + 1
    rnd = rng.random
    ckeys = [(start_ts + int(rnd() * span)) << 1 for _ in range(size - burst)]
    if burst:
        b_start = to_ts(burst_start) if burst_start else start_ts + (end_ts - start_ts) // 2
        b_end = min(end_ts, b_start + burst_days * DAY)
        b_start = max(start_ts, min(b_start, b_end))
        b_span = b_end - b_start + 1
        ckeys.extend((b_start + int(rnd() * b_span)) << 1 | 1 for _ in range(burst))
    ckeys.sort()
    _fill(ds, ckeys, rng, burst_service)
    _ensure_variety(ds, rng)
    ds.keys = array("q", ((ds.created[s] - BASE_TS) << SLOT_BITS | s for s in range(size)))
    for slot, key in enumerate(ds.keys):
        ds.service_keys[ds.service[slot]].append(key)
    ds.open = {s for s in range(size) if ds.status[s] != RESOLVED}
    anchor = to_ts(change_events_now) if change_events_now else now_ts()
    generate_change_events(ds, random.Random(f"{seed}:changes"), anchor)
    return ds


def _fill(ds: Dataset, ckeys: list[int], rng: random.Random, burst_service: int) -> None:
    """Draw every column for incidents already sorted by created_at (the hot loop: keep it lean)."""
    ent = ds.entities
    rnd = rng.random
    end = ds.end
    n_svc = len(ent.service_ids)
    svc_table = _table(_service_weights(n_svc))
    titles = title_table()
    pools = ent.service_pool
    created, resolved, acked = ds.created, ds.resolved, ds.acked
    service, status, urgency, priority = ds.service, ds.status, ds.urgency, ds.priority
    template, user1, user2, alerts, flags = ds.template, ds.user1, ds.user2, ds.alerts, ds.flags
    for ck in ckeys:
        c = ck >> 1
        s = burst_service if ck & 1 else svc_table[int(rnd() * 1000)]
        created.append(c)
        service.append(s)
        pool = pools[s]
        u1 = pool[int(rnd() * 4)]
        user1.append(u1)
        if rnd() < 0.15:
            u2 = pool[int(rnd() * 4)]
            user2.append(NO_USER if u2 == u1 else u2)
        else:
            user2.append(NO_USER)
        urgency.append(1 if rnd() < 0.3 else 0)
        priority.append(PRIORITY_TABLE[int(rnd() * 1000)])
        template.append(titles[int(rnd() * 1000)])
        alerts.append(ALERTS_TABLE[int(rnd() * 1000)])
        room = end - c
        r = rnd()
        if room < RECENT:
            st = TRIGGERED if r < 0.35 else ACKNOWLEDGED if r < 0.55 else RESOLVED
        else:
            st = RESOLVED if r >= STALE_OPEN else TRIGGERED if r < STALE_OPEN / 2 else ACKNOWLEDGED
        status.append(st)
        flag = 0
        if st == RESOLVED:
            r = rnd()
            if r < 0.15:
                dur = 5 + int(rnd() * 55)
            elif r < 0.5:
                dur = 60 + int(rnd() * 3540)
            elif r < 0.85:
                dur = 3600 + int(rnd() * 82800)
            else:
                dur = DAY + int(rnd() * 4 * DAY)
            if dur > room:
                dur = max(min(room, 1), int(room * rnd()))
            res = c + dur
            resolved.append(res)
            if dur > 1 and rnd() < 0.7:
                acked.append(c + 1 + int((dur - 1) * 0.5 * rnd()))
            else:
                acked.append(-1)
                if rnd() < 0.25:
                    flag = FLAG_AUTO_RESOLVED
            if res < RESOLVED_AT_INTRODUCED and rnd() < 0.5:
                flag |= FLAG_OMIT_RESOLVED_AT
        elif st == ACKNOWLEDGED:
            resolved.append(-1)
            acked.append(c + min(room, 30 + int(rnd() * 1800)))
        else:
            resolved.append(-1)
            acked.append(-1)
        flags.append(flag)


def _service_weights(n: int) -> list[tuple[int, int]]:
    """Uneven service shares (some services are noisier), summing to exactly 1000."""
    raw = [1.0 / (1 + 0.35 * i) for i in range(n)]
    total = sum(raw)
    weights = [max(1, int(1000 * w / total)) for w in raw]
    while sum(weights) > 1000:
        weights[weights.index(max(weights))] -= 1
    weights[0] += 1000 - sum(weights)
    return list(enumerate(weights))


def _ensure_variety(ds: Dataset, rng: random.Random) -> None:
    """Guarantee every status and every special title kind exists, even in tiny datasets."""
    size = len(ds)
    if size >= 10:
        present = set(ds.template)
        missing = [t for t in SPECIAL_TEMPLATES if t not in present]
        for t, slot in zip(missing, rng.sample(range(size), len(missing)), strict=True):
            ds.template[slot] = t
    counts = [ds.status.count(st) for st in (TRIGGERED, ACKNOWLEDGED, RESOLVED)]
    missing = [st for st in (TRIGGERED, ACKNOWLEDGED, RESOLVED) if counts[st] == 0]
    for slot in range(size - 1, -1, -1):  # newest first: recent incidents are the plausible open ones
        if not missing:
            break
        current = ds.status[slot]
        if counts[current] < 2:
            continue
        st = missing.pop(0)
        counts[current] -= 1
        counts[st] += 1
        c = ds.created[slot]
        room = max(0, ds.end - c)
        ds.status[slot] = st
        ds.flags[slot] = 0
        ds.resolved[slot] = c + min(room, 600) if st == RESOLVED else -1
        ds.acked[slot] = c + min(room, 120) if st == ACKNOWLEDGED else -1


assert len(TITLE_TEMPLATES) < 256
