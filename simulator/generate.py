"""Deterministic generation of a synthetic account: incidents (column-wise, fast) and change events.

Incidents are drawn straight into a fresh Dataset's columns (the fast path: a million in seconds), then
the Dataset builds its own indexes; change events go through Dataset.add_change_event. How they look in
the API is render.py's business, and how they change afterwards is the Dataset's.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .catalog import (
    ACK_TIMEOUT,
    ACKNOWLEDGE,
    ACKNOWLEDGED,
    ALERTS_TABLE,
    ASSIGN,
    DELEGATE,
    ESCALATE,
    ESCALATION_TIMEOUT,
    FLAG_AUTO_RESOLVED,
    FLAG_OMIT_RESOLVED_AT,
    INTEGRATIONS,
    MANUAL,
    NO_USER,
    NOTIFY,
    PRIORITY_TABLE,
    RESOLVE,
    RESOLVED,
    RESOLVED_AT_INTRODUCED,
    SNOOZE,
    SPECIAL_TEMPLATES,
    TITLE_TEMPLATES,
    TRIGGER,
    TRIGGERED,
    UNACKNOWLEDGE,
    title_table,
    weighted_table,
)
from .entities import build_entities
from .store import MAX_SLOTS, Dataset
from .times import EPOCH, from_ts, now_ts, to_ts, zone

DAY = 86_400
RECENT = 3 * DAY  # incidents younger than this (relative to `end`) get a mix of statuses
STALE_OPEN = 0.002  # share of older incidents still open ("forgotten" incidents)
# Change events: PagerDuty keeps only 90 days of them; generating 120 days lets tests see that a loader
# cannot get the older ones (the server hides them, the dataset still has them).
CHANGE_SPAN_DAYS = 120
CHANGES_PER_SERVICE = 150


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
    responders: bool = False,
) -> Dataset:
    """Build a deterministic account of `size` incidents created over [end - days, end].

    `burst` of them (counted inside `size`) belong to service `burst_service` and are created within
    `burst_days` days from `burst_start` (default: the middle of the range), to force a loader past the
    API's 10,000-result window. Change events are anchored to `change_events_now` (default: the real
    clock) because PagerDuty's 90-day retention is relative to the real present.

    `responders` writes each incident's full response as log entries (notifications per user and channel,
    escalations by timeout and by hand, reassignments, delegations, snoozes, acknowledgement timeouts): see
    _respond. Off by default: it stores every incident's history (about 10 entries each), which a million
    incidents do not need to test the loader.
    """
    if not 1 <= size < MAX_SLOTS // 2:
        raise ValueError("size must be between 1 and 8,000,000")
    if days < 1:
        raise ValueError("days must be >= 1")
    rng = random.Random(seed)
    ent = build_entities(rng, services)
    if not 0 <= burst_service < services:
        raise ValueError("burst_service out of range")
    end_ts = to_ts(end or from_ts(now_ts()))
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
    ds.build_indexes()
    if responders:
        _respond(ds, random.Random(f"{seed}:responders"))
    anchor = to_ts(change_events_now) if change_events_now else now_ts()
    _change_events(ds, random.Random(f"{seed}:changes"), anchor)
    return ds


def _fill(ds: Dataset, ckeys: list[int], rng: random.Random, burst_service: int) -> None:
    """Draw every column for incidents already sorted by created_at (the hot loop: keep it lean)."""
    ent = ds.entities
    rnd = rng.random
    end = ds.end
    n_svc = len(ent.service_ids)
    svc_table = weighted_table(_service_weights(n_svc))
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


def _respond(ds: Dataset, rng: random.Random) -> None:
    """Write every incident's response as PagerDuty logs it, consistent with its columns.

    At creation the assignees are notified (high urgency: push notification and SMS; low: email). Until the
    first acknowledgement (or resolution), the escalation policy escalates every ESCALATION_TIMEOUT seconds to
    the next user of the service's pool, at most twice, each new assignee notified; whoever holds the incident
    acknowledges it. Then, for some resolved incidents: a snooze of an hour (unacknowledged at its end,
    notified and acknowledged again), a manual escalation to a second responder who acknowledges too, a
    reassignment, a delegation, or the acknowledgement expiring after ACK_TIMEOUT. Incidents resolve by
    their holder, or by the service (auto-resolved). Pages fall at any hour of the responders' own zones.
    """
    ent = ds.entities
    for slot in range(len(ds)):
        c, svc = ds.created[slot], ds.service[slot]
        u1, u2 = ds.user1[slot], ds.user2[slot]
        pool = ent.service_pool[svc]
        channels = ("push_notification", "sms") if ds.urgency[slot] == 0 else ("email",)
        events: list = [(c, TRIGGER, -1, (), svc, None)]
        hand = _hand_over(events, svc, channels)
        first = (u1,) if u2 == NO_USER else (u1, u2)
        events.append((c, ASSIGN, -1, first, svc, None))
        for user in first:
            events.extend((c, NOTIFY, -1, (user,), svc, ch) for ch in channels)
        holder, level = u1, pool.index(u1) if u1 in pool else 0
        acked, resolved = ds.acked[slot], ds.resolved[slot] if ds.status[slot] == RESOLVED else -1
        until = min(t for t in (acked, resolved, ds.end) if t >= 0)
        at = c + ESCALATION_TIMEOUT
        while at < until and at - c <= 2 * ESCALATION_TIMEOUT:
            level += 1
            holder = pool[level % len(pool)]
            hand(at, ESCALATE, -1, holder)
            ds.assigned_at[slot] = at
            at += ESCALATION_TIMEOUT
        if holder != u1:
            ds.user1[slot], ds.user2[slot] = holder, NO_USER
        if acked >= 0:
            events.append((acked, ACKNOWLEDGE, holder, (), svc, None))
            ds.acker[slot] = holder
            room = resolved - acked if resolved >= 0 else 0
            other = pool[(level + 1) % len(pool)]
            roll = rng.random()
            if roll < 0.08 and room > 3600 + 300:
                events.append((acked + 60, SNOOZE, holder, (), svc, 3600))
                events.append((acked + 3660, UNACKNOWLEDGE, -1, (), svc, None))
                events.extend((acked + 3660, NOTIFY, -1, (holder,), svc, ch) for ch in channels)
                events.append((acked + 3780, ACKNOWLEDGE, holder, (), svc, None))
            elif roll < 0.14 and room > 600 and other != holder:
                hand(acked + 300, ESCALATE, holder, other, MANUAL)
                events.append((acked + 420, ACKNOWLEDGE, other, (), svc, None))
                holder = other
            elif roll < 0.18 and room > 600 and other != holder:
                hand(acked + 300, ASSIGN, holder, other)
                holder = other
            elif roll < 0.20 and room > 600 and other != holder:
                hand(acked + 300, DELEGATE, holder, other)
                holder = other
            elif roll < 0.26 and room > ACK_TIMEOUT + 300:
                events.append((acked + ACK_TIMEOUT, UNACKNOWLEDGE, -1, (), svc, None))
                events.extend((acked + ACK_TIMEOUT, NOTIFY, -1, (holder,), svc, ch) for ch in channels)
                events.append((acked + ACK_TIMEOUT + 240, ACKNOWLEDGE, holder, (), svc, None))
            if holder != ds.user1[slot]:
                ds.user1[slot], ds.user2[slot] = holder, NO_USER
        if resolved >= 0:
            auto = ds.flags[slot] & FLAG_AUTO_RESOLVED
            events.append((resolved, RESOLVE, -1 if auto else holder, (), svc, None))
        ds.history[slot] = events
        ds.mutation_events.extend((event[0], slot, seq) for seq, event in enumerate(events))
    ds.mutation_events.sort()


def _hand_over(events: list, svc: int, channels: tuple[str, ...]):
    """An incident's handover writer: the assign, escalate or delegate event, then the new holder's
    notifications on each channel at the same second."""

    def hand(ts: int, kind: int, agent: int, user: int, detail=None) -> None:
        events.append((ts, kind, agent, (user,), svc, detail))
        events.extend((ts, NOTIFY, -1, (user,), svc, ch) for ch in channels)

    return hand


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


def _change_events(ds: Dataset, rng: random.Random, anchor: int) -> None:
    """CHANGES_PER_SERVICE deploys per service over the CHANGE_SPAN_DAYS before `anchor`.

    Each integration writes its timestamps its own way (INTEGRATIONS: zone, milliseconds) and sends them
    its own way: GitHub Actions at once; Jenkins stamps a deploy at its start and sends it at its end
    (3 to 25 minutes later); Buildkite sends at once but one webhook in 20 is retried 1 to 6 hours later.
    About 15% of deploys name a second service (a shared library, a config push).
    """
    ent = ds.entities
    n_svc = len(ent.service_ids)
    start = anchor - CHANGE_SPAN_DAYS * DAY
    senders = [(zone(tz), millis) for _name, _source, tz, millis in INTEGRATIONS]
    rows = []
    for svc in range(n_svc):
        slug = ent.service_names[svc].lower().replace(" ", "-")
        for build in range(1, CHANGES_PER_SERVICE + 1):
            ms = (start + rng.randrange(CHANGE_SPAN_DAYS * DAY)) * 1000
            services = [svc]
            if n_svc > 1 and rng.random() < 0.15:
                services.append((svc + 1 + rng.randrange(n_svc - 1)) % n_svc)
            integ = 0 if rng.random() < 0.6 else (1 if rng.random() < 0.6 else 2)
            env = "production" if rng.random() < 0.7 else "staging"
            commit = f"{rng.getrandbits(40):010x}"
            tz, millis = senders[integ]
            if millis:
                ms += rng.randrange(1000)
            delay = 0  # seconds between the sender's timestamp and PagerDuty receiving it
            if integ == 1:
                delay = 180 + rng.randrange(1320)
            elif integ == 2 and rng.random() < 0.05:
                delay = 3600 + rng.randrange(5 * 3600)
            rows.append(
                (
                    ms,
                    tz.iso_ms(ms, millis),
                    services,
                    integ,
                    delay,
                    f"Deploy {slug} build {build} ({commit[:7]}) to {env}",
                    {"environment": env, "build": f"{slug}-{build}", "commit": commit},
                )
            )
    rows.sort(key=lambda row: row[0])
    for ms, text, services, integ, delay, summary, details in rows:
        sent = EPOCH + timedelta(milliseconds=ms + delay * 1000) if delay else None
        ds.add_change_event(text, services, sent, integ, details, summary)


assert len(TITLE_TEMPLATES) < 256
