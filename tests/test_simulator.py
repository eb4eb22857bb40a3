"""The PagerDuty simulator over real HTTP: the API rules a loader must cope with, mutations, faults."""

from __future__ import annotations

import ast
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
import requests

from simulator import generate, running
from simulator.api import add_months
from simulator.catalog import LONG_TITLE_LEN
from simulator.query import log_window

TOKEN = "sim-token"
END = datetime(2024, 6, 30, 12, 0, 0, tzinfo=UTC)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
LA = ZoneInfo("America/Los_Angeles")


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_la(text: str) -> bool:
    """Rendered with the offset Los Angeles had at that instant (-08:00 or -07:00, never Z)."""
    moment = ts(text)
    return bool(ISO.match(text)) and not text.endswith("Z") and moment.utcoffset() == moment.astimezone(LA).utcoffset()


class Clock:
    """A server clock the test moves by hand (replaces Api.clock)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def fixed():
    """2,000 incidents over 500 days ending mid-2024 (so some were resolved before May 2023)."""
    with running(seed=11, size=2000, days=500, end=END) as server:
        yield server


@pytest.fixture
def fresh():
    """A small account ending now, so recent incidents are open; private to one test (it gets mutated)."""
    with running(seed=5, size=400, days=30) as server:
        yield server


@pytest.fixture
def http():
    session = requests.Session()
    session.headers["Authorization"] = f"Token token={TOKEN}"
    yield session
    session.close()


def get(http, server, path: str, **params) -> requests.Response:
    return http.get(server.url + path, params=params, timeout=10)


def fetch_all(http, server, **params) -> list[dict]:
    out, offset = [], 0
    while True:
        body = get(http, server, "/incidents", limit=100, offset=offset, **params).json()
        out.extend(body["incidents"])
        if not body["more"]:
            return out
        offset += 100


def test_auth(fixed, http) -> None:
    for headers in (
        {},
        {"Authorization": "Token token=wrong"},
        {"Authorization": f"Bearer {TOKEN}"},
        {"Authorization": f"Token token={TOKEN} "},
    ):
        response = requests.get(fixed.url + "/incidents", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"error": {"message": "Unauthenticated", "code": 2006}}
    assert get(http, fixed, "/abilities").json()["abilities"]


def test_pagination_more_and_total(fixed, http) -> None:
    first = get(http, fixed, "/incidents", date_range="all").json()
    assert (first["limit"], first["offset"], first["total"], first["more"]) == (25, 0, None, True)
    assert len(first["incidents"]) == 25
    capped = get(http, fixed, "/incidents", date_range="all", limit=500, total="true").json()
    assert capped["limit"] == 100 and len(capped["incidents"]) == 100
    assert capped["total"] == len(fixed.dataset)
    everything = fetch_all(http, fixed, date_range="all")
    assert len(everything) == len({i["id"] for i in everything}) == len(fixed.dataset)
    last = get(http, fixed, "/incidents", date_range="all", offset=1990, limit=100).json()
    assert len(last["incidents"]) == 10 and last["more"] is False


def test_offset_plus_limit_ceiling(fixed, http) -> None:
    assert get(http, fixed, "/incidents", date_range="all", offset=9900, limit=100).status_code == 200
    for offset, limit in ((9901, 100), (9950, 500), (10_000, 1)):
        response = get(http, fixed, "/incidents", date_range="all", offset=offset, limit=limit)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == 2002 and "10000" in error["message"]
    assert get(http, fixed, "/log_entries", offset=9950, limit=100).status_code == 400


def test_six_month_range_and_bad_dates(fixed, http) -> None:
    ok = get(http, fixed, "/incidents", since="2024-01-01T00:00:00Z", until="2024-07-01T00:00:00Z")
    assert ok.status_code == 200
    for since, until in (
        ("2024-01-01T00:00:00Z", "2024-07-01T00:00:01Z"),
        ("2024-03-01T00:00:00Z", "2024-02-01T00:00:00Z"),
    ):
        response = get(http, fixed, "/incidents", since=since, until=until)
        assert response.status_code == 400 and response.json()["error"]["code"] == 2005
    response = get(http, fixed, "/incidents", since="last tuesday", until="2024-02-01T00:00:00Z")
    assert response.status_code == 400 and response.json()["error"]["code"] == 2004


def test_default_window_is_the_last_month(fixed, http, monkeypatch) -> None:
    now = END - timedelta(days=3, seconds=17)
    monkeypatch.setattr(fixed.api, "clock", now.timestamp)
    ds = fixed.dataset
    expected = {
        n
        for n in range(1, len(ds) + 1)
        if add_months(now, -1) <= datetime.fromtimestamp(ds.created[n - 1], UTC) < now
    }
    got = fetch_all(http, fixed)
    assert {i["incident_number"] for i in got} == expected and expected
    since = now - timedelta(days=50)
    only_since = fetch_all(http, fixed, since=z(since))
    assert {i["incident_number"] for i in only_since} == {
        n
        for n in range(1, len(ds) + 1)
        if since <= datetime.fromtimestamp(ds.created[n - 1], UTC) < add_months(since, 1)
    }


def test_date_range_all_ignores_since_until(fixed, http) -> None:
    body = get(
        http,
        fixed,
        "/incidents",
        date_range="all",
        since="2024-01-01T00:00:00Z",
        until="2024-01-02T00:00:00Z",
        total="true",
    ).json()
    assert body["total"] == len(fixed.dataset)


def test_since_inclusive_until_exclusive_and_naive_times() -> None:
    with running(seed=2, size=50, days=10, end=END) as server, requests.Session() as http:
        http.headers["Authorization"] = f"Token token={TOKEN}"
        moments = [
            "2021-03-01T00:00:00Z",
            "2021-03-01T00:00:01Z",
            "2021-03-01T08:00:00Z",
            "2021-03-31T23:59:59Z",
            "2021-04-01T00:00:00Z",
        ]
        numbers = {m: server.dataset.add_incident(ts(m))["incident_number"] for m in moments}

        def window(since: str, until: str) -> set[int]:
            return {i["incident_number"] for i in fetch_all(http, server, since=since, until=until)}

        assert window("2021-03-01T00:00:00Z", "2021-04-01T00:00:00Z") == {numbers[m] for m in moments[:4]}
        assert window("2021-03-01T00:00:01+00:00", "2021-03-31T23:59:59Z") == {
            numbers[m] for m in moments[1:3]
        }
        # no offset: read in the account's time zone (America/Los_Angeles, UTC-8 in March)
        assert window("2021-03-01T00:00:00", "2021-04-01T00:00:00Z") == {numbers[m] for m in moments[2:4]}


def test_status_service_and_urgency_filters(fixed, http) -> None:
    ds = fixed.dataset
    everything = fetch_all(http, fixed, date_range="all")
    open_ = fetch_all(http, fixed, date_range="all", **{"statuses[]": ["triggered", "acknowledged"]})
    assert {i["id"] for i in open_} == {i["id"] for i in everything if i["status"] != "resolved"}
    assert {i["status"] for i in open_} == {"triggered", "acknowledged"}
    resolved = fetch_all(http, fixed, date_range="all", **{"statuses[]": "resolved"})
    assert len(resolved) + len(open_) == len(everything)
    ids = ds.entities.service_ids
    one = fetch_all(http, fixed, date_range="all", **{"service_ids[]": ids[1]})
    assert one and {i["service"]["id"] for i in one} == {ids[1]}
    two = fetch_all(http, fixed, date_range="all", **{"service_ids[]": [ids[0], ids[2]]})
    assert len(two) == sum(1 for i in everything if i["service"]["id"] in (ids[0], ids[2]))
    assert [i["created_at"] for i in two] == sorted(i["created_at"] for i in two)
    low = fetch_all(http, fixed, date_range="all", **{"urgencies[]": "low", "service_ids[]": ids[0]})
    assert len(low) == sum(1 for i in everything if i["urgency"] == "low" and i["service"]["id"] == ids[0])
    bad = get(http, fixed, "/incidents", **{"statuses[]": "open"})
    assert bad.status_code == 400


def test_sort_by(fixed, http) -> None:
    def numbers(sort_by: str) -> list[dict]:
        body = get(http, fixed, "/incidents", date_range="all", limit=100, sort_by=sort_by, time_zone="UTC").json()
        return body["incidents"]

    assert [i["incident_number"] for i in numbers("incident_number:desc")] == list(range(2000, 1900, -1))
    desc = numbers("created_at:desc")
    assert [i["created_at"] for i in desc] == sorted((i["created_at"] for i in desc), reverse=True)
    assert desc[0]["incident_number"] == 2000
    urgency = numbers("urgency")
    assert {i["urgency"] for i in urgency} == {"high"}
    resolved = [i.get("resolved_at") or i["last_status_change_at"] for i in numbers("resolved_at:asc")]
    assert resolved == sorted(resolved)
    assert get(http, fixed, "/incidents", sort_by="title").status_code == 400


def test_get_by_id_or_number_and_404(fixed, http) -> None:
    listed = get(http, fixed, "/incidents", date_range="all", offset=123, limit=1).json()["incidents"][0]
    by_id = get(http, fixed, f"/incidents/{listed['id']}").json()["incident"]
    by_number = get(http, fixed, f"/incidents/{listed['incident_number']}").json()["incident"]
    assert listed == by_id == by_number == fixed.dataset.incident(listed["id"], tz="America/Los_Angeles")
    assert in_la(listed["created_at"]) and fixed.dataset.incident(listed["id"])["created_at"].endswith("Z")
    for missing in ("QZZZZZZ", "0", "999999", "nope"):
        response = get(http, fixed, f"/incidents/{missing}")
        assert response.status_code == 404
        assert response.json()["error"] == {"message": "Not Found", "code": 2100, "errors": ["Not Found"]}
    assert get(http, fixed, "/no/such/path").status_code == 404
    entries = get(http, fixed, f"/incidents/{listed['id']}/log_entries").json()["log_entries"]
    assert entries[0]["type"] == "trigger_log_entry"
    assert entries[0]["id"] == listed["first_trigger_log_entry"]["id"]
    assert {e["incident"]["id"] for e in entries} == {listed["id"]}


def test_burst_puts_more_than_10000_in_one_week_of_one_service(http) -> None:
    with running(seed=3, size=14_000, days=240, burst=11_000, end=END) as server:
        start = END - timedelta(days=120)
        service = server.dataset.entities.service_ids[0]
        body = get(
            http,
            server,
            "/incidents",
            since=z(start),
            until=z(start + timedelta(days=7)),
            total="true",
            **{"service_ids[]": service},
        ).json()
        assert body["total"] > 10_000 and body["more"]


def test_incident_shape(fixed, http) -> None:
    everything = fetch_all(http, fixed, date_range="all")
    assert [i["incident_number"] for i in everything] == list(range(1, 2001))
    assert len({i["id"] for i in everything}) == 2000
    assert {i["status"] for i in everything} == {"triggered", "acknowledged", "resolved"}
    missing_resolved_at = 0
    for incident in everything:
        assert re.fullmatch(r"Q[0-9A-Z]{6}", incident["id"])
        assert incident["summary"] == f"[#{incident['incident_number']}] {incident['title']}"
        assert incident["html_url"] == f"https://acme.pagerduty.com/incidents/{incident['id']}"
        times = [incident[k] for k in ("created_at", "updated_at", "last_status_change_at")]
        times += [incident["resolved_at"]] if incident.get("resolved_at") else []
        times += [a["at"] for a in incident["assignments"] + incident["acknowledgements"]]
        assert all(in_la(t) for t in times), times  # the account's zone (America/Los_Angeles) by default
        if incident["status"] == "resolved":
            assert incident["assignments"] == [] and incident["acknowledgements"] == []
            assert incident["resolve_reason"] is None
            if "resolved_at" not in incident:
                missing_resolved_at += 1
                assert ts(incident["last_status_change_at"]) < datetime(2023, 5, 1, tzinfo=UTC)
            else:
                assert incident["resolved_at"] == incident["last_status_change_at"]
                assert ts(incident["resolved_at"]) >= ts(incident["created_at"])
        else:
            assert incident["resolved_at"] is None and incident["assignments"]
            assert bool(incident["acknowledgements"]) == (incident["status"] == "acknowledged")
    assert missing_resolved_at > 0
    titles = [i["title"] for i in everything]
    assert any('"' in t for t in titles) and any("'" in t for t in titles) and any("\\" in t for t in titles)
    assert any("🔥" in t for t in titles) and any("Ошибка" in t for t in titles)
    assert any(len(t) == LONG_TITLE_LEN for t in titles)
    priorities = [i["priority"] for i in everything]
    assert any(p is None for p in priorities) and any(p and p["name"] == "P2" for p in priorities)


def test_step_changes_exactly_what_it_reports(fresh, http) -> None:
    before = {i["incident_number"]: i for i in fetch_all(http, fresh, date_range="all", time_zone="UTC")}
    now = datetime.now(UTC)
    result = fresh.dataset.step(new=4, acknowledge=2, reassign=2, resolve=3, now=now)
    after = {i["incident_number"]: i for i in fetch_all(http, fresh, date_range="all", time_zone="UTC")}
    assert [len(result[k]) for k in ("acknowledged", "reassigned", "resolved", "created")] == [2, 2, 3, 4]
    assert result["escalated"] == []  # escalate defaults to 0
    touched = set().union(*result.values())
    assert len(touched) == 11
    for number, incident in before.items():
        if number not in touched:
            assert after[number] == incident
    for number in result["acknowledged"]:
        old, new = before[number], after[number]
        assert old["status"] == "triggered" and new["status"] == "acknowledged"
        assert new["acknowledgements"][0]["at"] == new["updated_at"] == new["last_status_change_at"]
    for number in result["reassigned"]:
        old, new = before[number], after[number]
        assert new["status"] == old["status"] != "resolved"
        assert new["assignments"][0]["assignee"]["id"] != old["assignments"][0]["assignee"]["id"]
        assert new["assignments"][0]["at"] == new["updated_at"] == z(now)
    for number in result["resolved"]:
        new = after[number]
        assert before[number]["status"] != "resolved" and new["status"] == "resolved"
        assert new["assignments"] == [] and new["acknowledgements"] == []
        assert new["resolved_at"] == new["last_status_change_at"] == new["updated_at"] == z(now)
    assert min(result["created"]) == max(before) + 1
    for number in result["created"]:
        created = ts(after[number]["created_at"])
        assert now - timedelta(seconds=61) <= created <= now and after[number]["status"] == "triggered"
    recent = {i["incident_number"] for i in fetch_all(http, fresh)}
    assert set(result["created"]) <= recent
    log = get(http, fresh, f"/incidents/{result['acknowledged'][0]}/log_entries").json()["log_entries"]
    assert log[-1]["type"] == "acknowledge_log_entry" and ts(log[-1]["created_at"]) == now.replace(microsecond=0)
    for number in result["reassigned"]:
        log = get(http, fresh, f"/incidents/{number}/log_entries").json()["log_entries"]
        assert log[-1]["type"] == "assign_log_entry"
        assert log[-1]["assignees"] == [after[number]["assignments"][0]["assignee"]]
    changed = get(http, fresh, "/log_entries", since=z(now - timedelta(seconds=90)), limit=100).json()
    assert touched <= {int(e["incident"]["summary"][2:].split("]")[0]) for e in changed["log_entries"]}


def test_step_does_fewer_when_nothing_is_open_and_admin_endpoints(http) -> None:
    with running(seed=9, size=30, days=400, end=END) as server:
        result = server.dataset.step(new=1, acknowledge=50, reassign=50, resolve=50, now=END)
        opened = sum(len(result[k]) for k in ("acknowledged", "reassigned", "resolved"))
        assert opened <= 30 and len(result["created"]) == 1
        touched = set(result["acknowledged"]) | set(result["reassigned"]) | set(result["resolved"])
        assert len(touched) == opened
        still_open = len(server.dataset.open)
        rest = {"new": 0, "acknowledge": 0, "reassign": 0, "resolve": 99, "now": z(END)}
        again = requests.post(server.url + "/_sim/step", json=rest, timeout=10).json()
        assert len(again["resolved"]) == still_open and not server.dataset.open
        nothing = requests.post(server.url + "/_sim/step", json={"now": z(END)}, timeout=10).json()
        assert nothing == {
            "acknowledged": [],
            "reassigned": [],
            "resolved": [],
            "escalated": [],
            "created": list(range(32, 37)),
        }
        made = requests.post(
            server.url + "/_sim/incidents",
            timeout=10,
            json={
                "created_at": "2022-01-01T00:00:00Z",
                "service_index": 1,
                "status": "acknowledged",
                "title": "x",
            },
        )
        incident = made.json()
        assert incident["incident_number"] == 37 and incident["status"] == "acknowledged"
        assert get(http, server, "/incidents/37", time_zone="UTC").json()["incident"] == incident  # admin: UTC
        assert server.stats()["requests"] == 1  # admin calls are not API requests


def test_change_event_retention_and_utc_rule(fixed, http) -> None:
    ds = fixed.dataset
    now = time.time()
    assert min(ds.change_keys)[0] < (now - 100 * 86_400) * 1000  # the dataset has them, the API must hide them
    since = z(datetime.now(UTC) - timedelta(days=120))
    events, offset = [], 0
    while True:
        body = get(http, fixed, "/change_events", since=since, limit=100, offset=offset).json()
        events.extend(body["change_events"])
        if not body["more"]:
            break
        offset += 100
    cutoff = now - 90 * 86_400 - 2
    assert events and all(ts(e["timestamp"]).timestamp() >= cutoff for e in events)
    retained = [
        sent <= now * 1000 for (ms, _id), sent in zip(ds.change_keys, ds.change_sent, strict=True) if ms >= (now - 90 * 86_400) * 1000
    ]
    assert abs(len(events) - sum(retained)) <= 1
    assert [ts(e["timestamp"]) for e in events] == sorted(ts(e["timestamp"]) for e in events)
    assert {e["custom_details"]["environment"] for e in events} == {"production", "staging"}
    assert len({e["integration"]["id"] for e in events}) >= 2 and any(len(e["services"]) == 2 for e in events)
    for bad in ("2024-01-01T00:00:00", "2024-01-01T00:00:00+02:00"):
        response = get(http, fixed, "/change_events", since=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == 2004
    assert get(http, fixed, "/change_events", since=since.replace("Z", "+00:00")).status_code == 200
    service = ds.entities.service_ids[2]
    mine = get(http, fixed, f"/services/{service}/change_events", total="true", limit=100).json()
    assert mine["total"] and all(service in {s["id"] for s in e["services"]} for e in mine["change_events"])
    integration = events[0]["integration"]["id"]
    body = get(http, fixed, "/change_events", limit=100, **{"integration_ids[]": integration}).json()
    assert {e["integration"]["id"] for e in body["change_events"]} == {integration}


def test_services_and_log_entries(fixed, http, monkeypatch) -> None:
    services = get(http, fixed, "/services", total="true").json()
    assert services["total"] == 5 and services["more"] is False
    names = [s["name"] for s in services["services"]]
    assert names == sorted(names, key=str.lower)
    assert [s["name"] for s in get(http, fixed, "/services", query="checkout").json()["services"]] == [
        "Checkout API"
    ]
    one = services["services"][0]
    assert get(http, fixed, f"/services/{one['id']}").json()["service"] == one
    assert get(http, fixed, "/services/PNOPE00").status_code == 404
    monkeypatch.setattr(fixed.api, "clock", END.timestamp)
    body = get(http, fixed, "/log_entries", limit=100, total="true", is_overview="true").json()
    entries = body["log_entries"]
    assert body["total"] > 100 and entries
    times = [e["created_at"] for e in entries]
    assert times == sorted(times) and times[0] >= z(add_months(END, -1))
    assert {e["type"] for e in entries} >= {"trigger_log_entry", "assign_log_entry", "resolve_log_entry"}


def test_faults(http) -> None:
    with running(seed=4, size=100, days=20, end=END) as server:

        def status() -> int:
            return get(http, server, "/abilities").status_code

        server.set_faults(rate_limit_every=2, rate_limit_reset=3)
        assert status() == 200
        throttled = get(http, server, "/abilities")
        assert throttled.status_code == 429
        assert throttled.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
        assert (
            throttled.headers["ratelimit-limit"],
            throttled.headers["ratelimit-remaining"],
            throttled.headers["ratelimit-reset"],
        ) == ("960", "0", "3")
        server.set_faults(rate_limit_every=1, rate_limit_bare=True)
        bare = get(http, server, "/abilities")
        assert bare.status_code == 429 and bare.content == b"" and "ratelimit-reset" not in bare.headers
        requests.post(server.url + "/_sim/faults", json={"error_every": 2, "error_status": 502}, timeout=10)
        assert [status() for _ in range(4)] == [200, 502, 200, 502]
        server.set_faults(truncate_every=1)
        cut = get(http, server, "/incidents", date_range="all")
        assert cut.status_code == 200 and int(cut.headers["Content-Length"]) == len(cut.content)
        with pytest.raises(ValueError):
            orjson.loads(cut.content)
        server.set_faults(slow_every=1, slow_seconds=0.3)
        started = time.monotonic()
        assert status() == 200 and time.monotonic() - started >= 0.3
        server.set_faults(fail_after=2)
        assert [status() for _ in range(4)] == [200, 200, 503, 503]
        server.set_faults()
        assert status() == 200
        stats = requests.get(server.url + "/_sim/stats", timeout=10).json()
        assert stats["faults"] == {"429": 2, "429_per_minute": 0, "5xx": 4, "truncated": 1, "slow": 1}
        assert stats["requests"] == 14 and stats["by_endpoint"] == {"GET /abilities": 13, "GET /incidents": 1}
        assert stats["log"][-1] == "GET /abilities" and stats["log"][-2] == "GET /abilities"
        assert "GET /incidents?date_range=all" in stats["log"]
        requests.post(server.url + "/_sim/reset_stats", timeout=10)
        assert server.stats()["requests"] == 0
        with pytest.raises(ValueError):
            server.set_faults(nonsense=1)


def test_determinism() -> None:
    anchor = datetime(2024, 7, 1, tzinfo=UTC)

    def dump(seed: int) -> bytes:
        ds = generate(seed, 1500, days=90, end=END, burst=300, change_events_now=anchor)
        incidents = [ds.render(s) for s in range(len(ds))]
        entries = [ds.log_entry(s, q) for _, s, q in log_window(ds, None, None)]
        return orjson.dumps([incidents, entries, ds.change_events])

    assert dump(1) == dump(1)
    assert dump(1) != dump(2)


def test_large_generation() -> None:
    started = time.monotonic()
    ds = generate(8, 200_000, days=365, end=END, burst=20_000)
    elapsed = time.monotonic() - started
    assert len(ds) == 200_000 and set(ds.status) == {0, 1, 2}
    assert ds.incident(200_000)["incident_number"] == 200_000
    print(f"generated 200,000 incidents in {elapsed:.2f}s")


def test_cli_prints_one_line_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "simulator", "--port", "0", "--size", "200", "--token", "t"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        pattern = r"PagerDuty simulator listening on (http://127\.0\.0\.1:\d+) \(200 incidents\)\n"
        match = re.fullmatch(pattern, line)
        assert match, line
        auth = {"Authorization": "Token token=t"}
        response = requests.get(match.group(1) + "/abilities", headers=auth, timeout=10)
        assert response.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and out == "" and err == ""
