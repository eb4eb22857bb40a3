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
from simulator.catalog import LONG_TITLE_LEN, NO_USER
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
    return (
        bool(ISO.match(text))
        and not text.endswith("Z")
        and moment.utcoffset() == moment.astimezone(LA).utcoffset()
    )


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
        body = get(
            http, fixed, "/incidents", date_range="all", limit=100, sort_by=sort_by, time_zone="UTC"
        ).json()
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
    assert log[-1]["type"] == "acknowledge_log_entry" and ts(log[-1]["created_at"]) == now.replace(
        microsecond=0
    )
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
        # admin endpoints answer in UTC
        assert get(http, server, "/incidents/37", time_zone="UTC").json()["incident"] == incident
        assert server.stats()["requests"] == 1  # admin calls are not API requests


def test_change_event_retention_and_utc_rule(fixed, http) -> None:
    ds = fixed.dataset
    now = time.time()
    # the dataset has them, the API must hide them
    assert min(ds.change_keys)[0] < (now - 100 * 86_400) * 1000
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
        sent <= now * 1000
        for (ms, _id), sent in zip(ds.change_keys, ds.change_sent, strict=True)
        if ms >= (now - 90 * 86_400) * 1000
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
    # under a second here (2 cores); 15 s leaves room for a loaded CI machine, not for a quadratic generator
    assert elapsed < 15, f"generated 200,000 incidents in {elapsed:.2f}s"


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


# ------------------------------------------------------------------------------------------------ structure
SIM_DIR = Path(__file__).resolve().parent.parent / "simulator"
LAYERS = ["catalog", "times", "entities", "render", "store", "query", "generate", "api", "server", "__main__"]
SHIMS = {"__init__"}  # re-exports only


def _imports(path: Path) -> set[str]:
    """Sibling modules a simulator module imports, wherever the import sits (functions, TYPE_CHECKING)."""
    deps = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            deps.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("simulator."):
            deps.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            deps.update(a.name.split(".")[1] for a in node.names if a.name.startswith("simulator."))
    return deps - {path.stem}


def test_modules_import_one_way_and_name_each_concept_once() -> None:
    modules = {path.stem: path for path in SIM_DIR.glob("*.py")}
    assert set(modules) == set(LAYERS) | SHIMS
    for name in LAYERS:
        deps = _imports(modules[name])
        assert all(LAYERS.index(dep) < LAYERS.index(name) for dep in deps), (name, deps)
        assert "TYPE_CHECKING" not in modules[name].read_text()
    # statuses, log entry kinds and flags have one definition, in catalog
    shared = set(
        "TRIGGERED ACKNOWLEDGED RESOLVED STATUSES URGENCIES LOG_TYPES TRIGGER ASSIGN RESOLVE".split()
    )
    shared |= set("ESCALATE FLAG_AUTO_RESOLVED FLAG_OMIT_RESOLVED_AT NO_USER PRIORITY_TABLE".split())
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        assigned = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for top in node.targets
            for target in ast.walk(top)
            if isinstance(target, ast.Name)
        }
        if name != "catalog":
            assert not assigned & shared, (name, assigned & shared)
        # nobody but the Dataset sets a Dataset's attributes
        outside = [
            ast.unparse(target)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "ds"
        ]
        assert not outside, (name, outside)
    # the public names other code uses
    import simulator
    from simulator.generate import generate as generate_again
    from simulator.server import SimulatorServer
    from simulator.store import Dataset

    assert simulator.generate is generate_again and simulator.Dataset is Dataset
    assert simulator.SimulatorServer is SimulatorServer and callable(simulator.running)


# -------------------------------------------------------------------------------------------- time zones
def test_times_render_in_the_account_zone_across_dst(http) -> None:
    with running(seed=2, size=20, days=5, end=END) as server:  # account zone: America/Los_Angeles
        ds = server.dataset
        spring = ds.add_incident(
            ts("2024-03-10T09:30:00Z"), status="resolved", resolved_at=ts("2024-03-10T10:30:00Z")
        )["incident_number"]
        edge = ds.add_incident(
            ts("2024-03-10T09:59:59Z"), status="resolved", resolved_at=ts("2024-03-10T10:00:00Z")
        )["incident_number"]
        fall = ds.add_incident(
            ts("2024-11-03T08:30:00Z"), status="acknowledged", acknowledged_at=ts("2024-11-03T09:30:00Z")
        )["incident_number"]

        one = get(http, server, f"/incidents/{spring}").json()["incident"]
        assert (one["created_at"], one["resolved_at"]) == (
            "2024-03-10T01:30:00-08:00",
            "2024-03-10T03:30:00-07:00",
        )
        assert one["last_status_change_at"] == one["updated_at"] == "2024-03-10T03:30:00-07:00"
        listed = fetch_all(http, server, since="2024-03-10T09:00:00Z", until="2024-03-10T10:30:00Z")
        assert [(i["incident_number"], i["created_at"], i["resolved_at"]) for i in listed] == [
            (spring, "2024-03-10T01:30:00-08:00", "2024-03-10T03:30:00-07:00"),
            (edge, "2024-03-10T01:59:59-08:00", "2024-03-10T03:00:00-07:00"),
        ]
        # the hour that happens twice in the autumn: 01:30 PDT, then 01:30 PST
        ack = get(http, server, f"/incidents/{fall}").json()["incident"]
        assert ack["created_at"] == ack["assignments"][0]["at"] == "2024-11-03T01:30:00-07:00"
        assert ack["acknowledgements"][0]["at"] == ack["updated_at"] == "2024-11-03T01:30:00-08:00"
        log = get(http, server, f"/incidents/{fall}/log_entries").json()["log_entries"]
        assert [(e["type"], e["created_at"]) for e in log] == [
            ("trigger_log_entry", "2024-11-03T01:30:00-07:00"),
            ("assign_log_entry", "2024-11-03T01:30:00-07:00"),
            ("acknowledge_log_entry", "2024-11-03T01:30:00-08:00"),
        ]
        # time_zone renders the response in another zone; UTC renders Z
        for zone_name, created, resolved in (
            ("UTC", "2024-03-10T09:30:00Z", "2024-03-10T10:30:00Z"),
            ("Europe/Berlin", "2024-03-10T10:30:00+01:00", "2024-03-10T11:30:00+01:00"),
            ("Asia/Kolkata", "2024-03-10T15:00:00+05:30", "2024-03-10T16:00:00+05:30"),
        ):
            other = get(http, server, f"/incidents/{spring}", time_zone=zone_name).json()["incident"]
            assert (other["created_at"], other["resolved_at"]) == (created, resolved)
        # Lord Howe moves by 30 minutes, at 15:30Z: a transition inside a UTC hour
        howe = [
            ds.add_incident(ts(m))["incident_number"]
            for m in ("2024-10-05T15:29:59Z", "2024-10-05T15:30:00Z")
        ]
        assert [
            get(http, server, f"/incidents/{n}", time_zone="Australia/Lord_Howe").json()["incident"][
                "created_at"
            ]
            for n in howe
        ] == ["2024-10-06T01:59:59+10:30", "2024-10-06T02:30:00+11:00"]
        berlin = get(
            http,
            server,
            "/log_entries",
            since="2024-11-03T08:00:00Z",
            until="2024-11-03T10:00:00Z",
            time_zone="Europe/Berlin",
        ).json()["log_entries"]
        assert [e["created_at"] for e in berlin] == [
            "2024-11-03T09:30:00+01:00",
            "2024-11-03T09:30:00+01:00",
            "2024-11-03T10:30:00+01:00",
        ]
        service = get(http, server, "/services").json()["services"][0]
        assert (service["created_at"], service["updated_at"]) == (
            "2019-03-04T02:00:00-08:00",
            "2024-01-15T00:30:00-08:00",
        )
        utc_service = get(http, server, f"/services/{service['id']}", time_zone="UTC").json()["service"]
        assert (utc_service["created_at"], utc_service["updated_at"]) == (
            "2019-03-04T10:00:00Z",
            "2024-01-15T08:30:00Z",
        )
        for path in (f"/incidents/{spring}", "/incidents", "/log_entries", "/services"):
            bad = get(http, server, path, time_zone="Mars/Olympus_Mons")
            assert bad.status_code == 400
            error = bad.json()["error"]
            assert (error["code"], error["message"]) == (2001, "Invalid Input Provided") and error["errors"]
        # Dataset.render / incident default to UTC, and take a zone
        assert ds.render(spring - 1)["created_at"] == "2024-03-10T09:30:00Z"
        assert ds.render(spring - 1, "America/Los_Angeles")["resolved_at"] == "2024-03-10T03:30:00-07:00"
        assert (
            ds.incident(spring, tz=timezone(timedelta(hours=-3)))["created_at"] == "2024-03-10T06:30:00-03:00"
        )


def test_account_time_zone_setting(http) -> None:
    with running(seed=2, size=20, days=5, end=END, account_time_zone="UTC") as server:
        number = server.dataset.add_incident(ts("2024-01-15T12:00:00Z"))["incident_number"]
        assert (
            get(http, server, f"/incidents/{number}").json()["incident"]["created_at"]
            == "2024-01-15T12:00:00Z"
        )
        # naive since/until are read in the account's zone, which is UTC here
        naive = fetch_all(http, server, since="2024-01-15T12:00:00", until="2024-01-15T12:00:01")
        assert [i["incident_number"] for i in naive] == [number]
    with running(seed=2, size=20, days=5, end=END, account_time_zone="Europe/London") as server:
        number = server.dataset.add_incident(ts("2024-01-15T12:00:00Z"))["incident_number"]
        # a zone at UTC+0 that is not UTC writes +00:00, not Z
        assert (
            get(http, server, f"/incidents/{number}").json()["incident"]["created_at"]
            == "2024-01-15T12:00:00+00:00"
        )
    with pytest.raises(ValueError):
        running(seed=2, size=20, account_time_zone="Nowhere/Special").__enter__()


def test_change_event_timestamps_as_their_senders_wrote_them(http) -> None:
    anchor = datetime(2024, 4, 15, tzinfo=UTC)  # 120 days back: both sides of both DST changes
    with running(seed=6, size=20, days=5, end=END, change_events_now=anchor) as server:
        server.api.clock = Clock(anchor.timestamp())
        by_source: dict[str, list[str]] = {}
        for event in server.dataset.change_events:
            by_source.setdefault(event["source"], []).append(event["timestamp"])
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t) for t in by_source["github-actions"])
        for source, pattern, zone_name, offsets in (
            ("jenkins", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+0[12]:00)", "Europe/Berlin", {"+01:00", "+02:00"}),
            (
                "buildkite",
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(-0[45]:00)",
                "America/New_York",
                {"-05:00", "-04:00"},
            ),
        ):
            seen = set()
            for text in by_source[source]:
                match = re.fullmatch(pattern, text)
                assert match, text
                seen.add(match.group(1))
                assert ts(text).utcoffset() == ts(text).astimezone(ZoneInfo(zone_name)).utcoffset()
            assert seen == offsets
        window = {"since": "2024-03-01T00:00:00Z", "until": "2024-04-15T00:00:00Z", "limit": 100}
        plain = get(http, server, "/change_events", **window).json()
        tokyo = get(http, server, "/change_events", time_zone="Asia/Tokyo", **window).json()
        assert plain == tokyo and plain["change_events"]  # time_zone does not touch sender timestamps
        stored = {e["id"]: e for e in server.dataset.change_events}
        assert all(stored[e["id"]] == e for e in plain["change_events"])
        # selection is on the instant, whatever the offset: 09:59:59.123-05:00 is 14:59:59.123Z
        new_york = server.dataset.add_change_event("2024-04-10T09:59:59.123-05:00", [0])
        berlin = server.dataset.add_change_event(
            datetime(2024, 4, 10, 16, 59, 59, 123000, tzinfo=ZoneInfo("Europe/Berlin")), [1]
        )
        assert (new_york["timestamp"], berlin["timestamp"]) == (
            "2024-04-10T09:59:59.123-05:00",
            "2024-04-10T16:59:59.123+02:00",
        )

        def ids(since: str, until: str) -> set[str]:
            events = get(http, server, "/change_events", since=since, until=until, limit=100).json()[
                "change_events"
            ]
            return {e["id"] for e in events} & {new_york["id"], berlin["id"]}

        assert ids("2024-04-10T14:59:59Z", "2024-04-10T15:00:00Z") == {new_york["id"], berlin["id"]}
        assert ids("2024-04-10T15:00:00Z", "2024-04-10T16:00:00Z") == set()
        assert ids("2024-04-10T14:00:00Z", "2024-04-10T14:59:59Z") == set()


# ------------------------------------------------------------------------------- edits, merges, escalations
def test_edits_after_resolution_with_log_entries(http) -> None:
    with running(seed=21, size=30, days=10, end=END) as server:  # generated incidents: June 2024 only
        ds = server.dataset
        svc = ds.entities.service_ids
        a = ds.add_incident(
            ts("2024-03-01T10:00:00Z"),
            0,
            "resolved",
            "Checkout down",
            resolved_at=ts("2024-03-01T11:00:00Z"),
            assignee=3,
        )
        n = a["incident_number"]
        assert (a["priority"], a["urgency"]) == (None, "high")
        edited = requests.post(
            server.url + "/_sim/edit",
            timeout=10,
            json={
                "number": n,
                "at": "2024-03-05T12:00:00Z",
                "priority": "P1",
                "urgency": "low",
                "title": "Checkout down (post-mortem)",
                "service_index": 2,
            },
        ).json()
        now = get(http, server, f"/incidents/{n}", time_zone="UTC").json()["incident"]
        assert edited == now
        # resolved_at and last_status_change_at stay (the latter moves on status changes only); updated_at moves
        assert (now["status"], now["resolved_at"]) == ("resolved", "2024-03-01T11:00:00Z")
        assert now["last_status_change_at"] == "2024-03-01T11:00:00Z"
        assert now["updated_at"] == "2024-03-05T12:00:00Z"
        assert (now["priority"]["name"], now["urgency"], now["title"]) == (
            "P1",
            "low",
            "Checkout down (post-mortem)",
        )
        assert now["summary"] == f"[#{n}] Checkout down (post-mortem)"
        assert now["service"]["id"] == svc[2] and now["escalation_policy"] == ds.entities.ep_refs[2]
        # the per-service index follows the move
        march_1 = {"since": "2024-03-01T00:00:00Z", "until": "2024-03-02T00:00:00Z"}

        def numbers(**params) -> list[int]:
            return [i["incident_number"] for i in fetch_all(http, server, **march_1, **params)]

        assert numbers(**{"service_ids[]": svc[2]}) == [n]
        assert numbers(**{"service_ids[]": svc[0]}) == []
        assert numbers(**{"service_ids[]": [svc[0], svc[2]], "statuses[]": "resolved"}) == [n]
        log = get(http, server, f"/incidents/{n}/log_entries", time_zone="UTC").json()["log_entries"]
        # what PagerDuty writes: a priority change and a move with their own (undocumented) types, the old and
        # new priority and the old service in the channel; the title edit writes nothing at all
        assert [(e["type"], e["created_at"], e["service"]["id"]) for e in log] == [
            ("trigger_log_entry", "2024-03-01T10:00:00Z", svc[0]),
            ("assign_log_entry", "2024-03-01T10:00:00Z", svc[0]),
            ("resolve_log_entry", "2024-03-01T11:00:00Z", svc[0]),
            ("priority_change_log_entry", "2024-03-05T12:00:00Z", svc[0]),
            ("urgency_change_log_entry", "2024-03-05T12:00:00Z", svc[0]),
            ("service_change_log_entry", "2024-03-05T12:00:00Z", svc[2]),
        ]
        assert [e["summary"] for e in log[3:]] == [
            "Priority changed from no priority to P1 by Dmitri Ivanov.",
            "Urgency changed from high to low by Dmitri Ivanov.",
            'Moved from "Checkout API" to "Search Service" by Dmitri Ivanov.',
        ]
        p1 = ds.entities.priority_refs[1]
        assert (log[3]["channel"]["old_priority"], log[3]["channel"]["new_priority"]) == (None, p1)
        assert log[5]["channel"]["old_service"] == ds.entities.service_refs[0]
        assert {e["incident"]["id"] for e in log} == {a["id"]}
        # triggered and acknowledged incidents can be edited too, and keep their status
        b = ds.add_incident(ts("2024-03-02T10:00:00Z"), 1)["incident_number"]
        c = ds.add_incident(ts("2024-03-02T11:00:00Z"), 1, "acknowledged")["incident_number"]
        ds.edit(b, at=ts("2024-03-06T08:00:00Z"), priority="P2")
        ds.edit(c, at=ts("2024-03-06T09:00:00Z"), urgency="low")
        got_b = get(http, server, f"/incidents/{b}", time_zone="UTC").json()["incident"]
        got_c = get(http, server, f"/incidents/{c}", time_zone="UTC").json()["incident"]
        assert (got_b["status"], got_b["priority"]["name"], got_b["updated_at"]) == (
            "triggered",
            "P2",
            "2024-03-06T08:00:00Z",
        )
        assert got_b["last_status_change_at"] == "2024-03-02T10:00:00Z" and got_b["assignments"]
        assert (got_c["status"], got_c["urgency"], got_c["updated_at"]) == (
            "acknowledged",
            "low",
            "2024-03-06T09:00:00Z",
        )
        assert got_c["acknowledgements"][0]["at"] == "2024-03-02T11:01:00Z"
        # the account-wide log names every incident that changed in the window, resolved ones included
        changed = get(
            http, server, "/log_entries", since="2024-03-05T00:00:00Z", until="2024-03-07T00:00:00Z"
        ).json()
        assert {e["incident"]["id"] for e in changed["log_entries"]} == {a["id"], got_b["id"], got_c["id"]}
        assert (
            len(changed["log_entries"]) == 5
            and changed["log_entries"][0]["created_at"] == "2024-03-05T04:00:00-08:00"
        )
        # an edit that changes nothing writes nothing; priority can be removed
        ds.edit(n, at=ts("2024-03-08T00:00:00Z"), priority="P1")
        assert ds.incident(n)["updated_at"] == "2024-03-05T12:00:00Z" and len(ds.events(n - 1)) == 6
        ds.edit(n, at=ts("2024-03-09T00:00:00Z"), priority=None)
        assert ds.incident(n)["priority"] is None
        assert (
            ds.log_entry(n - 1, 6)["summary"] == "Priority changed from P1 to no priority by Dmitri Ivanov."
        )
        # a title edit alone moves updated_at and writes no log entry: nothing in the account's log names it
        ds.edit(n, at=ts("2024-03-10T00:00:00Z"), title="Checkout down (final)")
        assert ds.incident(n)["updated_at"] == "2024-03-10T00:00:00Z" and len(ds.events(n - 1)) == 7
        quiet = get(http, server, "/log_entries", since="2024-03-09T12:00:00Z", until="2024-03-11T00:00:00Z")
        assert quiet.json()["log_entries"] == []
        for body in (
            {"number": n, "urgency": "medium"},
            {"number": 9999, "title": "x"},
            {"number": n, "at": "2024-02-01T00:00:00Z", "title": "before it existed"},
            {"number": n, "service_index": 7},
        ):
            assert requests.post(server.url + "/_sim/edit", json=body, timeout=10).status_code == 400
        assert ds.incident(n)["title"] == "Checkout down (final)"


def test_merge_resolves_sources_with_a_merge_reason(http) -> None:
    with running(seed=21, size=30, days=10, end=END) as server:
        ds = server.dataset
        target = ds.add_incident(ts("2024-03-06T09:55:00Z"), 1, title="Payments failing")
        d = ds.add_incident(ts("2024-03-06T10:00:00Z"), 1)
        e = ds.add_incident(ts("2024-03-06T10:05:00Z"), 1, "acknowledged")
        nt, nd, ne = (i["incident_number"] for i in (target, d, e))
        answer = requests.post(
            server.url + "/_sim/merge",
            json={"source_numbers": [nd, ne], "into_number": nt, "at": "2024-03-06T10:30:00Z"},
            timeout=10,
        )
        assert answer.status_code == 200
        reference = {
            "id": target["id"],
            "type": "incident_reference",
            "summary": f"[#{nt}] Payments failing",
            "self": f"https://api.pagerduty.com/incidents/{target['id']}",
            "html_url": f"https://acme.pagerduty.com/incidents/{target['id']}",
        }
        for number in (nd, ne):
            merged = get(http, server, f"/incidents/{number}", time_zone="UTC").json()["incident"]
            assert merged["status"] == "resolved"
            assert (
                merged["resolved_at"]
                == merged["last_status_change_at"]
                == merged["updated_at"]
                == "2024-03-06T10:30:00Z"
            )
            assert merged["assignments"] == [] and merged["acknowledgements"] == []
            assert merged["resolve_reason"] == {"type": "merge_resolve_reason", "incident": reference}
            assert merged["alert_counts"] == {"all": 0, "triggered": 0, "resolved": 0}
            last = get(http, server, f"/incidents/{number}/log_entries", time_zone="UTC").json()[
                "log_entries"
            ][-1]
            assert last["type"] == "resolve_log_entry" and last["created_at"] == "2024-03-06T10:30:00Z"
            assert last["summary"].startswith(f"Resolved by merge into [#{nt}]")
        assert answer.json()["merged"] == [ds.incident(nd), ds.incident(ne)]
        into = get(http, server, f"/incidents/{nt}", time_zone="UTC").json()["incident"]
        assert answer.json()["incident"] == into
        assert (into["status"], into["updated_at"], into["last_status_change_at"]) == (
            "triggered",
            "2024-03-06T10:30:00Z",
            "2024-03-06T09:55:00Z",
        )
        assert (
            into["alert_counts"] == {"all": 3, "triggered": 3, "resolved": 0}
            and into["resolve_reason"] is None
        )
        # the surviving incident gets a link_log_entry per merged incident, each merged one an unlink_log_entry
        linked = get(http, server, f"/incidents/{nt}/log_entries").json()["log_entries"][-2:]
        assert [(x["type"], x["summary"]) for x in linked] == [
            (
                "link_log_entry",
                f"Alerts of [#{nd}] linked to this incident by {linked[0]['agent']['summary']}.",
            ),
            (
                "link_log_entry",
                f"Alerts of [#{ne}] linked to this incident by {linked[0]['agent']['summary']}.",
            ),
        ]
        unlinked = get(http, server, f"/incidents/{nd}/log_entries").json()["log_entries"][-2]
        assert unlinked["type"] == "unlink_log_entry" and f"[#{nt}]" in unlinked["summary"]
        window = get(
            http, server, "/log_entries", since="2024-03-06T10:30:00Z", until="2024-03-06T10:30:01Z"
        ).json()
        assert {x["incident"]["id"] for x in window["log_entries"]} == {target["id"], d["id"], e["id"]}
        for body in (
            {"source_numbers": [nd], "into_number": nt},  # already resolved
            {"source_numbers": [nt], "into_number": nt},
            {"source_numbers": [], "into_number": nt},
        ):
            assert requests.post(server.url + "/_sim/merge", json=body, timeout=10).status_code == 400


def test_escalations_and_assignment_history(http) -> None:
    with running(seed=21, size=30, days=10, end=END) as server:
        ds = server.dataset
        ent = ds.entities
        g = ds.add_incident(ts("2024-03-07T10:00:00Z"), 0, assignee=1)["incident_number"]
        h = ds.add_incident(ts("2024-03-07T10:01:00Z"), 0, "acknowledged", assignee=2)["incident_number"]
        only = {"new": 0, "acknowledge": 0, "reassign": 0, "resolve": 0}
        step = requests.post(
            server.url + "/_sim/step",
            json={**only, "escalate": 50, "now": "2024-03-07T10:20:00Z"},
            timeout=10,
        ).json()
        # only triggered incidents created by then escalate (the generated ones are from June)
        assert step == {"acknowledged": [], "reassigned": [], "resolved": [], "escalated": [g], "created": []}
        now = get(http, server, f"/incidents/{g}", time_zone="UTC").json()["incident"]
        [assignment] = now["assignments"]
        new_user = assignment["assignee"]
        assert (
            assignment["at"] == now["updated_at"] == "2024-03-07T10:20:00Z" and now["status"] == "triggered"
        )
        assert new_user["id"] != ent.user_ids[1] and new_user["id"] in {
            ent.user_ids[u] for u in ent.service_pool[0]
        }
        last = get(http, server, f"/incidents/{g}/log_entries", time_zone="UTC").json()["log_entries"][-1]
        assert (last["type"], last["created_at"], last["assignees"]) == (
            "escalate_log_entry",
            "2024-03-07T10:20:00Z",
            [new_user],
        )
        assert last["agent"]["id"] == ent.service_ids[0]
        assert last["summary"] == f"Escalated to {new_user['summary']} (escalation policy timeout)."
        assert ds.assignment_history(g) == [
            (ts("2024-03-07T10:00:00Z"), ent.user_ids[1], "Bob Nguyen"),
            (ts("2024-03-07T10:20:00Z"), new_user["id"], new_user["summary"]),
        ]
        remote = requests.get(
            server.url + "/_sim/assignment_history", params={"number": g}, timeout=10
        ).json()
        assert remote == [
            {"at": "2024-03-07T10:00:00Z", "user_id": ent.user_ids[1], "user_name": "Bob Nguyen"},
            {"at": "2024-03-07T10:20:00Z", "user_id": new_user["id"], "user_name": new_user["summary"]},
        ]
        assert ds.assignment_history(h) == [(ts("2024-03-07T10:01:00Z"), ent.user_ids[2], "Chiara Rossi")]
        ds.step(**{**only, "reassign": 2}, now=ts("2024-03-07T10:40:00Z"))
        for number in (g, h):  # the history agrees with the log entries, and ends with the current assignee
            log = get(http, server, f"/incidents/{number}/log_entries", time_zone="UTC").json()["log_entries"]
            from_log = [
                (ts(x["created_at"]), a["id"], a["summary"])
                for x in log
                if x["type"] in ("assign_log_entry", "escalate_log_entry")
                for a in x["assignees"]
            ]
            history = ds.assignment_history(number)
            assert history == from_log and history[-1][0] == ts("2024-03-07T10:40:00Z")
            assert history[-1][1] == ds.incident(number)["assignments"][0]["assignee"]["id"]
        # a generated incident assigned to two users at once (and resolved since)
        two = next(slot for slot in range(30) if ds.user2[slot] != NO_USER)
        log = get(http, server, f"/incidents/{two + 1}/log_entries", time_zone="UTC").json()["log_entries"]
        assert log[1]["type"] == "assign_log_entry" and len(log[1]["assignees"]) == 2
        created = ts(ds.render(two)["created_at"])
        assert ds.assignment_history(two + 1) == [
            (created, a["id"], a["summary"]) for a in log[1]["assignees"]
        ]
        assert (
            requests.get(
                server.url + "/_sim/assignment_history", params={"number": 999}, timeout=10
            ).status_code
            == 400
        )


# ------------------------------------------------------------------------------------- late change events
def test_late_change_events_appear_once_received(http) -> None:
    anchor = datetime(2024, 4, 15, tzinfo=UTC)
    with running(seed=6, size=20, days=5, end=END, change_events_now=anchor) as server:
        clock = server.api.clock = Clock(ts("2024-04-01T12:00:00Z").timestamp())
        svc = server.dataset.entities.service_ids
        made = requests.post(
            server.url + "/_sim/change_events",
            timeout=10,
            json={
                "timestamp": "2024-04-01T10:00:00+02:00",  # 08:00Z: stamped when the deploy started
                "services": [0, 1],
                "sent_at": "2024-04-01T12:30:00Z",  # sent when it ended
                "integration": 1,
                "custom_details": {"environment": "production"},
                "summary": "Deploy checkout and payments",
            },
        ).json()
        assert made["timestamp"] == "2024-04-01T10:00:00+02:00" and made["source"] == "jenkins"
        assert [s["id"] for s in made["services"]] == [svc[0], svc[1]] and made["custom_details"] == {
            "environment": "production"
        }
        window = {"since": "2024-04-01T07:00:00Z", "until": "2024-04-01T09:00:00Z", "limit": 100}

        def listed() -> list[bool]:
            paths = [
                "/change_events",
                f"/services/{svc[0]}/change_events",
                f"/services/{svc[1]}/change_events",
            ]
            return [
                made["id"] in {e["id"] for e in get(http, server, p, **window).json()["change_events"]}
                for p in paths
            ]

        assert listed() == [False, False, False]
        clock.now = ts("2024-04-01T12:29:59Z").timestamp()
        assert listed() == [False, False, False]
        clock.now = ts("2024-04-01T12:30:00Z").timestamp()
        assert listed() == [True, True, True]
        assert made["id"] not in {
            e["id"]
            for e in get(http, server, f"/services/{svc[2]}/change_events", **window).json()["change_events"]
        }
        # sent_at omitted: there at once
        now_event = server.dataset.add_change_event(
            datetime(2024, 4, 1, 8, 30, tzinfo=UTC), [2], integration=2
        )
        assert now_event["timestamp"] == "2024-04-01T08:30:00Z"
        assert now_event["id"] in {
            e["id"] for e in get(http, server, "/change_events", **window).json()["change_events"]
        }
        # generated Jenkins deploys are sent when they end: invisible in between
        ds = server.dataset
        late = next(
            k
            for k, ((ms, _), sent) in enumerate(zip(ds.change_keys, ds.change_sent, strict=True))
            if sent > ms + 60_000
        )
        ms, eid = ds.change_keys[late]
        stamped = datetime.fromtimestamp(ms / 1000, UTC)
        around = {
            "since": z(stamped - timedelta(seconds=1)),
            "until": z(stamped + timedelta(seconds=2)),
            "limit": 100,
        }
        clock.now = ms / 1000 + 1
        assert eid not in {
            e["id"] for e in get(http, server, "/change_events", **around).json()["change_events"]
        }
        clock.now = ds.change_sent[late] / 1000
        assert eid in {e["id"] for e in get(http, server, "/change_events", **around).json()["change_events"]}
        bad = requests.post(
            server.url + "/_sim/change_events",
            json={"timestamp": "2024-04-01T10:00:00", "services": [0]},
            timeout=10,
        )
        assert bad.status_code == 400  # a sender's timestamp without an offset is ambiguous


# ----------------------------------------------------------------------------------------- window bounds
def test_window_bounds_conventions_with_items_on_the_edges(http) -> None:
    anchor = datetime(2024, 3, 15, tzinfo=UTC)
    with running(seed=8, size=20, days=5, end=END, change_events_now=anchor) as server:
        server.api.clock = Clock(anchor.timestamp())
        ds = server.dataset
        edges = [
            "2024-02-29T23:59:59Z",
            "2024-03-01T00:00:00Z",
            "2024-03-01T00:00:01Z",
            "2024-03-01T23:59:59Z",
        ]
        edges += ["2024-03-02T00:00:00Z", "2024-03-02T00:00:01Z"]
        numbers = [ds.add_incident(ts(m))["incident_number"] for m in edges]
        before, at_since, after_since, before_until, at_until, after_until = numbers
        events = [
            ds.add_change_event(text, [0])["id"]
            for text in (
                "2024-03-01T01:00:00+01:00",  # exactly since
                "2024-02-29T19:00:00.001-05:00",  # 1 ms after since
                "2024-03-01T23:59:59.999Z",  # 1 ms before until
                "2024-03-02T00:00:00Z",  # exactly until
            )
        ]
        window = {"since": "2024-03-01T00:00:00Z", "until": "2024-03-02T00:00:00Z"}
        expected = {
            "[)": ([at_since, after_since, before_until], events[:3]),
            "[]": ([at_since, after_since, before_until, at_until], events),
            "(]": ([after_since, before_until, at_until], events[1:]),
            "()": ([after_since, before_until], events[1:3]),
        }
        for bounds, (incidents, changes) in expected.items():
            answer = requests.post(server.url + "/_sim/faults", json={"window_bounds": bounds}, timeout=10)
            assert answer.json()["window_bounds"] == bounds
            assert [i["incident_number"] for i in fetch_all(http, server, **window)] == incidents, bounds
            log = get(http, server, "/log_entries", limit=100, **window).json()["log_entries"]
            assert [int(e["incident"]["summary"][2:].split("]")[0]) for e in log] == [
                n for n in incidents for _ in (0, 1)
            ]
            listed = get(http, server, "/change_events", limit=100, **window).json()["change_events"]
            assert [e["id"] for e in listed if e["id"] in events] == changes, bounds
            assert before not in incidents and after_until not in incidents
        # fractional bounds: exclusive since 23:59:59.5 still takes 00:00:00; inclusive until 23:59:59.5 takes 23:59:59
        server.set_faults(window_bounds="(]")
        half = fetch_all(http, server, since="2024-02-29T23:59:59.500Z", until="2024-03-01T23:59:59.500Z")
        assert [i["incident_number"] for i in half] == [at_since, after_since, before_until]
        assert (
            requests.post(server.url + "/_sim/faults", json={"window_bounds": "[["}, timeout=10).status_code
            == 400
        )
    with running(seed=8, size=20, days=5, end=END, window_bounds="[]") as server:
        assert server.faults()["window_bounds"] == "[]"
        server.set_faults(error_every=1000)  # unnamed settings go back to the server's own, not to "[)"
        assert server.faults()["window_bounds"] == "[]" and server.api.window_bounds == "[]"


# -------------------------------------------------------------------------------- rate limits and latency
def test_throttled_period_refuses_every_request_until_reset(http) -> None:
    with running(seed=4, size=50, days=20, end=END) as server:
        clock = server.api.clock = Clock(100.0)
        server.set_faults(rate_limit_every=5, rate_limit_reset=2)
        seen = []
        for moment in (100.0, 100.0, 100.0, 100.0, 100.0, 100.5, 101.2, 101.999, 102.0, 102.0):
            clock.now = moment
            response = get(http, server, "/abilities")
            seen.append((response.status_code, response.headers.get("ratelimit-reset")))
            if response.status_code == 429:
                assert response.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
                assert (response.headers["ratelimit-limit"], response.headers["ratelimit-remaining"]) == (
                    "960",
                    "0",
                )
        assert seen == [(200, None)] * 4 + [
            (429, "2"),
            (429, "2"),
            (429, "1"),
            (429, "1"),
            (200, None),
            (429, "2"),
        ]
        assert server.stats()["faults"]["429"] == 5
        server.set_faults(rate_limit_every=1, rate_limit_reset=30, rate_limit_bare=True)
        for moment in (200.0, 229.0):
            clock.now = moment
            bare = get(http, server, "/incidents", date_range="all")
            assert bare.status_code == 429 and bare.content == b"" and "ratelimit-reset" not in bare.headers
        assert server.stats()["faults"]["429"] == 7
    with running(seed=4, size=50, days=20, end=END) as server:  # the real clock: a client that waits succeeds
        server.set_faults(rate_limit_every=3, rate_limit_reset=0.3)
        answers = [get(http, server, "/abilities") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 429, 429]  # retrying at once earns another 429
        assert answers[2].headers["ratelimit-reset"] == "1"  # whole seconds, rounded up
        time.sleep(0.35)
        assert get(http, server, "/abilities").status_code == 200


def test_rate_limit_per_minute(http) -> None:
    with running(seed=4, size=50, days=20, end=END) as server:
        assert "ratelimit-limit" not in get(http, server, "/abilities").headers  # no limit set: no headers
    with running(seed=4, size=50, days=20, end=END, rate_limit_per_minute=3) as server:
        clock = server.api.clock = Clock(1000.0)
        seen = []
        for moment in (1000.0, 1010.0, 1020.5, 1030.0, 1060.0, 1069.9):
            clock.now = moment
            response = get(http, server, "/abilities")
            headers = response.headers
            seen.append(
                (
                    response.status_code,
                    headers["ratelimit-limit"],
                    headers["ratelimit-remaining"],
                    headers["ratelimit-reset"],
                )
            )
        assert seen == [
            (200, "3", "2", "60"),
            (200, "3", "1", "50"),
            (200, "3", "0", "40"),
            (429, "3", "0", "30"),  # until the request of 1000.0 is a minute old
            (200, "3", "0", "10"),  # 1000.0 has left the window; 1010.0 leaves it in 10 s
            (429, "3", "0", "1"),
        ]
        clock.now = 1070.0
        missing = get(http, server, "/incidents/QZZZZZZ")
        assert missing.status_code == 404 and missing.headers["ratelimit-remaining"] == "0"  # every response
        stats = server.stats()
        assert (
            stats["faults"]["429_per_minute"] == 2 and stats["faults"]["429"] == 0 and stats["requests"] == 7
        )
        # a faults change keeps the server's own limit unless it names another one
        server.set_faults(error_every=1000)
        assert server.faults()["rate_limit_per_minute"] == 3
        requests.post(server.url + "/_sim/faults", json={"rate_limit_per_minute": 1}, timeout=10)
        clock.now = 2000.0
        assert [get(http, server, "/abilities").status_code for _ in range(2)] == [200, 429]
        assert server.stats()["faults"]["429_per_minute"] == 3


def test_latency_is_served_concurrently() -> None:
    with running(seed=4, size=50, days=20, end=END, latency=0.4) as server:
        took: list[float] = []

        def one() -> None:
            with requests.Session() as session:
                started = time.monotonic()
                response = session.get(
                    server.url + "/abilities", headers={"Authorization": f"Token token={TOKEN}"}, timeout=10
                )
                assert response.status_code == 200
                took.append(time.monotonic() - started)

        started = time.monotonic()
        threads = [threading.Thread(target=one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        assert len(took) == 4 and min(took) >= 0.4
        assert wall < 0.75  # four requests in flight together, not one after another (1.6 s)
        started = time.monotonic()
        requests.get(server.url + "/_sim/stats", timeout=10)
        assert time.monotonic() - started < 0.3  # admin requests are not delayed
        requests.post(server.url + "/_sim/faults", json={"latency": 0}, timeout=10)
        started = time.monotonic()
        requests.get(server.url + "/abilities", headers={"Authorization": f"Token token={TOKEN}"}, timeout=10)
        assert time.monotonic() - started < 0.3


def test_cli_settings() -> None:
    command = [
        sys.executable,
        "-m",
        "simulator",
        *"--port 0 --size 50 --token t --time-zone Europe/Berlin".split(),
    ]
    command += ["--latency", "0.2", "--rate-limit-per-minute", "5", "--window-bounds", "[]"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"listening on (http://\S+)", proc.stdout.readline()).group(1)
        started = time.monotonic()
        response = requests.get(url + "/services", headers={"Authorization": "Token token=t"}, timeout=10)
        assert time.monotonic() - started >= 0.2
        assert response.json()["services"][0]["created_at"] == "2019-03-04T11:00:00+01:00"
        assert (response.headers["ratelimit-limit"], response.headers["ratelimit-remaining"]) == ("5", "4")
        faults = requests.get(url + "/_sim/faults", timeout=10).json()
        assert (faults["latency"], faults["rate_limit_per_minute"], faults["window_bounds"]) == (0.2, 5, "[]")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_pages_in_a_time_zone_stay_fast(http) -> None:
    ds = generate(8, 200_000, days=365, end=END)
    with running(ds) as server:
        window = {"since": "2024-01-01T00:00:00Z", "until": "2024-06-01T00:00:00Z", "limit": 100}
        for zone_name in ("UTC", "America/Los_Angeles", "Australia/Lord_Howe"):  # Lord Howe: 30-minute DST
            took = []
            for page in range(15):
                started = time.monotonic()
                body = get(
                    http, server, "/incidents", offset=100 * page, time_zone=zone_name, **window
                ).json()
                took.append(time.monotonic() - started)
                assert len(body["incidents"]) == 100
            for incident in body["incidents"]:
                moment = ts(incident["created_at"])
                assert moment.utcoffset() == moment.astimezone(ZoneInfo(zone_name)).utcoffset()
            assert sorted(took)[len(took) // 2] < 0.05, (zone_name, took)


# ------------------------------------------------------------------------ what real accounts do (issue 22)
def test_reopen_renames_deletions_and_late_indexing(http) -> None:
    """A resolved incident reopened and resolved again; a priority and a service renamed (no log entry, no
    updated_at); a service and an incident deleted; an incident that reaches the index late."""
    with running(seed=21, size=30, days=10, end=END) as server:
        ds = server.dataset
        ent = ds.entities
        clock = Clock(END.timestamp())
        server.api.clock = clock
        first = ds.add_incident(
            ts("2024-03-01T10:00:00Z"), 0, "resolved", resolved_at=ts("2024-03-01T11:00:00Z"), priority="P2"
        )
        n = first["incident_number"]
        reopened = requests.post(
            server.url + "/_sim/reopen", json={"number": n, "at": "2024-04-02T09:00:00Z"}, timeout=10
        ).json()
        assert (reopened["status"], reopened["resolved_at"], reopened["acknowledgements"]) == (
            "triggered",
            None,
            [],
        )
        assert reopened["last_status_change_at"] == reopened["updated_at"] == "2024-04-02T09:00:00Z"
        assert reopened["assignments"][0]["at"] == "2024-04-02T09:00:00Z"
        again = ds.resolve(n, at=ts("2024-04-02T10:30:00Z"))
        assert again["resolved_at"] == again["last_status_change_at"] == "2024-04-02T10:30:00Z"
        log = get(http, server, f"/incidents/{n}/log_entries", time_zone="UTC").json()["log_entries"]
        assert [(e["type"], e["created_at"]) for e in log[2:]] == [
            ("resolve_log_entry", "2024-03-01T11:00:00Z"),
            ("trigger_log_entry", "2024-04-02T09:00:00Z"),
            ("assign_log_entry", "2024-04-02T09:00:00Z"),
            ("resolve_log_entry", "2024-04-02T10:30:00Z"),
        ]
        assert log[3]["summary"].startswith("Reopened by ")
        for body in ({"number": n}, {"number": 99_999}):  # resolved twice over; unknown
            assert requests.post(server.url + "/_sim/resolve", json=body, timeout=10).status_code == 400

        # a priority renamed in the scheme: every incident carrying it shows the new name at once
        updated_before = ds.incident(n)["updated_at"]
        renamed = requests.post(
            server.url + "/_sim/rename_priority", json={"name": "P2", "new_name": "SEV-2"}, timeout=10
        ).json()
        assert (renamed["name"], renamed["type"]) == ("SEV-2", "priority")
        now = get(http, server, f"/incidents/{n}", time_zone="UTC").json()["incident"]
        assert now["priority"]["summary"] == now["priority"]["name"] == "SEV-2"
        assert now["updated_at"] == updated_before
        priorities = get(http, server, "/priorities").json()["priorities"]
        assert [p["name"] for p in priorities] == ["P1", "SEV-2", "P3", "P4", "P5"]
        # a service renamed: the incidents' references follow; a deleted service leaves the listing only
        ds.rename_service(0, "Checkout API v2")
        assert (
            get(http, server, f"/incidents/{n}").json()["incident"]["service"]["summary"] == "Checkout API v2"
        )
        ds.delete_service(1)
        listed = {s["id"] for s in get(http, server, "/services").json()["services"]}
        assert ent.service_ids[1] not in listed and ent.service_ids[0] in listed
        assert get(http, server, f"/services/{ent.service_ids[1]}").status_code == 404
        in_deleted = next(slot for slot in range(len(ds)) if ds.service[slot] == 1)
        assert (
            get(http, server, f"/incidents/{in_deleted + 1}").json()["incident"]["service"]["id"]
            == (ent.service_ids[1])
        )
        # users carry their own time zones; teams are listed
        users = get(http, server, "/users").json()["users"]
        assert len({u["time_zone"] for u in users}) >= 6 and all(u["time_zone"] for u in users)
        assert len(get(http, server, "/teams").json()["teams"]) == len(ent.team_ids)
        # an incident deleted from the account: gone from listings, by id and from the log
        victim = ds.add_incident(ts("2024-03-03T10:00:00Z"), 2)["id"]
        ds.delete_incident(victim)
        assert get(http, server, f"/incidents/{victim}").status_code == 404
        march = {"since": "2024-03-01T00:00:00Z", "until": "2024-03-31T00:00:00Z"}
        assert victim not in {i["id"] for i in fetch_all(http, server, **march)}
        entries = get(http, server, "/log_entries", **march, limit=100).json()["log_entries"]
        assert victim not in {e["incident"]["id"] for e in entries}
        # an incident that reaches the index late: not listed, not found, until then
        late = ds.add_incident(
            ts("2024-03-04T10:00:00Z"), 2, visible_at=datetime.fromtimestamp(clock.now + 60, UTC)
        )["id"]
        assert late not in {i["id"] for i in fetch_all(http, server, **march)}
        assert get(http, server, f"/incidents/{late}").status_code == 404
        clock.now += 60
        assert late in {i["id"] for i in fetch_all(http, server, **march)}
        # one incident in seven has no incident_key, as those opened in the web UI
        keys = [i["incident_key"] for i in fetch_all(http, server, **march)]
        assert None in keys and any(keys)


def test_listing_modes_real_accounts_show(fixed, http) -> None:
    """A listing that answers total=true with null, both wordings of the 10,000 ceiling, a bare 429."""
    try:
        fixed.set_faults(ignore_total=True)
        body = get(http, fixed, "/incidents", date_range="all", total="true", limit=100).json()
        assert body["total"] is None and body["more"] is True
        for wording, text in (
            (0, "Offset+limit exceeds maximum allowed value of 10000"),
            (1, "Offset must be less than 10001"),
        ):
            fixed.set_faults(offset_wording=wording)
            refused = get(http, fixed, "/incidents", date_range="all", offset=9_950, limit=100)
            assert refused.status_code == 400 and refused.json()["error"]["errors"] == [text]
        fixed.set_faults(rate_limit_every=1, rate_limit_bare=True)
        bare = get(http, fixed, "/incidents")
        assert bare.status_code == 429 and bare.content == b"" and "ratelimit-reset" not in bare.headers
        with pytest.raises(ValueError):
            fixed.set_faults(offset_wording=2)
    finally:
        fixed.set_faults()
