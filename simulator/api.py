"""PagerDuty REST API v2 semantics, independent of the HTTP plumbing.

Api.handle() turns (method, request target, headers) into (status, endpoint label, JSON body, headers).
The rules it enforces are the ones a loader trips on: token auth, classic pagination with the
offset+limit <= 10,000 ceiling, the 6-month since/until range, naive timestamps read in the account's
time zone, times rendered in the account's zone (or the request's time_zone), change events listed by
their sender's timestamp but only once received, their 90-day retention, and a configurable boundary
convention for since/until.
"""

from __future__ import annotations

import calendar
import math
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from . import render
from .catalog import STATUSES, URGENCIES
from .query import (
    SORT_FIELDS,
    WINDOW_BOUNDS,
    ListView,
    change_events,
    half_open,
    incident_log,
    log_window,
    select_incidents,
)
from .store import Dataset
from .times import Zone, parse_iso, zone

MAX_WINDOW = 10_000
# Both wordings of the error PagerDuty answers past offset + limit 10,000 (code 2002), seen in real accounts.
OFFSET_WORDINGS = (
    "Offset+limit exceeds maximum allowed value of 10000",
    "Offset must be less than 10001",
)
CHANGE_EVENT_RETENTION = 90 * 86_400
ABILITIES = [
    "advanced_reports",
    "change_events",
    "event_rules",
    "response_plays",
    "service_support_hours",
    "sso",
    "teams",
    "urgencies",
    "read_only_users",
    "team_responders",
]


class ApiError(Exception):
    """An error answered as PagerDuty does: {"error": {"message", "code", "errors"}}."""

    def __init__(self, status: int, code: int, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = errors if errors is not None else [message]

    def body(self) -> bytes:
        error: dict = {"message": self.message, "code": self.code}
        if self.status != 401:
            error["errors"] = self.errors
        return orjson.dumps({"error": error})


def add_months(value: datetime, months: int) -> datetime:
    """Calendar-month arithmetic (Jan 31 + 1 month = Feb 28/29), as '1 month' / '6 months' mean."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


class Api:
    """Stateless request handler over one Dataset (the dataset does its own locking)."""

    def __init__(
        self,
        dataset: Dataset,
        token: str,
        account_time_zone: str = "America/Los_Angeles",
        window_bounds: str = "[)",
    ) -> None:
        self.ds = dataset
        self.auth = f"Token token={token}"
        self.zone = zone(account_time_zone)
        self.tz = self.zone.tzinfo
        self.window_bounds = check_window_bounds(window_bounds)
        # Behaviours of real accounts a loader must survive (set by the server's faults): listings that
        # answer total=true with null, and the other wording of the 10,000 ceiling's error.
        self.ignore_total = False
        self.offset_wording = OFFSET_WORDINGS[0]
        # The server's clock (epoch seconds), replaceable in tests: default windows, change event
        # retention and arrival, and the server's rate limits all read it.
        self.clock = time.time

    # -------------------------------------------------------------------------------------- routing
    def route(self, method: str, path: str) -> tuple[str, tuple]:
        """Endpoint label (used for stats) and path arguments."""
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if method == "GET":
            if parts == ["incidents"]:
                return "GET /incidents", ()
            if len(parts) == 2 and parts[0] == "incidents":
                return "GET /incidents/{id}", (parts[1],)
            if len(parts) == 3 and parts[0] == "incidents" and parts[2] == "log_entries":
                return "GET /incidents/{id}/log_entries", (parts[1],)
            if parts == ["log_entries"]:
                return "GET /log_entries", ()
            if parts == ["services"]:
                return "GET /services", ()
            if len(parts) == 2 and parts[0] == "services":
                return "GET /services/{id}", (parts[1],)
            if len(parts) == 3 and parts[0] == "services" and parts[2] == "change_events":
                return "GET /services/{id}/change_events", (parts[1],)
            if parts == ["change_events"]:
                return "GET /change_events", ()
            if parts == ["priorities"]:
                return "GET /priorities", ()
            if parts == ["teams"]:
                return "GET /teams", ()
            if parts == ["users"]:
                return "GET /users", ()
            if parts == ["abilities"]:
                return "GET /abilities", ()
        return f"{method} <unknown>", ()

    def handle(self, method: str, target: str, headers) -> tuple[int, str, bytes, dict]:
        """Answer one API request: (status, endpoint label, body, extra headers)."""
        split = urlsplit(target)
        label, args = self.route(method, split.path)
        try:
            if headers.get("Authorization") != self.auth:
                raise ApiError(401, 2006, "Unauthenticated")
            if label.endswith("<unknown>"):
                raise ApiError(404, 2100, "Not Found")
            query = parse_qs(split.query, keep_blank_values=True)
            handler = getattr(
                self, "_" + label.split(" ", 1)[1].strip("/").replace("/", "_").replace("{id}", "id")
            )
            payload = handler(query, *args)
            return 200, label, orjson.dumps(payload), {}
        except ApiError as err:
            return err.status, label, err.body(), {}

    # ------------------------------------------------------------------------------------ parameters
    @staticmethod
    def _one(query: dict, name: str) -> str | None:
        values = query.get(name)
        return values[-1] if values else None

    @staticmethod
    def _many(query: dict, name: str) -> list[str] | None:
        """Values of a repeatable `name[]` parameter, None when absent."""
        values = query.get(name + "[]")
        return values if values else None

    def _paging(self, query: dict) -> tuple[int, int, bool]:
        try:
            limit = int(self._one(query, "limit") or 25)
            offset = int(self._one(query, "offset") or 0)
        except ValueError:
            raise ApiError(
                400, 2001, "Invalid Input Provided", ["limit and offset must be integers"]
            ) from None
        if limit < 1 or offset < 0:
            raise ApiError(400, 2001, "Invalid Input Provided", ["limit must be >= 1 and offset >= 0"])
        limit = min(limit, 100)
        if offset + limit > MAX_WINDOW:
            raise ApiError(400, 2002, self.offset_wording, [self.offset_wording])
        total = (self._one(query, "total") or "").lower() == "true" and not self.ignore_total
        return limit, offset, total

    def _envelope(self, name: str, view, query: dict, render) -> dict:
        limit, offset, total = self._paging(query)
        with self.ds.lock:
            count = len(view)
            items = [render(item) for item in view.page(offset, limit)]
        return {
            name: items,
            "limit": limit,
            "offset": offset,
            "total": count if total else None,
            "more": offset + len(items) < count,
        }

    def _parse_time(self, value: str, name: str, require_utc: bool = False) -> datetime:
        """ISO-8601; without an offset the value is read in the account's time zone (the real trap)."""
        try:
            parsed = parse_iso(value)
        except ValueError:
            raise ApiError(
                400, 2004, "Invalid Input Provided", [f"{name} is not a valid ISO8601 date"]
            ) from None
        if parsed.tzinfo is None:
            if require_utc:
                raise ApiError(
                    400,
                    2004,
                    "Invalid Input Provided",
                    [f"{name} must be a UTC ISO8601 timestamp (e.g. 2024-01-01T00:00:00Z)"],
                )
            parsed = parsed.replace(tzinfo=self.tz)
        elif require_utc and parsed.utcoffset() != timedelta(0):
            raise ApiError(400, 2004, "Invalid Input Provided", [f"{name} must be in UTC"])
        return parsed.astimezone(UTC)

    def _zone(self, query: dict) -> Zone:
        """The zone a response's times are rendered in: the request's time_zone, else the account's."""
        name = self._one(query, "time_zone")
        if name is None:
            return self.zone
        try:
            return zone(name)
        except ValueError:
            raise ApiError(
                400, 2001, "Invalid Input Provided", [f"time_zone {name!r} is not a valid time zone"]
            ) from None

    def _window(self, query: dict) -> tuple[int | None, int | None]:
        """since/until as PagerDuty applies them (default the last month, at most 6 calendar months),
        as a half-open range of epoch seconds under the server's boundary convention."""
        if self._one(query, "date_range") == "all":
            return None, None
        raw_since, raw_until = self._one(query, "since"), self._one(query, "until")
        since = self._parse_time(raw_since, "since") if raw_since else None
        until = self._parse_time(raw_until, "until") if raw_until else None
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        if since is None and until is None:
            until = now
            since = add_months(now, -1)
        elif until is None:
            until = min(add_months(since, 1), now)
            if until < since:
                until = since
        elif since is None:
            since = add_months(until, -1)
        elif since > until or until > add_months(since, 6):
            raise ApiError(
                400,
                2005,
                "Invalid date range",
                ["The date range must be no more than 6 months, and since must precede until"],
            )
        return half_open(since, until, self.window_bounds)

    # ------------------------------------------------------------------------------------- endpoints
    def _incidents(self, query: dict) -> dict:
        since, until = self._window(query)
        statuses = self._codes(query, "statuses", STATUSES)
        urgencies = self._codes(query, "urgencies", URGENCIES)
        services = None
        service_ids = self._many(query, "service_ids")
        if service_ids is not None:
            services = [i for i in map(self.ds.entities.service_index, service_ids) if i is not None]
        team_ids = self._many(query, "team_ids")
        if team_ids is not None:
            ent = self.ds.entities
            teams = {ent.team_ids.index(t) for t in team_ids if t in ent.team_ids}
            in_teams = [i for i, t in enumerate(ent.service_team) if t in teams]
            services = in_teams if services is None else [s for s in services if s in in_teams]
        sort_by = self._one(query, "sort_by") or "created_at"
        field, _, direction = sort_by.partition(":")
        if field not in SORT_FIELDS or direction not in ("", "asc", "desc"):
            raise ApiError(400, 2001, "Invalid Input Provided", [f"sort_by {sort_by!r} is not supported"])
        tz = self._zone(query)
        with self.ds.lock:
            view = select_incidents(
                self.ds, since, until, services, statuses, urgencies, field, direction == "desc"
            )
            if self.ds.visible_from or self.ds.deleted:  # reaching the index late, or deleted
                now = int(self.clock())
                view = ListView([slot for slot in view.page(0, len(view)) if self.ds.visible(slot, now)])
            return self._envelope("incidents", view, query, lambda slot: render.incident(self.ds, slot, tz))

    @staticmethod
    def _codes(query: dict, name: str, allowed: tuple[str, ...]) -> set[int] | None:
        values = query.get(name + "[]")
        if not values:
            return None
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ApiError(400, 2001, "Invalid Input Provided", [f"{name} has invalid values: {unknown}"])
        return {allowed.index(v) for v in values}

    def _slot(self, ident: str) -> int:
        slot = self.ds.slot_for(ident)
        if slot is None or not self.ds.visible(slot, int(self.clock())):
            raise ApiError(404, 2100, "Not Found")
        return slot

    def _incidents_id(self, query: dict, ident: str) -> dict:
        tz = self._zone(query)
        with self.ds.lock:
            return {"incident": render.incident(self.ds, self._slot(ident), tz)}

    def _incidents_id_log_entries(self, query: dict, ident: str) -> dict:
        tz = self._zone(query)
        with self.ds.lock:
            slot = self._slot(ident)
            entries = incident_log(self.ds, slot)
            if self._one(query, "since") or self._one(query, "until"):
                since, until = self._window(query)
                entries = [
                    e for e in entries if (since is None or since <= e[0]) and (until is None or e[0] < until)
                ]
            return self._envelope("log_entries", ListView(entries), query, self._log_renderer(tz))

    def _log_renderer(self, tz: Zone):
        ds = self.ds
        return lambda item: render.log_entry(ds, item[1], item[2], ds.events(item[1])[item[2]], tz)

    def _log_entries(self, query: dict) -> dict:
        since, until = self._window(query)
        tz = self._zone(query)
        with self.ds.lock:
            entries = self.ds.cached(("log_entries", since, until), lambda: log_window(self.ds, since, until))
            return self._envelope("log_entries", ListView(entries), query, self._log_renderer(tz))

    def _services(self, query: dict) -> dict:
        ent = self.ds.entities
        tz = self._zone(query)
        text = (self._one(query, "query") or "").lower()
        rows = sorted(
            (
                i
                for i, obj in enumerate(ent.service_objects)
                if text in obj["name"].lower() and i not in ent.deleted_services
            ),
            key=lambda i: ent.service_names[i].lower(),
        )
        return self._envelope("services", ListView(rows), query, lambda i: render.service(ent, i, tz))

    def _priorities(self, query: dict) -> dict:
        """The account's priority scheme, in its order (P1 first), with the names it has now."""
        ent = self.ds.entities
        with self.ds.lock:
            codes = ListView(range(1, len(ent.priority_refs)))
            return self._envelope("priorities", codes, query, lambda code: render.priority(ent, code))

    def _teams(self, query: dict) -> dict:
        ent = self.ds.entities
        return self._envelope(
            "teams", ListView(range(len(ent.team_ids))), query, lambda i: render.team(ent, i)
        )

    def _users(self, query: dict) -> dict:
        ent = self.ds.entities
        return self._envelope(
            "users", ListView(range(len(ent.user_ids))), query, lambda i: render.user(ent, i)
        )

    def _services_id(self, query: dict, ident: str) -> dict:
        index = self.ds.entities.service_index(ident)
        if index is None or index in self.ds.entities.deleted_services:
            raise ApiError(404, 2100, "Not Found")
        return {"service": render.service(self.ds.entities, index, self._zone(query))}

    def _services_id_change_events(self, query: dict, ident: str) -> dict:
        index = self.ds.entities.service_index(ident)
        if index is None:
            raise ApiError(404, 2100, "Not Found")
        return self._change_events(query, index)

    def _change_events(self, query: dict, service: int | None = None) -> dict:
        """Listed by the sender's timestamp (any offset: compared as instants), once received (sent_at <=
        the server clock), within the 90-day retention. time_zone does not apply: timestamps are verbatim."""
        raw_since, raw_until = self._one(query, "since"), self._one(query, "until")
        since = self._parse_time(raw_since, "since", True) if raw_since else None
        until = self._parse_time(raw_until, "until", True) if raw_until else None
        lo, hi = half_open(since, until, self.window_bounds, 1000)
        now = self.clock()
        floor = (math.ceil(now) - CHANGE_EVENT_RETENTION) * 1000
        lo = floor if lo is None else max(lo, floor)
        integrations = self._many(query, "integration_ids")
        ds = self.ds
        with ds.lock:
            rows = change_events(
                ds,
                lo,
                hi,
                math.floor(now * 1000),
                service,
                None if integrations is None else set(integrations),
            )
            return self._envelope("change_events", ListView(rows), query, lambda i: ds.change_events[i])

    def _abilities(self, query: dict) -> dict:
        return {"abilities": ABILITIES}


def check_window_bounds(value: str) -> str:
    if value not in WINDOW_BOUNDS:
        raise ValueError(f"window_bounds must be one of {WINDOW_BOUNDS}, not {value!r}")
    return value
