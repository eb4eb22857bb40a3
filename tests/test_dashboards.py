"""Our Grafana dashboards (dashboards/grafana/): each JSON is a dashboard Grafana provisions (uid, title,
panels with SQL targets on the provisioned datasource, template variables), and every panel's SQL and every
variable's query runs on a lake the real pipeline built (the simulator over HTTP, `run.py run`, dbt), with
Grafana's macros filled in as Grafana fills them. The panels that show the DORA views show their numbers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingestion.database import Database, drop_databases, parse_db_url

from .helpers import ROOT, lake, run_seed_blueprint

GRAFANA = ROOT / "dashboards" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
FROM = datetime(2000, 1, 1, tzinfo=UTC)
TO = datetime(2037, 12, 31, tzinfo=UTC)
"""A time range wider than any data (FROM_UNIXTIME ends in 2038): panels then show every row of the views."""


def provisioned_datasource() -> dict[str, Any]:
    config = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "lake.yaml").read_text())
    (datasource,) = config["datasources"]
    return datasource


def sqlstring(values: list[str]) -> str:
    """Grafana's `sqlstring` format (and its default for multi-value variables in SQL datasources): each
    value quoted with ', a ' inside doubled, joined by commas."""
    return ",".join("'" + value.replace("'", "''") + "'" for value in values)


def interpolate(sql: str, variables: dict[str, list[str]], start: datetime = FROM, end: datetime = TO) -> str:
    """The SQL Grafana's MySQL datasource sends: its macros ($__timeFilter, $__timeFrom, $__timeTo) and the
    template variables filled in. Anything left starting with $ is a macro or variable Grafana would not
    fill the way this test does: the test fails on it rather than guess."""
    frm, to = f"FROM_UNIXTIME({int(start.timestamp())})", f"FROM_UNIXTIME({int(end.timestamp())})"
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", lambda m: f"{m.group(1).strip()} BETWEEN {frm} AND {to}", sql)
    sql = sql.replace("$__timeFrom()", frm).replace("$__timeTo()", to)
    for name, values in variables.items():
        sql = re.sub(
            r"\$\{" + name + r"(:sqlstring)?\}|\$" + name + r"\b", lambda _, text=sqlstring(values): text, sql
        )
    assert "$" not in sql, f"unfilled macro or variable in {sql}"
    return sql


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return found


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    (match,) = [p for p in panels(dashboard) if p["title"] == title]
    return match


def load(name: str) -> dict[str, Any]:
    return json.loads((GRAFANA / "dashboards" / name).read_text())


@pytest.fixture(scope="module")
def built(db_server: str, simulator, tmp_path_factory) -> Iterator[Database]:
    """One lake for the module, loaded by the seed blueprint from a simulated account with deployments."""
    database = parse_db_url(f"{db_server}/pdtest_{uuid.uuid4().hex[:10]}")
    server = simulator(seed=7, size=600, services=3, days=200)
    try:
        run_seed_blueprint(database, server, tmp_path_factory.mktemp("dashboards"))
        yield database
    finally:
        drop_databases(database)


def run_sql(database: Database, sql: str) -> list[tuple]:
    return lake(database, sql)


def variable_values(database: Database, dashboard: dict[str, Any]) -> dict[str, list[str]]:
    """Each query variable's values, from its own query (__value column, as Grafana reads it); "All"."""
    values = {}
    for variable in dashboard["templating"]["list"]:
        rows = run_sql(database, interpolate(variable["query"], values))
        values[variable["name"]] = [str(row[1]) for row in rows]
    return values


def test_provisioning_files_and_compose_agree() -> None:
    datasource = provisioned_datasource()
    assert datasource["type"] == "mysql" and datasource["uid"] == "pagerduty-lake"
    assert datasource["jsonData"]["timezone"] == "+00:00"  # the lake's times are UTC, as the test's session
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "pagerduty-dora.yaml").read_text())
    (provider,) = providers["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    assert re.fullmatch(r"grafana/grafana:11\.\d+\.\d+", grafana["image"])
    assert re.fullmatch(r"mysql:8\.\d+\.\d+", compose["services"]["mysql"]["image"])
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")}
    assert (ROOT / mounts[provider["options"]["path"]]).resolve() == (GRAFANA / "dashboards").resolve()
    assert (ROOT / mounts["/etc/grafana/provisioning/datasources"]).resolve() == (
        GRAFANA / "provisioning" / "datasources"
    ).resolve()
    used = set(re.findall(r"\$\{(\w+)\}", json.dumps(provisioned_datasource())))
    assert used <= set(grafana["environment"]), used - set(grafana["environment"])
    assert grafana["environment"]["LAKE_DB_HOST"] == "mysql:3306"
    assert (
        grafana["environment"]["LAKE_DB_NAME"]
        == compose["services"]["mysql"]["environment"]["MYSQL_DATABASE"]
    )


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    uid = provisioned_datasource()["uid"]
    assert dashboard["uid"] and len(dashboard["uid"]) <= 40 and dashboard["title"]
    assert dashboard["time"]["from"] and dashboard["time"]["to"] == "now"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)) >= 5
    for item in panels(dashboard):
        assert item["title"] and item["targets"], item
        assert item["datasource"] == {"type": "mysql", "uid": uid}, item["title"]
        grid = item["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        for target in item["targets"]:
            assert target["datasource"] == {"type": "mysql", "uid": uid}
            assert target["rawQuery"] is True and target["rawSql"].strip()
            assert target["format"] in ("table", "time_series")
    for variable in dashboard["templating"]["list"]:
        assert variable["type"] == "query" and variable["datasource"]["uid"] == uid
        assert "__text" in variable["query"] and "__value" in variable["query"]


def test_every_dashboard_is_here() -> None:
    assert {p.stem for p in DASHBOARDS} == {"dora-overview", "service", "incidents"}
    service = load("service.json")
    assert [v["name"] for v in service["templating"]["list"]] == ["service"]
    assert all("${service:sqlstring}" in t["rawSql"] for p in panels(service) for t in p["targets"])
    links = [
        p for d in DASHBOARDS for p in panels(json.loads(d.read_text())) if "url" in p["targets"][0]["rawSql"]
    ]
    for item in links:
        override = json.dumps(item["fieldConfig"]["overrides"])
        assert "${__data.fields.url}" in override, item["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_runs_on_the_lake(built: Database, path: Path) -> None:
    dashboard = json.loads(path.read_text())
    variables = variable_values(built, dashboard)
    assert all(variables.values()), variables
    returned = 0
    for item in panels(dashboard):
        for target in item["targets"]:
            rows = run_sql(built, interpolate(target["rawSql"], variables))
            returned += bool(rows)
    assert returned == len(panels(dashboard)), "every panel shows data on a lake with data"
    # one service alone, as a user picks it: a subset of All
    for name, values in variables.items():
        for item in panels(dashboard):
            run_sql(built, interpolate(item["targets"][0]["rawSql"], {**variables, name: values[:1]}))


def test_overview_panels_show_the_views(built: Database) -> None:
    overview = load("dora-overview.json")

    def rows(title: str) -> list[tuple]:
        return run_sql(built, interpolate(panel(overview, title)["targets"][0]["rawSql"], {}))

    mttr = lake(
        built, "SELECT month, resolved_incidents, mttr_minutes, mttr_hours, level FROM dora_mttr_monthly"
    )
    assert len(mttr) >= 6
    assert rows("Median time to restore service by month (hours)") == [
        (f"{m:%Y-%m}", hours) for m, _, _, hours, _ in sorted(mttr)
    ]
    assert rows("Time to restore by month, with its DORA level") == [
        (f"{m:%Y-%m}", n, minutes, hours, level) for m, n, minutes, hours, level in sorted(mttr, reverse=True)
    ]
    cfr = lake(
        built,
        "SELECT month, deployments, failed_deployments, change_failure_rate, level FROM dora_cfr_monthly",
    )
    assert cfr, "the simulated account sends change events"
    assert rows("Change failure rate by month, with its DORA level") == [
        (f"{m:%Y-%m}", d, f, rate, level) for m, d, f, rate, level in sorted(cfr, reverse=True)
    ]
    assert [(m, Decimal(r)) for m, r in rows("Change failure rate by month (%)")] == [
        (f"{m:%Y-%m}", rate * 100) for m, _, _, rate, _ in sorted(cfr)
    ]
    assert rows("Deployments by month") == [(f"{m:%Y-%m}", d - f, f) for m, d, f, _, _ in sorted(cfr)]
    assert rows("Deployments in the time range") == [(sum(d for _, d, _, _, _ in cfr),)]
    recovery = lake(
        built,
        "SELECT month, recovered_incidents, recovery_minutes, recovery_hours, level"
        " FROM dora_failed_deployment_recovery_time_monthly",
    )
    assert rows("Failed deployment recovery time by month, with its DORA level") == [
        (f"{m:%Y-%m}", n, minutes, hours, level)
        for m, n, minutes, hours, level in sorted(recovery, reverse=True)
    ]
    newest = max(mttr)
    assert rows("Time to restore, latest month (hours)") == [(newest[3], newest[4])]


def test_service_panels_show_the_views_for_the_chosen_service(built: Database) -> None:
    service = load("service.json")
    variables = variable_values(built, service)
    boards = lake(built, "SELECT id, name FROM boards ORDER BY name")
    assert variables["service"] == [board for board, _ in boards]
    chosen = boards[0][0]
    sql = panel(service, "Time to restore by month and service")["targets"][0]["rawSql"]
    shown = run_sql(built, interpolate(sql, {"service": [chosen]}))
    expected = lake(
        built,
        "SELECT DATE_FORMAT(month, '%%Y-%%m'), service_name, resolved_incidents, mttr_hours, level"
        " FROM dora_mttr_monthly_by_service WHERE board_id = %s ORDER BY month DESC",
        chosen,
    )
    assert shown == expected and shown
    sql = panel(service, "Open incidents now, by service")["targets"][0]["rawSql"]
    assert run_sql(built, interpolate(sql, variables)) == lake(
        built,
        "SELECT b.name, (SELECT COUNT(*) FROM issues i JOIN board_issues bi ON bi.issue_id = i.id"
        " WHERE bi.board_id = b.id AND i.status IN ('TODO', 'IN_PROGRESS', 'OTHER')) FROM boards b ORDER BY b.name",
    )


def test_incident_panels_count_and_link_to_pagerduty(built: Database) -> None:
    incidents = load("incidents.json")

    def rows(title: str) -> list[tuple]:
        return run_sql(built, interpolate(panel(incidents, title)["targets"][0]["rawSql"], {}))

    everything = lake(
        built, "SELECT status, lead_time_minutes, url, issue_key FROM issues WHERE type = 'INCIDENT'"
    )
    assert rows("Incidents created") == [(len(everything),)]
    assert rows("Open now") == [(sum(1 for s, *_ in everything if s != "DONE"),)]
    minutes = sorted(m for _, m, _, _ in everything if m is not None)
    assert rows("Incidents resolved") == [(len(minutes),)]
    assert rows("Median time to resolve (hours)") == [
        ((Decimal(minutes[(len(minutes) - 1) // 2]) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP),)
    ]
    distribution = rows("Time to resolve distribution")
    assert sum(count for _, count in distribution) == len(minutes)
    assert dict(distribution).get("< 15 min", 0) == sum(1 for m in minutes if m < 15)
    slowest = rows("Slowest incidents (resolved in the time range)")
    assert [row[7] for row in slowest] == [
        (Decimal(m) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP) for m in sorted(minutes, reverse=True)[:25]
    ]
    urls = {key: url for _, _, url, key in everything}
    assert all(row[8] == urls[row[0]] and row[8].startswith("http") for row in slowest)
