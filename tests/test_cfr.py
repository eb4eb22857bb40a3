"""Change failure rate: deployments from PagerDuty change events and the deployments file, incident links, CFR
and failed deployment recovery time, checked against values worked out by hand on MariaDB."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from ingestion.deployments import DeploymentsFileError, load_deployments, read_deployments
from runner.transform import run_dbt

from .helpers import lake, query, run_cli
from .raw_fixtures import change_event, incident, load_raw

M = timedelta(minutes=1)

DEPLOYS = (
    change_event("d1", "2026-03-01T10:00:00Z"),
    change_event("d2", "2026-03-10T11:00:00+01:00"),  # 10:00 UTC, as a sender in Berlin writes it
    change_event(
        "d3", "2026-03-20T10:00:00Z", services=("PSVC001", "PSVC002")
    ),  # one deployment, two services
    change_event("d4", "2026-03-31T23:59:59Z", services=("PSVC002",)),
    change_event("d5", "2026-03-31T19:00:00-05:00"),  # 2026-04-01 00:00 UTC: April
    change_event("d6", "2026-04-15T00:00:00Z", rollback=False),
    change_event("d7", "2026-04-02T00:00:00Z", services=("PSVC002",), environment="staging"),
    change_event("d8", "2026-05-01T00:00:00Z", integration="PINT2", environment="Production"),
    change_event("d9", "2026-06-01T00:00:00Z", rollback=True),  # June: deployments, no incidents
)
INCIDENTS = [
    incident(101, "2026-02-20T00:00:00Z", resolved_after=5 * M),  # before any deployment: no link
    incident(102, "2026-03-10T10:00:00Z", resolved_after=60 * M),  # exactly at d2's finish: links d1
    incident(103, "2026-03-12T00:00:00Z", resolved_after=30 * M),  # d2
    incident(104, "2026-03-13T00:00:00Z", status="triggered"),  # d2 again: d2 counts once
    incident(105, "2026-03-21T00:00:00Z", resolved_after=120 * M, service="PSVC002", urgency="low"),  # d3
    incident(106, "2026-04-01T00:00:01Z", resolved_after=10 * M, service="PSVC002"),  # d4 (March)
    incident(107, "2026-04-01T06:00:00Z", resolved_after=50 * M),  # d5
    incident(108, "2026-05-02T12:00:00Z", resolved_after=20 * M),  # d8
]


def build(database, variables: dict | None = None) -> None:
    args = ["--vars", json.dumps(variables)] if variables else []
    outcome = run_dbt(database, ["build", *args])
    assert outcome.success, outcome.failures or outcome.error


def cfr(database, view: str = "dora_cfr_monthly") -> list[tuple]:
    return lake(
        database,
        f"SELECT month, deployments, failed_deployments, change_failure_rate, level FROM {view} ORDER BY month",
    )


def links(database) -> dict[str, str]:
    rows = lake(database, "SELECT id, deployment_id FROM project_incident_deployment_relationships")
    return {
        issue.rsplit(":", 1)[1]: deployment.rsplit(":", 1)[1]
        if deployment.startswith("pagerduty:")
        else deployment
        for issue, deployment in rows
    }


@pytest.fixture
def loaded(database):
    load_raw(database, INCIDENTS, change_events=DEPLOYS)
    return database


def test_links_and_cfr_by_hand(loaded) -> None:
    build(loaded)
    assert links(loaded) == {
        "102": "d1",
        "103": "d2",
        "104": "d2",
        "105": "d3",
        "106": "d4",
        "107": "d5",
        "108": "d8",
    }
    # March: d1 d2 d3 d4, all failed; d3 deployed two services and is still one deployment
    assert cfr(loaded) == [
        (date(2026, 3, 1), 4, 4, 1.0, "low"),
        (date(2026, 4, 1), 3, 1, 1 / 3, "low"),
        (date(2026, 5, 1), 1, 1, 1.0, "low"),
        (date(2026, 6, 1), 1, 0, 0.0, "elite"),
    ]
    # per service, d3 is a deployment of each of its services, failed for both (#105 is on PSVC002)
    assert lake(
        loaded,
        "SELECT service_id, deployments, failed_deployments FROM dora_cfr_monthly_by_service"
        " WHERE month = '2026-03-01' ORDER BY service_id",
    ) == [("PSVC001", 3, 3), ("PSVC002", 2, 2)]
    assert lake(loaded, "SELECT COUNT(*) FROM cicd_deployments") == [(9,)]


def test_two_deployments_finishing_in_the_same_second_link_by_the_rules_tie_break(database) -> None:
    """Two counted deployments of one board finishing the same second: the latest is the one with the
    greatest id (the rule int_deployment_boards numbers them by), whatever order they were sent in."""
    load_raw(
        database,
        [incident(301, "2026-03-05T10:00:01Z", resolved_after=5 * M)],
        change_events=(
            change_event("sameB", "2026-03-05T10:00:00Z"),
            change_event("sameA", "2026-03-05T10:00:00Z"),
            change_event("earlier", "2026-03-05T09:59:59Z"),
        ),
    )
    build(database)
    assert links(database) == {"301": "sameB"}
    assert lake(database, "SELECT deployments, failed_deployments FROM dora_cfr_monthly") == [(3, 1)]


def test_failed_deployment_recovery_time_by_hand(loaded) -> None:
    build(loaded)
    rows = lake(
        loaded,
        "SELECT month, recovered_incidents, recovery_seconds, recovery_minutes, recovery_hours, level"
        " FROM dora_failed_deployment_recovery_time_monthly ORDER BY month",
    )
    # seconds sorted [602 (d4 at 23:59:59 to #106 at 00:10:01), 57600, 138600, 781200]: index floor(3/2) = 1
    expected = [(date(2026, 3, 1), 4, 57600, "high"), (date(2026, 4, 1), 1, 24600, "high")]
    expected.append((date(2026, 5, 1), 1, 130800, "medium"))
    assert rows == [(m, n, s, s // 60, s / 3600, level) for m, n, s, level in expected]


def test_deployment_filters_compare_case_insensitively_and_read_json_booleans(loaded) -> None:
    build(loaded, {"deployment_custom_details": {"environment": "PRODUCTION"}})
    months = {row[0]: row[1:3] for row in cfr(loaded)}
    assert months[date(2026, 4, 1)] == (2, 1)  # d7 (staging) no longer counts
    assert months[date(2026, 5, 1)] == (1, 1)  # d8 wrote "Production"
    build(loaded, {"deployment_custom_details": {"rollback": False}})
    assert [row[:3] for row in cfr(loaded)] == [(date(2026, 4, 1), 1, 1)]  # d6 only: #107 and #108 link it
    build(loaded, {"deployment_integration_ids": ["PINT1"]})
    months = {row[0]: row[1:3] for row in cfr(loaded)}
    assert date(2026, 5, 1) not in months  # d8 came from PINT2
    assert months[date(2026, 4, 1)] == (3, 2)  # #108 now links d6


def test_filter_vars_are_escaped_not_pasted(loaded) -> None:
    """A var value with quotes and backslashes is a value to compare, not SQL."""
    build(
        loaded,
        {
            "deployment_custom_details": {"environment": "x' or '1'='1"},
            "dora_excluded_priorities": ["P1\\' or 1=1 -- "],
        },
    )
    assert cfr(loaded) == []
    assert lake(loaded, "SELECT COUNT(*) FROM dora_incidents") == [(8,)]


def test_max_gap_and_incident_filters(loaded) -> None:
    build(loaded, {"dora_max_deployment_gap_hours": 24})
    assert set(links(loaded)) == {"105", "106", "107"}
    months = {row[0]: row[1:3] for row in cfr(loaded)}
    assert months[date(2026, 3, 1)] == (4, 2)
    assert months[date(2026, 5, 1)] == (1, 0)
    build(loaded, {"dora_excluded_urgencies": ["low"]})
    assert cfr(loaded)[0][:3] == (date(2026, 3, 1), 4, 3)  # #105 (low) left out: d3 did not fail


def test_merged_incidents_are_not_restorations(database) -> None:
    """#202 and #203 were merged into #201: resolved by the merge, they stay in issues but leave MTTR and the
    CFR links, unless dora_count_merged_incidents."""
    from .raw_fixtures import merged

    target = incident(201, "2026-07-01T00:00:00Z", resolved_after=100 * M)
    sources = [
        merged(incident(202, "2026-07-01T00:05:00Z", resolved_after=1 * M), target),
        merged(incident(203, "2026-07-01T00:06:00Z", resolved_after=2 * M), target),
    ]
    load_raw(
        database,
        [target, *sources, incident(204, "2026-07-02T00:00:00Z", resolved_after=40 * M)],
        change_events=(change_event("d20", "2026-06-30T00:00:00Z"),),
    )
    build(database)
    assert lake(database, "SELECT COUNT(*) FROM issues WHERE status = 'DONE'") == [(4,)]
    # [40, 100]: lower median 40; with the merged ones [1, 2, 40, 100]: 2
    assert lake(database, "SELECT resolved_incidents, mttr_minutes FROM dora_mttr_monthly") == [(2, 40)]
    assert sorted(links(database)) == ["201", "204"]
    build(database, {"dora_count_merged_incidents": True})
    assert lake(database, "SELECT resolved_incidents, mttr_minutes FROM dora_mttr_monthly") == [(4, 2)]
    assert sorted(links(database)) == ["201", "202", "203", "204"]


@pytest.mark.parametrize(
    ("report", "rate", "level"),
    [
        (2023, "0.05", "elite"),
        (2023, "0.0501", "high"),
        (2023, "0.10", "high"),
        (2023, "0.1001", "medium"),
        (2023, "0.15", "medium"),
        (2023, "0.1501", "low"),
        (2021, "0.15", "elite"),
        (2021, "0.1501", "high"),
        (2021, "0.20", "high"),
        (2021, "0.2001", "medium"),
        (2021, "0.30", "medium"),
        (2021, "0.3001", "low"),
    ],
)
def test_change_failure_rate_levels_at_their_boundaries(database, report, rate, level) -> None:
    load_raw(database, [])
    outcome = run_dbt(
        database,
        [
            "show",
            "--inline",
            f"select {{{{ change_failure_rate_level('{rate}') }}}} as level",
            "--vars",
            json.dumps({"dora_report": report}),
        ],
    )
    assert outcome.success, outcome.error
    assert outcome.rows == [[level]]


def test_recovery_time_levels_at_their_boundaries(database) -> None:
    load_raw(database, [])
    minutes = [59, 60, 1439, 1440, 10079, 10080]
    sql = " union all ".join(f"select {m} as m, {{{{ recovery_time_level({m}) }}}} as level" for m in minutes)
    outcome = run_dbt(database, ["show", "--inline", sql, "--limit", "20"])
    assert outcome.success, outcome.error
    assert [tuple(r) for r in outcome.rows] == [
        (59, "elite"),
        (60, "high"),
        (1439, "high"),
        (1440, "medium"),
        (10079, "medium"),
        (10080, "low"),
    ]


def test_cfr_levels_follow_the_dora_report(database) -> None:
    """One month where 1 of 5 deployments failed (20%): high by the 2021 buckets, low by 2023's."""
    deploys = tuple(change_event(f"e{i}", f"2026-08-0{i}T00:00:00Z") for i in range(1, 6))
    load_raw(database, [incident(301, "2026-08-05T01:00:00Z", resolved_after=5 * M)], change_events=deploys)
    build(database, {"dora_report": 2021})
    assert cfr(database) == [(date(2026, 8, 1), 5, 1, 0.2, "high")]
    build(database)
    assert cfr(database) == [(date(2026, 8, 1), 5, 1, 0.2, "low")]


def test_deployment_frequency_by_hand(database) -> None:
    """Weeks start on Monday and a week spanning two months counts in each for its days in it; the median is
    the greatest weekly count whose percent rank is at most 0.5.
    - August 2026 (Saturday the 1st): weeks of 0 (1-2), 5 (3-9), 1 (10-16: two deployments on the 10th),
      1 (17-23), 0 (24-30), 0 (31): sorted 0 0 0 1 1 5, median 0; 7 deployment days, so medium.
    - September: every weekday (22); weeks of 4 (1-6), 5, 5, 5, 3 (28-30): sorted 3 4 5 5 5, median 5: elite.
    - October: nothing deployed, a month between deployed ones: low.
    - November (Sunday the 1st): Saturday-Sunday pairs on the 7th-8th and 14th-15th. Weeks from Monday hold
      0 (1), 2 (2-8), 2 (9-15), 0, 0, 0 (30): median 0, medium. Weeks from Sunday would hold 1 2 1 0 0:
      median 1, high."""
    days = ["2026-08-03", "2026-08-04", "2026-08-05", "2026-08-06", "2026-08-07", "2026-08-10", "2026-08-17"]
    events = [change_event(f"a{i}", f"{day}T12:00:00Z") for i, day in enumerate(days)]
    events.append(change_event("a-twice", "2026-08-10T18:00:00Z"))
    september = [date(2026, 9, 1) + timedelta(days=n) for n in range(30)]
    weekdays = [day for day in september if day.weekday() < 5]
    events += [change_event(f"s{day:%d}", f"{day:%Y-%m-%d}T09:30:00Z") for day in weekdays]
    for day in ("07", "08", "14", "15"):
        events.append(change_event(f"n{day}", f"2026-11-{day}T23:59:59Z"))
    load_raw(database, [], change_events=tuple(events))
    build(database)
    rows = lake(
        database,
        "SELECT month, deployments, deployment_days, median_deployment_days_per_week, deployments_per_week,"
        " level FROM dora_deployment_frequency_monthly ORDER BY month",
    )
    assert len(weekdays) == 22
    assert [row[:4] + row[5:] for row in rows] == [
        (date(2026, 8, 1), 8, 7, 0, "medium"),
        (date(2026, 9, 1), 22, 22, 5, "elite"),
        (date(2026, 10, 1), 0, 0, 0, "low"),
        (date(2026, 11, 1), 4, 4, 0, "medium"),
    ]
    assert [row[4] for row in rows] == pytest.approx([8 * 7 / 31, 22 * 7 / 30, 0.0, 4 * 7 / 30], rel=1e-12)


def test_deployment_frequency_levels_at_their_boundaries(database) -> None:
    load_raw(database, [])
    cases = [
        (5, 5, "elite"),
        (4.99, 20, "high"),
        (1, 4, "high"),
        (0.99, 1, "medium"),
        (0, 1, "medium"),
        (0, 0, "low"),
    ]
    sql = " union all ".join(
        f"select {i} as i, {{{{ deployment_frequency_level('{median}', '{days}') }}}} as level"
        for i, (median, days, _) in enumerate(cases)
    )
    outcome = run_dbt(database, ["show", "--inline", sql, "--limit", "20"])
    assert outcome.success, outcome.error
    assert [row[1] for row in sorted(outcome.rows)] == [level for _, _, level in cases]


# -------------------------------------------------------------------------------------- deployments file
def write_csv(tmp_path: Path, text: str, name: str = "deploys.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_deployments_file_rows_count_beside_change_events(loaded, tmp_path) -> None:
    csv = write_csv(
        tmp_path,
        "id,service_id,finished_at,result,environment,name\n"
        "gh-1,PSVC002,2026-06-10T02:00:00+02:00,success,production,api v2\n"
        "gh-2,PSVC002,2026-06-11T00:00:00Z,failure,production,api v2.1\n"
        "gh-3,PSVC002,2026-06-12T00:00:00Z,success,staging,api v2.2\n",
    )
    load_deployments(loaded, read_deployments(csv))
    load_raw(loaded, [incident(109, "2026-06-20T00:00:00Z", resolved_after=5 * M, service="PSVC002")])
    build(loaded)
    assert links(loaded)["109"] == "deployment:gh-1"  # not the failed or the staging one
    assert (
        lake(loaded, "SELECT finished_date FROM cicd_deployments WHERE id = 'deployment:gh-1'")[0][0].hour
        == 0
    )
    assert cfr(loaded)[3] == (date(2026, 6, 1), 2, 1, 0.5, "low")  # d9 and gh-1


def test_deployments_file_is_the_whole_truth(loaded, tmp_path) -> None:
    header = "id,service_id,finished_at,result,environment,connection_id\n"
    first = write_csv(
        tmp_path,
        header + "gh-1,PSVC001,2026-06-10T00:00:00Z,success,production,1\n"
        "gh-2,PSVC001,2026-06-11T00:00:00Z,success,production,\n",
        "a.csv",
    )
    load_deployments(loaded, read_deployments(first))
    build(loaded)
    assert lake(loaded, "SELECT id FROM cicd_deployments WHERE origin = 'user' ORDER BY id") == [
        ("deployment:gh-1",),
        ("deployment:gh-2",),
    ]
    # gh-1 changes service, time and connection; gh-2 is gone from the file
    second = write_csv(tmp_path, header + "gh-1,PSVC002,2026-06-12T00:00:00Z,success,production,\n", "b.csv")
    load_deployments(loaded, read_deployments(second))
    build(loaded)
    assert lake(
        loaded, "SELECT id, cicd_scope_id, finished_date FROM cicd_deployments WHERE origin = 'user'"
    ) == [("deployment:gh-1", "pagerduty:Service:1:PSVC002", __import__("datetime").datetime(2026, 6, 12))]


def test_a_deployment_without_a_connection_counts_once_over_two_connections(database, tmp_path) -> None:
    load_raw(
        database,
        [incident(401, "2026-06-20T00:00:00Z", resolved_after=5 * M, service="PSVC002")],
        connection_id=1,
    )
    load_raw(
        database,
        [incident(402, "2026-06-21T00:00:00Z", resolved_after=5 * M, service="PSVC002")],
        connection_id=2,
    )
    csv = write_csv(
        tmp_path,
        "id,service_id,finished_at,result,environment\ngh-9,PSVC002,2026-06-10T00:00:00Z,SUCCESS,PRODUCTION\n",
    )
    load_deployments(database, read_deployments(csv))
    build(database)
    assert cfr(database) == [(date(2026, 6, 1), 1, 1, 1.0, "low")]
    assert lake(
        database,
        "SELECT board_id, deployments, failed_deployments FROM dora_cfr_monthly_by_service ORDER BY 1",
    ) == [("pagerduty:Service:1:PSVC002", 1, 1), ("pagerduty:Service:2:PSVC002", 1, 1)]
    assert sorted(links(database).items()) == [("401", "deployment:gh-9"), ("402", "deployment:gh-9")]


def test_a_bad_deployments_file_is_refused_whole_with_one_line_per_problem(tmp_path) -> None:
    csv = write_csv(
        tmp_path,
        "id,service_id,finished_at,result,environment\n"
        "a,PSVC001,2026-06-10,success,production\n"
        "b,PSVC001,yesterday,success,production\n"
        "a,PSVC001,2026-06-10T00:00:00Z,success,production\n"
        "c,,2026-06-10T00:00:00Z,success,production\n",
    )
    with pytest.raises(DeploymentsFileError) as excinfo:
        read_deployments(csv)
    assert str(excinfo.value).splitlines() == [
        f"deployments file {csv}, line 2, finished_at: '2026-06-10' has no UTC offset; refusing to guess its time zone",
        f"deployments file {csv}, line 3, finished_at: 'yesterday' is not an ISO-8601 time",
        f"deployments file {csv}, line 4, id: 'a' is already on line 2",
        f"deployments file {csv}, line 5, service_id: empty",
    ]
    missing = write_csv(tmp_path, "id,service_id,finished_at\nx,PSVC001,2026-01-01T00:00:00Z\n", "m.csv")
    with pytest.raises(DeploymentsFileError, match=r"missing column\(s\) result, environment"):
        read_deployments(missing)


def test_a_bad_deployments_file_through_run_py_exits_2_and_writes_nothing(loaded, tmp_path) -> None:
    good = write_csv(
        tmp_path,
        "id,service_id,finished_at,result,environment\ng,PSVC001,2026-06-10T00:00:00Z,success,production\n",
        "g.csv",
    )
    load_deployments(loaded, read_deployments(good))
    before = query(loaded, "SELECT * FROM deployments")
    bad = write_csv(
        tmp_path, "id,service_id,finished_at,result,environment\nx,PSVC001,2026-06-10,success,production\n"
    )
    blueprint = tmp_path / "b.json"
    blueprint.write_text((Path(__file__).parent.parent / "examples" / "blueprint.json").read_text())
    connections = tmp_path / "c.json"
    connections.write_text(
        json.dumps([{"id": 1, "name": "x", "endpoint": "http://127.0.0.1:9", "token": "t"}])
    )
    result = run_cli(
        loaded, "run", "--blueprint", str(blueprint), "--connections", str(connections), "--deployments", bad
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: deployments file {bad}, line 2, finished_at: '2026-06-10' has no UTC offset; refusing to guess its time zone"
    ]
    assert query(loaded, "SELECT * FROM deployments") == before
