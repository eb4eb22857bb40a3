"""Change failure rate: deployments from PagerDuty change events (and users' CSV), incident links, CFR and
failed deployment recovery time, checked against values computed by hand on MariaDB."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.deployments import DeploymentsFileError, load_deployments, read_deployments
from runner.transform import run_dbt

from .conftest import query
from .raw_fixtures import change_event, incident, load_raw

M = timedelta(minutes=1)

DEPLOYS = (
    change_event("d1", "2026-03-01T10:00:00Z"),
    change_event("d2", "2026-03-10T10:00:00Z"),
    change_event("d3", "2026-03-20T10:00:00Z", services=("PSVC001", "PSVC002")),  # a deployment of each
    change_event("d4", "2026-03-31T23:59:59Z", services=("PSVC002",)),
    change_event("d5", "2026-04-01T00:00:00Z"),
    change_event("d6", "2026-04-15T00:00:00Z"),
    change_event("d7", "2026-04-02T00:00:00Z", services=("PSVC002",), environment="staging"),
    change_event("d8", "2026-05-01T00:00:00Z", integration="PINT2"),
    change_event("d9", "2026-06-01T00:00:00Z"),  # June: deployments, no incidents
)
INCIDENTS = [
    incident(101, "2026-02-20T00:00:00Z", resolved_after=5 * M),  # before any deployment: no link
    incident(102, "2026-03-10T10:00:00Z", resolved_after=60 * M),  # exactly at d2's finish: links d1
    incident(103, "2026-03-12T00:00:00Z", resolved_after=30 * M),  # d2
    incident(104, "2026-03-13T00:00:00Z", status="triggered"),  # d2 again: d2 counts once
    incident(105, "2026-03-21T00:00:00Z", resolved_after=120 * M, service="PSVC002", urgency="low"),  # d3@S2
    incident(106, "2026-04-01T00:00:01Z", resolved_after=10 * M, service="PSVC002"),  # d4 (March)
    incident(107, "2026-04-01T06:00:00Z", resolved_after=50 * M),  # d5
    incident(108, "2026-05-02T12:00:00Z", resolved_after=20 * M),  # d8
]


def build(database, variables: dict | None = None) -> None:
    args = ["--vars", json.dumps(variables)] if variables else []
    outcome = run_dbt(database, ["build", *args])
    assert outcome.success, outcome.failures or outcome.error


def cfr(database, view: str = "dora_cfr_monthly") -> list[tuple]:
    return query(
        database,
        f"SELECT month, deployments, failed_deployments, change_failure_rate, level FROM {view} ORDER BY month",
        database=database.name,
    )


def links(database) -> dict[str, str]:
    rows = query(
        database,
        "SELECT id, deployment_id FROM project_incident_deployment_relationships",
        database=database.name,
    )
    return {
        issue.rsplit(":", 1)[1]: deployment.split(":")[3] + "@" + deployment.split(":")[4]
        for issue, deployment in rows
    }


@pytest.fixture
def loaded(database):
    load_raw(database, INCIDENTS, change_events=DEPLOYS)
    return database


def test_links_and_cfr_by_hand(loaded) -> None:
    build(loaded)
    assert links(loaded) == {
        "102": "d1@PSVC001",
        "103": "d2@PSVC001",
        "104": "d2@PSVC001",
        "105": "d3@PSVC002",
        "106": "d4@PSVC002",
        "107": "d5@PSVC001",
        "108": "d8@PSVC001",
    }
    assert cfr(loaded) == [
        (date(2026, 3, 1), 5, 4, Decimal("0.8000"), "low"),
        (date(2026, 4, 1), 3, 1, Decimal("0.3333"), "low"),
        (date(2026, 5, 1), 1, 1, Decimal("1.0000"), "low"),
        (date(2026, 6, 1), 1, 0, Decimal("0.0000"), "elite"),
    ]
    by_service = query(
        loaded,
        "SELECT month, service_id, deployments, failed_deployments FROM dora_cfr_monthly_by_service"
        " WHERE month = '2026-03-01' ORDER BY service_id",
        database=loaded.name,
    )
    assert by_service == [(date(2026, 3, 1), "PSVC001", 3, 2), (date(2026, 3, 1), "PSVC002", 2, 2)]


def test_failed_deployment_recovery_time_by_hand(loaded) -> None:
    build(loaded)
    rows = query(
        loaded,
        "SELECT month, recovered_incidents, recovery_minutes, level"
        " FROM dora_failed_deployment_recovery_time_monthly ORDER BY month",
        database=loaded.name,
    )
    assert rows == [
        (date(2026, 3, 1), 4, 960, "high"),  # [10, 960, 2310, 13020]
        (date(2026, 4, 1), 1, 410, "high"),
        (date(2026, 5, 1), 1, 2180, "medium"),
    ]


def test_change_event_filters(loaded) -> None:
    build(loaded, {"deployment_custom_details": {"environment": "production"}})
    assert cfr(loaded)[1] == (
        date(2026, 4, 1),
        2,
        1,
        Decimal("0.5000"),
        "low",
    )  # d7 (staging) no longer counts
    build(loaded, {"deployment_integration_ids": ["PINT1"]})
    months = {row[0]: row[1:3] for row in cfr(loaded)}
    assert date(2026, 5, 1) not in months  # d8 came from PINT2
    assert months[date(2026, 4, 1)] == (3, 2)  # #108 now links d6


def test_max_gap_and_incident_filters(loaded) -> None:
    build(loaded, {"dora_max_deployment_gap_hours": 24})
    assert set(links(loaded)) == {"105", "106", "107"}
    months = {row[0]: row[1:3] for row in cfr(loaded)}
    assert months[date(2026, 3, 1)] == (5, 2)
    assert months[date(2026, 5, 1)] == (1, 0)
    build(loaded, {"dora_excluded_urgencies": ["low"]})
    assert cfr(loaded)[0][:3] == (date(2026, 3, 1), 5, 3)  # #105 (low) left out: d3@S2 did not fail


def test_2021_report_levels(loaded) -> None:
    build(loaded, {"dora_report": 2021})
    assert [row[4] for row in cfr(loaded)] == ["low", "low", "low", "elite"]


def test_user_deployments_csv(loaded, tmp_path: Path) -> None:
    csv = tmp_path / "deploys.csv"
    csv.write_text(
        "id,service_id,finished_at,result,environment,name\n"
        "gh-1,PSVC002,2026-06-10T00:00:00Z,success,production,api v2\n"
        "gh-2,PSVC002,2026-06-11T00:00:00Z,failure,production,api v2.1\n"
        "gh-3,PSVC002,2026-06-12T00:00:00Z,success,staging,api v2.2\n"
    )
    load_deployments(loaded, read_deployments(str(csv)))
    load_raw(loaded, [incident(109, "2026-06-20T00:00:00Z", resolved_after=5 * M, service="PSVC002")])
    build(loaded)
    linked = query(
        loaded,
        "SELECT deployment_id FROM project_incident_deployment_relationships"
        " WHERE id = 'pagerduty:Incident:1:109'",
        database=loaded.name,
    )
    assert linked == [("deployment:gh-1@pagerduty:Service:1:PSVC002",)]  # not the failed or staging ones
    assert cfr(loaded)[3] == (date(2026, 6, 1), 2, 1, Decimal("0.5000"), "low")  # d9 and gh-1


def test_bad_deployments_csv_names_the_line(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("id,service_id,finished_at,result,environment\nx,PSVC001,2026-06-10,success,production\n")
    with pytest.raises(DeploymentsFileError, match="line 2, finished_at: '2026-06-10' has no time zone"):
        read_deployments(str(csv))


def test_simulator_change_events_end_to_end(database) -> None:
    """The simulator's change events and incidents, through ingestion and dbt, against CFR computed in
    Python from the same objects."""
    from datetime import datetime

    from ingestion.pagerduty.paging import parse_time
    from ingestion.pipeline import ConnectionSpec, ScopeSpec, load_scope
    from simulator.data import generate
    from simulator.server import SimulatorServer

    from .conftest import FAST_RETRY, SIM_TOKEN

    server = SimulatorServer(generate(seed=17, size=900, services=3, days=100), token=SIM_TOKEN)
    server.start()
    try:
        connection = ConnectionSpec(id=1, name="sim", endpoint=server.url, token=SIM_TOKEN)
        result = load_scope(
            connection,
            ScopeSpec(start_date=datetime.fromisoformat("2020-01-01T00:00:00+00:00")),
            database,
            retry=FAST_RETRY,
        )
        assert result.stats.change_events > 0
        build(database)
        loaded_ids = {row[0] for row in query(database, "SELECT id FROM change_events")}
        deployments = [
            (ref["id"], parse_time(event["timestamp"]), event["id"])
            for event in server.dataset.change_events
            if event["id"] in loaded_ids
            for ref in event["services"]
        ]
        failed = set()
        for slot in range(len(server.dataset)):
            item = server.dataset.render(slot)
            created = parse_time(item["created_at"])
            before = [d for d in deployments if d[0] == item["service"]["id"] and d[1] < created]
            if before:
                failed.add(max(before, key=lambda d: (d[1], d[2])))
        months: dict[date, list[int]] = {}
        for deployment in deployments:
            counts = months.setdefault(deployment[1].date().replace(day=1), [0, 0])
            counts[0] += 1
            counts[1] += deployment in failed
        expected = [(month, n, f) for month, (n, f) in sorted(months.items())]
        assert [row[:3] for row in cfr(database)] == expected
    finally:
        server.stop()


def test_a_gap_over_90_days_warns_that_deployments_are_lost(database) -> None:
    """The previous change-event load is older than PagerDuty's retention: the run says so."""
    from datetime import UTC, datetime

    from dlt.common.versioned_state import compress_state, decompress_state

    from ingestion.pipeline import ConnectionSpec, ScopeSpec, load_scope
    from simulator.data import generate
    from simulator.server import SimulatorServer

    from .conftest import FAST_RETRY, SIM_TOKEN

    server = SimulatorServer(generate(seed=5, size=50, services=2, days=30), token=SIM_TOKEN)
    server.start()
    try:
        connection = ConnectionSpec(id=1, name="sim", endpoint=server.url, token=SIM_TOKEN)
        scope = ScopeSpec(start_date=datetime(2020, 1, 1, tzinfo=UTC))
        assert load_scope(connection, scope, database, retry=FAST_RETRY).stats.warnings == []
        # wind the change events' high-water mark back 100 days, as if the loader had not run since
        with database.connect(database.raw_name) as conn, conn.cursor() as cur:
            cur.execute("SELECT version, state FROM _dlt_pipeline_state ORDER BY version DESC LIMIT 1")
            version, packed = cur.fetchone()
            state = decompress_state(packed)
            marks = state["sources"]["pagerduty"]["resources"]["change_events"]["collected_until"]
            marks["*"] = "2020-01-01T00:00:00Z"
            cur.execute(
                "UPDATE _dlt_pipeline_state SET state = %s WHERE version = %s",
                (compress_state(state), version),
            )
        again = load_scope(connection, scope, database, retry=FAST_RETRY)
        assert len(again.stats.warnings) == 1
        assert "between 2020-01-01T00:00:00Z and" in again.stats.warnings[0]
        assert "are lost for good" in again.stats.warnings[0]
    finally:
        server.stop()
