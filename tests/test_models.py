"""The dbt models on MariaDB, from hand-written PagerDuty fixtures to the MTTR views, checked against
values computed by hand (and, end to end, against the simulator's own data)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ingestion.pagerduty.records import incident_row
from ingestion.raw_store import record_scopes
from runner.transform import run_dbt
from simulator import generate

from .helpers import lake, query, staging
from .raw_fixtures import incident, load_raw, log_entry

ROOT = Path(__file__).resolve().parent.parent

M = timedelta(minutes=1)
LONG_TITLE = 'He said "it\'s down" \\ 🔥 ünïcödé — ' + "x" * 3000

FIXTURE = [
    # DevLake's e2e fixture: #4 triggered with two assignments, #5 acknowledged, #6 resolved after 6 minutes
    incident(
        4,
        "2026-05-02T10:00:00Z",
        status="triggered",
        assignments=(("2026-05-02T10:00:05Z", "PU1", "Ann Lee"), ("2026-05-02T10:03:00Z", "PU2", "Bo Chen")),
    ),
    incident(
        5,
        "2026-05-02T11:00:00Z",
        status="acknowledged",
        assignments=(("2026-05-02T11:00:05Z", "PU1", "Ann Lee"),),
    ),
    incident(6, "2026-05-02T12:00:00Z", resolved_after=6 * M),
    # January: 10, 30:25 (low urgency; hours come from the seconds, not the whole minutes), 59:59 (resolved
    # one second before February, on the other service)
    incident(11, "2026-01-05T10:00:00Z", resolved_after=10 * M),
    incident(12, "2026-01-10T10:00:00Z", resolved_after=30 * M + timedelta(seconds=25), urgency="low"),
    incident(13, "2026-01-31T23:00:00Z", resolved_after=59 * M + timedelta(seconds=59), service="PSVC002"),
    # February: 30 (created in January, resolved at 00:00:00 on February 1st), 5 and 15 (P5), 2000
    incident(21, "2026-01-31T23:30:00Z", resolved_after=30 * M),
    incident(22, "2026-02-03T08:00:00Z", resolved_after=5 * M, priority="P5"),
    incident(23, "2026-02-10T08:00:00Z", resolved_after=15 * M, priority="P5"),
    incident(24, "2026-02-12T08:00:00Z", resolved_after=2000 * M, priority="P1"),
    # March: ties, and a resolution under a minute (0 minutes)
    incident(31, "2026-03-01T00:00:00Z", resolved_after=7 * M),
    incident(32, "2026-03-02T00:00:00Z", resolved_after=7 * M),
    incident(33, "2026-03-03T00:00:00Z", resolved_after=7 * M + timedelta(seconds=30)),
    incident(34, "2026-03-04T00:00:00Z", resolved_after=timedelta(seconds=59)),
    incident(35, "2026-03-05T00:00:00Z", resolved_after=10100 * M),
    # April: no resolved_at (old data: last_status_change_at is the fallback), and resolved_at preferred
    incident(41, "2026-04-01T00:00:00Z", resolved_after=90 * M, omit_resolved_at=True),
    incident(42, "2026-04-02T00:00:00Z", resolved_after=100 * M, last_status_change_after=500 * M),
    # May (with #6): 2000, 20000
    incident(51, "2026-05-03T00:00:00Z", resolved_after=2000 * M),
    incident(52, "2026-05-01T00:00:00Z", resolved_after=20000 * M),
    # June: one, with a long title full of quotes and emoji
    incident(61, "2026-06-01T00:00:00Z", resolved_after=20000 * M, title=LONG_TITLE),
]

EXPECTED_MTTR = [
    # month, resolved incidents, lower median of the exact lead times in seconds, level
    (date(2026, 1, 1), 3, 1825, "elite"),  # [600, 1825, 3599]
    (date(2026, 2, 1), 4, 900, "elite"),  # [300, 900, 1800, 120000]
    (date(2026, 3, 1), 5, 420, "elite"),  # [59, 420, 420, 450, 606000]
    (date(2026, 4, 1), 2, 5400, "high"),  # [5400, 6000]
    (date(2026, 5, 1), 3, 120000, "medium"),  # [360, 120000, 1200000]
    (date(2026, 6, 1), 1, 1200000, "low"),
]


def build(database, *args: str) -> None:
    outcome = run_dbt(database, ["build", *args])
    assert outcome.success, outcome.failures or outcome.error


def mttr(database, view: str = "dora_mttr_monthly") -> list[tuple]:
    """The view's rows as (month, [service id, name,] resolved incidents, median seconds, level), once its
    whole minutes (truncated, DevLake's) and exact hours are checked against those seconds."""
    columns = "month, resolved_incidents, mttr_seconds, mttr_minutes, mttr_hours, level"
    if view.endswith("by_service"):
        columns = "month, service_id, service_name, resolved_incidents, mttr_seconds, mttr_minutes, mttr_hours, level"
    rows = query(database, f"SELECT {columns} FROM {view} ORDER BY 1, 2", database=database.name)
    for *_, seconds, minutes, hours, _level in rows:
        assert (minutes, hours) == (seconds // 60, seconds / 3600), (seconds, minutes, hours)
    return [(*row[:-4], row[-4], row[-1]) for row in rows]


def test_an_empty_build_runs_every_model_and_test_with_no_deprecation(database) -> None:
    """`dbt build --empty` (the fast CI check: every model compiles and runs, every test too, on no rows), from
    a full parse, reports no deprecated functionality of dbt's; then a real build does the same."""
    load_raw(database, FIXTURE)
    empty = run_dbt(database, ["build", "--empty", "--no-partial-parse"])
    assert empty.success, empty.failures or empty.error
    assert empty.models > 30 and empty.tests > 100, (empty.models, empty.tests)
    assert empty.deprecations == []
    assert query(database, "SELECT COUNT(*) FROM issues", database=database.name) == [(0,)]
    full = run_dbt(database, ["build"])
    assert full.success and full.deprecations == [], full.failures or full.deprecations


@pytest.fixture
def built(database):
    load_raw(database, FIXTURE)
    build(database)
    return database


def test_devlake_e2e_incidents(built) -> None:
    rows = query(
        built,
        "SELECT id, issue_key, url, title, description, type, original_type, status, original_status,"
        " resolution_date, created_date, lead_time_minutes, assignee_id, assignee_name, priority, urgency"
        " FROM issues WHERE issue_key IN ('4', '5', '6') ORDER BY id",
        database=built.name,
    )
    url = "https://acme.pagerduty.com/incidents/QFIX000{}"
    assert rows == [
        (
            "pagerduty:Incident:1:4",
            "4",
            url.format(4),
            "Incident 4",
            "[#4] Incident 4",
            "INCIDENT",
            "INCIDENT",
            "TODO",
            "triggered",
            None,
            datetime(2026, 5, 2, 10, 0),
            None,
            "PU2",
            "Bo Chen",
            None,
            "high",
        ),
        (
            "pagerduty:Incident:1:5",
            "5",
            url.format(5),
            "Incident 5",
            "[#5] Incident 5",
            "INCIDENT",
            "INCIDENT",
            "IN_PROGRESS",
            "acknowledged",
            None,
            datetime(2026, 5, 2, 11, 0),
            None,
            "PU1",
            "Ann Lee",
            None,
            "high",
        ),
        (
            "pagerduty:Incident:1:6",
            "6",
            url.format(6),
            "Incident 6",
            "[#6] Incident 6",
            "INCIDENT",
            "INCIDENT",
            "DONE",
            "resolved",
            datetime(2026, 5, 2, 12, 6),
            datetime(2026, 5, 2, 12, 0),
            6,
            None,
            None,
            None,
            "high",
        ),
    ]
    assignees = query(
        built,
        "SELECT issue_id, assignee_id, assignee_name FROM issue_assignees"
        " WHERE issue_id = 'pagerduty:Incident:1:4' ORDER BY assignee_id",
        database=built.name,
    )
    assert assignees == [
        ("pagerduty:Incident:1:4", "PU1", "Ann Lee"),
        ("pagerduty:Incident:1:4", "PU2", "Bo Chen"),
    ]
    assert query(built, "SELECT id, name FROM boards ORDER BY id", database=built.name) == [
        ("pagerduty:Service:1:PSVC001", "Checkout API"),
        ("pagerduty:Service:1:PSVC002", "Search"),
    ]
    assert query(
        built,
        "SELECT board_id FROM board_issues WHERE issue_id = 'pagerduty:Incident:1:13'",
        database=built.name,
    ) == [("pagerduty:Service:1:PSVC002",)]
    assert query(built, "SELECT COUNT(*) FROM board_issues", database=built.name) == [(len(FIXTURE),)]


def test_resolution_date_prefers_resolved_at_and_falls_back(built) -> None:
    rows = query(
        built,
        "SELECT issue_key, resolution_date, lead_time_minutes FROM issues"
        " WHERE issue_key IN ('41', '42', '34', '13', '21') ORDER BY issue_key + 0",
        database=built.name,
    )
    assert rows == [
        ("13", datetime(2026, 1, 31, 23, 59, 59), 59),
        ("21", datetime(2026, 2, 1, 0, 0, 0), 30),
        ("34", datetime(2026, 3, 4, 0, 0, 59), 0),
        ("41", datetime(2026, 4, 1, 1, 30), 90),
        ("42", datetime(2026, 4, 2, 1, 40), 100),
    ]


def test_titles_arrive_intact(built) -> None:
    assert query(built, "SELECT title FROM issues WHERE issue_key = '61'", database=built.name) == [
        (LONG_TITLE,)
    ]


def test_mttr_monthly_lower_median_by_hand(built) -> None:
    assert mttr(built) == EXPECTED_MTTR


def test_resolution_month_reaches_a_lake_built_without_it(built) -> None:
    """int_incidents_covered stores each incident's month of resolution (the metric views' filter reaches it
    through its index). A lake built before it was stored lacks the column, and one whose build was killed
    between adding and filling it holds nulls: the next build fills it, and no metric moves."""

    def months_by_hand() -> list[tuple]:
        rows = staging(built, "SELECT resolution_date, resolution_month FROM int_incidents_covered")
        assert len(rows) == len(FIXTURE)
        return [(month, resolved and date(resolved.year, resolved.month, 1)) for resolved, month in rows]

    staging(built, "ALTER TABLE int_incidents_covered DROP COLUMN resolution_month")
    build(built)
    assert all(stored == expected for stored, expected in months_by_hand())
    assert mttr(built) == EXPECTED_MTTR
    assert staging(
        built,
        "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE()"
        " AND table_name = 'int_incidents_covered' AND index_name = 'ix_covered_resolution_month'",
    ) == [(1,)]

    staging(built, "UPDATE int_incidents_covered SET resolution_month = NULL")
    build(built)
    assert all(stored == expected for stored, expected in months_by_hand())
    assert sum(expected is not None for _, expected in months_by_hand()) == len(FIXTURE) - 2  # #4, #5 open
    assert mttr(built) == EXPECTED_MTTR


def test_mttr_by_service(built) -> None:
    january = [row for row in mttr(built, "dora_mttr_monthly_by_service") if row[0] == date(2026, 1, 1)]
    assert january == [
        (date(2026, 1, 1), "PSVC001", "Checkout API", 2, 600, "elite"),
        (date(2026, 1, 1), "PSVC002", "Search", 1, 3599, "elite"),
    ]


def test_urgency_and_priority_filters(database) -> None:
    load_raw(database, FIXTURE)
    build(
        database,
        "--vars",
        json.dumps({"dora_excluded_urgencies": ["low"], "dora_excluded_priorities": ["P5"]}),
    )
    by_month = {row[0]: row[1:3] for row in mttr(database)}
    assert by_month[date(2026, 1, 1)] == (2, 600)  # 30 min (low urgency) left out: [600, 3599]
    assert by_month[date(2026, 2, 1)] == (2, 1800)  # 5 and 15 min (P5) left out: [1800, 120000]
    assert by_month[date(2026, 3, 1)] == (5, 420)  # no priority: never left out by a priority name
    # issues keeps every incident; only the metrics leave some out
    assert query(database, "SELECT COUNT(*) FROM issues", database=database.name) == [(len(FIXTURE),)]


def test_reopened_incident_moves_between_months_incrementally(database) -> None:
    created = "2026-07-01T00:00:00Z"
    load_raw(database, [incident(71, created, resolved_after=20 * M)])
    build(database)
    assert mttr(database) == [(date(2026, 7, 1), 1, 1200, "elite")]

    load_raw(database, [incident(71, created, status="triggered", last_status_change_after=60 * M)])
    build(database)
    assert mttr(database) == []
    assert query(
        database, "SELECT status, resolution_date, lead_time_minutes FROM issues", database=database.name
    ) == [("TODO", None, None)]

    load_raw(database, [incident(71, created, resolved_after=timedelta(days=32))])
    build(database)
    incremental = mttr(database)
    assert incremental == [(date(2026, 8, 1), 1, 32 * 86_400, "low")]
    build(database, "--full-refresh")
    assert mttr(database) == incremental


def test_late_load_of_old_incidents_arrives_incrementally(built) -> None:
    """Incremental builds follow load completion, not incident times: a second connection loaded later,
    with incidents older than every row already built, still arrives."""
    load_raw(built, FIXTURE[3:6], connection_id=2)
    build(built)
    ids = {row[0] for row in query(built, "SELECT id FROM issues", database=built.name)}
    assert {"pagerduty:Incident:2:11", "pagerduty:Incident:2:12", "pagerduty:Incident:2:13"} <= ids
    assert len(ids) == len(FIXTURE) + 3
    january = mttr(built)[0]
    assert january == (date(2026, 1, 1), 6, 1825, "elite")  # [600, 600, 1825, 1825, 3599, 3599]


def test_every_model_and_column_is_documented(built) -> None:
    """dbt docs generate works, every model and seed is in the catalog, and none has a model or column
    without a description."""
    outcome = run_dbt(built, ["docs", "generate"])
    assert outcome.success, outcome.error
    target = Path(__file__).resolve().parent.parent / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    undocumented = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if unique_id not in catalog["nodes"]:
            undocumented.append(f"{node['name']} (not in the catalog: not built?)")
            continue
        described = {name.lower() for name, column in node["columns"].items() if column.get("description")}
        if not node.get("description"):
            undocumented.append(node["name"])
        undocumented += [
            f"{node['name']}.{c}"
            for c in catalog["nodes"][unique_id]["columns"]
            if c.lower() not in described
        ]
    assert undocumented == []


def test_assignees_seen_while_open_survive_resolution(database) -> None:
    """PagerDuty empties assignments once resolved: the lake keeps who had the incident. #71 was read open
    with Ann, then with Bo (reassigned), then resolved; #72 was first read resolved, and a log entry read
    since says Cy had it."""
    at = "2026-07-01T10:00:00Z"
    load_raw(database, [incident(71, at, status="triggered", assignments=((at, "PU1", "Ann Lee"),))])
    later = "2026-07-01T10:05:00Z"
    load_raw(database, [incident(71, at, status="acknowledged", assignments=((later, "PU2", "Bo Chen"),))])
    load_raw(
        database,
        [incident(71, at, resolved_after=20 * M), incident(72, at, resolved_after=30 * M)],
        log_entries=(log_entry("RLOG1", "assign_log_entry", "2026-07-01T10:10:00Z", 72, ("PU3", "Cy Diaz")),),
    )
    build(database)
    assert lake(database, "SELECT id, status, assignee_id, assignee_name FROM issues ORDER BY id") == [
        ("pagerduty:Incident:1:71", "DONE", "PU2", "Bo Chen"),
        ("pagerduty:Incident:1:72", "DONE", "PU3", "Cy Diaz"),
    ]
    assert lake(database, "SELECT issue_id, assignee_id FROM issue_assignees ORDER BY 1, 2") == [
        ("pagerduty:Incident:1:71", "PU1"),
        ("pagerduty:Incident:1:71", "PU2"),
        ("pagerduty:Incident:1:72", "PU3"),
    ]


def test_an_account_in_los_angeles_across_dst(database) -> None:
    """Incidents as PagerDuty renders them for an account in Los Angeles, across the March 2024 DST change
    and a month end: lead times and months by hand, in UTC."""
    ds = generate(
        seed=1, size=1, services=1, days=1, end=datetime(2024, 1, 1, tzinfo=__import__("datetime").UTC)
    )
    la = "America/Los_Angeles"
    utc = __import__("datetime").UTC
    cases = [
        # created 01:30 PST, resolved 03:30 PDT: one hour, not two
        (datetime(2024, 3, 10, 9, 30, tzinfo=utc), datetime(2024, 3, 10, 10, 30, tzinfo=utc)),
        # resolved 2024-03-31 20:00 PDT, which is April 1st in UTC
        (datetime(2024, 3, 31, 18, 0, tzinfo=utc), datetime(2024, 4, 1, 3, 0, tzinfo=utc)),
        # created before the change (01:59:59 PST), resolved after it (03:00:01 PDT): two seconds
        (datetime(2024, 3, 10, 9, 59, 59, tzinfo=utc), datetime(2024, 3, 10, 10, 0, 1, tzinfo=utc)),
    ]
    objects = []
    for created, resolved in cases:
        added = ds.add_incident(created_at=created, status="resolved", resolved_at=resolved)
        objects.append(ds.incident(added["incident_number"], tz=la))
    assert objects[0]["created_at"] == "2024-03-10T01:30:00-08:00"
    assert objects[0]["resolved_at"] == "2024-03-10T03:30:00-07:00"
    assert objects[1]["resolved_at"] == "2024-03-31T20:00:00-07:00"
    objects = [{**o, "service": {"id": "PSVC001", "summary": "Checkout API"}} for o in objects]
    load_raw(database, objects)
    build(database)
    assert lake(
        database, "SELECT issue_key, lead_time_minutes, resolution_date FROM issues ORDER BY issue_key + 0"
    ) == [
        (str(objects[0]["incident_number"]), 60, datetime(2024, 3, 10, 10, 30)),
        (str(objects[1]["incident_number"]), 540, datetime(2024, 4, 1, 3, 0)),
        (str(objects[2]["incident_number"]), 0, datetime(2024, 3, 10, 10, 0, 1)),
    ]
    assert mttr(database) == [
        (date(2024, 3, 1), 2, 2, "elite"),  # [2, 3600] seconds
        (date(2024, 4, 1), 1, 9 * 3600, "high"),
    ]
    assert incident_row(1, objects[0], datetime(2026, 1, 1))["created_at"] == datetime(2024, 3, 10, 9, 30)


def test_the_lake_shows_exactly_what_the_scopes_cover(database) -> None:
    """A start date moved later, a service leaving a scope, a deleted connection: their incidents leave
    issues, board_issues and the metrics on the next build; moving back brings them back."""
    from datetime import UTC

    load_raw(database, FIXTURE)
    load_raw(database, FIXTURE[3:6], connection_id=2)
    build(database)
    assert lake(database, "SELECT COUNT(*) FROM issues") == [(len(FIXTURE) + 3,)]

    def cover(*scopes) -> None:
        record_scopes(database, "fixture-1", "fixture-1", [s for s in scopes if s[0] == 1])
        record_scopes(database, "fixture-2", "fixture-2", [s for s in scopes if s[0] == 2])
        build(database)

    def counts() -> tuple:
        return (
            lake(database, "SELECT COUNT(*) FROM issues")[0][0],
            lake(database, "SELECT COUNT(*) FROM board_issues")[0][0],
            lake(database, "SELECT COALESCE(SUM(resolved_incidents), 0) FROM dora_mttr_monthly")[0][0],
        )

    # start date moved to March: January and February incidents (7 of connection 1) leave
    cover((1, None, datetime(2026, 3, 1, tzinfo=UTC)), (2, None, datetime(2000, 1, 1, tzinfo=UTC)))
    # resolved and counted: connection 1 keeps #6, #31-35, #41, #42, #51, #52, #61; connection 2 has #11-13
    assert counts() == (len(FIXTURE) - 7 + 3, len(FIXTURE) - 7 + 3, 11 + 3)
    # connection 1 covers PSVC002 only (#13); connection 2's scope is gone (a deleted connection)
    cover((1, ["PSVC002"], datetime(2000, 1, 1, tzinfo=UTC)))
    assert lake(database, "SELECT id FROM issues") == [("pagerduty:Incident:1:13",)]
    assert lake(database, "SELECT board_id FROM board_issues") == [("pagerduty:Service:1:PSVC002",)]
    assert lake(database, "SELECT id FROM boards") == [("pagerduty:Service:1:PSVC002",)]
    assert mttr(database) == [(date(2026, 1, 1), 1, 3599, "elite")]
    # everything covered again: the same tables as a build from scratch
    cover((1, None, datetime(2000, 1, 1, tzinfo=UTC)), (2, None, datetime(2000, 1, 1, tzinfo=UTC)))
    incremental = lake(database, "SELECT * FROM issues ORDER BY id"), mttr(database)
    build(database, "--full-refresh")
    assert (lake(database, "SELECT * FROM issues ORDER BY id"), mttr(database)) == incremental
    assert len(incremental[0]) == len(FIXTURE) + 3


def test_a_service_missing_from_the_listing_still_gets_its_board(database) -> None:
    """An incident on a service the services listing no longer has (deleted since): boards.sql's `referenced`
    branch gives it a board named as the incident names it, so board_issues and the by-service view keep it."""
    gone = incident(81, "2026-07-01T00:00:00Z", resolved_after=12 * M)
    gone["service"] = {"id": "PGONE99", "type": "service_reference", "summary": "Retired Billing"}
    load_raw(database, [gone, incident(82, "2026-07-02T00:00:00Z", resolved_after=4 * M)])
    build(database)
    assert lake(database, "SELECT id, name, url FROM boards ORDER BY id") == [
        ("pagerduty:Service:1:PGONE99", "Retired Billing", None),
        (
            "pagerduty:Service:1:PSVC001",
            "Checkout API",
            "https://acme.pagerduty.com/service-directory/PSVC001",
        ),
        ("pagerduty:Service:1:PSVC002", "Search", "https://acme.pagerduty.com/service-directory/PSVC002"),
    ]
    assert lake(database, "SELECT board_id, issue_id FROM board_issues ORDER BY issue_id") == [
        ("pagerduty:Service:1:PGONE99", "pagerduty:Incident:1:81"),
        ("pagerduty:Service:1:PSVC001", "pagerduty:Incident:1:82"),
    ]
    assert mttr(database, "dora_mttr_monthly_by_service") == [
        (date(2026, 7, 1), "PGONE99", "Retired Billing", 1, 720, "elite"),
        (date(2026, 7, 1), "PSVC001", "Checkout API", 1, 240, "elite"),
    ]


def test_devlake_tables_have_their_declared_column_types(built) -> None:
    """DevLake's tables and views keep the column names and types their YAML declares (data_type: dbt enforces
    them as contracts, except on the incremental models, where dbt does not allow it here; this checks all)."""
    spec = yaml.safe_load((ROOT / "models" / "marts" / "devlake" / "_devlake__models.yml").read_text())
    for model in spec["models"]:
        declared = [(c["name"].lower(), c["data_type"]) for c in model["columns"]]
        rows = query(
            built,
            "SELECT column_name, column_type FROM information_schema.columns"
            f" WHERE table_schema = '{built.name}' AND table_name = '{model['name']}' ORDER BY ordinal_position",
            database=built.name,
        )
        built_types = [
            (name.lower(), re.sub(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)", r"\1", kind))
            for name, kind in rows
        ]
        assert sorted(built_types) == sorted(declared), model["name"]
        enforced = model.get("config", {}).get("contract", {}).get("enforced", False)
        incremental = (
            "materialized='incremental'"
            in (ROOT / "models" / "marts" / "devlake" / f"{model['name']}.sql").read_text()
        )
        assert enforced != incremental, model["name"]


def test_staging_and_intermediate_models_live_apart_from_what_bi_tools_read(built) -> None:
    """The lake holds DevLake's tables and the metric views only; staging and intermediate models are in
    `<lake>_staging`. An older release built them in the lake itself: the next build drops those, and nothing
    else it did not build."""
    lake_tables = {row[0] for row in lake(built, "SHOW TABLES")}
    assert not {t for t in lake_tables if t.startswith(("stg_", "int_"))}
    assert {"issues", "boards", "dora_mttr_monthly", "dora_deployment_frequency_monthly"} <= lake_tables
    assert {"stg_pagerduty__incidents", "int_incidents_covered"} <= {
        row[0] for row in staging(built, "SHOW TABLES")
    }
    # what an older release left in the lake, and a table of someone else's that merely looks alike
    lake(built, "CREATE VIEW stg_pagerduty__incidents AS SELECT 1 AS x")
    lake(built, "CREATE TABLE int_incidents_covered (x INT)")
    lake(built, "CREATE TABLE int_something_of_ours_not (x INT)")
    build(built)
    left = {row[0] for row in lake(built, "SHOW TABLES")}
    assert "stg_pagerduty__incidents" not in left and "int_incidents_covered" not in left
    assert "int_something_of_ours_not" in left
    assert mttr(built) == EXPECTED_MTTR


def test_source_freshness_passes_after_a_load(built) -> None:
    """Freshness is the ledger's: after a load it is fresh, whatever the raw tables' own times say (a quiet
    account writes no new rows), and no table without a load time is asked for one."""
    outcome = run_dbt(built, ["source", "freshness"])
    assert outcome.success, outcome.failures or outcome.error
