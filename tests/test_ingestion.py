"""The dlt source and the raw writer against the PagerDuty simulator over real HTTP, into the real MariaDB server.

The simulated account renders times in America/Los_Angeles (PagerDuty's behaviour for an account in that
zone), answers 429s, 5xx and cut-off pages when told, and lets tests edit, merge and move incidents after
they are resolved, as PagerDuty users do.
"""

from __future__ import annotations

import http.server
import json
import math
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from ingestion.database import drop_databases
from ingestion.pagerduty import client as client_module
from ingestion.pagerduty.client import RateLimiter
from ingestion.pagerduty.paging import query_window, windows
from ingestion.pagerduty.records import incident_row
from ingestion.pagerduty.times import TimeFormatError, parse_time
from ingestion.raw_store import scope_state
from ingestion.scope_load import LoadFailed, ScopeSpec, load_scope

from .helpers import FAST_RETRY, SIM_TOKEN, connection, load, loaded_incidents, query, rendered, utc

END = datetime(2026, 10, 1, tzinfo=UTC)
START = END - timedelta(days=60)
LA = "America/Los_Angeles"


@pytest.fixture
def small_sim(simulator):
    """300 incidents over 60 days in 4 services, some of them open, in an account set to Los Angeles."""
    return simulator(seed=7, size=300, services=4, days=60, end=END)


def expected_ids(server, start: datetime) -> set[str]:
    return {i["id"] for i in rendered(server) if utc(i["created_at"]) >= start}


def endpoints(server) -> dict[str, int]:
    return server.stats()["by_endpoint"]


def request_params(server) -> list[tuple[str, dict[str, list[str]]]]:
    out = []
    for line in server.stats()["log"]:
        url = urlsplit(line.split(" ", 1)[1])
        out.append((url.path, parse_qs(url.query)))
    return out


def open_now(server) -> int:
    return sum(1 for i in rendered(server) if i["status"] != "resolved")


ACCOUNT_LISTS = {"GET /services": 1, "GET /priorities": 1, "GET /teams": 1, "GET /users": 1}
"""Every run lists the account's services, priorities, teams and users: one request each (under 100 of each)."""


# --------------------------------------------------------------------------------------- listing rules
def test_windows_cover_the_range_and_queries_start_a_second_early() -> None:
    since = datetime(2022, 6, 1, 15, 4, 5, tzinfo=UTC)
    until = datetime(2026, 11, 26, tzinfo=UTC)
    parts = windows(since, until)
    assert parts[0][0] == since and parts[-1][1] == until
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    assert all(end - start <= timedelta(days=179) for start, end in parts)
    # under any since/until convention the query lists every second of [start, end)
    assert query_window(since, since + timedelta(hours=1)) == {
        "since": "2022-06-01T15:04:04Z",
        "until": "2022-06-01T16:04:05Z",
    }


def test_first_load_over_six_months_with_a_burst_past_10000(database, simulator) -> None:
    server = simulator(seed=11, size=14_000, services=3, days=240, end=END, burst=11_000, burst_service=1)
    start = END - timedelta(days=240)
    result = load(server, database, start)
    got = loaded_incidents(database)
    assert set(got) == expected_ids(server, start)
    assert result.stats.incidents == len(got) == 14_000
    # every request asked for UTC; every listing sent since/until with Z, at most 6 months apart, and never
    # asked past offset 10,000
    for path, params in request_params(server):
        assert params["time_zone"] == ["UTC"], path
        if path != "/incidents":
            continue
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", params["since"][0])
        assert utc(params["until"][0]) - utc(params["since"][0]) <= timedelta(days=181)
        assert int(params.get("offset", ["0"])[0]) + int(params["limit"][0]) <= 10_000
    # the burst really was more than 10,000 incidents of one service in a week: past one query's reach
    burst_service = server.dataset.entities.service_ids[1]
    times = sorted(utc(i["created_at"]) for i in rendered(server) if i["service"]["id"] == burst_service)
    assert any(times[k + 10_000] - times[k] < timedelta(days=7) for k in range(len(times) - 10_000))
    # each row holds the object exactly as the API showed it (in UTC, as asked), and typed columns agree
    for incident in rendered(server):
        row = got[incident["id"]]
        assert row["raw"] == incident
        assert row["created_at"] == utc(incident["created_at"]).replace(tzinfo=None)


def test_times_with_offsets_are_stored_in_utc(database, small_sim) -> None:
    """Change events keep their sender's offset (+01:00, -05:00 with milliseconds): stored as the same
    instant in UTC. Incidents as an account in Los Angeles sees them, across the DST change, give the same
    typed columns as in UTC."""
    load(small_sim, database, START)
    events = query(
        database,
        "SELECT c.timestamp, v.raw FROM change_events c JOIN change_events_versions v USING (version_id)",
    )
    offsets = {json.loads(raw)["timestamp"][19:] for _, raw in events}
    assert any(o not in ("Z", "") and not o.startswith(".") for o in offsets), offsets
    for stored, raw in events:
        assert stored == utc(json.loads(raw)["timestamp"]).replace(tzinfo=None)

    ds = small_sim.dataset
    dst = ds.add_incident(
        created_at=datetime(2024, 3, 10, 9, 30, tzinfo=UTC),
        status="resolved",
        resolved_at=datetime(2024, 3, 10, 10, 30, tzinfo=UTC),
    )
    local = ds.incident(dst["incident_number"], tz=LA)
    assert (local["created_at"], local["resolved_at"]) == (
        "2024-03-10T01:30:00-08:00",
        "2024-03-10T03:30:00-07:00",
    )
    row = incident_row(1, local, datetime(2026, 1, 1))
    assert (row["created_at"], row["resolved_at"]) == (
        datetime(2024, 3, 10, 9, 30),
        datetime(2024, 3, 10, 10, 30),
    )
    for slot in range(0, len(ds), 7):
        in_la, in_utc = incident_row(1, ds.render(slot, tz=LA), END), incident_row(1, ds.render(slot), END)
        for column in ("created_at", "updated_at", "resolved_at", "last_status_change_at", "assignments"):
            assert in_la[column] == in_utc[column], column


def test_a_time_without_an_offset_is_refused_naming_its_field() -> None:
    with pytest.raises(
        TimeFormatError, match=r"incident Q1: created_at: '2024-01-01T00:00:00' has no UTC offset"
    ):
        parse_time("2024-01-01T00:00:00", "incident Q1: created_at")
    incident = {
        "id": "Q1",
        "created_at": "2024-01-01T00:00:00Z",
        "assignments": [{"at": "2024-01-01T00:00:05"}],
    }
    with pytest.raises(TimeFormatError, match=r"incident Q1: assignments\[0\]\.at"):
        incident_row(1, incident, END)


def test_times_in_every_iso_shape_are_read_with_their_offset() -> None:
    """PagerDuty's own shape (`-08:00`, `Z`) takes the fast path; senders' other shapes (`+0000`, `-0800`,
    fractions) the general one: the same instant either way."""
    from ingestion.pagerduty.times import parse_utc_naive

    cases = {
        "2024-03-10T01:59:59-08:00": datetime(2024, 3, 10, 9, 59, 59),
        "2024-03-10T03:00:00-07:00": datetime(2024, 3, 10, 10, 0, 0),
        "2024-03-10T01:59:59-0800": datetime(2024, 3, 10, 9, 59, 59),
        "2020-07-17T08:42:58.315+0000": datetime(2020, 7, 17, 8, 42, 58, 315000),
        "2020-07-17T10:42:58.315+02:00": datetime(2020, 7, 17, 8, 42, 58, 315000),
        "2020-07-17T08:42:58Z": datetime(2020, 7, 17, 8, 42, 58),
    }
    for text, expected in cases.items():
        assert parse_utc_naive(text, "t") == expected, text
        assert parse_time(text, "t") == expected.replace(tzinfo=UTC), text


def test_start_date_boundary(database, small_sim) -> None:
    start = datetime(2026, 9, 15, 12, 0, 0, tzinfo=UTC)
    before = small_sim.dataset.add_incident(created_at=start - timedelta(seconds=1), title="one second early")
    at = small_sim.dataset.add_incident(created_at=start, title="exactly at start_date")
    load(small_sim, database, start)
    got = loaded_incidents(database)
    assert at["id"] in got and before["id"] not in got
    assert set(got) == expected_ids(small_sim, start)


@pytest.mark.parametrize("bounds", ["[)", "[]", "(]", "()"])
def test_incidents_on_window_edges_under_every_boundary_convention(database, simulator, bounds) -> None:
    """PagerDuty does not say whether since/until are inclusive: whichever it is, incidents exactly on the
    edges of the 179-day windows (and on start_date) are loaded, once."""
    server = simulator(seed=3, size=50, services=2, days=400, end=END, window_bounds=bounds)
    start = END - timedelta(days=400)
    edges = [
        start,
        start + timedelta(days=179),
        start + timedelta(days=358),
        start + timedelta(days=179, seconds=-1),
    ]
    added = [server.dataset.add_incident(created_at=moment, status="resolved") for moment in edges]
    load(server, database, start)
    got = loaded_incidents(database)
    assert {a["id"] for a in added} <= set(got)
    assert set(got) == expected_ids(server, start)
    assert query(database, "SELECT COUNT(*), COUNT(DISTINCT id) FROM incidents") == [(len(got), len(got))]


# ----------------------------------------------------------------------------------------------- reruns
def test_rerun_catches_changes_at_the_documented_cost(database, small_sim) -> None:
    load(small_sim, database, START)
    changes = small_sim.dataset.step(new=6, acknowledge=2, reassign=2, resolve=3, escalate=1)
    small_sim.reset_stats()
    second = load(small_sim, database, START)

    got = loaded_incidents(database)
    by_number = {row["raw"]["incident_number"]: row for row in got.values()}
    for number in changes["acknowledged"]:
        assert by_number[number]["status"] == "acknowledged"
    for number in changes["resolved"]:
        assert by_number[number]["status"] == "resolved" and by_number[number]["resolved_at"] is not None
    for number in changes["reassigned"] + changes["escalated"]:
        assert by_number[number]["raw"]["assignments"] == small_sim.dataset.incident(number)["assignments"]
    assert all(number in by_number for number in changes["created"])
    # nothing lost, nothing duplicated, every row as the API shows it now
    assert set(got) == expected_ids(small_sim, START)
    for incident in rendered(small_sim):
        assert got[incident["id"]]["raw"] == incident
    # the cost: new incidents (1), the open ones (one per 100), the log entries (1), the change events (1),
    # the account's lists (4), and one read by id per incident resolved since: nothing else
    assert endpoints(small_sim) == {
        "GET /incidents": 1 + math.ceil(open_now(small_sim) / 100),
        "GET /incidents/{id}": len(changes["resolved"]),
        "GET /log_entries": 1,
        "GET /change_events": 1,
        **ACCOUNT_LISTS,
    }
    assert second.requests == small_sim.stats()["requests"] and second.stats.first_load is False


def test_rerun_with_nothing_new_costs_eight_requests_and_writes_nothing(database, small_sim) -> None:
    load(small_sim, database, START)
    versions = query(database, "SELECT COUNT(*) FROM incidents_versions")
    small_sim.reset_stats()
    again = load(small_sim, database, START)
    assert open_now(small_sim) < 100
    assert endpoints(small_sim) == {
        "GET /incidents": 2,
        "GET /log_entries": 1,
        "GET /change_events": 1,
        **ACCOUNT_LISTS,
    }
    assert again.requests == 8
    assert query(database, "SELECT COUNT(*) FROM incidents_versions") == versions
    assert len(loaded_incidents(database)) == len(expected_ids(small_sim, START))


def test_edits_after_resolution_merges_and_moves_arrive_in_one_rerun(database, small_sim) -> None:
    """Each arrives through the log entry PagerDuty really writes for it: priority_change_log_entry,
    urgency_change_log_entry, service_change_log_entry for a move, link_log_entry / unlink_log_entry for a
    merge. A title edit writes none: an ordinary rerun cannot see it, a reconcile does."""
    ds = small_sim.dataset
    load(small_sim, database, START)
    resolved = [i for i in rendered(small_sim) if i["status"] == "resolved" and utc(i["created_at"]) >= START]
    opened = [i for i in rendered(small_sim) if i["status"] != "resolved" and utc(i["created_at"]) >= START]
    edited, moved, retitled = resolved[0], resolved[1], resolved[2]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(
        seconds=2
    )  # a change stamped the second a run starts is the next run's
    ds.edit(edited["incident_number"], at=now, priority="P1", urgency="low")
    ds.edit(
        moved["incident_number"],
        at=now,
        service_index=(ds.entities.service_ids.index(moved["service"]["id"]) + 1) % 4,
    )
    ds.edit(retitled["incident_number"], at=now, title="Post-mortem: the real cause")
    target, sources = opened[0], opened[1:3]
    ds.merge([s["incident_number"] for s in sources], target["incident_number"], at=now)
    small_sim.reset_stats()
    load(small_sim, database, START)

    got = loaded_incidents(database)
    for incident in (edited, moved, target, *sources):
        assert got[incident["id"]]["raw"] == ds.incident(incident["incident_number"])
    assert got[edited["id"]]["raw"]["priority"]["name"] == "P1"
    assert got[moved["id"]]["service_id"] != moved["service"]["id"]
    merged = query(
        database,
        "SELECT id, status, resolve_reason_type, merged_into_id FROM incidents WHERE merged_into_id IS NOT NULL",
    )
    assert sorted(merged) == sorted(
        (s["id"], "resolved", "merge_resolve_reason", target["id"]) for s in sources
    )
    # the two resolved incidents and the two merged ones are read by id; the target is open: listed
    assert endpoints(small_sim)["GET /incidents/{id}"] == 4
    entries = set(
        query(
            database,
            "SELECT incident_id, type FROM log_entries WHERE created_at = %s",
            now.replace(tzinfo=None),
        )
    )
    assert entries == {
        (edited["id"], "priority_change_log_entry"),
        (edited["id"], "urgency_change_log_entry"),
        (moved["id"], "service_change_log_entry"),
        *((s["id"], t) for s in sources for t in ("unlink_log_entry", "resolve_log_entry")),
        (target["id"], "link_log_entry"),
    }
    # the title edit left no trace an ordinary run can follow: the lake holds the old title
    assert got[retitled["id"]]["raw"]["title"] == retitled["title"] != "Post-mortem: the real cause"
    small_sim.reset_stats()
    healed = load(small_sim, database, START, reconcile_since=START)
    assert loaded_incidents(database)[retitled["id"]]["raw"] == ds.incident(retitled["incident_number"])
    assert healed.drift is not None and healed.drift.differed == 1 and healed.drift.by_field["title"] == 1
    assert set(loaded_incidents(database)) == expected_ids(small_sim, START)


def test_a_service_scope_follows_incidents_moved_in_and_out(database, small_sim) -> None:
    ds = small_sim.dataset
    scoped = ds.entities.service_ids[0]
    load(small_sim, database, START, services=[scoped])
    inside = [i for i in rendered(small_sim) if i["service"]["id"] == scoped and i["status"] == "resolved"]
    outside = [i for i in rendered(small_sim) if i["service"]["id"] != scoped and i["status"] == "resolved"]
    outside = [i for i in outside if utc(i["created_at"]) >= START]
    assert outside[0]["id"] not in loaded_incidents(database)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(
        seconds=2
    )  # a change stamped the second a run starts is the next run's
    ds.edit(inside[0]["incident_number"], at=now, service_index=1)
    ds.edit(outside[0]["incident_number"], at=now, service_index=0)
    load(small_sim, database, START, services=[scoped])
    got = loaded_incidents(database)
    assert got[outside[0]["id"]]["service_id"] == scoped  # moved in, created long before the previous run
    assert got[inside[0]["id"]]["service_id"] == ds.entities.service_ids[1]  # moved out: the lake knows


def test_late_change_events_arrive_on_the_next_run(database, small_sim) -> None:
    first = load(small_sim, database, START)
    cut_off = first.stats.next_state.change_events_until
    stamped = cut_off - timedelta(hours=3)
    late = small_sim.dataset.add_change_event(
        timestamp=stamped.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")),
        services=[0, 1],
        sent_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    load(small_sim, database, START)
    assert query(database, "SELECT timestamp FROM change_events WHERE id = %s", late["id"]) == [
        (stamped.replace(tzinfo=None),)
    ]


# ------------------------------------------------------------------------------------- failures, limits
def test_429_waits_for_ratelimit_reset_without_hammering(database, simulator) -> None:
    server = simulator(seed=5, size=6_000, services=2, days=30, end=END)
    server.set_faults(rate_limit_every=25, rate_limit_reset=1)
    started = time.monotonic()
    result = load(server, database, END - timedelta(days=30))
    elapsed = time.monotonic() - started
    stats = server.stats()
    refused = stats["faults"]["429"]
    # at most one throttled second per 25 requests, each costing at most one 429 per request in flight (8):
    # a client that retried before the reset (dlt's backoff here starts at 0.02 s) collects dozens a second,
    # and gives up after six attempts
    assert 1 <= refused <= 8 * math.ceil(stats["requests"] / 25)
    assert elapsed >= 2.0
    assert set(loaded_incidents(database)) == expected_ids(server, END - timedelta(days=30))
    assert result.requests == stats["requests"]


def test_5xx_and_cut_off_pages_are_retried(database, simulator) -> None:
    server = simulator(seed=5, size=2_500, services=2, days=30, end=END)
    server.set_faults(error_every=5, truncate_every=7)
    result = load(server, database, END - timedelta(days=30))
    faults = server.stats()["faults"]
    assert faults["5xx"] >= 3 and faults["truncated"] >= 2
    assert set(loaded_incidents(database)) == expected_ids(server, END - timedelta(days=30))
    assert result.requests == server.stats()["requests"]


def test_bare_429_without_headers_backs_off(database, small_sim) -> None:
    """A 429 asks for patience, not a new attempt: however often one request is throttled (8 requests in
    flight share each throttled period), it waits its turn. Other failures get two attempts here, so a
    client that spent its attempts on 429s gives up within the first throttled periods."""
    small_sim.set_faults(rate_limit_every=5, rate_limit_bare=True, rate_limit_reset=0.5)
    load_scope(
        connection(small_sim),
        ScopeSpec(start_date=START),
        database,
        retry=replace(FAST_RETRY, max_attempts=2),
    )
    assert small_sim.stats()["faults"]["429"] >= 2
    assert set(loaded_incidents(database)) == expected_ids(small_sim, START)


def test_a_rate_limit_that_never_lifts_fails_with_its_cause(database, small_sim) -> None:
    small_sim.set_faults(rate_limit_every=1, rate_limit_reset=0.1)
    with pytest.raises(
        LoadFailed,
        match=r"GET /incidents: PagerDuty kept answering 429 \(rate limited\)"
        r" after 3 tries",
    ):
        load_scope(
            connection(small_sim),
            ScopeSpec(start_date=START),
            database,
            retry=replace(FAST_RETRY, rate_limited_attempts=3),
        )
    assert small_sim.stats()["requests"] == 3


def test_a_per_minute_limit_is_honoured(database, simulator) -> None:
    """PagerDuty's 429s with ratelimit-reset, and ratelimit-remaining: 0, pause every thread."""
    server = simulator(seed=5, size=1_000, services=2, days=30, end=END, rate_limit_per_minute=8)
    started = time.monotonic()
    load(server, database, END - timedelta(days=30), history_since=END)  # the log entries in 1 request
    assert time.monotonic() - started >= 60  # 12 requests at 8 a minute
    assert server.stats()["faults"]["429_per_minute"] <= 8


def test_a_listing_that_shifts_is_read_again_and_a_second_shortfall_stops(database, simulator) -> None:
    server = simulator(seed=5, size=2_500, services=2, days=30, end=END)
    start = END - timedelta(days=30)
    server.set_faults(shift_pages=1)
    load(server, database, start)
    assert set(loaded_incidents(database)) == expected_ids(server, start)
    assert server.stats()["faults"]["shifted"] == 1
    drop_databases(database)
    server.set_faults(shift_pages=100_000)
    with pytest.raises(LoadFailed, match=r"could be read, twice; stopping rather than load a partial window"):
        load(server, database, start)
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(0,)]


def test_failed_runs_leave_the_state_and_the_data_as_they_were(database, small_sim) -> None:
    load(small_sim, database, START)
    key = ScopeSpec(START).key(1)
    state = scope_state(database, key)

    def lake():
        return (
            scope_state(database, key),
            query(database, "SELECT COUNT(*) FROM _loads WHERE status = 'completed'"),
            query(database, "SELECT id, content_hash FROM incidents ORDER BY id"),
            query(database, "SELECT COUNT(*) FROM incidents_versions"),
        )

    before = lake()
    small_sim.dataset.step(new=4, acknowledge=1, reassign=0, resolve=2)
    # failing while collecting (the API goes down after two requests)
    small_sim.set_faults(fail_after=2, error_status=503)
    with pytest.raises(LoadFailed, match="HTTP 5xx"):
        load(small_sim, database, START)
    assert lake() == before and scope_state(database, key) == state
    # failing while writing: a title longer than the column takes is refused by the database
    small_sim.set_faults()
    small_sim.dataset.add_incident(created_at=END - timedelta(days=1), title="x" * 70_000)
    with pytest.raises(LoadFailed, match=r"writing incidents_versions: Data truncated for column .title."):
        load(small_sim, database, START)
    assert lake() == before
    assert query(database, "SELECT status, COUNT(*) FROM _loads GROUP BY status ORDER BY 1") == [
        ("abandoned", 2),
        ("completed", 1),
    ]


def test_databases_dropped_then_everything_reloads(database, small_sim) -> None:
    load(small_sim, database, START)
    drop_databases(database)
    again = load(small_sim, database, START)
    assert again.stats.first_load is True
    assert set(loaded_incidents(database)) == expected_ids(small_sim, START)


def test_two_connections_never_overwrite_each_other(database, small_sim) -> None:
    load(small_sim, database, START, conn_id=1)
    load(small_sim, database, START, conn_id=2)
    counts = dict(query(database, "SELECT connection_id, COUNT(*) FROM incidents GROUP BY connection_id"))
    expected = len(expected_ids(small_sim, START))
    assert counts == {1: expected, 2: expected}
    services = dict(query(database, "SELECT connection_id, COUNT(*) FROM services GROUP BY connection_id"))
    assert services == {1: 4, 2: 4}


def test_more_than_10000_in_one_second_fails_loudly(database, simulator) -> None:
    server = simulator(seed=3, size=10, services=1, days=5, end=END)
    moment = END - timedelta(days=1)
    for _ in range(10_001):
        server.dataset.add_incident(created_at=moment)
    with pytest.raises(LoadFailed, match="10001 incidents were created around"):
        load(server, database, END - timedelta(days=5))
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(0,)]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_stops_at_once_and_names_the_connection(database, small_sim, status) -> None:
    if status == 401:
        spec = connection(small_sim, 5, token="wrong-token-123")
    else:
        small_sim.set_faults(error_every=1, error_status=403)
        spec = connection(small_sim, 5)
    with pytest.raises(LoadFailed) as excinfo:
        load_scope(spec, ScopeSpec(START), database, retry=FAST_RETRY)
    message = str(excinfo.value)
    assert f"'sim-5' (id 5): PagerDuty refused the token (HTTP {status}" in message
    assert "wrong-token-123" not in message
    assert small_sim.stats()["requests"] == 1


def test_more_than_10000_open_incidents_rerun(database, simulator) -> None:
    """Open incidents are read from the lake, and over 10,000 of them are listed window by window."""
    server = simulator(seed=4, size=10, services=2, days=5, end=END)
    for i in range(10_050):
        server.dataset.add_incident(created_at=END - timedelta(days=4, seconds=-i * 20), service_index=i % 2)
    start = END - timedelta(days=5)
    first = load(server, database, start)
    assert first.stats.open_incidents >= 10_050
    changes = server.dataset.step(new=3, acknowledge=5, reassign=0, resolve=7)
    second = load(server, database, start)
    assert second.stats.first_load is False
    got = loaded_incidents(database)
    by_number = {row["raw"]["incident_number"]: row for row in got.values()}
    assert all(by_number[n]["status"] == "resolved" for n in changes["resolved"])
    assert all(by_number[n]["status"] == "acknowledged" for n in changes["acknowledged"])
    assert set(got) == expected_ids(server, start)


# ------------------------------------------------------------------------------- connection settings
class _FakeClockLimiter(RateLimiter):
    """The client's own limiter, on a clock that sleeping moves: an hour's wait takes no time. Every request
    it lets through is stamped with the fake time."""

    made: list[_FakeClockLimiter] = []

    def __init__(self, per_hour=None, **kw) -> None:
        self.now = 0.0
        self.stamps: list[float] = []
        self._fake_lock = threading.Lock()
        super().__init__(per_hour=per_hour, clock=lambda: self.now, sleep=self._sleep_fake, **kw)
        _FakeClockLimiter.made.append(self)

    def _sleep_fake(self, seconds: float) -> None:
        with self._fake_lock:
            self.now += seconds

    def acquire(self) -> None:
        super().acquire()
        self.stamps.append(self.now)


def test_rate_limit_per_hour_paces_a_load(database, small_sim, monkeypatch) -> None:
    """A connection's rateLimitPerHour reaches the client of a real load: at most that many requests in any
    hour (on the limiter's clock, which sleeping moves), and the load still completes."""
    _FakeClockLimiter.made.clear()
    monkeypatch.setattr(client_module, "RateLimiter", _FakeClockLimiter)
    spec = connection(small_sim, rate_limit_per_hour=3)
    load_scope(spec, ScopeSpec(START), database, retry=FAST_RETRY)
    [limiter] = _FakeClockLimiter.made
    sent = small_sim.stats()["requests"]
    assert limiter.limits == [(3, 3600.0)]
    assert len(limiter.stamps) == sent and sent >= 7
    # request k goes only once request k-3 is an hour old: no four in any hour, and the load spans hours
    stamps = sorted(limiter.stamps)
    assert all(later - earlier >= 3600 for earlier, later in zip(stamps, stamps[3:], strict=False))
    assert stamps[-1] - stamps[0] >= 3600 * ((sent - 1) // 3)
    assert set(loaded_incidents(database)) == expected_ids(small_sim, START)


class _Proxy(http.server.ThreadingHTTPServer):
    """A forwarding HTTP proxy on 127.0.0.1 that counts what passes (absolute-form request targets)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                proxy.seen.append((self.path, self.headers.get("Authorization", "")))
                forwarded = urllib.request.Request(
                    self.path,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"},
                )
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    reply = opener.open(forwarded, timeout=30)
                    status, headers, body = reply.status, reply.headers, reply.read()
                except urllib.error.HTTPError as exc:
                    status, headers, body = exc.code, exc.headers, exc.read()
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_a_load_goes_through_the_connections_proxy(database, small_sim, monkeypatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = _Proxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        spec = connection(small_sim, proxy=proxy.url)
        result = load_scope(spec, ScopeSpec(START), database, retry=FAST_RETRY)
    finally:
        proxy.shutdown()
        proxy.server_close()
    sent = small_sim.stats()["requests"]
    # every request the simulator answered came through the proxy, with the token, in absolute form
    assert len(proxy.seen) == sent == result.requests and sent >= 5
    assert all(target.startswith(small_sim.url + "/") for target, _ in proxy.seen)
    assert {auth for _, auth in proxy.seen} == {f"Token token={SIM_TOKEN}"}
    assert set(loaded_incidents(database)) == expected_ids(small_sim, START)


# ------------------------------------------------------------------ what real listings do (issue 22)
def test_a_listing_that_ignores_total_is_read_completely(database, simulator) -> None:
    """total=true answered with null: every listing is read by following `more`, one page at a time, with one
    warning line; a window of more than 10,000 (a burst) is halved until each half fits, as with a total."""
    server = simulator(seed=11, size=12_500, services=2, days=40, end=END, burst=10_400, burst_service=1)
    server.set_faults(ignore_total=True)
    start = END - timedelta(days=40)
    first = load(server, database, start)
    got = loaded_incidents(database)
    assert set(got) == expected_ids(server, start) and first.stats.incidents == len(got) == 12_500
    assert query(database, "SELECT COUNT(*), COUNT(DISTINCT id) FROM incidents") == [(12_500, 12_500)]
    ignored = [w for w in first.stats.warnings if "ignored total=true" in w]
    assert ignored == [  # the first load's log entries too (a warning per path)
        "GET /incidents ignored total=true: its listings are read one page at a time, following `more` (slower, but complete)",
        "GET /log_entries ignored total=true: its listings are read one page at a time, following `more` (slower, but complete)",
    ]
    # never past the ceiling, and no listing page asked twice at the same offset of the same window
    pages = [
        (p["since"][0], p["until"][0], p.get("offset", ["0"])[0])
        for path, p in request_params(server)
        if path == "/incidents"
    ]
    assert all(int(offset) + 100 <= 10_000 for _, _, offset in pages)
    # a rerun without totals: the open incidents and the new ones, every change caught
    changes = server.dataset.step(
        new=4, acknowledge=2, reassign=1, resolve=3, now=datetime.now(UTC) - timedelta(seconds=2)
    )
    load(server, database, start)
    by_number = {row["raw"]["incident_number"]: row for row in loaded_incidents(database).values()}
    assert all(by_number[n]["status"] == "resolved" for n in changes["resolved"])
    assert set(loaded_incidents(database)) == expected_ids(server, start)


@pytest.mark.parametrize("wording", [0, 1])
def test_both_wordings_of_the_10000_ceiling_are_understood(small_sim, wording) -> None:
    """Past offset + limit 10,000 PagerDuty answers 400 in one of two wordings: either is the ceiling (narrow
    the query), not a failed request."""
    small_sim.set_faults(offset_wording=wording)
    client = client_module.PagerDutyClient(small_sim.url, SIM_TOKEN, "sim", FAST_RETRY)
    with pytest.raises(client_module.OffsetLimitError, match="refused a page past offset 10,000"):
        client.get("/incidents", {"date_range": "all", "offset": 9_950, "limit": 100})
    small_sim.set_faults()


def test_an_incident_that_reaches_the_listing_late_is_loaded(database, small_sim) -> None:
    """Created before the previous run's cut-off but listed only after it (PagerDuty indexes some incidents
    late): the rerun's overlap lists it."""
    ds = small_sim.dataset
    first = load(small_sim, database, START)
    cut_off = first.stats.next_state.incidents_until
    late = ds.add_incident(  # resolved: no listing of open incidents shows it either
        cut_off - timedelta(minutes=3),
        1,
        "resolved",
        resolved_at=cut_off - timedelta(minutes=2),
        visible_at=datetime.now(UTC) + timedelta(seconds=1),
    )
    assert late["id"] not in loaded_incidents(database)
    time.sleep(1.5)
    load(small_sim, database, START)
    assert late["id"] in loaded_incidents(database)


@pytest.mark.parametrize("bounds", ["[)", "[]", "(]", "()"])
def test_split_windows_lose_nothing_at_their_split_points(database, simulator, bounds) -> None:
    """A burst past 10,000 in one window is halved at a whole second: incidents in the seconds before, at and
    after each split point (and the 179-day window's own edges) are loaded once, whatever PagerDuty's boundary
    convention."""
    start = datetime(2026, 1, 1, tzinfo=UTC)  # its first window is a whole 179 days: [start, start + 179 d)
    window_end = start + timedelta(days=179)
    middle = start + timedelta(seconds=int((window_end - start).total_seconds()) // 2)
    quarter = start + timedelta(seconds=int((middle - start).total_seconds()) // 2)
    server = simulator(seed=9, size=10, services=1, days=2, end=END, window_bounds=bounds)
    ds = server.dataset
    span = int((middle - start).total_seconds()) - 40
    for i in range(10_200):  # about 5,100 on each side of the quarter: halved twice, then each part fits
        ds.add_incident(start + timedelta(seconds=20 + (i * 337) % span), 0)
    edges = [
        ds.add_incident(
            point + timedelta(seconds=delta), 0, title=f"edge {point:%Y-%m-%dT%H:%M:%S} {delta:+d}"
        )
        for point in (middle, quarter, window_end)
        for delta in (-1, 0, 1)
    ]
    edges.append(ds.add_incident(start, 0, title="at start"))
    load(server, database, start)
    got = loaded_incidents(database)
    assert {e["id"] for e in edges} <= set(got)
    assert set(got) == expected_ids(server, start)
    assert query(database, "SELECT COUNT(*), COUNT(DISTINCT id) FROM incidents") == [(len(got), len(got))]
    # the splits this test aimed at happened: windows started (one second early) at the middle and the quarter
    since = {p["since"][0] for path, p in request_params(server) if path == "/incidents"}
    for point in (middle, quarter, window_end):
        assert (point - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ") in since, point


# ----------------------------------------------------- orderings and cut-offs a reviewer would break (27)
def test_the_latest_log_entry_of_an_incident_decides_whether_it_is_read_again(database, small_sim) -> None:
    """An incident named by two entries since the cut-off: one stamped before the previous run read it (that
    read already showed it), one an edit after resolution made since. The later entry decides: it is read."""
    ds = small_sim.dataset
    first = load(small_sim, database, START)
    cut_off = first.stats.next_state.incidents_until
    target = next(
        i for i in rendered(small_sim) if i["status"] == "resolved" and utc(i["created_at"]) >= START
    )
    number = target["incident_number"]
    ds.edit(
        number, at=cut_off - timedelta(minutes=5), urgency="low" if target["urgency"] == "high" else "high"
    )
    ds.edit(number, at=datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2), priority="P1")
    small_sim.reset_stats()
    load(small_sim, database, START)
    assert loaded_incidents(database)[target["id"]]["raw"] == ds.incident(number)
    assert endpoints(small_sim)["GET /incidents/{id}"] == 1


def test_the_version_read_last_in_a_load_is_the_current_row(database) -> None:
    """One load can read an incident twice (listed, then by id; two overlapping windows) with different
    content: the version read last becomes current, with its updated_at."""
    from ingestion.pagerduty.records import INCIDENTS
    from ingestion.raw_store import RawLoad, ensure_schema

    database.claim()
    ensure_schema(database)
    base = {"id": "Q1", "incident_number": 1, "status": "resolved", "created_at": "2026-09-01T00:00:00Z"}
    older = incident_row(
        1, {**base, "title": "as listed", "updated_at": "2026-09-02T00:00:00Z"}, END.replace(tzinfo=None)
    )
    newer = incident_row(
        1, {**base, "title": "as read by id", "updated_at": "2026-09-03T00:00:00Z"}, END.replace(tzinfo=None)
    )
    with RawLoad(database, "pagerduty", 1, "1|*") as raw:
        raw.write(INCIDENTS, [older, newer])
        raw.complete()
    assert query(database, "SELECT title, updated_at FROM incidents") == [
        ("as read by id", datetime(2026, 9, 3))
    ]
    assert query(database, "SELECT COUNT(*) FROM incidents_versions") == [(2,)]


def test_cut_offs_advance_run_after_run(database, small_sim) -> None:
    """Three runs with nothing new: the third starts from the second's cut-off (less the overlap), costs what
    a rerun costs, and the ledger hands each run the state the one before it left."""
    key = ScopeSpec(START).key(1)
    load(small_sim, database, START)
    first_state = scope_state(database, key)
    time.sleep(1.1)  # cut-offs are whole seconds
    second = load(small_sim, database, START)
    second_state = scope_state(database, key)
    assert second_state == second.stats.next_state.to_json() != first_state
    assert second_state["incidents_until"] > first_state["incidents_until"]
    assert second_state["covered_since"] == first_state["covered_since"] == "2026-08-02T00:00:00Z"
    small_sim.reset_stats()
    time.sleep(1.1)
    third = load(small_sim, database, START)
    since_asked = {
        p["since"][0] for path, p in request_params(small_sim) if path == "/incidents" and "since" in p
    }
    cut_off = utc(second_state["incidents_until"]) - timedelta(minutes=10)
    assert since_asked == {(cut_off - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    log_since = {p["since"][0] for path, p in request_params(small_sim) if path == "/log_entries"}
    assert log_since == since_asked
    assert third.requests == 8
    assert scope_state(database, key)["incidents_until"] > second_state["incidents_until"]


def test_a_load_completing_late_does_not_replace_a_newer_version(database) -> None:
    """Two loads of one connection complete out of order (side by side scopes, a slow one): the current row is
    the newer version by PagerDuty's updated_at, whichever completed last; at the same updated_at, the load
    completed last wins."""
    from ingestion.pagerduty.records import INCIDENTS
    from ingestion.raw_store import RawLoad, ensure_schema

    database.claim()
    ensure_schema(database)
    base = {"id": "Q7", "incident_number": 7, "status": "resolved", "created_at": "2026-09-01T00:00:00Z"}

    def complete(title: str, updated: str) -> None:
        row = incident_row(1, {**base, "title": title, "updated_at": updated}, END.replace(tzinfo=None))
        with RawLoad(database, "pagerduty", 1, "1|*") as raw:
            raw.write(INCIDENTS, [row])
            raw.complete()

    complete("newer, completed first", "2026-09-03T00:00:00Z")
    complete("older, completed last", "2026-09-02T00:00:00Z")
    assert query(database, "SELECT title FROM incidents") == [("newer, completed first",)]
    complete("same moment, completed last", "2026-09-03T00:00:00Z")
    assert query(database, "SELECT title FROM incidents") == [("same moment, completed last",)]
