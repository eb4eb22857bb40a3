"""The dlt source against the PagerDuty simulator over real HTTP, into the real MariaDB server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from ingestion.pagerduty.paging import parse_time, windows
from ingestion.pipeline import ConnectionSpec, LoadFailed, ScopeSpec, drop_databases, load_scope
from simulator.data import generate
from simulator.server import SimulatorServer

from .conftest import FAST_RETRY, SIM_TOKEN, query

END = datetime(2026, 10, 1, tzinfo=UTC)


def start_server(**kwargs) -> SimulatorServer:
    server = SimulatorServer(generate(**kwargs), token=SIM_TOKEN)
    server.start()
    return server


@pytest.fixture
def small_sim():
    """300 incidents over 60 days in 4 services, some of them open."""
    server = start_server(seed=7, size=300, services=4, days=60, end=END)
    yield server
    server.stop()


def connection(server: SimulatorServer, conn_id: int = 1, token: str = SIM_TOKEN) -> ConnectionSpec:
    return ConnectionSpec(id=conn_id, name=f"sim-{conn_id}", endpoint=server.url, token=token)


def all_incidents(server: SimulatorServer) -> list[dict]:
    ds = server.dataset
    return [ds.render(slot) for slot in range(len(ds))]


def expected_ids(server: SimulatorServer, start: datetime) -> set[str]:
    return {i["id"] for i in all_incidents(server) if parse_time(i["created_at"]) >= start}


def loaded(db, conn_id: int = 1) -> dict[str, dict]:
    rows = query(
        db,
        "SELECT id, status, resolved_at, assignments, raw FROM incidents WHERE connection_id = %s",
        conn_id,
    )
    return {
        r[0]: {"status": r[1], "resolved_at": r[2], "assignments": json.loads(r[3]), "raw": json.loads(r[4])}
        for r in rows
    }


def run(server, db, start, conn_id=1, **kw):
    return load_scope(connection(server, conn_id), ScopeSpec(start_date=start), db, retry=FAST_RETRY, **kw)


def max_in_a_week(incidents: list[dict]) -> int:
    """The most incidents of one service created within any 7 days (two pointers over sorted times)."""
    best = 0
    by_service: dict[str, list[datetime]] = {}
    for incident in incidents:
        by_service.setdefault(incident["service"]["id"], []).append(parse_time(incident["created_at"]))
    for times in by_service.values():
        times.sort()
        left = 0
        for right, moment in enumerate(times):
            while moment - times[left] >= timedelta(days=7):
                left += 1
            best = max(best, right - left + 1)
    return best


def request_lines(server: SimulatorServer) -> list[str]:
    return server.stats()["log"]


def test_windows_cover_range_without_gaps() -> None:
    since = datetime(2022, 6, 1, 15, 4, 5, tzinfo=UTC)
    until = datetime(2026, 11, 26, tzinfo=UTC)
    parts = list(windows(since, until))
    assert parts[0][0] == since and parts[-1][1] == until
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    assert all(end - start <= timedelta(days=179) for start, end in parts)


def test_first_load_over_six_months_with_a_burst_past_10000(database) -> None:
    server = start_server(seed=11, size=14_000, services=3, days=240, end=END, burst=11_000, burst_service=1)
    try:
        start = END - timedelta(days=240)
        result = run(server, database, start)
        want = expected_ids(server, start)
        got = loaded(database)
        assert set(got) == want
        assert result.stats.incidents == len(want) == 14_000
        # the burst really was >10,000 incidents of one service within a week
        assert max_in_a_week(all_incidents(server)) > 10_000
        # every listing sent since/until in UTC with Z, at most 6 months apart, offset+limit <= 10,000
        for line in request_lines(server):
            url = urlsplit(line.split(" ", 1)[1])
            if url.path != "/incidents":
                continue
            params = parse_qs(url.query)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", params["since"][0])
            span = parse_time(params["until"][0]) - parse_time(params["since"][0])
            assert span <= timedelta(days=181)
            assert int(params.get("offset", ["0"])[0]) + int(params["limit"][0]) <= 10_000
        # typed columns agree with the JSON kept beside them, in UTC
        sample = server.dataset.render(0)
        row = query(
            database, "SELECT created_at, status, service_id FROM incidents WHERE id = %s", sample["id"]
        )
        assert row == [
            (parse_time(sample["created_at"]).replace(tzinfo=None), sample["status"], sample["service"]["id"])
        ]
    finally:
        server.stop()


def test_start_date_boundary(database, small_sim) -> None:
    start = datetime(2026, 9, 15, 12, 0, 0, tzinfo=UTC)
    before = small_sim.dataset.add_incident(created_at=start - timedelta(seconds=1), title="one second early")
    at = small_sim.dataset.add_incident(created_at=start, title="exactly at start_date")
    run(small_sim, database, start)
    got = loaded(database)
    assert at["id"] in got
    assert before["id"] not in got
    assert set(got) == expected_ids(small_sim, start)


def test_rerun_catches_acknowledgements_reassignments_resolutions_and_new(database, small_sim) -> None:
    start = END - timedelta(days=60)
    first = run(small_sim, database, start)
    open_at_first = first.stats.open_incidents
    assert open_at_first > 0
    changes = small_sim.dataset.step(new=6, acknowledge=2, reassign=2, resolve=3)
    small_sim.reset_stats()
    second = run(small_sim, database, start)

    got = loaded(database)
    by_number = {row["raw"]["incident_number"]: row for row in got.values()}
    for number in changes["acknowledged"]:
        assert by_number[number]["status"] == "acknowledged"
    for number in changes["resolved"]:
        assert by_number[number]["status"] == "resolved"
        assert by_number[number]["resolved_at"] is not None
        assert by_number[number]["assignments"] == []
    for number in changes["reassigned"]:
        current = small_sim.dataset.incident(number)
        assert by_number[number]["assignments"] == current["assignments"]
    for number in changes["created"]:
        assert number in by_number
    # nothing lost, nothing duplicated, every row as the API shows it now
    assert set(got) == expected_ids(small_sim, start)
    assert query(database, "SELECT COUNT(*), COUNT(DISTINCT id) FROM incidents")[0] == (len(got), len(got))
    for incident in all_incidents(small_sim):
        assert got[incident["id"]]["raw"] == incident
    # within budget: K open incidents at the last run cost at most K + 5 requests
    served = small_sim.stats()["requests"]
    assert served == second.requests
    assert served <= open_at_first + 5
    assert second.stats.first_load is False


def test_rerun_with_nothing_new_costs_a_constant(database, small_sim) -> None:
    start = END - timedelta(days=60)
    run(small_sim, database, start)
    small_sim.reset_stats()
    second = run(small_sim, database, start)
    # one listing each of new incidents, open incidents and change events; services are listed at most daily
    assert small_sim.stats()["requests"] == second.requests == 3
    assert len(loaded(database)) == len(expected_ids(small_sim, start))


def test_429_5xx_and_cut_off_pages_are_retried(database) -> None:
    server = start_server(seed=5, size=2_500, services=2, days=30, end=END)
    try:
        server.set_faults(rate_limit_every=4, rate_limit_reset=1, error_every=5, truncate_every=7)
        start = END - timedelta(days=30)
        result = run(server, database, start)
        faults = server.stats()["faults"]
        assert faults["429"] >= 3 and faults["5xx"] >= 3 and faults["truncated"] >= 1
        assert set(loaded(database)) == expected_ids(server, start)
        assert result.requests == server.stats()["requests"]
    finally:
        server.stop()


def test_bare_429_without_headers_backs_off(database, small_sim) -> None:
    small_sim.set_faults(rate_limit_every=3, rate_limit_bare=True)
    start = END - timedelta(days=60)
    run(small_sim, database, start)
    assert set(loaded(database)) == expected_ids(small_sim, start)


def test_failed_run_keeps_the_high_water_mark(database, small_sim) -> None:
    start = END - timedelta(days=60)
    run(small_sim, database, start)
    changes = small_sim.dataset.step(new=4, acknowledge=1, reassign=0, resolve=2)
    small_sim.reset_stats()
    small_sim.set_faults(fail_after=1, error_status=503)
    with pytest.raises(LoadFailed, match="HTTP 503"):
        run(small_sim, database, start)
    small_sim.set_faults()
    run(small_sim, database, start)
    got = loaded(database)
    by_number = {row["raw"]["incident_number"]: row for row in got.values()}
    assert all(n in by_number for n in changes["created"])
    assert all(by_number[n]["status"] == "resolved" for n in changes["resolved"])
    assert set(got) == expected_ids(small_sim, start)


def test_databases_dropped_then_everything_reloads(database, small_sim) -> None:
    start = END - timedelta(days=60)
    run(small_sim, database, start)
    drop_databases(database)
    again = run(small_sim, database, start)
    assert again.stats.first_load is True
    assert set(loaded(database)) == expected_ids(small_sim, start)


def test_two_connections_never_overwrite_each_other(database, small_sim) -> None:
    start = END - timedelta(days=60)
    run(small_sim, database, start, conn_id=1)
    run(small_sim, database, start, conn_id=2)
    counts = dict(query(database, "SELECT connection_id, COUNT(*) FROM incidents GROUP BY connection_id"))
    expected = len(expected_ids(small_sim, start))
    assert counts == {1: expected, 2: expected}
    services = dict(query(database, "SELECT connection_id, COUNT(*) FROM services GROUP BY connection_id"))
    assert services == {1: 4, 2: 4}


def test_more_than_10000_in_one_second_fails_loudly(database) -> None:
    server = start_server(seed=3, size=10, services=1, days=5, end=END)
    try:
        moment = END - timedelta(days=1)
        for _ in range(10_001):
            server.dataset.add_incident(created_at=moment)
        with pytest.raises(LoadFailed, match="10001 incidents were created in the one second"):
            run(server, database, END - timedelta(days=5))
        assert query(database, "SHOW TABLES LIKE 'incidents'") == []
    finally:
        server.stop()


def test_bad_token_stops_at_once_and_names_the_connection(database, small_sim) -> None:
    bad = ConnectionSpec(id=5, name="prod-pd", endpoint=small_sim.url, token="wrong-token-123")
    with pytest.raises(LoadFailed) as excinfo:
        load_scope(bad, ScopeSpec(start_date=END - timedelta(days=5)), database, retry=FAST_RETRY)
    message = str(excinfo.value)
    assert "prod-pd" in message and "refused the token (HTTP 401" in message
    assert "wrong-token-123" not in message
    assert small_sim.stats()["requests"] == 1


def test_more_than_10000_open_incidents_rerun(database) -> None:
    """Open incidents are read from the raw table, not kept in dlt's state (whose column holds 64 kB), and
    over 10,000 of them are re-listed window by window."""
    server = start_server(seed=4, size=10, services=2, days=5, end=END)
    try:
        for i in range(10_050):
            server.dataset.add_incident(
                created_at=END - timedelta(days=4, seconds=-i * 20), service_index=i % 2
            )
        start = END - timedelta(days=5)
        first = run(server, database, start)
        assert first.stats.open_incidents >= 10_050
        changes = server.dataset.step(new=3, acknowledge=5, reassign=0, resolve=7)
        second = run(server, database, start)
        assert second.stats.first_load is False
        got = loaded(database)
        by_number = {row["raw"]["incident_number"]: row for row in got.values()}
        assert all(by_number[n]["status"] == "resolved" for n in changes["resolved"])
        assert all(by_number[n]["status"] == "acknowledged" for n in changes["acknowledged"])
        assert set(got) == expected_ids(server, start)
    finally:
        server.stop()


def test_a_cut_off_page_is_retried_even_if_it_ends_in_a_brace() -> None:
    import requests

    from ingestion.pagerduty.client import _is_cut_off

    response = requests.Response()
    response.status_code = 200
    response._content = b'{"incidents":[{"id":"Q1","service":{"id":"P1"}'
    assert _is_cut_off(response, None) is True
    response._content = b'{"incidents":[],"more":false}'
    assert _is_cut_off(response, None) is False
    assert response.parsed_json == {"incidents": [], "more": False}
