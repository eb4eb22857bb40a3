"""`run.py report` on a lake the real pipeline built (the simulator over HTTP, `run.py run`, dbt): the page is
one small self-contained file with no script, headless Chromium draws it with the network cut off, and every
number it shows equals the `dora_*` views and values computed here in Python, formatted the way the README
says every number is shown (and the CLI prints it). Bad input ends with one clear line and a non-zero exit.

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
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ingestion.database import Database, drop_databases, parse_db_url
from runner.orchestration import print_metrics
from runner.output import out

from .helpers import (
    ROOT,
    SIM_TOKEN,
    lake,
    project_blueprint,
    rendered,
    run_cli,
    run_seed_blueprint,
    utc,
    write_json,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install -y chromium)"
)
MAX_BYTES = 1_500_000


class Page(HTMLParser):
    """The text of each <table id=...> cell, the bars each chart draws (their data-text), the headline items
    and the page's plain text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.bars: dict[str, list[tuple[str, str, bool]]] = {}
        self.headline: dict[str, str] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._chart: str | None = None
        self._item: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table" and attr.get("id"):
            self._table = attr["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag == "td" and self._table:
            self._cell = []
        elif tag == "figure" and (attr.get("id") or "").startswith("chart-"):
            self._chart = attr["id"]
            self.bars[self._chart] = []
        elif tag == "g" and self._chart and "bar" in (attr.get("class") or "").split():
            self.bars[self._chart].append(
                (attr["data-category"] or "", attr["data-text"] or "", attr.get("data-partial") == "true")
            )
        elif tag == "li" and (attr.get("id") or "").startswith("headline-"):
            self._item = attr["id"].removeprefix("headline-")
            self.headline[self._item] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "figure":
            self._chart = None
        elif tag == "li":
            self._item = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._item:
            self.headline[self._item] += data


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


# --- how every number is shown, written out here rather than imported from the project
def half_up(value: Decimal, places: int = 0) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def shown_duration(seconds: int) -> str:
    """Whole minutes, truncated, under an hour (as DORA grades it); hours to 0.1, half up, from an hour on."""
    return f"{seconds // 60} min" if seconds < 3600 else f"{half_up(Decimal(seconds) / 3600, 1)} h"


def shown_rate(failed: int, deployments: int) -> str:
    return f"{half_up(Decimal(100 * failed) / deployments, 1)}%"


def shown_month(month: date) -> str:
    today = datetime.now(UTC).date()
    return f"{month:%Y-%m}" + (" (partial)" if (month.year, month.month) == (today.year, today.month) else "")


def previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def rendered_dom(page: Path) -> str:
    """The page's DOM in headless Chromium with every network request refused (a proxy nothing listens on):
    what renders here renders offline."""
    return _chromium(page, "--dump-dom").stdout


def screenshot(page: Path, png: Path) -> None:
    _chromium(page, f"--screenshot={png}")


def _chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [
            CHROMIUM or "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            "--virtual-time-budget=5000",
            "--window-size=1150,1400",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def built(db_server: str, simulator, tmp_path_factory) -> Iterator[tuple[Database, str, object]]:
    """A lake loaded by the seed blueprint (project test-blueprint, every service) and by a second blueprint
    whose project covers one service; returns it with that service's board id and the simulated account."""
    database = parse_db_url(f"{db_server}/pdtest_{uuid.uuid4().hex[:10]}")
    server = simulator(seed=11, size=600, services=3, days=200, responders=True)
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
        yield database, board, server
    finally:
        drop_databases(database)


def report(database: Database, out_path: Path, *args: str) -> Page:
    result = run_cli(database, "report", "--out", str(out_path), *args)
    assert result.returncode == 0, result.stderr
    assert str(out_path) in result.stdout
    return parse(out_path.read_text())


def mttr_by_hand(server, months: int | None = None) -> dict[date, tuple[int, int]]:
    """MTTR from the simulator's incidents as the API shows them: month (UTC) of resolution -> (resolved,
    lower median of exact seconds), merged incidents left out."""
    by_month: dict[date, list[int]] = {}
    for incident in rendered(server):
        if incident["status"] != "resolved" or utc(incident["created_at"]) < datetime(
            2022, 6, 1, 15, 4, 5, tzinfo=UTC
        ):
            continue
        if (incident.get("resolve_reason") or {}).get("type") == "merge_resolve_reason":
            continue
        resolved = utc(incident.get("resolved_at") or incident["last_status_change_at"])
        seconds = int((resolved - utc(incident["created_at"])).total_seconds())
        by_month.setdefault(date(resolved.year, resolved.month, 1), []).append(seconds)
    return {m: (len(v), sorted(v)[(len(v) - 1) // 2]) for m, v in by_month.items()}


def test_the_page_shows_the_views_and_the_values_by_hand(built, tmp_path) -> None:
    database, _, server = built
    page = report(database, tmp_path / "report.html")
    tables = page.tables
    # time to restore: the simulator's incidents, by hand, formatted once
    by_hand = mttr_by_hand(server)
    shown = tables["table-mttr"][1:]
    assert len(shown) >= 6
    for month_text, resolved, median, level in shown:
        month = date.fromisoformat(month_text.split()[0] + "-01")
        assert month_text == shown_month(month)
        assert (resolved, median) == (f"{by_hand[month][0]:,}", shown_duration(by_hand[month][1]))
        assert level in ("elite", "high", "medium", "low")
    # change failure rate: the counts of the view, the rate rounded once from them
    cfr = lake(
        database, "SELECT month, deployments, failed_deployments, level FROM dora_cfr_monthly ORDER BY month"
    )
    assert cfr and tables["table-cfr"][1:] == [
        [shown_month(m), f"{d:,}", f"{f:,}", shown_rate(f, d), level] for m, d, f, level in cfr
    ]
    recovery = lake(
        database,
        "SELECT month, recovered_incidents, recovery_seconds, level"
        " FROM dora_failed_deployment_recovery_time_monthly ORDER BY month",
    )
    assert tables["table-recovery"][1:] == [
        [shown_month(m), f"{n:,}", shown_duration(s), lv] for m, n, s, lv in recovery
    ]
    frequency = lake(
        database, "SELECT month, deployments, level FROM dora_deployment_frequency_monthly ORDER BY month"
    )
    assert [[row[0], row[1], row[4]] for row in tables["table-df"][1:]] == [
        [shown_month(m), f"{d:,}", level] for m, d, level in frequency
    ]
    resolved = lake(database, "SELECT SUM(resolved_incidents) FROM dora_mttr_monthly")[0][0]
    assert sum(int(n.replace(",", "")) for _, n in tables["table-distribution"][1:]) == resolved
    # every chart draws the numbers of its table, and the month not over yet is marked in both
    for chart, table, column in (
        ("chart-mttr", "table-mttr", 2),
        ("chart-cfr", "table-cfr", 3),
        ("chart-recovery", "table-recovery", 2),
    ):
        assert [(c, t) for c, t, _ in page.bars[chart]] == [
            (row[0].split()[0], row[column]) for row in tables[table][1:]
        ]
        assert [p for _, _, p in page.bars[chart]] == [
            row[0].endswith("(partial)") for row in tables[table][1:]
        ]
    text = " ".join(page.text)
    assert "a first load sees only the last 90 days of them" in text and "--deployments" in text
    assert "counts once in the monthly figures above and once for each of its services here" in text
    for sentence in ("How long service took to come back", "How often a production deployment led to",
                     "How often production deployments happen", "It counts from the deployment, not from the incident"):  # fmt: skip
        assert sentence in text
    loaded = lake(database, f"SELECT MAX(completed_at) FROM `{database.raw_name}`.`_loads`")[0][0]
    assert f"Data loaded {loaded:%Y-%m-%d %H:%M} UTC" in re.sub(r"\s+", " ", text)


def test_the_response_section_shows_mtta_with_its_change_sleepers_and_noisy_services(built, tmp_path) -> None:
    database, _, server = built
    tables = report(database, tmp_path / "report.html").tables
    newest = max(m for (m,) in lake(database, "SELECT MAX(month) FROM dora_mttr_monthly UNION ALL"
                                              " SELECT MAX(month) FROM dora_cfr_monthly") if m)  # fmt: skip
    first = newest
    for _ in range(11):
        first = previous_month(first)
    mtta = {
        m: (n, s, p)
        for m, n, s, p in lake(
            database,
            "SELECT month, acknowledged_incidents, mtta_seconds, mtta_p90_seconds FROM response_mtta_monthly"
            " WHERE acknowledged_incidents > 0",
        )
    }

    def change(month: date) -> str:
        before = mtta.get(previous_month(month))
        if before is None:
            return "no figure for the month before"
        now_text, before_text = shown_duration(mtta[month][1]), shown_duration(before[1])
        if now_text == before_text:
            return f"the same as in {previous_month(month):%B}"
        word = "faster" if mtta[month][1] < before[1] else "slower"
        return f"{word} than in {previous_month(month):%B} ({before_text})"

    expected = [
        [shown_month(m), f"{n:,}", shown_duration(s), shown_duration(p), change(m)]
        for m, (n, s, p) in sorted(mtta.items())
        if first <= m <= newest
    ]
    assert len(expected) >= 6 and tables["table-mtta"][1:] == expected
    assert any(row[4].startswith(("faster", "slower")) for row in expected)
    # three months: the first one shown is still compared with the month before it, outside the page
    three = report(database, tmp_path / "three.html", "--months", "3").tables["table-mtta"][1:]
    assert three == expected[-3:] and not three[0][4].startswith("no figure")
    # the five responders most often woken in the last four weeks (Monday of this week, less three weeks)
    today = datetime.now(UTC).date()
    since = today - timedelta(days=today.weekday() + 21)
    sleepers = lake(
        database,
        "SELECT user_name, time_zone, SUM(sleep_hour_interruptions) AS s, SUM(interruptions) AS i,"
        " SUM(notifications) FROM response_interruptions_weekly_by_user WHERE week_start >= %s"
        " GROUP BY user_id HAVING s > 0 ORDER BY s DESC, i DESC, user_name LIMIT 5",
        since,
    )
    assert tables["table-sleep"][1:] == [[u, z, f"{s:,}", f"{i:,}", f"{n:,}"] for u, z, s, i, n in sleepers]
    assert len(sleepers) == 5
    # the five services whose incidents interrupted most in the report's months, with their shares
    services: dict[str, list] = {}
    for name, n, auto, quick, interrupted in lake(
        database,
        "SELECT service_name, incidents, auto_resolved_incidents, resolved_within_5_minutes, interruptions"
        " FROM response_noisy_services WHERE month BETWEEN %s AND %s",
        first,
        newest,
    ):
        total = services.setdefault(name, [0, 0, 0, 0])
        for i, value in enumerate((n, auto, quick, interrupted)):
            total[i] += value
    ranked = sorted(services.items(), key=lambda kv: (-kv[1][3], -kv[1][0], kv[0]))[:5]
    assert tables["table-noisy"][1:] == [
        [name, f"{n:,}", shown_rate(auto, n), shown_rate(quick, n), f"{i:,}"]
        for name, (n, auto, quick, i) in ranked
    ]


def test_the_headline_is_the_last_full_month_against_the_one_before(built, tmp_path) -> None:
    database, _, server = built
    page = report(database, tmp_path / "report.html")
    last_full = previous_month(datetime.now(UTC).date().replace(day=1))
    before = previous_month(last_full)
    assert f"{last_full:%B %Y}, the last full month" in " ".join(page.text)
    by_hand = mttr_by_hand(server)
    now, then = by_hand[last_full][1], by_hand[before][1]
    word = "faster" if now < then else "slower"
    assert (
        page.headline["mttr"]
        .split("; ")[0]
        .endswith(
            shown_duration(now)
            + " "
            + lake(database, "SELECT level FROM dora_mttr_monthly WHERE month = %s", last_full)[0][0]
        )
    )
    if shown_duration(now) != shown_duration(then):
        assert f"{word} than in {before:%B} ({shown_duration(then)})" in page.headline["mttr"]
    [(d, f, level)] = lake(
        database,
        "SELECT deployments, failed_deployments, level FROM dora_cfr_monthly WHERE month = %s",
        last_full,
    )
    assert f"{shown_rate(f, d)} ({f:,} of {d:,} deployments) {level}" in page.headline["cfr"]
    [(d0, f0)] = lake(
        database, "SELECT deployments, failed_deployments FROM dora_cfr_monthly WHERE month = %s", before
    )
    points = half_up(Decimal(100 * f) / d - Decimal(100 * f0) / d0, 1)
    if points:
        direction = "up" if points > 0 else "down"
        assert (
            f"{direction} {abs(points)} points from {shown_rate(f0, d0)} in {before:%B}"
            in page.headline["cfr"]
        )
    [(deployments, level)] = lake(
        database,
        "SELECT deployments, level FROM dora_deployment_frequency_monthly WHERE month = %s",
        last_full,
    )
    assert (
        page.headline["df"].startswith(f"Deployment frequency: {deployments:,} deployments,")
        and level in page.headline["df"]
    )
    assert set(page.headline) == {"mttr", "cfr", "df", "recovery"}


def test_the_cli_prints_the_same_strings_as_the_page(built, tmp_path, capsys) -> None:
    database, _, _ = built
    page = report(database, tmp_path / "report.html")
    out.configure("text", False)
    print_metrics(database)
    printed = capsys.readouterr().out
    for row in page.tables["table-cfr"][-3:]:
        month, deployments, failed, rate, level = row
        assert re.search(
            rf"{re.escape(month)}\s+{deployments} deployments\s+{failed} failed\s+{re.escape(rate)}\s+{level}",
            printed,
        ), (row, printed)
    for month, resolved, median, level in page.tables["table-mttr"][-3:]:
        assert re.search(
            rf"{re.escape(month)}\s+{resolved} resolved\s+{re.escape(median)}\s+{level}", printed
        ), printed


def test_the_page_is_small_self_contained_and_scriptless(built, tmp_path) -> None:
    database, _, _ = built
    report(database, tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text()
    assert len(text.encode()) < MAX_BYTES
    assert not re.search(
        r"<script|<link\b|<img\b|<iframe\b|@import|https?://(?!www\.w3\.org/2000/svg)", text, re.I
    )


@needs_chromium
def test_chromium_draws_the_page_offline_with_the_tables_numbers(built, tmp_path) -> None:
    database, _, _ = built
    report(database, tmp_path / "report.html")
    dom = parse(rendered_dom(tmp_path / "report.html"))
    for chart in (
        "chart-mttr",
        "chart-cfr",
        "chart-df",
        "chart-recovery",
        "chart-distribution",
        "chart-mtta",
    ):
        assert dom.bars[chart], chart
    assert [t for _, t, _ in dom.bars["chart-distribution"]] == [
        n for _, n in dom.tables["table-distribution"][1:]
    ]
    assert [t for _, t, _ in dom.bars["chart-cfr"]] == [row[3] for row in dom.tables["table-cfr"][1:]]
    assert [t for _, t, _ in dom.bars["chart-mtta"]] == [row[2] for row in dom.tables["table-mtta"][1:]]
    assert dom.tables["table-sleep"][1:] and dom.tables["table-noisy"][1:]
    png = tmp_path / "shot.png"
    screenshot(tmp_path / "report.html", png)
    assert png.stat().st_size > 20_000  # a drawn page, not a blank one


def test_project_service_and_months_filters_combine_and_are_named(built, tmp_path) -> None:
    database, board, _ = built
    name = lake(database, "SELECT name FROM boards WHERE id = %s", board)[0][0]
    page = report(database, tmp_path / "checkout.html", "--project", "checkout")
    assert [row[0] for row in page.tables["table-services"][1:]] == [name]
    one = lake(
        database,
        "SELECT month, resolved_incidents, mttr_seconds, level FROM dora_mttr_monthly_by_service"
        " WHERE board_id = %s ORDER BY month",
        board,
    )
    assert (
        page.tables["table-mttr"][1:]
        == [[shown_month(m), f"{n:,}", shown_duration(s), lv] for m, n, s, lv in one][-12:]
    )
    text = " ".join(page.text)
    assert "Showing project checkout, 12 months" in text
    service_id = board.rsplit(":", 1)[1]
    both = report(
        database,
        tmp_path / "both.html",
        "--project",
        "test-blueprint",
        "--service",
        service_id,
        "--months",
        "3",
    )
    assert both.tables["table-mttr"][1:] == page.tables["table-mttr"][1:][-3:]
    assert f"Showing project test-blueprint, service {service_id}, 3 months" in " ".join(both.text)
    by_name = report(database, tmp_path / "name.html", "--service", name.upper())
    assert by_name.tables["table-mttr"] == page.tables["table-mttr"]
    whole = report(database, tmp_path / "all.html", "--project", "test-blueprint")
    assert whole.tables["table-mttr"] == report(database, tmp_path / "plain.html").tables["table-mttr"]
    assert whole.tables["table-df"] == report(database, tmp_path / "plain2.html").tables["table-df"]


def test_months_keeps_the_newest_months(built, tmp_path) -> None:
    database, _, _ = built
    page = report(database, tmp_path / "r.html", "--months", "2")
    full = report(database, tmp_path / "all.html").tables["table-mttr"][1:]
    assert page.tables["table-mttr"][1:] == full[-2:]


def one_line_failure(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert all(word in lines[0] for word in words), lines[0]


def test_unknown_service_names_the_known_ones(built, tmp_path) -> None:
    database, _, _ = built
    result = run_cli(database, "report", "--out", str(tmp_path / "x.html"), "--service", "nope")
    one_line_failure(result, "--service", "nope", "services:")
    assert not (tmp_path / "x.html").exists()


def test_unknown_project_names_the_known_ones(built, tmp_path) -> None:
    database, _, _ = built
    result = run_cli(database, "report", "--out", str(tmp_path / "x.html"), "--project", "nope")
    one_line_failure(result, "nope", "checkout", "test-blueprint")
    assert not (tmp_path / "x.html").exists()


def test_bad_months(built, tmp_path) -> None:
    database, _, _ = built
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
    database, _, _ = built
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
    assert "--service" in result.stdout
