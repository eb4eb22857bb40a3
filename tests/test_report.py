"""`run.py report` on a lake the real pipeline built (the simulator over HTTP, `run.py run`, dbt): the page is
one self-contained file, headless Chromium renders its charts with the network cut off, and every number the
page shows equals the `dora_*` views. Bad input ends with one clear line and a non-zero exit.

The Chromium tests need Debian's `chromium` (`.ci/run` installs it); without it they skip, saying so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ingestion.database import Database, drop_databases, parse_db_url

from .helpers import ROOT, SIM_TOKEN, lake, project_blueprint, run_cli, run_seed_blueprint, write_json

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install -y chromium)"
)


class Tables(HTMLParser):
    """The text of each <table id=...> cell, and the ids of the chart divs Plotly drew an SVG into."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.drawn: set[str] = set()
        self.bar_labels: dict[str, list[str]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._chart: str | None = None
        self._depth = 0
        self._in_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table" and attr.get("id"):
            self._table = attr["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag == "td" and self._table:
            self._cell = []
        if tag == "div" and (attr.get("id") or "").startswith("chart-"):
            self._chart, self._depth = attr["id"], 0
        if self._chart and tag == "div":
            self._depth += 1
        if self._chart and tag == "svg" and "main-svg" in (attr.get("class") or ""):
            self.drawn.add(self._chart)
        if self._chart and tag == "text" and "bartext" in (attr.get("class") or ""):
            self._in_text = True
            self.bar_labels.setdefault(self._chart, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "text":
            self._in_text = False
        elif tag == "div" and self._chart:
            self._depth -= 1
            if self._depth == 0:
                self._chart = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_text and self._chart:
            self.bar_labels[self._chart][-1] += data


def parse(text: str) -> Tables:
    tables = Tables()
    tables.feed(text)
    return tables


def rendered_dom(page: Path) -> str:
    """The page's DOM after its scripts ran, in headless Chromium with every network request refused (a
    proxy nothing listens on): what renders here renders offline."""
    result = subprocess.run(
        [
            CHROMIUM or "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            "--virtual-time-budget=10000",
            "--window-size=1200,3000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def built(db_server: str, simulator, tmp_path_factory) -> Iterator[tuple[Database, str]]:
    """A lake loaded by the seed blueprint (project test-blueprint, every service) and by a second blueprint
    whose project covers one service; returns it with that service's board id."""
    database = parse_db_url(f"{db_server}/pdtest_{uuid.uuid4().hex[:10]}")
    server = simulator(seed=11, size=600, services=3, days=200)
    folder = tmp_path_factory.mktemp("report")
    try:
        run_seed_blueprint(database, server, folder)
        board = lake(database, "SELECT id FROM boards ORDER BY name LIMIT 1")[0][0]
        service_id = board.rsplit(":", 1)[1]
        blueprint = project_blueprint("checkout-blueprint", "checkout", service_id)
        connections = [{"id": 1, "name": "sim", "endpoint": server.url, "token": SIM_TOKEN}]
        result = run_cli(
            database,
            "run",
            "--blueprint",
            write_json(folder / "checkout.json", blueprint),
            "--connections",
            write_json(folder / "connections.json", connections),
        )
        assert result.returncode == 0, result.stderr
        yield database, board
    finally:
        drop_databases(database)


def report(database: Database, out: Path, *args: str) -> Tables:
    result = run_cli(database, "report", "--out", str(out), *args)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    return parse(out.read_text())


def month_rows(database: Database, sql: str) -> list[list[str]]:
    return [[f"{row[0]:%Y-%m}", *(str(v) for v in row[1:])] for row in lake(database, sql)]


def test_the_page_shows_the_views(built, tmp_path) -> None:
    database, _ = built
    page = report(database, tmp_path / "report.html")
    tables = page.tables
    assert tables["table-mttr"][1:] == month_rows(
        database, "SELECT month, resolved_incidents, mttr_hours, level FROM dora_mttr_monthly ORDER BY month"
    )
    assert len(tables["table-mttr"]) > 6
    cfr = month_rows(
        database,
        "SELECT month, deployments, failed_deployments, change_failure_rate, level FROM dora_cfr_monthly"
        " ORDER BY month",
    )
    assert cfr and tables["table-cfr"][1:] == cfr
    assert tables["table-recovery"][1:] == month_rows(
        database,
        "SELECT month, recovered_incidents, recovery_hours, level"
        " FROM dora_failed_deployment_recovery_time_monthly ORDER BY month",
    )
    resolved = lake(database, "SELECT SUM(resolved_incidents) FROM dora_mttr_monthly")[0][0]
    assert sum(int(count) for _, count in tables["table-distribution"][1:]) == resolved
    services = lake(
        database,
        "SELECT b.name, (SELECT COALESCE(SUM(resolved_incidents), 0) FROM dora_mttr_monthly_by_service m"
        " WHERE m.board_id = b.id), (SELECT COALESCE(SUM(deployments), 0) FROM dora_cfr_monthly_by_service c"
        " WHERE c.board_id = b.id), (SELECT COUNT(*) FROM dora_incidents i WHERE i.board_id = b.id AND"
        " i.resolution_date IS NULL) FROM boards b ORDER BY b.name",
    )
    assert [(r[0], int(r[2]), int(r[5]), int(r[1])) for r in tables["table-services"][1:]] == [
        (name, int(n), int(d), int(o)) for name, n, d, o in services
    ]
    loaded = lake(database, f"SELECT MAX(completed_at) FROM `{database.raw_name}`.`_loads`")[0][0]
    text = re.sub(r"<[^>]+>", "", (tmp_path / "report.html").read_text())
    assert f"Data loaded {loaded:%Y-%m-%d %H:%M} UTC" in text
    # the change failure rate says why its months are few: PagerDuty keeps change events 90 days
    assert "a first load sees only the last 90 days of them" in text and "--deployments" in text


def test_the_page_is_self_contained(built, tmp_path) -> None:
    database, _ = built
    report(database, tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text()
    assert not re.search(r"<script[^>]+src=|<link\b|<img\b|<iframe\b|@import", text, re.I)
    assert text.count("<script") >= 5  # plotly.js itself, then one per chart


@needs_chromium
def test_chromium_renders_the_charts_with_the_views_numbers(built, tmp_path) -> None:
    database, _ = built
    report(database, tmp_path / "report.html")
    dom = parse(rendered_dom(tmp_path / "report.html"))
    assert dom.drawn == {"chart-mttr", "chart-cfr", "chart-recovery", "chart-distribution"}
    mttr = lake(database, "SELECT mttr_hours, level FROM dora_mttr_monthly ORDER BY month")
    assert dom.bar_labels["chart-mttr"] == [f"{float(h):g} h{level}" for h, level in mttr]
    cfr = lake(database, "SELECT change_failure_rate, level FROM dora_cfr_monthly ORDER BY month")
    assert dom.bar_labels["chart-cfr"] == [f"{float(r):.1%}{level}" for r, level in cfr]
    counts = [int(count) for _, count in dom.tables["table-distribution"][1:]]
    assert dom.bar_labels["chart-distribution"] == [str(c) for c in counts]


def test_a_project_of_one_service_equals_that_services_views(built, tmp_path) -> None:
    database, board = built
    page = report(database, tmp_path / "checkout.html", "--project", "checkout")
    assert [row[0] for row in page.tables["table-services"][1:]] == [
        lake(database, "SELECT name FROM boards WHERE id = %s", board)[0][0]
    ]
    assert page.tables["table-mttr"][1:] == month_rows(
        database,
        "SELECT month, resolved_incidents, mttr_hours, level FROM dora_mttr_monthly_by_service"
        f" WHERE board_id = '{board}' ORDER BY month",
    )
    assert [row[:4] for row in page.tables["table-cfr"][1:]] == month_rows(
        database,
        "SELECT month, deployments, failed_deployments, change_failure_rate FROM dora_cfr_monthly_by_service"
        f" WHERE board_id = '{board}' ORDER BY month",
    )
    whole = report(database, tmp_path / "all.html", "--project", "test-blueprint")
    assert whole.tables["table-mttr"] == report(database, tmp_path / "plain.html").tables["table-mttr"]


def test_months_keeps_the_newest_months(built, tmp_path) -> None:
    database, _ = built
    page = report(database, tmp_path / "r.html", "--months", "2")
    newest = month_rows(
        database, "SELECT month, resolved_incidents, mttr_hours, level FROM dora_mttr_monthly ORDER BY month"
    )
    assert page.tables["table-mttr"][1:] == newest[-2:]


def one_line_failure(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert all(word in lines[0] for word in words), lines[0]


def test_unknown_project_names_the_known_ones(built, tmp_path) -> None:
    database, _ = built
    result = run_cli(database, "report", "--out", str(tmp_path / "x.html"), "--project", "nope")
    one_line_failure(result, "nope", "checkout", "test-blueprint")
    assert not (tmp_path / "x.html").exists()


def test_bad_months(built, tmp_path) -> None:
    database, _ = built
    one_line_failure(
        run_cli(database, "report", "--out", str(tmp_path / "x.html"), "--months", "0"), "--months"
    )


def test_an_empty_lake_says_so(database, tmp_path) -> None:
    result = run_cli(database, "report", "--out", str(tmp_path / "x.html"))
    one_line_failure(result, database.name, "run.py run")
    database.claim()  # exists, but nothing loaded yet
    result = run_cli(database, "report", "--out", str(tmp_path / "x.html"))
    one_line_failure(result, "holds no incidents")


def test_db_url_missing(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DB_URL"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "report", "--out", str(tmp_path / "x.html")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    one_line_failure(result, "DB_URL is not set")


def test_the_password_is_never_printed(built, tmp_path) -> None:
    database, _ = built
    url = f"mysql://{database.user}:pw-never-shown-42@{database.host}:{database.port}/{database.name}"
    result = run_cli(database, "report", "--out", str(tmp_path / "x.html"), env={"DB_URL": url})
    assert result.returncode != 0
    assert "pw-never-shown-42" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_lists_the_command() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "report", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0 and "--project" in result.stdout and "--months" in result.stdout
