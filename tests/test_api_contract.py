"""PagerDuty's published API description is the contract between the simulator, the loader and PagerDuty.

- Every answer the simulator gives to a path the project reads validates against PagerDuty's own OpenAPI
  document, with the departures listed once in tests/pagerduty_contract.py (each shown here to be needed).
- The loader reads the document's own example answers and makes rows of them.
- Fields and log entry types the loader does not know are kept as PagerDuty sent them.

The document lives beside the project (../shared/reference): without it these tests skip, saying so.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ingestion.pagerduty.records import (
    change_event_row,
    incident_row,
    log_entry_row,
    priority_row,
    service_row,
    team_row,
    user_row,
)
from simulator.catalog import LOG_TYPES

from . import pagerduty_contract as contract
from .helpers import SIM_TOKEN, load, loaded_incidents, query

END = datetime(2026, 10, 1, tzinfo=UTC)
FETCHED = datetime(2026, 10, 2)


@pytest.fixture(scope="module")
def spec() -> dict:
    return contract.spec_or_skip()


def first_incident(spec: dict) -> dict:
    return copy.deepcopy(contract.example("/incidents")["incidents"][0])


# ------------------------------------------------------------------------------------------- the exceptions
@pytest.mark.parametrize(
    "field",
    [
        "priority",
        "resolved_at",
        "resolve_reason",
        "conference_bridge",
        "alert_grouping",
        "incident_key",
        "urgency",
    ],
)
def test_each_null_the_document_forbids_is_one_real_incidents_carry(spec, field) -> None:
    """The strict document refuses the null; with its listed exception, the null is the only thing allowed
    beyond the document (the field's type is still checked)."""
    incident = first_incident(spec)
    assert contract.errors({"incident": incident}, "/incidents/{id}") == []
    incident[field] = None
    strict = contract.errors({"incident": incident}, "/incidents/{id}", strict=True)
    assert any(field in map(str, problem.absolute_path) for problem in strict), field
    assert contract.errors({"incident": incident}, "/incidents/{id}") == []
    incident[field] = 12345  # not an object nor a string: refused still
    assert contract.errors({"incident": incident}, "/incidents/{id}") != []


def test_the_documents_own_incident_example_carries_nulls_its_schema_forbids(spec) -> None:
    own = contract.example("/incidents")
    strict = {tuple(map(str, p.absolute_path))[2:] for p in contract.errors(own, "/incidents", strict=True)}
    assert strict == {("alert_grouping", "ended_at"), ("resolve_reason",)}
    assert contract.errors(own, "/incidents") == []


def test_one_of_and_the_log_entry_types_need_their_exceptions(spec) -> None:
    """The document's own log entry example fails its own strict schema (its channel matches every branch of
    the oneOf); acknowledge_log_entry satisfies no schema of the document; the undocumented types none."""
    own = contract.example("/log_entries")
    assert contract.errors(own, "/log_entries", strict=True) != []
    assert contract.errors(own, "/log_entries") == []
    entry = own["log_entries"][0]
    for log_type in ("acknowledge_log_entry", *contract.UNDOCUMENTED_LOG_TYPES):
        body = {**own, "log_entries": [{**entry, "type": log_type}]}
        assert contract.errors(body, "/log_entries", strict=True) != [], log_type
        assert contract.errors(body, "/log_entries") == [], log_type
    unknown = {**own, "log_entries": [{**entry, "type": "made_up_log_entry"}]}
    assert contract.errors(unknown, "/log_entries") != []  # nothing else is let through


# -------------------------------------------------------------------------------- the simulator's answers
def answers(server, path: str, collection: str, **params) -> list[dict]:
    """Every page of a listing, as the simulator answers it over HTTP."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token token={SIM_TOKEN}"
    bodies, offset = [], 0
    while True:
        response = session.get(
            f"{server.url}{path}", params={**params, "limit": 100, "offset": offset}, timeout=10
        )
        assert response.status_code == 200, response.text
        bodies.append(response.json())
        if not bodies[-1].get("more"):
            return bodies
        offset += len(bodies[-1][collection])


def test_every_answer_of_the_simulator_validates(spec, simulator) -> None:
    """A generated account after what real accounts do (edits, a move, a merge, a reopen, renames, a deleted
    service, null keys and priorities): every path the project reads answers as the document says, every log
    entry type the simulator writes among them, and its errors too."""
    server = simulator(seed=31, size=400, services=3, days=40, end=END, responders=True)
    ds = server.dataset
    at = END - timedelta(days=1)
    resolved = [s for s in range(len(ds)) if ds.status[s] == 2 and ds.created[s] < at.timestamp() - 86_400]
    opened = [s for s in range(len(ds)) if ds.status[s] != 2 and ds.created[s] < at.timestamp()]
    ds.edit(resolved[0] + 1, at=at, priority="P1", urgency="low", title="Post-mortem", service_index=2)
    ds.merge([opened[1] + 1], opened[0] + 1, at=at)
    ds.reopen(resolved[1] + 1, at=at)
    ds.rename_priority("P3", "SEV-3")
    ds.rename_service(1, "Payments v2")
    ds.delete_service(2)
    ds.add_incident(END - timedelta(days=2), 0, "resolved", urgency=None, incident_key=None)
    ds.step(new=3, acknowledge=2, reassign=2, resolve=2, escalate=1, now=at)

    window = {"since": "2026-08-01T00:00:00Z", "until": "2026-10-02T00:00:00Z", "time_zone": "UTC"}
    checked: dict[str, int] = {}
    seen_types: set[str] = set()
    for path, collection, params in (
        ("/incidents", "incidents", window),
        ("/incidents", "incidents", {**window, "statuses[]": ["triggered", "acknowledged"]}),
        ("/log_entries", "log_entries", window),
        ("/change_events", "change_events", {}),
        ("/services", "services", {}),
        ("/priorities", "priorities", {}),
        ("/teams", "teams", {}),
        ("/users", "users", {}),
    ):
        for body in answers(server, path, collection, **params):
            problems = contract.errors(body, path)
            assert problems == [], f"{path}: {contract.describe(problems)}"
            checked[path] = checked.get(path, 0) + len(body[collection])
            if collection == "log_entries":
                seen_types.update(entry["type"] for entry in body[collection])
    assert checked["/incidents"] >= 400 and checked["/log_entries"] >= 800 and checked["/priorities"] == 5
    assert seen_types == set(LOG_TYPES)  # every type the simulator writes was validated

    session = requests.Session()
    session.headers["Authorization"] = f"Token token={SIM_TOKEN}"
    for slot in (resolved[0], resolved[1], opened[0], opened[1]):
        for path, suffix in (("/incidents/{id}", ""), ("/incidents/{id}/log_entries", "/log_entries")):
            body = session.get(f"{server.url}/incidents/{slot + 1}{suffix}", timeout=10).json()
            assert contract.errors(body, path) == [], contract.describe(contract.errors(body, path))
    service = session.get(f"{server.url}/services/{ds.entities.service_ids[0]}", timeout=10).json()
    assert contract.errors(service, "/services/{id}") == []
    abilities = session.get(f"{server.url}/abilities", timeout=10).json()
    assert contract.errors(abilities, "/abilities") == []

    # errors: the token refused, a bad argument, past the ceiling, not found, throttled (with a body)
    refused = requests.get(
        f"{server.url}/incidents", headers={"Authorization": "Token token=nope"}, timeout=10
    )
    bad = session.get(f"{server.url}/incidents", params={"since": "yesterday"}, timeout=10)
    ceiling = session.get(f"{server.url}/incidents", params={"offset": 9_950, "limit": 100}, timeout=10)
    missing = session.get(f"{server.url}/incidents/QZZZZZZ", timeout=10)
    server.set_faults(rate_limit_every=1)
    throttled = session.get(f"{server.url}/incidents", timeout=10)
    server.set_faults()
    for response, status in ((refused, 401), (bad, 400), (ceiling, 400), (missing, 404), (throttled, 429)):
        assert response.status_code == status
        path = "/incidents/{id}" if status == 404 else "/incidents"
        assert contract.errors(response.json(), path, status) == [], status


# --------------------------------------------------------------------------------- the document's examples
def test_the_loader_reads_the_documents_own_examples(spec) -> None:
    """Rows made from PagerDuty's own example answers: the fields a warehouse needs, times in UTC."""
    [incident] = contract.example("/incidents")["incidents"]
    row = incident_row(1, incident, FETCHED)
    assert (row["id"], row["incident_number"], row["status"], row["urgency"]) == (
        "PT4KHLK",
        1234,
        "resolved",
        "high",
    )
    assert (row["created_at"], row["resolved_at"]) == (
        datetime(2015, 10, 6, 21, 30, 42),
        datetime(2015, 10, 6, 21, 38, 23),
    )
    assert (row["priority_id"], row["priority_name"]) == (
        "P53ZZH5",
        "P2",
    )  # a reference: its summary names it
    assert (row["service_id"], row["service_name"]) == ("PIJ90N7", "My Mail Service")
    assert row["teams"] == [{"id": "PQ9K7I8", "name": "Engineering"}] and row["raw"] == incident

    [entry] = contract.example("/log_entries")["log_entries"]
    row = log_entry_row(1, entry, FETCHED)
    assert (row["id"], row["type"], row["incident_id"], row["channel_type"]) == (
        "Q02JTSNZWHSEKV",
        "trigger_log_entry",
        "PT4KHLK",
        "api",
    )
    assert row["created_at"] == datetime(2015, 11, 7, 0, 14, 20)

    events = [change_event_row(1, e, FETCHED) for e in contract.example("/change_events")["change_events"]]
    assert [(e["id"], e["timestamp"], [s["id"] for s in e["services"]]) for e in events] == [
        ("01BBYA6PEVW6A852BUO6QYUE7O", datetime(2020, 7, 17, 8, 42, 58), ["PEYSGRV"]),
        ("01BBYA6PDIXPL8KO1HPIUL9CZN", datetime(2020, 7, 17, 7, 42, 58), ["PEYSGRV"]),
    ]
    services = [service_row(1, s, FETCHED) for s in contract.example("/services")["services"]]
    assert services and all(s["id"] and s["name"] for s in services)
    priorities = [
        priority_row(1, p, n, FETCHED) for n, p in enumerate(contract.example("/priorities")["priorities"], 1)
    ]
    assert [(p["name"], p["ordinal"]) for p in priorities] == [
        ("P1", 1),
        ("P2", 2),
        ("P3", 3),
        ("P4", 4),
        ("P5", 5),
    ]
    users = [user_row(1, u, FETCHED) for u in contract.example("/users")["users"]]
    assert [(u["name"], u["time_zone"]) for u in users] == [
        ("Earline Greenholt", "America/Lima"),
        ("Kyler Kuhn", "Asia/Hong_Kong"),
    ]
    [team] = [team_row(1, t, FETCHED) for t in contract.example("/teams")["teams"]]
    assert (team["id"], team["name"]) == ("PQ9K7I8", "Engineering")


def test_unknown_fields_and_log_entry_types_are_kept(database, simulator) -> None:
    """Nothing PagerDuty adds is refused: an unknown log entry type keeps its type and object, and an incident
    with a field the loader never heard of is loaded with the field in its stored object."""
    entry = {
        "id": "RNEW",
        "type": "incident_workflow_started_log_entry",
        "created_at": "2026-09-01T10:00:00-07:00",
        "incident": {"id": "Q1", "type": "incident_reference"},
        "brand_new_field": {"nested": [1, 2]},
    }
    row = log_entry_row(1, entry, FETCHED)
    assert (row["type"], row["created_at"], row["raw"]) == (
        "incident_workflow_started_log_entry",
        datetime(2026, 9, 1, 17, 0),
        entry,
    )
    server = simulator(seed=3, size=20, services=1, days=5, end=END)
    added = server.dataset.add_incident(END - timedelta(days=1), 0, custom_fields={"customer_tier": "gold"})
    load(server, database, END - timedelta(days=5))
    assert loaded_incidents(database)[added["id"]]["raw"]["custom_fields"] == {"customer_tier": "gold"}
    assert query(database, "SELECT COUNT(*) FROM incidents WHERE id = %s", added["id"]) == [(1,)]
