"""DevLake's own Grafana dashboards, unchanged, on our lake: every panel's SQL of DORA.json, PagerDuty.json and the
three DORADetails-*.json runs without an error, with Grafana's macros and variables filled in as Grafana fills
them, for both DORA reports, every project and two time ranges; and the MTTR, failed deployment recovery time,
change failure rate and deployment panels show exactly the numbers of the dora_* views.

The lake: a simulated account loaded by `run.py run` with two blueprints, the seed's (no projectName: project
`test-blueprint`, every service) and one with a projectName covering a single service, which is then in both
projects. The dashboards are DevLake's, read from ../shared/reference/devlake-dashboards (reference material,
not part of this repository): without that folder the module skips.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Optional

import pymysql
import pytest

from ingestion.database import Database, drop_databases, parse_db_url

from .helpers import ROOT, SEED_BLUEPRINT, SIM_TOKEN, lake, project_blueprint, run_cli

DASHBOARDS = ROOT.parent / "shared" / "reference" / "devlake-dashboards"
DASHBOARD_FILES = (
    "DORA.json",
    "PagerDuty.json",
    "DORADetails-TimetoRestoreService.json",
    "DORADetails-ChangeFailureRate.json",
    "DORADetails-FailedDeploymentRecoveryTime.json",
)
SECOND_PROJECT = "payments"

pytestmark = pytest.mark.skipif(
    not DASHBOARDS.is_dir(),
    reason=f"DevLake's dashboards are not at {DASHBOARDS} (reference material kept beside the repository,"
    " ../shared/reference/devlake-dashboards): nothing to check them with",
)


# ------------------------------------------------------------------------------------ Grafana's side
@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def literal(self, moment: datetime) -> str:
        return "'" + moment.strftime("%Y-%m-%d %H:%M:%S.%f") + "'"


@dataclass(frozen=True)
class Variable:
    values: tuple[str, ...]
    multi: bool
    """Multi-value or include-all: Grafana's SQL data sources quote such a variable's values."""


def _quote(value: str) -> str:
    """Grafana's quoteLiteral for MySQL: single quotes doubled, the value in single quotes."""
    return "'" + value.replace("'", "''") + "'"


def _format(variable: Variable, fmt: Optional[str]) -> str:
    if fmt in ("raw", "csv"):
        return ",".join(variable.values)
    if fmt in ("sqlstring", "singlequote"):
        return ",".join(_quote(v) for v in variable.values)
    if fmt is not None:
        raise AssertionError(f"a variable format this test does not render: {fmt}")
    if variable.multi:
        return ",".join(_quote(v) for v in variable.values)
    return variable.values[0].replace("'", "''")


_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)")


def render(sql: str, variables: dict[str, Variable], period: TimeRange) -> str:
    """A panel's rawSql as Grafana sends it to MySQL: its macros, then its template variables, replaced."""
    sql = _time_filter(sql, period)
    sql = sql.replace("$__timeFrom()", period.literal(period.start))
    sql = sql.replace("$__timeTo()", period.literal(period.end))

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(3) or match.group(5)
        fmt = match.group(2) or match.group(4)
        if name not in variables:
            if name.startswith("__"):
                raise AssertionError(f"a Grafana macro this test does not render: ${name}")
            return match.group(0)
        return _format(variables[name], fmt)

    return _VARIABLE.sub(replace, sql)


def _time_filter(sql: str, period: TimeRange) -> str:
    """$__timeFilter(expr) -> expr BETWEEN '<from>' AND '<to>'; expr may hold parentheses of its own."""
    macro = "$__timeFilter("
    out, i = [], 0
    while (j := sql.find(macro, i)) >= 0:
        k, depth = j + len(macro), 1
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[k], 0)
            k += 1
        expression = sql[j + len(macro) : k - 1]
        out.append(
            f"{sql[i:j]}{expression} BETWEEN {period.literal(period.start)} AND {period.literal(period.end)}"
        )
        i = k
    out.append(sql[i:])
    return "".join(out)


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard(name: str) -> dict:
    return json.loads((DASHBOARDS / name).read_text())


def targets(board: dict) -> list[tuple[str, str]]:
    """('<panel title> <panel type>', rawSql) of every SQL target of every panel, rows included (a title
    alone is not unique: DORA.json has a stat and a bar chart of each metric)."""
    return [
        (f"{panel.get('title') or '(untitled)'} {panel.get('type')}", target["rawSql"])
        for panel in _panels(board.get("panels", []))
        for target in panel.get("targets") or []
        if target.get("rawSql")
    ]


class Grafana:
    """Runs a dashboard against the lake as Grafana's MySQL data source does (session time zone UTC)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def run(self, sql: str) -> list[tuple]:
        with self.db.connect(self.db.name) as conn, conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            try:
                cur.execute(sql)
            except pymysql.err.MySQLError as exc:
                raise AssertionError(f"{exc}\n--- SQL sent:\n{sql}") from exc
            return list(cur.fetchall())

    def variables(self, board: dict, period: TimeRange, chosen: dict[str, str]) -> dict[str, Variable]:
        """The dashboard's template variables in order, each from its query: a multi-value one with 'All'
        (every value) unless `chosen` names a value, a single-value one with `chosen`'s value or its first."""
        found: dict[str, Variable] = {}
        for spec in board.get("templating", {}).get("list", []):
            if spec.get("type") != "query":
                continue
            rows = self.run(render(spec["query"], found, period))
            values = [str(row[0]) for row in rows if row and row[0] is not None]
            if spec.get("regex"):
                pattern = re.compile(spec["regex"].strip("/").replace("(?<", "(?P<"))
                values = [m.group("value") for v in values if (m := pattern.match(v))]
            values = list(dict.fromkeys(values))  # Grafana lists each value once
            name = spec["name"]
            assert values, f"variable {name} has no value: {spec['query']}"
            multi = bool(spec.get("multi") or spec.get("includeAll"))
            if name in chosen:
                assert chosen[name] in values, f"{chosen[name]!r} is not among {name}'s values {values}"
                values = [chosen[name]]
            elif not multi:
                values = values[:1]
            found[name] = Variable(tuple(values), multi)
        return found

    def panels(self, name: str, period: TimeRange, **chosen: str) -> dict[str, list[tuple]]:
        """Every panel's rows (a panel of several targets: the last one's), by '<title> <type>', the title
        with its variables filled in."""
        board = dashboard(name)
        variables = self.variables(board, period, chosen)
        results = {}
        for title, sql in targets(board):
            rows = self.run(render(sql, variables, period))
            results[render(title, variables, period)] = rows
        return results


# ------------------------------------------------------------------------------------ the lake
@pytest.fixture(scope="module")
def loaded(db_server, simulator, tmp_path_factory) -> Iterator[tuple[Database, str]]:
    """One lake for the module: the seed's blueprint over every service, then a blueprint with a projectName
    over one of them (which is then in both projects). Returns the database and that service's id."""
    db = parse_db_url(f"{db_server}/pdtest_{uuid.uuid4().hex[:10]}")
    tmp = tmp_path_factory.mktemp("dashboards")
    server = simulator(seed=31, size=300, services=3, days=120)
    connections = tmp / "c.json"
    connections.write_text(json.dumps([{"id": 1, "name": "sim", "endpoint": server.url, "token": SIM_TOKEN}]))
    try:
        seed = tmp / "seed.json"
        seed.write_text(json.dumps(SEED_BLUEPRINT))
        result = run_cli(db, "run", "--blueprint", str(seed), "--connections", str(connections))
        assert result.returncode == 0, result.stderr
        (service,) = lake(
            db, "SELECT service_id FROM dora_incidents GROUP BY service_id ORDER BY COUNT(*) DESC LIMIT 1"
        )[0]
        second = project_blueprint("payments-blueprint", SECOND_PROJECT, service)
        (tmp / "second.json").write_text(json.dumps(second))
        result = run_cli(
            db, "run", "--blueprint", str(tmp / "second.json"), "--connections", str(connections)
        )
        assert result.returncode == 0, result.stderr
        yield db, service
    finally:
        drop_databases(db)


def wide() -> TimeRange:
    """Every month the lake can hold: no deployment or incident is left out by the time filters."""
    return TimeRange(datetime(2000, 1, 1), datetime(2099, 12, 31, 23, 59, 59, 999999))


def last_six_months() -> TimeRange:
    """Grafana's default range of these dashboards, now-6M to now."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return TimeRange(now - timedelta(days=183), now)


def one_month(month: date) -> TimeRange:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return TimeRange(
        datetime(month.year, month.month, 1),
        datetime(following.year, following.month, 1) - timedelta(microseconds=1),
    )


def by_month(rows: list[tuple]) -> dict[str, Any]:
    return {row[0]: row[1] for row in rows}


def view(db: Database, sql: str) -> dict[str, Any]:
    """A dora_* view's values by DevLake's month label ('%y/%m'), worked out by the server as the panels do."""
    return by_month(lake(db, sql))


# ------------------------------------------------------------------------------------ the tests
def test_the_lake_has_devlakes_projects(loaded) -> None:
    db, service = loaded
    assert lake(db, "SELECT name FROM projects ORDER BY name") == [(SECOND_PROJECT,), ("test-blueprint",)]
    mapped = lake(
        db,
        "SELECT project_name, `table`, row_id FROM project_mapping WHERE project_name = %s",
        SECOND_PROJECT,
    )
    board = f"pagerduty:Service:1:{service}"
    assert sorted(mapped) == [(SECOND_PROJECT, "boards", board), (SECOND_PROJECT, "cicd_scopes", board)]
    boards = lake(db, "SELECT COUNT(*) FROM boards")[0][0]
    assert lake(db, "SELECT COUNT(*) FROM project_mapping WHERE project_name = 'test-blueprint'") == [
        (2 * boards,)
    ]
    assert (
        lake(db, "SELECT COUNT(*), COUNT(DISTINCT id) FROM project_incident_deployment_relationships")[0][0]
        > 0
    )
    assert lake(
        db, "SELECT COUNT(*) FROM project_incident_deployment_relationships WHERE project_name IS NULL"
    ) == [(0,)]
    assert lake(db, "SELECT COUNT(*) FROM incidents") == lake(db, "SELECT COUNT(*) FROM dora_incidents")
    assert lake(db, "SELECT DISTINCT `table` FROM incidents") == [("boards",)]
    assert {r[0] for r in lake(db, "SELECT dora_report FROM dora_benchmarks")} == {"2021", "2023"}


@pytest.mark.parametrize("report", ["2021", "2023"])
def test_every_panel_runs(loaded, report) -> None:
    """Every panel and variable query of the five dashboards, for each report: all projects over Grafana's
    default six months and over every month, and one project chosen (the one-service project). No error.
    (DevLake's failed-deployment-recovery-time stats cross-join deployments with incidents: the lake is kept
    small so that these runs stay quick.)"""
    db, service = loaded
    grafana = Grafana(db)
    ran = 0
    for name in DASHBOARD_FILES:
        for period, project in ((last_six_months(), None), (wide(), None), (wide(), SECOND_PROJECT)):
            chosen = (
                {"dora_report": report} if name in ("DORA.json", "DORADetails-ChangeFailureRate.json") else {}
            )
            if project:
                key = "board_id" if name == "PagerDuty.json" else "project"
                chosen[key] = f"pagerduty:Service:1:{service}" if key == "board_id" else project
            ran += len(grafana.panels(name, period, **chosen))
    assert ran == 3 * sum(len(targets(dashboard(name))) for name in DASHBOARD_FILES)

    # no pull requests: DevLake's own "no data" answers, not an error
    panels = Grafana(db).panels("DORA.json", wide(), dora_report=report)
    assert panels["Median Lead Time for Changes In Hours stat"] == [
        ("N/A. Please check if you have collected deployments/pull_requests.",)
    ]
    assert {row[1] for row in panels["Median Lead Time for Changes barchart"]} == {0}


def test_time_to_restore_and_recovery_time_panels_equal_the_views(loaded) -> None:
    db, _ = loaded
    grafana = Grafana(db)
    period = wide()
    months = [row[0] for row in lake(db, "SELECT month FROM calendar_months ORDER BY month_timestamp")]

    mttr = by_month(
        grafana.panels("DORA.json", period, dora_report="2021")["Median Time to Restore Service barchart"]
    )
    expected = view(db, "SELECT date_format(month, '%y/%m'), mttr_minutes / 60 FROM dora_mttr_monthly")
    assert expected, "the simulated account resolved no incident"
    assert mttr == {m: expected.get(m, 0) for m in months}

    recovery = by_month(
        grafana.panels("DORA.json", period, dora_report="2023")["Failed Deployment Recovery Time barchart"]
    )
    expected = view(
        db,
        "SELECT date_format(month, '%y/%m'), recovery_minutes / 60 FROM dora_failed_deployment_recovery_time_monthly",
    )
    assert expected, "no incident of the simulated account is linked to a deployment"
    assert recovery == {m: expected.get(m, 0) for m in months}

    # the details dashboard over one month: its median is that month's
    busiest, minutes = lake(
        db, "SELECT month, mttr_minutes FROM dora_mttr_monthly ORDER BY resolved_incidents DESC LIMIT 1"
    )[0]
    stat = Grafana(db).panels("DORADetails-TimetoRestoreService.json", one_month(busiest))[
        "1. Median Time to Restore Service stat"
    ]
    assert stat == lake(db, "SELECT CAST(%s AS SIGNED) / 60", minutes)


def test_change_failure_rate_and_deployment_panels_equal_the_views(loaded) -> None:
    db, _ = loaded
    grafana = Grafana(db)
    period = wide()
    months = [row[0] for row in lake(db, "SELECT month FROM calendar_months ORDER BY month_timestamp")]
    for report in ("2021", "2023"):
        panels = grafana.panels("DORA.json", period, dora_report=report)
        cfr = by_month(panels["Change Failure Rate barchart"])
        expected = view(
            db, "SELECT date_format(month, '%y/%m'), failed_deployments / deployments FROM dora_cfr_monthly"
        )
        assert expected, "the simulated account sent no change event"
        assert cfr == {m: expected.get(m) for m in months}

        deployments = by_month(panels["Monthly deployments barchart"])
        expected = view(db, "SELECT date_format(month, '%y/%m'), deployments FROM dora_cfr_monthly")
        assert deployments == {m: expected.get(m, 0) for m in months}

        (overall,) = panels["Change Failure Rate stat"][0]
        (rate,) = lake(
            db, "SELECT round(sum(failed_deployments) / sum(deployments) * 100, 1) FROM dora_cfr_monthly"
        )[0]
        assert overall.startswith(f"{rate}%("), overall

    # per month, the details dashboard counts the deployments of the view
    month, count = lake(
        db, "SELECT month, deployments FROM dora_cfr_monthly ORDER BY deployments DESC LIMIT 1"
    )[0]
    counts = Grafana(db).panels("DORADetails-ChangeFailureRate.json", one_month(month))["(untitled) stat"]
    assert counts[0][1] == count


def test_a_service_in_two_projects_counts_once(loaded) -> None:
    """All projects: an incident of the service both projects hold is one incident, its deployment one
    deployment (DevLake's SQL joins the links on the incident alone: one link row per incident)."""
    db, service = loaded
    assert lake(
        db, "SELECT COUNT(*) = COUNT(DISTINCT id) FROM project_incident_deployment_relationships"
    ) == [(1,)]
    board = f"pagerduty:Service:1:{service}"
    only = Grafana(db).panels("DORA.json", wide(), dora_report="2021", project=SECOND_PROJECT)
    expected = view(
        db,
        "SELECT date_format(month, '%y/%m'), mttr_minutes / 60 FROM dora_mttr_monthly_by_service"
        f" WHERE board_id = '{board}'",
    )
    mttr = by_month(only["Median Time to Restore Service barchart"])
    assert {m: v for m, v in mttr.items() if m in expected} == expected
    assert all(v == 0 for m, v in mttr.items() if m not in expected)
    deployments = by_month(only["Monthly deployments barchart"])
    expected = view(
        db,
        "SELECT date_format(month, '%y/%m'), deployments FROM dora_cfr_monthly_by_service"
        f" WHERE board_id = '{board}'",
    )
    assert {m: v for m, v in deployments.items() if v} == expected
