"""One simulated PagerDuty account's state (the Dataset) and every change PagerDuty lets happen to it.

Incidents are stored column-wise (arrays and bytearrays, ~50 bytes each) and rendered to JSON on demand
(render.py), so a million of them fit in well under 100 MB. Sparse per-incident facts that only mutations
or add_incident() create (custom titles, reassignment times, merges, explicit history) live in dicts keyed
by slot. A slot is the incident number minus one, which never changes.

History: a generated incident keeps no stored history; its events (trigger, assign, acknowledge, resolve)
are derived from its columns (base_events). The first mutation of an incident materializes its history
into `history` and indexes every event in `mutation_events`, so account-wide log entry queries combine
both sources (query.log_window).
"""

from __future__ import annotations

import random
import threading
from array import array
from bisect import bisect_left, insort
from collections import OrderedDict
from datetime import UTC, datetime, tzinfo

import orjson

from . import render
from .catalog import (
    ACKNOWLEDGE,
    ACKNOWLEDGED,
    ASSIGN,
    ASSIGNING,
    BASE_TS,
    DELEGATE,
    ESCALATE,
    FLAG_AUTO_RESOLVED,
    FLAG_OMIT_RESOLVED_AT,
    INTEGRATIONS,
    LINK,
    MANUAL,
    MAX_EVENTS,
    NO_USER,
    NOTIFY,
    NOTIFY_CHANNELS,
    PRIORITY_CHANGE,
    PRIORITY_TABLE,
    REOPENED,
    RESOLVE,
    RESOLVED,
    SERVICE_CHANGE,
    SLOT_BITS,
    SNOOZE,
    STATUSES,
    TRIGGER,
    TRIGGERED,
    UNACKNOWLEDGE,
    UNLINK,
    URGENCIES,
    URGENCY_CHANGE,
    b36,
    incident_number_from_id,
    render_title,
)
from .entities import Entities
from .times import Zone, from_ts, now_ts, parse_iso, to_ts, to_us, zone

MAX_SLOTS = 1 << SLOT_BITS
_UNSET = object()

Event = tuple  # (ts, kind, agent user index or -1 for the service, assignee user indexes, service, detail)


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
        self.merged_into: dict[int, int] = {}
        self.extra: dict[int, dict] = {}
        self.visible_from: dict[int, int] = {}  # slot -> epoch second the API starts listing it
        self.deleted: set[int] = set()  # incidents removed from the account (404 everywhere)
        self.history: dict[int, list[Event]] = {}
        self.mutation_events: list[tuple[int, int, int]] = []  # (ts, slot, seq) of materialized histories
        # change events, sorted by (instant in ms, id); parallel lists
        self.change_events: list[dict] = []  # rendered once: no time zone applies to them
        self.change_keys: list[tuple[int, str]] = []
        self.change_services: list[frozenset[int]] = []
        self.change_integrations: list[int] = []
        self.change_sent: list[int] = []  # epoch ms PagerDuty received it (-1: always visible)
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

    def _slot(self, id_or_number: int | str) -> int:
        slot = self.slot_for(id_or_number)
        if slot is None:
            raise ValueError(f"no incident {id_or_number!r}")
        return slot

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

    # --------------------------------------------------------------------------------- derived facts
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
        """Last change of any kind (status, assignment, edit)."""
        return self.updated.get(slot, self.last_status_change(slot))

    def base_events(self, slot: int) -> list[Event]:
        """History implied by an incident's current columns (valid until its first mutation)."""
        created, svc = self.created[slot], self.service[slot]
        u1, u2 = self.user1[slot], self.user2[slot]
        assignees = (u1,) if u2 == NO_USER else (u1, u2)
        events: list[Event] = [
            (created, TRIGGER, -1, (), svc, None),
            (created, ASSIGN, -1, assignees, svc, None),
        ]
        if self.acked[slot] >= 0:
            events.append((self.acked[slot], ACKNOWLEDGE, self.acker.get(slot, u1), (), svc, None))
        if self.status[slot] == RESOLVED and self.resolved[slot] >= 0:
            auto = self.flags[slot] & FLAG_AUTO_RESOLVED
            events.append((self.resolved[slot], RESOLVE, -1 if auto else u1, (), svc, None))
        return events

    def events(self, slot: int) -> list[Event]:
        """An incident's full history in recorded order (a log entry's seq is its position here)."""
        hist = self.history.get(slot)
        return hist if hist is not None else self.base_events(slot)

    def assignment_history(self, id_or_number: int | str) -> list[tuple[datetime, str, str]]:
        """Every (time, user id, user name) the incident was ever assigned to, oldest first: the
        trigger's assignment, then each reassignment and escalation."""
        with self.lock:
            slot = self._slot(id_or_number)
            ent = self.entities
            ordered = sorted((event[0], seq, event) for seq, event in enumerate(self.events(slot)))
            return [
                (from_ts(ts), ent.user_ids[user], ent.user_refs[user]["summary"])
                for ts, _seq, event in ordered
                if event[1] in ASSIGNING
                for user in event[3]
            ]

    # ------------------------------------------------------------------------------------- rendering
    def render(self, slot: int, tz: Zone | tzinfo | str = UTC) -> dict:
        """Incident JSON as the API returns it, times in `tz`. Shares nested dicts: do not mutate."""
        return render.incident(self, slot, zone(tz))

    def incident(self, id_or_number: int | str, tz: Zone | tzinfo | str = UTC) -> dict | None:
        """Rendered incident (a private copy: callers may mutate it), or None."""
        with self.lock:
            slot = self.slot_for(id_or_number)
            if slot is None:
                return None
            return orjson.loads(orjson.dumps(self.render(slot, tz)))

    def log_entry(self, slot: int, seq: int, tz: Zone | tzinfo | str = UTC) -> dict:
        """The seq-th log entry of an incident, as the API returns it."""
        return render.log_entry(self, slot, seq, self.events(slot)[seq], zone(tz))

    # ------------------------------------------------------------------------------------- mutations
    def append_incident(
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
        """Append one incident's columns and index it; returns its slot."""
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
        key = (created - BASE_TS) << SLOT_BITS | slot
        insort(self.keys, key)
        insort(self.service_keys[svc], key)
        if status != RESOLVED:
            self.open.add(slot)
        return slot

    def build_indexes(self) -> None:
        """Build the sorted indexes and the open set after a bulk fill of columns in created_at order."""
        created, service, status = self.created, self.service, self.status
        self.keys = array("q", ((created[s] - BASE_TS) << SLOT_BITS | s for s in range(len(created))))
        service_keys = self.service_keys = [array("q") for _ in self.entities.service_ids]
        for slot, key in enumerate(self.keys):
            service_keys[service[slot]].append(key)
        self.open = {s for s in range(len(created)) if status[s] != RESOLVED}

    def _history(self, slot: int) -> list[Event]:
        """Materialize an incident's history so mutations can append to it."""
        hist = self.history.get(slot)
        if hist is None:
            hist = self.base_events(slot)
            self.history[slot] = hist
            for seq, event in enumerate(hist):
                insort(self.mutation_events, (event[0], slot, seq))
        return hist

    def _record(self, slot: int, ts: int, kind: int, agent: int, assignees: tuple = (), detail=None) -> None:
        """Append one event (a log entry) to a materialized history, on the incident's current service."""
        hist = self._history(slot)
        if len(hist) >= MAX_EVENTS:
            raise OverflowError("too many log entries for one incident")
        hist.append((ts, kind, agent, assignees, self.service[slot], detail))
        insort(self.mutation_events, (ts, slot, len(hist) - 1))

    def _pick_user(self, svc: int, rng: random.Random, avoid: int = NO_USER) -> int:
        pool = [u for u in self.entities.service_pool[svc] if u != avoid]
        if not pool:
            pool = [u for u in range(len(self.entities.user_ids)) if u != avoid]
        return rng.choice(pool)

    def _resolve(self, slot: int, ts: int) -> None:
        """Status columns of a resolution at ts (the caller records the log entry)."""
        self.status[slot] = RESOLVED
        self.resolved[slot] = ts
        self.flags[slot] &= ~(FLAG_OMIT_RESOLVED_AT | FLAG_AUTO_RESOLVED)
        self.status_changed[slot] = ts
        self.updated[slot] = ts
        self.open.discard(slot)

    def _check_service(self, service_index: int) -> None:
        if not (isinstance(service_index, int) and 0 <= service_index < len(self.entities.service_ids)):
            raise ValueError(f"service_index out of range: {service_index!r}")

    def add_incident(
        self,
        created_at: datetime,
        service_index: int = 0,
        status: str = "triggered",
        title: str | None = None,
        **overrides,
    ) -> dict:
        """Insert an incident with the next incident number; returns it rendered (UTC).

        Known overrides: urgency ("high"/"low"; None renders a null urgency), priority ("P1".."P5" or
        None), assignee (user index), acknowledged_at / resolved_at / updated_at (datetimes),
        omit_resolved_at (bool), auto_resolved (bool), visible_at (a datetime: listings show the incident
        only from then on, as an incident that reaches PagerDuty's index late). Any other key is copied
        verbatim into the incident JSON (e.g. description=None, incident_key=None).
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self._check_service(service_index)
        with self.lock:
            created = to_ts(created_at)
            number = len(self.created) + 1
            urgency_name = overrides.pop("urgency", "high")
            if urgency_name is None:
                overrides["urgency"] = None
            urgency = URGENCIES.index(urgency_name or "high")
            priority = self.entities.priority_code(overrides.pop("priority", None))
            visible_at = overrides.pop("visible_at", None)
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
            slot = self.append_incident(
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
            if visible_at is not None:
                self.visible_from[slot] = to_ts(visible_at)
            if overrides:
                self.extra[slot] = dict(overrides)
            self._history(slot)
            self.version += 1
            return self.incident(number)

    def step(
        self,
        new: int = 5,
        acknowledge: int = 2,
        reassign: int = 2,
        resolve: int = 3,
        now: datetime | None = None,
        escalate: int = 0,
    ) -> dict:
        """Apply one deterministic round of changes, as PagerDuty would show them, and report it.

        Each touched incident gets exactly one kind of change, so callers can derive expectations from
        the returned incident numbers alone. Fewer changes are made when too few open incidents exist.
        Escalations (by the escalation policy's timeout) happen to triggered incidents only: each moves
        the assignment to another user and writes an escalate_log_entry.
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
            taken.update(to_resolve)
            rest = [s for s in triggered if s not in taken]
            to_escalate = rng.sample(rest, min(max(0, escalate), len(rest)))
            for slot in to_ack:
                self._history(slot)
                self.status[slot] = ACKNOWLEDGED
                self.acked[slot] = ts
                self.acker.pop(slot, None)
                self.status_changed[slot] = ts
                self.updated[slot] = ts
                self._record(slot, ts, ACKNOWLEDGE, self.user1[slot])
            for slot in to_reassign:
                self._history(slot)
                old = self.user1[slot]
                if self.status[slot] == ACKNOWLEDGED:
                    self.acker.setdefault(slot, old)
                self._assign(slot, ts, self._pick_user(self.service[slot], rng, avoid=old))
                self._record(slot, ts, ASSIGN, old, (self.user1[slot],))
            for slot in to_resolve:
                self._history(slot)
                self._resolve(slot, ts)
                self._record(slot, ts, RESOLVE, self.user1[slot])
            for slot in to_escalate:
                self._history(slot)
                self._assign(slot, ts, self._pick_user(self.service[slot], rng, avoid=self.user1[slot]))
                self._record(slot, ts, ESCALATE, -1, (self.user1[slot],))
            created = []
            for _ in range(max(0, new)):
                svc = rng.randrange(len(self.entities.service_ids))
                when = ts - rng.randrange(60)
                number = len(self.created) + 1
                urgency = int(rng.random() < 0.3)
                priority = PRIORITY_TABLE[rng.randrange(1000)]
                slot = self.append_incident(
                    when, svc, TRIGGERED, urgency, priority, rng.randrange(8), self._pick_user(svc, rng),
                    NO_USER, 1, 0, -1, -1,
                )  # fmt: skip
                self._history(slot)
                created.append(number)
            self.version += 1
            return {
                "acknowledged": sorted(s + 1 for s in to_ack),
                "reassigned": sorted(s + 1 for s in to_reassign),
                "resolved": sorted(s + 1 for s in to_resolve),
                "escalated": sorted(s + 1 for s in to_escalate),
                "created": created,
            }

    # ------------------------------------------------------------------------------- responders
    # What happens between a page and its resolution, one log entry each, as PagerDuty writes them: the
    # notifications of each user on each channel, acknowledgements and their expiry, escalations by the
    # policy's timeout or by hand, reassignments and delegations, snoozes. Tests script incidents with these;
    # generate(responders=True) writes such stories for every incident.
    def _open_slot(self, number: int | str, ts: int) -> int:
        slot = self._slot(number)
        if self.status[slot] == RESOLVED:
            raise ValueError(f"incident #{slot + 1} is resolved")
        if ts < self.created[slot]:
            raise ValueError("at is before the incident was created")
        self._history(slot)
        return slot

    def _check_user(self, user: int) -> None:
        if not (isinstance(user, int) and 0 <= user < len(self.entities.user_ids)):
            raise ValueError(f"user out of range: {user!r}")

    def notify(
        self, number: int | str, user: int, at: datetime, channels: tuple[str, ...] = ("sms",)
    ) -> None:
        """Notify a user of an incident, one notify_log_entry per channel (push_notification, sms, phone,
        email), at `at`: what interrupts a responder."""
        self._check_user(user)
        if not channels or any(ch not in NOTIFY_CHANNELS for ch in channels):
            raise ValueError(f"channels must be some of {NOTIFY_CHANNELS}")
        with self.lock:
            slot = self._slot(number)
            ts = to_ts(at)
            if ts < self.created[slot]:
                raise ValueError("at is before the incident was created")
            self._history(slot)
            for channel in channels:
                self._record(slot, ts, NOTIFY, -1, (user,), channel)
            self.version += 1

    def acknowledge(self, number: int | str, at: datetime, user: int | None = None) -> dict:
        """Acknowledge an open incident at `at` by `user` (default: its assignee). Acknowledging again (after
        an unacknowledge, or by a second responder) writes another acknowledge_log_entry."""
        with self.lock:
            ts = to_ts(at)
            slot = self._open_slot(number, ts)
            user = self.user1[slot] if user is None else user
            self._check_user(user)
            if self.status[slot] != ACKNOWLEDGED:
                self.status_changed[slot] = ts
            self.status[slot] = ACKNOWLEDGED
            self.acked[slot] = ts
            self.acker[slot] = user
            self.updated[slot] = ts
            self._record(slot, ts, ACKNOWLEDGE, user)
            self.version += 1
            return self.incident(slot + 1)

    def unacknowledge(self, number: int | str, at: datetime) -> dict:
        """The acknowledgement of an incident expires at `at` (the service's acknowledgement timeout, or the
        end of a snooze): it is triggered again, with an unacknowledge_log_entry (channel timeout)."""
        with self.lock:
            ts = to_ts(at)
            slot = self._open_slot(number, ts)
            if self.status[slot] != ACKNOWLEDGED:
                raise ValueError(f"incident #{slot + 1} is not acknowledged")
            self.status[slot] = TRIGGERED
            self.acked[slot] = -1
            self.acker.pop(slot, None)
            self.status_changed[slot] = ts
            self.updated[slot] = ts
            self._record(slot, ts, UNACKNOWLEDGE, -1)
            self.version += 1
            return self.incident(slot + 1)

    def snooze(self, number: int | str, at: datetime, seconds: int, user: int | None = None) -> dict:
        """Snooze an acknowledged incident for `seconds` (a snooze_log_entry whose changed_actions say when it
        will be unacknowledged); call unacknowledge() at its end to have it triggered again."""
        with self.lock:
            ts = to_ts(at)
            slot = self._open_slot(number, ts)
            if self.status[slot] != ACKNOWLEDGED:
                raise ValueError(f"incident #{slot + 1} is not acknowledged: only those can be snoozed")
            if not (isinstance(seconds, int) and seconds > 0):
                raise ValueError("seconds must be a positive int")
            user = self.acker.get(slot, self.user1[slot]) if user is None else user
            self.updated[slot] = ts
            self._record(slot, ts, SNOOZE, user, (), seconds)
            self.version += 1
            return self.incident(slot + 1)

    def escalate(
        self,
        number: int | str,
        at: datetime,
        to_user: int,
        by_user: int | None = None,
        channels: tuple[str, ...] = ("sms",),
    ) -> dict:
        """Escalate an open incident to the next level's user at `at`: by the escalation policy's timeout
        (`by_user` None: channel timeout, the service as agent) or by hand (`by_user`: channel website). The
        new assignee is notified on `channels` at once, as PagerDuty does."""
        return self._hand_over(number, at, to_user, by_user, channels, ESCALATE)

    def delegate(
        self,
        number: int | str,
        at: datetime,
        to_user: int,
        by_user: int,
        channels: tuple[str, ...] = ("sms",),
    ) -> dict:
        """Delegate an open incident to another user's escalation policy (a delegate_log_entry), notifying
        them on `channels`."""
        return self._hand_over(number, at, to_user, by_user, channels, DELEGATE)

    def _hand_over(
        self, number: int | str, at: datetime, to_user: int, by_user: int | None, channels: tuple, kind: int
    ) -> dict:
        self._check_user(to_user)
        with self.lock:
            ts = to_ts(at)
            slot = self._open_slot(number, ts)
            agent = -1 if by_user is None else by_user
            if by_user is not None:
                self._check_user(by_user)
            detail = MANUAL if (kind == ESCALATE and by_user is not None) else None
            self._assign(slot, ts, to_user)
            self._record(slot, ts, kind, agent, (to_user,), detail)
            self.version += 1
        if channels:
            self.notify(number, to_user, at, channels)
        with self.lock:
            return self.incident(slot + 1)

    def _assign(self, slot: int, ts: int, user: int) -> None:
        self.user1[slot] = user
        self.user2[slot] = NO_USER
        self.assigned_at[slot] = ts
        self.updated[slot] = ts

    def edit(
        self,
        number: int | str,
        at: datetime | None = None,
        priority=_UNSET,
        urgency=_UNSET,
        title=_UNSET,
        service_index=_UNSET,
    ) -> dict:
        """Edit an incident in any status (resolved ones too), as a responder does in the web UI.

        Any subset of priority (a name of the account's scheme, or None), urgency ("high"/"low"), title and
        service_index (moves the incident to that service). What PagerDuty writes: a
        priority_change_log_entry (channel.old_priority / new_priority), an urgency_change_log_entry, a
        service_change_log_entry (channel.old_service; `service` is the new one), each at `at` (default:
        now) by the incident's assignee; a title edit writes no log entry at all. updated_at becomes `at`
        when anything changed; last_status_change_at stays (it moves on status changes only), and so does
        resolved_at. Returns the incident rendered (UTC).
        """
        with self.lock:
            slot = self._slot(number)
            ts = to_ts(at) if at is not None else now_ts()
            if ts < self.created[slot]:
                raise ValueError("at is before the incident was created")
            changes: list[tuple[int, object]] = []
            if priority is not _UNSET:
                code = self.entities.priority_code(priority)
                if code != self.priority[slot]:
                    changes.append((PRIORITY_CHANGE, (self.priority[slot], code)))
            if urgency is not _UNSET:
                if urgency not in URGENCIES:
                    raise ValueError(f"urgency must be one of {URGENCIES}")
                if URGENCIES.index(urgency) != self.urgency[slot]:
                    changes.append((URGENCY_CHANGE, (self.urgency[slot], URGENCIES.index(urgency))))
            new_title = None
            if title is not _UNSET:
                if not isinstance(title, str) or not title:
                    raise ValueError("title must be a non-empty string")
                if title != self.title(slot):
                    new_title = title
            if service_index is not _UNSET:
                self._check_service(service_index)
                if service_index != self.service[slot]:
                    changes.append((SERVICE_CHANGE, (self.service[slot], service_index)))
            if not changes and new_title is None:
                return self.incident(slot + 1)
            self._history(slot)
            agent = self.user1[slot]
            if new_title is not None:  # no log entry: nothing in the account-wide log names this change
                self.titles[slot] = new_title
            for kind, detail in changes:
                if kind == PRIORITY_CHANGE:
                    self.priority[slot] = detail[1]
                elif kind == URGENCY_CHANGE:
                    self.urgency[slot] = detail[1]
                else:
                    self._move(slot, detail[1])
                self._record(slot, ts, kind, agent, (), detail)
            self.updated[slot] = ts
            self.version += 1
            return self.incident(slot + 1)

    def _move(self, slot: int, svc: int) -> None:
        """Move an incident to another service: its generated title is kept, the per-service index follows."""
        self.titles.setdefault(slot, self.title(slot))
        key = (self.created[slot] - BASE_TS) << SLOT_BITS | slot
        old_keys = self.service_keys[self.service[slot]]
        del old_keys[bisect_left(old_keys, key)]
        insort(self.service_keys[svc], key)
        self.service[slot] = svc

    def merge(
        self, source_numbers: list[int | str], into_number: int | str, at: datetime | None = None
    ) -> dict:
        """Merge open incidents into another one, as PagerDuty does.

        Each source is resolved at `at` (default now) with resolve_reason {"type": "merge_resolve_reason",
        "incident": <reference of the target>}, an unlink_log_entry (its alerts move out) and a
        resolve_log_entry ("Resolved by merge into [#N] ..."); its alerts move to the target, which gets a
        link_log_entry per source and updated_at = `at`. Returns {"incident": target, "merged": [sources]},
        rendered (UTC).
        """
        with self.lock:
            target = self._slot(into_number)
            sources = [self._slot(n) for n in source_numbers]
            if not sources:
                raise ValueError("nothing to merge")
            if target in sources or len(set(sources)) != len(sources):
                raise ValueError("sources must be distinct and different from the target")
            for slot in sources:
                if self.status[slot] == RESOLVED:
                    raise ValueError(f"incident #{slot + 1} is resolved: only open incidents can be merged")
            ts = to_ts(at) if at is not None else now_ts()
            if any(ts < self.created[s] for s in (*sources, target)):
                raise ValueError("at is before one of the incidents was created")
            agent = self.user1[target]
            self._history(target)
            for slot in sources:
                self._history(slot)
                self._resolve(slot, ts)
                self.merged_into[slot] = target
                self.alerts[target] = min(255, self.alerts[target] + self.alerts[slot])
                self.alerts[slot] = 0
                self._record(slot, ts, UNLINK, agent, (), target)
                self._record(slot, ts, RESOLVE, agent, (), target)
                self._record(target, ts, LINK, agent, (), slot)
            self.updated[target] = ts
            self.version += 1
            return {"incident": self.incident(target + 1), "merged": [self.incident(s + 1) for s in sources]}

    def reopen(self, number: int | str, at: datetime | None = None) -> dict:
        """Reopen a resolved incident, as a responder does in the web UI: it is triggered again (a
        trigger_log_entry "Reopened by ...", then an assign_log_entry to its assignee), its acknowledgement
        and resolved_at are gone until it is resolved again. An incident merged into another cannot be
        reopened. Returns it rendered (UTC)."""
        with self.lock:
            slot = self._slot(number)
            if self.status[slot] != RESOLVED:
                raise ValueError(f"incident #{slot + 1} is not resolved")
            if slot in self.merged_into:
                raise ValueError(f"incident #{slot + 1} was merged into another; it cannot be reopened")
            ts = to_ts(at) if at is not None else now_ts()
            if ts < self.resolved[slot]:
                raise ValueError("at is before the incident was resolved")
            self._history(slot)
            agent = self.user1[slot]
            self.status[slot] = TRIGGERED
            self.resolved[slot] = -1
            self.acked[slot] = -1
            self.acker.pop(slot, None)
            self.flags[slot] &= ~(FLAG_OMIT_RESOLVED_AT | FLAG_AUTO_RESOLVED)
            self.status_changed[slot] = ts
            self.open.add(slot)
            self._assign(slot, ts, agent)
            self._record(slot, ts, TRIGGER, agent, (), REOPENED)
            self._record(slot, ts, ASSIGN, -1, (agent,))
            self.version += 1
            return self.incident(slot + 1)

    def resolve(self, number: int | str, at: datetime | None = None, auto: bool = False) -> dict:
        """Resolve an open incident at `at`: by its assignee, or by the service's auto-resolve timeout."""
        with self.lock:
            slot = self._slot(number)
            if self.status[slot] == RESOLVED:
                raise ValueError(f"incident #{slot + 1} is already resolved")
            ts = to_ts(at) if at is not None else now_ts()
            if ts < self.last_status_change(slot):
                raise ValueError("at is before the incident's last status change")
            self._history(slot)
            self._resolve(slot, ts)
            if auto:
                self.flags[slot] |= FLAG_AUTO_RESOLVED
            self._record(slot, ts, RESOLVE, -1 if auto else self.user1[slot])
            self.version += 1
            return self.incident(slot + 1)

    def rename_priority(self, name: str, new_name: str) -> dict:
        """Rename a priority of the account's scheme. Every incident carrying it shows the new name at once;
        PagerDuty writes no log entry and does not touch the incidents' updated_at. Returns the priority."""
        with self.lock:
            code = self.entities.priority_code(name)
            if code == 0:
                raise ValueError("name a priority of the scheme")
            if not isinstance(new_name, str) or not new_name.strip():
                raise ValueError("new_name must be a non-empty string")
            ref = self.entities.priority_refs[code]
            ref["name"] = ref["summary"] = new_name.strip()
            self.version += 1
            return render.priority(self.entities, code)

    def add_late_assignment(self, number: int | str, at: datetime, assignees: list[int]) -> dict:
        """An assign_log_entry stamped `at` that PagerDuty indexes only now (log entries can become visible
        after their time stamp): the incident itself does not change. Returns the entry (UTC)."""
        with self.lock:
            slot = self._slot(number)
            ts = to_ts(at)
            if ts < self.created[slot]:
                raise ValueError("at is before the incident was created")
            if not assignees or not all(0 <= u < len(self.entities.user_ids) for u in assignees):
                raise ValueError("assignees must be user indexes")
            self._history(slot)
            self._record(slot, ts, ASSIGN, -1, tuple(assignees))
            self.version += 1
            return self.log_entry(slot, len(self.history[slot]) - 1)

    def rename_service(self, service_index: int, name: str) -> dict:
        """Rename a service. Incidents reference it live: their `service.summary` shows the new name at once,
        with no log entry and no change to their updated_at. Returns the service (UTC)."""
        with self.lock:
            self._check_service(service_index)
            if not isinstance(name, str) or not name.strip():
                raise ValueError("name must be a non-empty string")
            name = name.strip()
            ent = self.entities
            ent.service_names[service_index] = name
            ent.service_refs[service_index]["summary"] = name
            ent.service_objects[service_index].update(summary=name, name=name)
            ent.ep_refs[service_index]["summary"] = f"{name} Escalation"
            self.version += 1
            return render.service(ent, service_index, zone(UTC))

    def delete_incident(self, number: int | str) -> None:
        """Remove an incident from the account (a data deletion request): every listing and GET by id forget
        it, as if it had never been; its log entries go with it."""
        with self.lock:
            slot = self._slot(number)
            self.deleted.add(slot)
            self.open.discard(slot)
            self.version += 1

    def delete_service(self, service_index: int) -> None:
        """Delete a service: GET /services no longer lists it, its incidents stay as they are."""
        with self.lock:
            self._check_service(service_index)
            self.entities.deleted_services.add(service_index)
            self.version += 1

    def visible(self, slot: int, now: int) -> bool:
        """Whether the API shows the incident at epoch second `now` (see add_incident's visible_at, and
        delete_incident)."""
        if slot in self.deleted:
            return False
        since = self.visible_from.get(slot)
        return since is None or since <= now

    # --------------------------------------------------------------------------------- change events
    def add_change_event(
        self,
        timestamp: datetime | str,
        services: list[int],
        sent_at: datetime | None = None,
        integration: int = 0,
        custom_details: dict | None = None,
        summary: str | None = None,
        links: list | None = None,
    ) -> dict:
        """Record a change event as its sender wrote it; returns it rendered (with its `id`).

        `timestamp` (a datetime with any offset, or ISO text kept verbatim) is the sender's time: listings
        select and order by that instant. `sent_at` is when PagerDuty received it (None: always there):
        the API shows the event only once its clock has reached sent_at, so an event can appear later
        inside a window that a loader already read.
        """
        if isinstance(timestamp, str):
            text = timestamp.strip()
            moment = parse_iso(text)
        elif isinstance(timestamp, datetime):
            moment = timestamp
            text = _sender_text(timestamp)
        else:
            raise TypeError("timestamp must be a datetime or ISO-8601 text")
        if moment.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset")
        if not services:
            raise ValueError("a change event names at least one service")
        for svc in services:
            self._check_service(svc)
        if not (isinstance(integration, int) and 0 <= integration < len(INTEGRATIONS)):
            raise ValueError(f"integration out of range: {integration!r}")
        ms = to_us(moment) // 1000
        sent_ms = -1 if sent_at is None else to_us(sent_at) // 1000
        with self.lock:
            bits = random.Random(f"{self.seed}:change:{len(self.change_events)}").getrandbits(64)
            eid = "01" + b36(max(0, ms // 1000), 8) + b36(bits, 16)
            if summary is None:
                names = ", ".join(self.entities.service_names[s] for s in services)
                summary = f"Change to {names}"
            event = render.change_event(
                self.entities, eid, text, list(services), integration, summary,
                dict(custom_details or {}), list(links or []),
            )  # fmt: skip
            key = (ms, eid)
            at = bisect_left(self.change_keys, key)
            self.change_keys.insert(at, key)
            self.change_events.insert(at, event)
            self.change_services.insert(at, frozenset(services))
            self.change_integrations.insert(at, integration)
            self.change_sent.insert(at, sent_ms)
            self.version += 1
            return orjson.loads(orjson.dumps(event))


def _sender_text(moment: datetime) -> str:
    """A sender's ISO-8601 text for a datetime: Z for UTC, else its offset; milliseconds when present."""
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    if moment.tzinfo is UTC or getattr(moment.tzinfo, "key", None) == "UTC":
        text = text.replace("+00:00", "Z")
    return text
