"""The lake stays equal to PagerDuty over months, on an account in Los Angeles (PagerDuty renders its times
there): names renamed in the account's lists, reopened incidents, change events past PagerDuty's 90 days,
null fields, and `run.py reconcile` for what no log entry records (a title edit, an incident PagerDuty no
longer has). Expected values are computed here from the simulator's own records, not by the project's SQL.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from runner.transform import run_dbt

from .helpers import ROOT, SIM_TOKEN, db_url, lake, query, run_cli, serve, wait_for_pipeline, write_json

START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def account(simulator):
    """300 incidents over 60 days ending now, 3 services (a private account: each test changes it)."""
    return simulator(seed=41, size=300, services=3, days=60)


def files(tmp_path, server, name: str = "drift", cron: str = "manual") -> tuple[str, str]:
    blueprint = {
        "name": name,
        "mode": "NORMAL",
        "enable": True,
        "isManual": cron == "manual",
        "cronConfig": cron,
        "settings": {
            "version": "1.0.0",
            "connections": [
                {
                    "plugin": "pagerduty",
                    "connectionId": 1,
                    "scope": [
                        {
                            "entities": ["TICKET"],
                            "options": {"connectionId": 1, "start_date": START.isoformat()},
                        }
                    ],
                }
            ],
        },
    }
    connections = [{"id": 1, "name": "sim", "endpoint": server.url, "token": SIM_TOKEN}]
    return write_json(tmp_path / "b.json", blueprint), write_json(tmp_path / "c.json", connections)


def cli(database, command: str, paths: tuple[str, str], *extra: str) -> subprocess.CompletedProcess:
    result = run_cli(database, command, "--blueprint", paths[0], "--connections", paths[1], "--quiet", *extra)
    assert result.returncode == 0, result.stderr
    return result


def just_now() -> datetime:
    """A change stamped now, a little in the past: the next run's log-entry window holds it."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)


def issues(database) -> dict[str, tuple]:
    return {
        row[0]: row[1:]
        for row in lake(database, "SELECT id, title, priority, urgency, status, resolution_date FROM issues")
    }


def issue_id(number: int) -> str:
    return f"pagerduty:Incident:1:{number}"


# ------------------------------------------------------------------------------------------ names by id
def test_renamed_priorities_and_services_reach_every_incident_after_one_ordinary_run(
    database, account, tmp_path
) -> None:
    """No log entry names them and no incident is read again: the account's lists, joined by id, carry the new
    names to `issues`, the boards and the by-service metrics; the by-name vars match the new names. A deleted
    service keeps its incidents and its last name."""
    ds = account.dataset
    paths = files(tmp_path, account)
    null_fields = ds.add_incident(
        just_now() - timedelta(days=2), 0, "resolved", priority=None, urgency=None, incident_key=None
    )
    cli(database, "run", paths)
    carrying = {
        slot + 1
        for slot in range(len(ds))
        if ds.render(slot)["priority"] and ds.render(slot)["priority"]["name"] == "P2"
    }
    ds.rename_priority("P2", "SEV-2")
    ds.rename_service(1, "Payments Gateway v2")
    ds.delete_service(2)
    account.reset_stats()
    cli(database, "run", paths)

    assert "GET /incidents/{id}" not in account.stats()["by_endpoint"]
    got = issues(database)
    by_priority = {
        number for number in range(1, len(ds) + 1) if got.get(issue_id(number), (None, None))[1] == "SEV-2"
    }
    assert by_priority == carrying and carrying
    assert not any(row[1] == "P2" for row in got.values())
    service_ids = ds.entities.service_ids
    boards = dict(lake(database, "SELECT id, name FROM boards"))
    assert boards[f"pagerduty:Service:1:{service_ids[1]}"] == "Payments Gateway v2"
    in_deleted = {
        slot + 1 for slot in range(len(ds)) if ds.service[slot] == 2 and ds.created[slot] >= START.timestamp()
    }
    assert in_deleted and {issue_id(n) for n in in_deleted} <= set(got)
    assert boards[f"pagerduty:Service:1:{service_ids[2]}"] == ds.entities.service_names[2]
    assert {
        row[0] for row in lake(database, "SELECT DISTINCT service_name FROM dora_mttr_monthly_by_service")
    } >= {"Payments Gateway v2"}
    # null incident_key, priority and urgency load as NULL
    raw = query(
        database,
        "SELECT incident_key, priority_id, priority_name, urgency FROM incidents WHERE id = %s",
        null_fields["id"],
    )
    assert raw == [(None, None, None, None)]
    assert got[issue_id(null_fields["incident_number"])][1:3] == (None, None)
    # the by-name var matches the current name: excluding SEV-2 drops exactly those incidents
    outcome = run_dbt(
        database,
        [
            "run",
            "--select",
            "int_incidents_counted",
            "dora_incidents",
            "--vars",
            '{"dora_excluded_priorities": ["SEV-2"]}',
        ],
    )
    assert outcome.success, outcome.failures or outcome.error
    counted = {row[0] for row in lake(database, "SELECT issue_id FROM dora_incidents")}
    assert counted and not counted & {issue_id(n) for n in carrying}


# ------------------------------------------------------------------------------------------------ reopen
def test_a_reopened_incident_counts_once_in_the_month_of_its_last_resolution(
    database, account, tmp_path
) -> None:
    ds = account.dataset
    paths = files(tmp_path, account)
    first_resolved = just_now() - timedelta(days=40)
    created = first_resolved - timedelta(hours=2)
    incident = ds.add_incident(created, 0, "resolved", resolved_at=first_resolved)
    number = incident["incident_number"]
    cli(database, "run", paths)
    assert issues(database)[issue_id(number)][3:] == ("DONE", first_resolved.replace(tzinfo=None))
    reopened_at = just_now() - timedelta(seconds=1)
    ds.reopen(number, at=reopened_at)
    final = reopened_at + timedelta(seconds=1)
    ds.resolve(number, at=final)
    cli(database, "run", paths)

    assert issues(database)[issue_id(number)][3:] == ("DONE", final.replace(tzinfo=None))
    assert lake(database, "SELECT COUNT(*) FROM issues WHERE id = %s", issue_id(number)) == [(1,)]
    lead = int((final - created).total_seconds() // 60)
    assert lake(database, "SELECT lead_time_minutes FROM issues WHERE id = %s", issue_id(number)) == [(lead,)]
    # counted once, in the month of its last resolution, by the lower median of that month's lead times
    months: dict[date, list[int]] = {}
    for slot in range(len(ds)):
        shown = ds.render(slot)
        if shown["status"] != "resolved" or ds.created[slot] < START.timestamp() or slot in ds.merged_into:
            continue
        resolved = datetime.fromtimestamp(ds.resolved[slot], UTC)
        months.setdefault(date(resolved.year, resolved.month, 1), []).append(
            (ds.resolved[slot] - ds.created[slot]) // 60
        )
    final_month = date(final.year, final.month, 1)
    values = sorted(months[final_month])
    assert lake(
        database,
        "SELECT resolved_incidents, mttr_minutes FROM dora_mttr_monthly WHERE month = %s",
        final_month,
    ) == [(len(values), values[(len(values) - 1) // 2])]
    first_month = date(first_resolved.year, first_resolved.month, 1)
    if first_month != final_month:  # it left the month of its first resolution
        expected = len(months.get(first_month, []))
        assert lake(
            database,
            "SELECT COALESCE(SUM(resolved_incidents), 0) FROM dora_mttr_monthly WHERE month = %s",
            first_month,
        ) == [(expected,)]
    types = [
        row[0]
        for row in query(
            database,
            "SELECT type FROM log_entries WHERE incident_id = %s ORDER BY created_at, id",
            incident["id"],
        )
    ]
    assert "trigger_log_entry" in types and types[-1] == "resolve_log_entry"


# --------------------------------------------------------------------------------------------- reconcile
DRIFT_LINE = re.compile(
    r"Reconcile: (?P<differed>\d+) incidents differed \((?P<fields>[^)]*)\); (?P<missing>\d+) were missing from the lake; (?P<gone>\d+) PagerDuty no longer has"
)


def drift_of(output: str) -> dict:
    [line] = [m for m in DRIFT_LINE.finditer(output)]
    fields = dict(
        (name, int(count.replace(",", "")))
        for name, count in (part.rsplit(" ", 1) for part in line["fields"].split(", "))
    )
    return {
        "differed": int(line["differed"]),
        "fields": fields,
        "missing": int(line["missing"]),
        "gone": int(line["gone"]),
    }


def raw_state(database) -> dict:
    return {
        table: query(database, f"SELECT COUNT(*), COALESCE(SUM(CRC32(content_hash)), 0) FROM {table}")
        for table in (
            "incidents",
            "incidents_versions",
            "log_entries",
            "services",
            "priorities",
            "users",
            "teams",
            "change_events",
        )
    }


def lake_state(database) -> dict:
    return {
        "issues": lake(database, "SELECT * FROM issues ORDER BY id"),
        "board_issues": lake(database, "SELECT * FROM board_issues ORDER BY 1, 2"),
        "issue_assignees": lake(database, "SELECT * FROM issue_assignees ORDER BY 1, 2"),
        "mttr": lake(database, "SELECT * FROM dora_mttr_monthly ORDER BY 1"),
    }


def test_reconcile_finds_and_heals_what_no_log_entry_records(database, account, tmp_path) -> None:
    """A title edited with no log entry and an incident PagerDuty deleted survive every ordinary run;
    `run.py reconcile` replaces the first, removes the second from every table, prints the drift by field,
    records a fullSync pipeline; a second reconcile finds nothing and changes no row."""
    ds = account.dataset
    paths = files(tmp_path, account)
    cli(database, "run", paths)
    resolved = [
        slot + 1 for slot in range(len(ds)) if ds.status[slot] == 2 and ds.created[slot] >= START.timestamp()
    ]
    retitled, deleted = resolved[0], resolved[1]
    ds.edit(retitled, at=just_now(), title="Post-mortem: certificate expired")
    deleted_id = ds.render(deleted - 1)["id"]
    ds.delete_incident(deleted)
    cli(database, "run", paths)
    assert issues(database)[issue_id(retitled)][0] != "Post-mortem: certificate expired"
    assert issue_id(deleted) in issues(database)

    account.reset_stats()
    healed = cli(database, "reconcile", paths)
    assert drift_of(healed.stdout) == {
        "differed": 1,
        "fields": {
            "title": 1,
            "status": 0,
            "priority": 0,
            "urgency": 0,
            "service": 0,
            "resolved_at": 0,
            "assignees": 0,
        },
        "missing": 0,
        "gone": 1,
    }
    got = issues(database)
    assert got[issue_id(retitled)][0] == "Post-mortem: certificate expired"
    assert issue_id(deleted) not in got
    for table, column in (("board_issues", "issue_id"), ("issue_assignees", "issue_id"), ("incidents", "id")):
        assert lake(database, f"SELECT COUNT(*) FROM {table} WHERE {column} = %s", issue_id(deleted)) == [
            (0,)
        ]
    assert query(database, "SELECT COUNT(*) FROM incidents WHERE id = %s", deleted_id) == [(0,)]
    expected = {
        ds.render(s)["id"] for s in range(len(ds)) if s + 1 != deleted and ds.created[s] >= START.timestamp()
    }
    assert {row[0] for row in query(database, "SELECT id FROM incidents")} == expected
    # it listed every incident again (windows, pages) and read the one it could not find by id
    stats = account.stats()["by_endpoint"]
    assert stats["GET /incidents/{id}"] == 1 and stats["GET /incidents"] >= 1 + len(expected) // 100
    record = lake(
        database, "SELECT full_sync, status, message FROM _devlake_pipelines ORDER BY id DESC LIMIT 1"
    )
    assert record[0][:2] == (1, "TASK_COMPLETED") and "1 PagerDuty no longer has" in record[0][2]
    # the full rebuild agrees with the increments
    before = lake_state(database)
    assert run_dbt(database, ["build", "--full-refresh"]).success
    assert lake_state(database) == before

    raw, models = raw_state(database), lake_state(database)
    again = cli(database, "reconcile", paths)
    assert drift_of(again.stdout) == {
        "differed": 0,
        "fields": dict.fromkeys(
            ("title", "status", "priority", "urgency", "service", "resolved_at", "assignees"), 0
        ),
        "missing": 0,
        "gone": 0,
    }
    assert raw_state(database) == raw and lake_state(database) == models


def test_reconcile_since_a_date_lists_only_the_incidents_created_since(database, account, tmp_path) -> None:
    ds = account.dataset
    paths = files(tmp_path, account)
    cli(database, "run", paths)
    day = (just_now() - timedelta(days=5)).date()
    since = datetime(day.year, day.month, day.day, tzinfo=UTC)  # a bare date is midnight UTC
    old = next(
        s + 1
        for s in range(len(ds))
        if ds.status[s] == 2 and START.timestamp() <= ds.created[s] < since.timestamp()
    )
    recent = next(s + 1 for s in range(len(ds)) if ds.status[s] == 2 and ds.created[s] >= since.timestamp())
    ds.edit(old, at=just_now(), title="old, edited")
    ds.edit(recent, at=just_now(), title="recent, edited")
    result = cli(database, "reconcile", paths, "--since", day.isoformat())
    assert drift_of(result.stdout)["fields"]["title"] == 1
    got = issues(database)
    assert got[issue_id(recent)][0] == "recent, edited" and got[issue_id(old)][0] != "old, edited"
    bad = run_cli(
        database, "reconcile", "--blueprint", paths[0], "--connections", paths[1], "--since", "yesterday"
    )
    assert bad.returncode == 2 and "--since: 'yesterday' is not an ISO-8601 time" in bad.stderr


def test_the_api_triggers_a_full_sync_and_a_models_only_run(database, account, tmp_path) -> None:
    """DevLake's trigger body: {"fullSync": true} is a reconcile, {"skipCollectors": true} runs dbt only."""
    proc, base = serve(database, "--no-schedule")
    try:
        created = requests.post(
            f"{base}/plugins/pagerduty/connections",
            json={"name": "sim", "endpoint": account.url, "token": SIM_TOKEN},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        blueprint = json.loads(Path(files(tmp_path, account)[0]).read_text())
        assert requests.post(f"{base}/blueprints", json=blueprint, timeout=10).status_code == 201
        first = requests.post(f"{base}/blueprints/1/trigger", timeout=10).json()
        assert wait_for_pipeline(base, first["id"])["status"] == "TASK_COMPLETED"
        ds = account.dataset
        retitled = next(
            s + 1 for s in range(len(ds)) if ds.status[s] == 2 and ds.created[s] >= START.timestamp()
        )
        ds.edit(retitled, at=just_now(), title="healed through the API")
        full = requests.post(f"{base}/blueprints/1/trigger", json={"fullSync": True}, timeout=10).json()
        done = wait_for_pipeline(base, full["id"])
        assert (done["status"], done["fullSync"], done["skipCollectors"]) == ("TASK_COMPLETED", True, False)
        assert "drift: 1 incidents differed (title 1," in done["message"]
        assert issues(database)[issue_id(retitled)][0] == "healed through the API"
        account.reset_stats()
        models = requests.post(
            f"{base}/blueprints/1/trigger", json={"skipCollectors": True}, timeout=10
        ).json()
        done = wait_for_pipeline(base, models["id"])
        assert (done["status"], done["skipCollectors"], done["requests"]) == ("TASK_COMPLETED", True, 0)
        assert done["dbtResult"].startswith("dbt build:") and account.stats()["requests"] == 0
        for body in (
            {"fullSync": "yes"},
            {"skipCollectors": 1},
            {"fullSync": True, "skipCollectors": True},
            {"other": 1},
        ):
            refused = requests.post(f"{base}/blueprints/1/trigger", json=body, timeout=10)
            assert refused.status_code == 400, body
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_schedule_reconciles_every_n_days_in_place_of_that_days_run(database, account, tmp_path) -> None:
    """With no reconcile recorded, the first tick reconciles; the next ticks are ordinary runs until the
    reconcile is `--reconcile-every` days old."""
    paths = files(tmp_path, account, name="scheduled", cron="* * * * * *")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "schedule", "--blueprint", paths[0], "--connections", paths[1],
         "--quiet", "--max-runs", "2", "--reconcile-every", "7"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "DB_URL": db_url(database)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 600
    rows = lake(database, "SELECT full_sync, status FROM _devlake_pipelines ORDER BY id")
    assert rows == [(1, "TASK_COMPLETED"), (0, "TASK_COMPLETED")]
    assert len(DRIFT_LINE.findall(result.stdout)) == 1


# ------------------------------------------------------------------------------------- 90 days of deploys
def test_change_events_past_pagerdutys_90_days_stay_in_the_lake(database, simulator, tmp_path) -> None:
    """PagerDuty hides change events after 90 days; those a run loaded stay, through reruns, reconciles and
    a full rebuild."""
    server = simulator(seed=41, size=50, services=2, days=30)
    paths = files(tmp_path, server)
    cli(database, "run", paths)
    loaded = {row[0] for row in query(database, "SELECT id FROM change_events")}
    deployments = lake(database, "SELECT COUNT(*) FROM cicd_deployments")
    assert loaded and deployments[0][0] > 0
    server.api.clock = lambda: time.time() + 60 * 86_400  # sixty days on: two thirds of them are hidden now
    visible = requests.get(
        f"{server.url}/change_events",
        params={"limit": 100, "total": "true"},
        headers={"Authorization": f"Token token={SIM_TOKEN}"},
        timeout=10,
    ).json()["total"]
    assert visible < len(loaded)
    cli(database, "reconcile", paths)
    assert {row[0] for row in query(database, "SELECT id FROM change_events")} == loaded
    assert run_dbt(database, ["build", "--full-refresh"]).success
    assert lake(database, "SELECT COUNT(*) FROM cicd_deployments") == deployments
