"""End to end: an account in Los Angeles (PagerDuty renders its times there), loaded by `run.py run` twice,
with what real accounts do in between: acknowledgements, reassignments, escalations, resolutions, new
incidents, edits after resolution, merges, incidents moved into and out of the blueprint's services, a change
event naming two services and one sent late. Every `issues` row and every monthly MTTR, failed deployment
recovery time and CFR value must equal what this file computes from the simulator's own records (its stored
times, not the JSON rules the models apply), and a full rebuild must give the same tables as the increments.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from ingestion.pagerduty import ScopeState
from ingestion.raw_store import scope_state
from runner.transform import run_dbt

from .helpers import SIM_TOKEN, lake, query, run_cli, staging, utc

START = datetime(2020, 1, 1, tzinfo=UTC)


def month(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def lower_median(values: list[int]) -> int:
    return sorted(values)[(len(values) - 1) // 2]


def level(minutes: int) -> str:
    return "elite" if minutes < 60 else "high" if minutes < 1440 else "medium" if minutes < 10080 else "low"


class Observed:
    """What the project could see of each incident: its renders at each run, and the log entries of the
    second run's window. Assignees are taken from there, with their moments, as PagerDuty showed them."""

    def __init__(self) -> None:
        self.assignments: dict[str, set[tuple[datetime, int, str, str]]] = defaultdict(set)

    def snapshot(self, server) -> None:
        ds = server.dataset
        for slot in range(len(ds)):
            incident = ds.render(slot)
            for position, item in enumerate(incident["assignments"], start=1):
                assignee = item["assignee"]
                self.assignments[incident["id"]].add(
                    (utc(item["at"]), position, assignee["id"], assignee["summary"])
                )

    def log_window(self, server, since: datetime) -> None:
        ds = server.dataset
        for slot in range(len(ds)):
            incident_id = ds.render(slot)["id"]
            for at, user_id, name in ds.assignment_history(slot + 1):
                if at >= since:
                    same_moment = [h for h in ds.assignment_history(slot + 1) if h[0] == at]
                    position = same_moment.index((at, user_id, name)) + 1
                    self.assignments[incident_id].add((at, position, user_id, name))


def expected_lake(server, scoped: set[str], observed: Observed) -> dict[str, Any]:
    ds = server.dataset
    ent = ds.entities
    issues, counted = {}, []
    for slot in range(len(ds)):
        incident = ds.render(slot)
        created = datetime.fromtimestamp(ds.created[slot], UTC)
        if incident["service"]["id"] not in scoped or created < START:
            continue
        number = slot + 1
        resolved = (
            datetime.fromtimestamp(ds.resolved[slot], UTC) if incident["status"] == "resolved" else None
        )
        lead = int((resolved - created).total_seconds() // 60) if resolved else None
        seen = sorted(observed.assignments.get(incident["id"], ()))
        last = max(seen, key=lambda a: (a[0], a[1], a[2])) if seen else None
        issue_id = f"pagerduty:Incident:1:{number}"
        issues[issue_id] = (
            incident["title"],
            incident["summary"],
            {"triggered": "TODO", "acknowledged": "IN_PROGRESS", "resolved": "DONE"}[incident["status"]],
            incident["status"],
            resolved.replace(tzinfo=None) if resolved else None,
            created.replace(tzinfo=None),
            lead,
            last[2] if last else None,
            last[3] if last else None,
            (incident["priority"] or {}).get("name"),
            incident["urgency"],
            incident["html_url"],
        )
        merged = (incident.get("resolve_reason") or {}).get("type") == "merge_resolve_reason"
        if not merged:
            board = f"pagerduty:Service:1:{incident['service']['id']}"
            counted.append((issue_id, board, created, resolved, lead))
    assignees = {
        (f"pagerduty:Incident:1:{ds.render(slot)['incident_number']}", a[2])
        for slot in range(len(ds))
        if f"pagerduty:Incident:1:{slot + 1}" in issues
        for a in observed.assignments.get(ds.render(slot)["id"], ())
    }

    mttr: dict[date, list[int]] = defaultdict(list)
    for _issue, _board, _created, resolved, lead in counted:
        if resolved is not None:
            mttr[month(resolved)].append(lead)

    # deployments: the change events the two runs listed (PagerDuty keeps 90 days), on the scoped services
    deployments = []
    for event in server.visible_change_events:
        boards = {f"pagerduty:Service:1:{s['id']}" for s in event["services"] if s["id"] in scoped}
        if boards:
            deployments.append((event["id"], utc(event["timestamp"]), boards))
    links = {}
    for issue_id, board, created, _resolved, _lead in counted:
        before = [d for d in deployments if board in d[2] and d[1] < created]
        if before:
            links[issue_id] = max(before, key=lambda d: (d[1], f"pagerduty:ChangeEvent:1:{d[0]}"))
    failed = {d[0] for d in links.values()}
    cfr: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for event_id, finished, _boards in deployments:
        cfr[month(finished)][0] += 1
        cfr[month(finished)][1] += event_id in failed
    recovery: dict[date, list[int]] = defaultdict(list)
    by_issue = {c[0]: c for c in counted}
    for issue_id, (_event_id, finished, _boards) in links.items():
        resolved = by_issue[issue_id][3]
        if resolved is not None:
            recovery[month(finished)].append(int((resolved - finished).total_seconds() // 60))
    del ent
    return {
        "issues": issues,
        "issue_assignees": assignees,
        "mttr": sorted((m, len(v), lower_median(v), level(lower_median(v))) for m, v in mttr.items()),
        "cfr": sorted((m, n, f) for m, (n, f) in cfr.items()),
        "recovery": sorted((m, len(v), lower_median(v), level(lower_median(v))) for m, v in recovery.items()),
    }


def actual_lake(db) -> dict[str, Any]:
    issues = {
        row[0]: row[1:]
        for row in lake(
            db,
            "SELECT id, title, description, status, original_status, resolution_date, created_date,"
            " lead_time_minutes, assignee_id, assignee_name, priority, urgency, url FROM issues",
        )
    }
    return {
        "issues": issues,
        "issue_assignees": set(lake(db, "SELECT issue_id, assignee_id FROM issue_assignees")),
        "mttr": lake(
            db, "SELECT month, resolved_incidents, mttr_minutes, level FROM dora_mttr_monthly ORDER BY 1"
        ),
        "cfr": lake(db, "SELECT month, deployments, failed_deployments FROM dora_cfr_monthly ORDER BY 1"),
        "recovery": lake(
            db,
            "SELECT month, recovered_incidents, recovery_minutes, level"
            " FROM dora_failed_deployment_recovery_time_monthly ORDER BY 1",
        ),
    }


def every_table(db) -> dict[str, list[tuple]]:
    tables = {}
    for name in (
        "issues",
        "board_issues",
        "issue_assignees",
        "boards",
        "cicd_deployments",
        "project_incident_deployment_relationships",
    ):
        columns = [
            r[0]
            for r in lake(
                db,
                "SELECT column_name FROM information_schema.columns WHERE table_schema"
                " = DATABASE() AND table_name = %s AND column_name NOT IN ('created_at',"
                " 'updated_at') ORDER BY ordinal_position",
                name,
            )
        ]
        tables[name] = lake(db, f"SELECT {', '.join(columns)} FROM {name} ORDER BY 1, 2")
    for view in (
        "dora_mttr_monthly",
        "dora_mttr_monthly_by_service",
        "dora_cfr_monthly",
        "dora_cfr_monthly_by_service",
        "dora_failed_deployment_recovery_time_monthly",
    ):
        tables[view] = lake(db, f"SELECT * FROM {view} ORDER BY 1, 2")
    for view in (
        "response_incidents",
        "response_interruptions_weekly_by_user",
        "response_escalations_monthly",
    ):
        tables[view] = sorted(lake(db, f"SELECT * FROM {view}"), key=repr)
    for table in ("int_notifications_localized", "int_incident_responses"):  # rows no view shows count too
        tables[table] = sorted(staging(db, f"SELECT * FROM {table}"), key=repr)
    return tables


@pytest.fixture
def account(simulator):
    server = simulator(
        seed=23, size=1500, services=3, days=150, responders=True
    )  # America/Los_Angeles, as PagerDuty's default
    server.visible_change_events = []
    return server


def run(db, tmp_path, server, scoped: list[str]) -> ScopeState:
    blueprint = {
        "name": "e2e",
        "mode": "NORMAL",
        "enable": True,
        "cronConfig": "manual",
        "settings": {
            "version": "2.0.0",
            "timeAfter": START.isoformat(),
            "connections": [
                {"pluginName": "pagerduty", "connectionId": 1, "scopes": [{"scopeId": s} for s in scoped]}
            ],
        },
    }
    (tmp_path / "b.json").write_text(json.dumps(blueprint))
    (tmp_path / "c.json").write_text(
        json.dumps([{"id": 1, "name": "sim", "endpoint": server.url, "token": SIM_TOKEN}])
    )
    before = ScopeState.from_json(scope_state(db, f"1|{','.join(sorted(scoped))}"))
    result = run_cli(
        db, "run", "--blueprint", str(tmp_path / "b.json"), "--connections", str(tmp_path / "c.json")
    )
    assert result.returncode == 0, result.stderr
    after = ScopeState.from_json(scope_state(db, f"1|{','.join(sorted(scoped))}"))
    # the change events this run could list, asked of the API by this test: PagerDuty keeps 90 days of them,
    # and a rerun lists a trailing day again (README, "What the project reads from PagerDuty")
    until = after.change_events_until
    since = until - timedelta(days=90)
    if before.change_events_until is not None:
        since = max(since, before.change_events_until - timedelta(hours=24))
    seen = {e["id"] for e in server.visible_change_events}
    offset = 0
    while True:
        params = {
            "since": (since - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "limit": 100,
            "offset": offset,
        }
        body = requests.get(
            f"{server.url}/change_events",
            params=params,
            timeout=10,
            headers={"Authorization": f"Token token={SIM_TOKEN}"},
        ).json()
        server.visible_change_events += [e for e in body["change_events"] if e["id"] not in seen]
        seen.update(e["id"] for e in body["change_events"])
        if not body["more"]:
            break
        offset += 100
    return after


def test_two_runs_with_what_real_accounts_do_in_between(database, account, tmp_path) -> None:
    ds = account.dataset
    s0, s1, s2 = ds.entities.service_ids
    scoped = [s0, s1]
    observed = Observed()
    cut_off = run(database, tmp_path, account, scoped).incidents_until
    observed.snapshot(account)
    observed.log_window(account, START)  # a first load reads the log entries since the scope's start too

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    incidents = [ds.render(slot) for slot in range(len(ds))]
    resolved = [i for i in incidents if i["status"] == "resolved"]
    opened = [i for i in incidents if i["status"] != "resolved" and i["service"]["id"] in scoped]
    ds.step(new=12, acknowledge=4, reassign=4, resolve=8, escalate=2, now=at)
    in_s0 = [i for i in resolved if i["service"]["id"] == s0]
    in_s2 = [i for i in resolved if i["service"]["id"] == s2]
    ds.edit(in_s0[0]["incident_number"], at=at, priority="P1", urgency="low", title="Post-mortem: DNS")
    ds.edit(in_s0[1]["incident_number"], at=at, service_index=2)  # moved out of the blueprint's services
    ds.edit(
        in_s2[0]["incident_number"], at=at, service_index=1
    )  # moved in, created long before the first run
    ds.notify(in_s2[1]["incident_number"], user=0, at=at)  # a page about an incident no scope covers
    still_open = [
        i
        for i in (ds.render(s) for s in range(len(ds)))
        if i["status"] != "resolved" and i["service"]["id"] in scoped
    ]
    ds.merge(
        [still_open[1]["incident_number"], still_open[2]["incident_number"]],
        still_open[0]["incident_number"],
        at=at,
    )
    # a deploy of two services, and one stamped three hours before the first run's cut-off but sent only now
    ds.add_change_event(timestamp=at - timedelta(hours=1), services=[0, 1])
    ds.add_change_event(timestamp=cut_off - timedelta(hours=3), services=[1], sent_at=at)
    ds.add_incident(
        created_at=at - timedelta(minutes=30),
        service_index=1,
        status="resolved",
        resolved_at=at - timedelta(minutes=5),
    )
    del opened

    run(database, tmp_path, account, scoped)
    observed.snapshot(account)
    observed.log_window(account, cut_off - timedelta(minutes=10))

    expected, actual = expected_lake(account, set(scoped), observed), actual_lake(database)
    assert set(actual["issues"]) == set(expected["issues"])
    assert actual["issues"] == expected["issues"]
    assert actual["issue_assignees"] == expected["issue_assignees"]
    assert actual["mttr"] == expected["mttr"]
    assert actual["cfr"] == expected["cfr"]
    assert actual["recovery"] == expected["recovery"]
    assert len(expected["cfr"]) >= 3 and len(expected["recovery"]) >= 3

    increments = every_table(database)
    outcome = run_dbt(database, ["build", "--full-refresh"])
    assert outcome.success, outcome.failures or outcome.error
    assert every_table(database) == increments


def test_log_entries_alone_mark_an_incident_changed(database, simulator, tmp_path) -> None:
    """A later load brings only a log entry for an incident (an assignment PagerDuty indexed late; the incident
    itself is unchanged, so no new version is written): the incremental build takes it in, and equals a full
    rebuild."""
    server = simulator(seed=29, size=200, services=2, days=40)
    server.visible_change_events = []
    ds = server.dataset
    scoped = list(ds.entities.service_ids)
    cut_off = run(database, tmp_path, server, scoped).incidents_until
    target = next(s for s in range(len(ds)) if ds.status[s] == 2 and ds.created[s] >= START.timestamp())
    number = target + 1
    incident_id = ds.render(target)["id"]
    newcomer = next(
        u for u in range(len(ds.entities.user_ids)) if u not in (ds.user1[target], ds.user2[target])
    )
    ds.add_late_assignment(number, at=cut_off - timedelta(minutes=5), assignees=[newcomer])
    versions_before = query(database, "SELECT COUNT(*) FROM incidents_versions WHERE id = %s", incident_id)
    run(database, tmp_path, server, scoped)
    assert (
        query(database, "SELECT COUNT(*) FROM incidents_versions WHERE id = %s", incident_id)
        == versions_before
    )
    assert (f"pagerduty:Incident:1:{number}", ds.entities.user_ids[newcomer]) in set(
        lake(database, "SELECT issue_id, assignee_id FROM issue_assignees")
    )
    increments = every_table(database)
    outcome = run_dbt(database, ["build", "--full-refresh"])
    assert outcome.success, outcome.failures or outcome.error
    assert every_table(database) == increments


def test_a_responder_who_moves_zone_is_judged_in_the_new_zone_by_the_next_run(
    database, simulator, tmp_path
) -> None:
    """A user changes their time zone (or name) in PagerDuty: no incident or log entry changes, yet every page
    they received is judged again in the new zone by the next ordinary run, which equals a full rebuild."""
    server = simulator(seed=31, size=300, services=2, days=40, responders=True)
    server.visible_change_events = []
    ds = server.dataset
    scoped = list(ds.entities.service_ids)
    run(database, tmp_path, server, scoped)
    counts = lake(
        database,
        "SELECT user_id, SUM(notifications) FROM response_interruptions_weekly_by_user GROUP BY user_id"
        " ORDER BY 2 DESC, 1",
    )
    user_id = counts[0][0]
    mover = ds.entities.user_ids.index(user_id)
    zones = "SELECT DISTINCT time_zone FROM response_interruptions_weekly_by_user WHERE user_id = %s"
    assert lake(database, zones, user_id) == [(ds.entities.user_zones[mover],)]
    ds.entities.user_zones[mover] = "Pacific/Kiritimati"  # UTC+14: most pages change hours and week
    run(database, tmp_path, server, scoped)
    assert lake(database, zones, user_id) == [("Pacific/Kiritimati",)]
    increments = every_table(database)
    outcome = run_dbt(database, ["build", "--full-refresh"])
    assert outcome.success, outcome.failures or outcome.error
    assert every_table(database) == increments
