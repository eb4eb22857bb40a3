"""Our Grafana dashboards (dashboards/grafana/): each JSON imports cleanly into any Grafana (an `__inputs`
MySQL data source Grafana asks for on import, a `datasource` variable every panel and variable reads through,
no data source uid written anywhere) and is provisioned as it is (docker-compose.yml); each has DevLake's
`$project` variable. Every panel's SQL and every variable's query runs on a lake the real pipeline built (the
simulator over HTTP, `run.py run` with two blueprints, so two projects sharing a service, dbt), with
Grafana's macros filled in as Grafana fills them, for every project together and each alone. The panels that
show the DORA views show their numbers, and the by-project views equal a computation in Python from
DevLake's tables.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingestion.database import Database, drop_databases, parse_db_url

from .helpers import ROOT, lake, mttr_level, project_blueprint, run_cli, run_seed_blueprint, write_json

GRAFANA = ROOT / "dashboards" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
FROM = datetime(2000, 1, 1, tzinfo=UTC)
TO = datetime(2037, 12, 31, tzinfo=UTC)
"""A time range wider than any data (FROM_UNIXTIME ends in 2038): panels then show every row of the views."""
ALL_SERVICES = "test-blueprint"
"""The seed blueprint's project (no projectName: its name): every service."""
ONE_SERVICE = "payments"
"""A second blueprint's project, over the service with the most incidents, which is then in both projects."""
DATASOURCE = {"type": "mysql", "uid": "${datasource}"}
"""How every panel, target and query variable names its data source: through the `datasource` variable."""


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


def variables_of(dashboard: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [v for v in dashboard["templating"]["list"] if v["type"] == kind]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) of a JSON document."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


@pytest.fixture(scope="module")
def built(db_server: str, simulator, tmp_path_factory) -> Iterator[Database]:
    """One lake for the module: the seed blueprint (project test-blueprint, every service) from a simulated
    account with deployments, then a blueprint of project payments over the service with the most incidents
    (so that service is in both projects)."""
    database = parse_db_url(f"{db_server}/pdtest_{uuid.uuid4().hex[:10]}")
    server = simulator(seed=7, size=600, services=3, days=200, responders=True)
    folder = tmp_path_factory.mktemp("dashboards")
    try:
        run_seed_blueprint(database, server, folder)
        (service,) = lake(
            database,
            "SELECT service_id FROM dora_incidents GROUP BY service_id ORDER BY COUNT(*) DESC LIMIT 1",
        )[0]
        second = write_json(folder / "second.json", project_blueprint("payments-bp", ONE_SERVICE, service))
        result = run_cli(
            database, "run", "--blueprint", second, "--connections", str(folder / "connections.json")
        )
        assert result.returncode == 0, result.stderr
        yield database
    finally:
        drop_databases(database)


def run_sql(database: Database, sql: str) -> list[tuple]:
    return lake(database, sql)


def columns(database: Database, sql: str) -> list[str]:
    with database.connect(database.name) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return [column[0] for column in cur.description]


def variable_values(
    database: Database, dashboard: dict[str, Any], chosen: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """Each query variable's values, from its own query (__value column, as Grafana reads it), in the order
    Grafana refreshes them (a variable's query sees the ones before it): "All", or `chosen`'s values. The
    datasource variable is no SQL: Grafana fills ${datasource} in the panels' data source, not in their SQL."""
    values: dict[str, list[str]] = {}
    for variable in variables_of(dashboard, "query"):
        rows = run_sql(database, interpolate(variable["query"], values))
        values[variable["name"]] = [str(row[1]) for row in rows]
        if chosen and variable["name"] in chosen:
            assert set(chosen[variable["name"]]) <= set(values[variable["name"]])
            values[variable["name"]] = chosen[variable["name"]]
    return values


def project_boards(database: Database) -> dict[str, set[str]]:
    boards = defaultdict(set)
    for project, board in lake(
        database, "SELECT project_name, row_id FROM project_mapping WHERE `table` = 'boards'"
    ):
        boards[project].add(board)
    return boards


def test_provisioning_files_and_compose_agree() -> None:
    datasource = provisioned_datasource()
    assert datasource["type"] == "mysql" and datasource["uid"] == "pagerduty-lake"
    assert datasource["jsonData"]["timezone"] == "+00:00"  # the lake's times are UTC, as the test's session
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "pagerduty-dora.yaml").read_text())
    (provider,) = providers["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
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
def test_dashboard_imports_by_hand_and_provisions(path: Path) -> None:
    """What a manual import needs (Grafana asks for the `__inputs` data source, of type MySQL, and sets the
    datasource variable to it) and what provisioning needs (the variable falls back to the MySQL data source
    there is), with no data source uid written anywhere: every data source reference is ${datasource}."""
    dashboard = json.loads(path.read_text())
    (source,) = [i for i in dashboard["__inputs"] if i["type"] == "datasource"]
    assert source["pluginId"] == "mysql" and re.fullmatch(r"DS_\w+", source["name"]) and source["label"]
    required = {(r["type"], r["id"]) for r in dashboard["__requires"]}
    assert {("grafana", "grafana"), ("datasource", "mysql")} <= required
    assert {("panel", p["type"]) for p in panels(dashboard)} <= required
    (variable,) = variables_of(dashboard, "datasource")
    assert variable["name"] == "datasource" and variable["query"] == "mysql"
    assert variable["current"]["value"] == "${" + source["name"] + "}", (
        "the import sets it to the chosen source"
    )
    assert variable["hide"] == 0 and not variable["multi"] and not variable["includeAll"]
    text = path.read_text()
    assert provisioned_datasource()["uid"] not in text
    assert set(re.findall(r"\$\{(DS_\w+)\}", text)) == {source["name"]}
    references = [(where, value) for where, value in walk(dashboard) if where.endswith(".datasource")]
    assert references, "panels name their data source"
    for where, value in references:
        assert value == DATASOURCE, (where, value)
    for item in panels(dashboard):
        assert item["datasource"] == DATASOURCE and all(
            t["datasource"] == DATASOURCE for t in item["targets"]
        )
    for query in variables_of(dashboard, "query"):
        assert query["datasource"] == DATASOURCE


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and len(dashboard["uid"]) <= 40 and dashboard["title"]
    assert dashboard["time"]["from"] and dashboard["time"]["to"] == "now"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)) >= 5
    for item in panels(dashboard):
        assert item["title"] and item["targets"], item
        grid = item["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        for target in item["targets"]:
            assert target["rawQuery"] is True and target["rawSql"].strip()
            assert target["format"] in ("table", "time_series")
    assert {v["type"] for v in dashboard["templating"]["list"]} <= {"datasource", "query"}
    for variable in variables_of(dashboard, "query"):
        assert "__text" in variable["query"] and "__value" in variable["query"]
        assert variable["definition"] == variable["query"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_has_devlakes_project_variable(path: Path) -> None:
    """$project as DevLake's dashboards have it: every project, several or one, "All" by default. Each
    panel honours it, or says in its description that it shows the whole lake."""
    dashboard = json.loads(path.read_text())
    (project,) = [v for v in variables_of(dashboard, "query") if v["name"] == "project"]
    assert project["multi"] and project["includeAll"] and project["current"]["value"] == ["$__all"]
    assert "project_mapping" in project["query"] and "project_name" in project["query"]
    names = [v["name"] for v in dashboard["templating"]["list"]]
    assert names.index("project") == 1 and names[0] == "datasource", "read before the variables that use it"
    for variable in variables_of(dashboard, "query")[1:]:
        assert "${project:sqlstring}" in variable["query"], variable["name"]
    for item in panels(dashboard):
        honoured = all("${project:sqlstring}" in t["rawSql"] for t in item["targets"])
        assert honoured or "lake-wide" in item.get("description", ""), item["title"]


def test_every_dashboard_is_here() -> None:
    assert {"dora-overview", "service", "incidents", "response"} <= {p.stem for p in DASHBOARDS}
    service = load("service.json")
    assert [v["name"] for v in service["templating"]["list"]] == ["datasource", "project", "service"]
    assert all("${service:sqlstring}" in t["rawSql"] for p in panels(service) for t in p["targets"])
    links = [
        p for d in DASHBOARDS for p in panels(json.loads(d.read_text())) if "url" in p["targets"][0]["rawSql"]
    ]
    for item in links:
        override = json.dumps(item["fieldConfig"]["overrides"])
        assert "${__data.fields.url}" in override, item["title"]


def shown_decimals(item: dict[str, Any], column: str) -> tuple[Any, Any]:
    """(unit, decimals) Grafana shows a column with: an override by its name, else the panel's defaults."""
    config = dict(item["fieldConfig"].get("defaults", {}))
    for override in item["fieldConfig"].get("overrides", []):
        if override["matcher"] == {"id": "byName", "options": column}:
            config.update({p["id"]: p["value"] for p in override["properties"]})
    return config.get("unit"), config.get("decimals")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_runs_on_the_lake(built: Database, path: Path) -> None:
    dashboard = json.loads(path.read_text())
    variables = variable_values(built, dashboard)
    assert all(variables.values()), variables
    assert sorted(variables["project"]) == [ONE_SERVICE, ALL_SERVICES]
    returned = 0
    for item in panels(dashboard):
        for target in item["targets"]:
            sql = interpolate(target["rawSql"], variables)
            rows = run_sql(built, sql)
            returned += bool(rows)
            # the views keep full precision: hours and rates are rounded where they are shown, to 1 decimal
            for column in columns(built, sql):
                unit, decimals = shown_decimals(item, column)
                if "hours" in column or column == "value" and unit == "h":
                    assert (unit, decimals) == ("h", 1), (item["title"], column)
                if "rate" in column:
                    assert unit in ("percent", "percentunit") and decimals == 1, (item["title"], column)
    assert returned == len(panels(dashboard)), "every panel shows data on a lake with data"
    # each project alone, and one value of each other variable alone, as a user picks them: subsets of All
    for project in variables["project"]:
        alone = variable_values(built, dashboard, {"project": [project]})
        for name, values in alone.items():
            for item in panels(dashboard):
                run_sql(built, interpolate(item["targets"][0]["rawSql"], {**alone, name: values[:1]}))


# ------------------------------------------------------------------ the DORA views by project, by hand
def lower_median(values: list) -> Any:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def month_of(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def cfr_level(failed: int, deployments: int) -> str:
    """DORA 2023's change failure rate buckets (the dora_report default), written out here."""
    rate = Decimal(failed) / deployments
    return (
        "elite"
        if rate <= Decimal("0.05")
        else "high"
        if rate <= Decimal("0.10")
        else "medium"
        if rate <= Decimal("0.15")
        else "low"
    )


def expected_by_project(database: Database) -> dict[str, dict[str, dict[date, tuple]]]:
    """dora_*_by_project worked out in Python from DevLake's tables (incidents, cicd_deployment_commits,
    project_incident_deployment_relationships, project_mapping), as DevLake's DORA dashboard reads them:
    {view: {project: {month: row}}}."""
    boards = project_boards(database)
    incidents = {
        issue: (board, created, resolved)
        for issue, board, created, resolved in lake(
            database,
            "SELECT id, scope_id, created_date, resolution_date FROM incidents WHERE `table` = 'boards'",
        )
    }
    deployments: dict[str, tuple[datetime, set[str]]] = {}
    for deployment, scope, finished in lake(
        database,
        "SELECT cicd_deployment_id, cicd_scope_id, finished_date FROM cicd_deployment_commits"
        " WHERE result = 'SUCCESS' AND environment = 'PRODUCTION'",
    ):
        latest, scopes = deployments.get(deployment, (finished, set()))
        deployments[deployment] = (max(latest, finished), scopes | {scope})
    links = dict(lake(database, "SELECT id, deployment_id FROM project_incident_deployment_relationships"))
    failed = {deployment for issue, deployment in links.items() if issue in incidents}

    out: dict[str, dict[str, dict[date, tuple]]] = {"mttr": {}, "cfr": {}, "recovery": {}}
    for project, own in boards.items():
        lead: dict[date, list[int]] = defaultdict(list)
        for board, created, resolved in incidents.values():
            if board in own and resolved is not None:
                lead[month_of(resolved)].append(int((resolved - created).total_seconds()))
        out["mttr"][project] = {
            month: (
                len(s),
                lower_median(s),
                lower_median(s) // 60,
                lower_median(s) / 3600,
                mttr_level(lower_median(s) // 60),
            )
            for month, s in lead.items()
        }
        counted: dict[date, list[int]] = defaultdict(list)
        for deployment, (finished, scopes) in deployments.items():
            if scopes & own:
                counted[month_of(finished)].append(deployment in failed)
        out["cfr"][project] = {
            month: (len(f), sum(f), sum(f) / len(f), cfr_level(sum(f), len(f)))
            for month, f in counted.items()
        }
        recovery: dict[date, list[int]] = defaultdict(list)
        for issue, deployment in links.items():
            board, _, resolved = incidents[issue]
            if board in own and resolved is not None:
                finished = deployments[deployment][0]
                recovery[month_of(finished)].append(int((resolved - finished).total_seconds()))
        out["recovery"][project] = {
            month: (
                len(s),
                lower_median(s),
                lower_median(s) // 60,
                lower_median(s) / 3600,
                mttr_level(lower_median(s) // 60),
            )
            for month, s in recovery.items()
        }
    return out


def by_project(database: Database, sql: str) -> dict[str, dict[date, tuple]]:
    out: dict[str, dict[date, tuple]] = defaultdict(dict)
    for project, month, *values in lake(database, sql):
        out[project][month] = tuple(values)
    return out


def test_the_by_project_views_equal_devlakes_tables_worked_out_by_hand(built: Database) -> None:
    expected = expected_by_project(built)
    assert set(expected["mttr"]) == {ALL_SERVICES, ONE_SERVICE}
    assert all(expected[view][project] for view in expected for project in expected[view]), "data everywhere"
    assert (
        by_project(
            built,
            "SELECT project_name, month, resolved_incidents, mttr_seconds, mttr_minutes, mttr_hours, level"
            " FROM dora_mttr_monthly_by_project",
        )
        == expected["mttr"]
    )
    assert (
        by_project(
            built,
            "SELECT project_name, month, deployments, failed_deployments, change_failure_rate, level"
            " FROM dora_cfr_monthly_by_project",
        )
        == expected["cfr"]
    )
    assert (
        by_project(
            built,
            "SELECT project_name, month, recovered_incidents, recovery_seconds, recovery_minutes, recovery_hours, level"
            " FROM dora_failed_deployment_recovery_time_monthly_by_project",
        )
        == expected["recovery"]
    )


def test_a_project_of_every_service_is_the_lake(built: Database) -> None:
    """The seed's project covers every service: its rows are the lake-wide views' rows; the one-service
    project's are that service's rows of the by-service views."""
    pairs = [
        ("dora_mttr_monthly", "resolved_incidents, mttr_seconds, mttr_minutes, mttr_hours, level"),
        ("dora_cfr_monthly", "deployments, failed_deployments, change_failure_rate, level"),
        (
            "dora_failed_deployment_recovery_time_monthly",
            "recovered_incidents, recovery_seconds, recovery_minutes, recovery_hours, level",
        ),
    ]
    for view, cols in pairs:
        whole = lake(built, f"SELECT month, {cols} FROM {view} ORDER BY month")
        assert (
            whole
            and lake(
                built,
                f"SELECT month, {cols} FROM {view}_by_project WHERE project_name = %s ORDER BY month",
                ALL_SERVICES,
            )
            == whole
        )
    (board,) = project_boards(built)[ONE_SERVICE]
    for view, cols in pairs[:2]:
        assert lake(
            built,
            f"SELECT month, {cols} FROM {view}_by_project WHERE project_name = %s ORDER BY month",
            ONE_SERVICE,
        ) == lake(
            built, f"SELECT month, {cols} FROM {view}_by_service WHERE board_id = %s ORDER BY month", board
        )


# ------------------------------------------------------------------ the panels show the views
def test_overview_panels_show_the_views(built: Database) -> None:
    overview = load("dora-overview.json")

    def rows(title: str, projects: list[str]) -> list[tuple]:
        return run_sql(
            built, interpolate(panel(overview, title)["targets"][0]["rawSql"], {"project": projects})
        )

    def view(sql: str) -> list[tuple]:
        return lake(built, sql)

    mttr = view(
        "SELECT project_name, month, resolved_incidents, mttr_minutes, mttr_hours, level FROM dora_mttr_monthly_by_project"
    )
    cfr = view(
        "SELECT project_name, month, deployments, failed_deployments, change_failure_rate, level FROM dora_cfr_monthly_by_project"
    )
    recovery = view(
        "SELECT project_name, month, recovered_incidents, recovery_minutes, recovery_hours, level"
        " FROM dora_failed_deployment_recovery_time_monthly_by_project"
    )
    assert len(mttr) >= 6 and cfr and recovery
    for chosen in ([ALL_SERVICES, ONE_SERVICE], [ONE_SERVICE], [ALL_SERVICES]):

        def of(view_rows: list[tuple], chosen: list[str] = chosen) -> list[tuple]:
            return [row for row in view_rows if row[0] in chosen]

        newest = sorted(of(mttr), key=lambda r: (r[0], r[1]))
        assert rows("Median time to restore service by month (hours)", chosen) == sorted(
            (f"{m:%Y-%m}", p, hours) for p, m, _, _, hours, _ in of(mttr)
        )
        assert rows("Time to restore by month, with its DORA level", chosen) == sorted(
            ((f"{m:%Y-%m}", p, n, minutes, hours, level) for p, m, n, minutes, hours, level in of(mttr)),
            key=lambda r: (-int(r[0].replace("-", "")), r[1]),
        )
        assert rows("Time to restore, latest month (hours)", chosen) == [
            (p, hours, level)
            for p, m, _, _, hours, level in newest
            if m == max(r[1] for r in newest if r[0] == p)
        ]
        assert rows("Change failure rate by month, with its DORA level", chosen) == sorted(
            ((f"{m:%Y-%m}", p, d, f, rate, level) for p, m, d, f, rate, level in of(cfr)),
            key=lambda r: (-int(r[0].replace("-", "")), r[1]),
        )
        assert rows("Change failure rate by month (%)", chosen) == sorted(
            (f"{m:%Y-%m}", p, rate * 100) for p, m, _, _, rate, _ in of(cfr)
        )
        assert rows("Change failure rate, latest month", chosen) == [
            (p, rate * 100, level)
            for p, m, _, _, rate, level in sorted(of(cfr))
            if m == max(r[1] for r in of(cfr) if r[0] == p)
        ]
        assert rows("Deployments by month", chosen) == sorted(
            (f"{m:%Y-%m}", p, d) for p, m, d, _, _, _ in of(cfr)
        )
        totals = defaultdict(int)
        for p, _, d, _, _, _ in of(cfr):
            totals[p] += d
        assert [(p, int(d)) for p, d in rows("Deployments in the time range", chosen)] == sorted(
            totals.items()
        )
        assert rows("Failed deployment recovery time by month, with its DORA level", chosen) == sorted(
            ((f"{m:%Y-%m}", p, n, minutes, hours, level) for p, m, n, minutes, hours, level in of(recovery)),
            key=lambda r: (-int(r[0].replace("-", "")), r[1]),
        )
        assert rows("Failed deployment recovery time by month (hours)", chosen) == sorted(
            (f"{m:%Y-%m}", p, hours) for p, m, _, _, hours, _ in of(recovery)
        )
        assert rows("Failed deployment recovery time, latest month (hours)", chosen) == [
            (p, hours, level)
            for p, m, _, _, hours, level in sorted(of(recovery))
            if m == max(r[1] for r in of(recovery) if r[0] == p)
        ]
    # the time range picks the months: the newest month before a cut-off is the "latest" one
    (cut,) = sorted({m for _, m, *_ in mttr})[-3:-2]
    sql = interpolate(
        panel(overview, "Time to restore, latest month (hours)")["targets"][0]["rawSql"],
        {"project": [ALL_SERVICES]},
        FROM,
        datetime(cut.year, cut.month, 15, tzinfo=UTC),
    )
    assert run_sql(built, sql) == [
        (p, h, level) for p, m, _, _, h, level in mttr if p == ALL_SERVICES and m == cut
    ]


def test_service_panels_show_the_views_for_the_chosen_project_and_service(built: Database) -> None:
    service = load("service.json")
    boards = lake(built, "SELECT id, name FROM boards ORDER BY name")
    assert variable_values(built, service)["service"] == [board for board, _ in boards]
    (own,) = project_boards(built)[ONE_SERVICE]
    variables = variable_values(built, service, {"project": [ONE_SERVICE]})
    assert variables["service"] == [own], "the service variable offers the project's services only"
    for chosen in ([own], [boards[0][0]]):
        sql = panel(service, "Time to restore by month and service")["targets"][0]["rawSql"]
        shown = run_sql(built, interpolate(sql, {"project": [ALL_SERVICES], "service": chosen}))
        expected = lake(
            built,
            "SELECT DATE_FORMAT(month, '%%Y-%%m'), service_name, resolved_incidents, mttr_hours, level"
            " FROM dora_mttr_monthly_by_service WHERE board_id = %s ORDER BY month DESC",
            chosen[0],
        )
        assert shown == expected and shown
    # a service outside the chosen project shows nothing, even when named (an old link, a URL)
    other = next(board for board, _ in boards if board != own)
    sql = panel(service, "Time to restore by month and service")["targets"][0]["rawSql"]
    assert run_sql(built, interpolate(sql, {"project": [ONE_SERVICE], "service": [other]})) == []
    sql = panel(service, "Open incidents now, by service")["targets"][0]["rawSql"]
    assert run_sql(built, interpolate(sql, variable_values(built, service))) == lake(
        built,
        "SELECT b.name, (SELECT COUNT(*) FROM issues i JOIN board_issues bi ON bi.issue_id = i.id"
        " WHERE bi.board_id = b.id AND i.status IN ('TODO', 'IN_PROGRESS', 'OTHER')) FROM boards b ORDER BY b.name",
    )


@pytest.mark.parametrize("project", [ALL_SERVICES, ONE_SERVICE])
def test_incident_panels_count_and_link_to_pagerduty(built: Database, project: str) -> None:
    incidents = load("incidents.json")

    def rows(title: str) -> list[tuple]:
        return run_sql(
            built, interpolate(panel(incidents, title)["targets"][0]["rawSql"], {"project": [project]})
        )

    own = project_boards(built)[project]
    everything = [
        row[1:]
        for row in lake(
            built,
            "SELECT bi.board_id, i.status, i.lead_time_minutes, i.url, i.issue_key FROM issues i"
            " JOIN board_issues bi ON bi.issue_id = i.id WHERE i.type = 'INCIDENT'",
        )
        if row[0] in own
    ]
    assert everything
    assert rows("Incidents created") == [(len(everything),)]
    assert rows("Open now") == [(sum(1 for s, *_ in everything if s != "DONE"),)]
    minutes = sorted(m for _, m, _, _ in everything if m is not None)
    assert rows("Incidents resolved") == [(len(minutes),)]
    assert rows("Median time to resolve (hours)") == [(minutes[(len(minutes) - 1) // 2] / 60,)]
    distribution = rows("Time to resolve distribution")
    assert sum(count for _, count in distribution) == len(minutes)
    assert dict(distribution).get("< 15 min", 0) == sum(1 for m in minutes if m < 15)
    slowest = rows("Slowest incidents (resolved in the time range)")
    assert [row[7] for row in slowest] == [m / 60 for m in sorted(minutes, reverse=True)[:25]]
    urls = {key: url for _, _, url, key in everything}
    assert all(row[8] == urls[row[0]] and row[8].startswith("http") for row in slowest)
    assert len(rows("Open incidents now")) == sum(1 for s, *_ in everything if s != "DONE")
