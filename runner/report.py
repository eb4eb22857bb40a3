"""`run.py report`: one self-contained HTML page of the DORA metrics that a team lead reads in ten seconds.

It opens on a headline: the last full month's four DORA metrics, each with its level and its change against
the month before, in plain words. Then a chart per metric (server-drawn SVG, runner/svg_charts.py: no
JavaScript, a few dozen kB), each with one sentence on what it measures and a table of the same numbers; the
month not over yet is marked partial everywhere. Every number is formatted once (runner/formats.py), the same
way as the CLI prints it; the views keep full precision.

It reads the lake's `dora_*` views (the numbers Grafana and DevLake's dashboards show) and DevLake's tables.
For a project or a service (filters), the metrics are recomputed here from the incidents and deployments of
those services, by the views' own rules. Nothing here writes: the report never claims or creates a database.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Optional

import pymysql

from ingestion.database import Database

from .errors import InputError
from .formats import count, duration, is_partial, month_label, per_week, percent
from .report_response import response_section
from .svg_charts import Band, Bar, bar_chart, legend

DEFAULT_MONTHS = 12

LEVELS = ("elite", "high", "medium", "low")
LEVEL_COLOURS = {"elite": "#1a9850", "high": "#91cf60", "medium": "#f0c419", "low": "#fc8d59"}
RECOVERY_BANDS_HOURS = (
    ("elite", 0.0, 1.0),
    ("high", 1.0, 24.0),
    ("medium", 24.0, 168.0),
    ("low", 168.0, 1e9),
)
"""DORA's time-to-restore buckets in hours (the same for the 2021 MTTR and the 2023 recovery time)."""

TTR_BUCKETS: tuple[tuple[str, int, Optional[int]], ...] = (
    ("< 15 min", 0, 15 * 60),
    ("15 min - 1 h", 15 * 60, 3600),
    ("1 h - 4 h", 3600, 4 * 3600),
    ("4 h - 1 day", 4 * 3600, 86_400),
    ("1 day - 1 week", 86_400, 7 * 86_400),
    ("≥ 1 week", 7 * 86_400, None),
)
"""Time-to-resolve buckets in seconds [low, high): edges at DORA's 1 hour, 1 day and 1 week."""

MEASURES = {
    "mttr": "How long service took to come back: the median time from an incident's creation to PagerDuty's"
    " resolved_at, over the incidents resolved in the month (DORA 2021's time to restore service; DevLake's"
    " lower median).",
    "cfr": "How often a production deployment led to an incident: the share of the month's deployments"
    " followed, before the next deployment of the same service, by at least one incident of a service it"
    " deployed.",
    "df": "How often production deployments happen: deployments in the month, and the median number of days a"
    " week with at least one (DORA 2023, as DevLake grades it).",
    "recovery": "How long it took to recover from a deployment that failed: from the deployment's finish to"
    " the resolution of the incidents it caused, the median (DORA 2023). It counts from the deployment, not"
    " from the incident, so it is longer than the median time to restore.",
}
DEPLOYMENTS_WINDOW_NOTE = (
    "Deployments are PagerDuty change events, which PagerDuty keeps for 90 days: a first load sees only the"
    " last 90 days of them, so months before that show no deployments unless a CSV of deployments"
    " (run.py run --deployments) fills them. Change events once loaded stay in the lake."
)
SERVICES_TOTAL_NOTE = (
    "A deployment that named several services counts once in the monthly figures above and once for each of"
    " its services here, so these columns can add up to more than the monthly tables."
)


@dataclass(frozen=True)
class MonthValue:
    """One month of one metric: its value (seconds, a rate, or deployments), its DORA level, how many things
    it is over, and a second number where the metric has one (failed deployments; the median deployment days
    a week)."""

    month: date
    value: Optional[float]
    level: Optional[str]
    count: int
    second: Optional[float] = None


@dataclass(frozen=True)
class ServiceRow:
    name: str
    board_id: str
    open_now: int
    resolved: int
    median_seconds: Optional[int]
    deployments: int
    failed_deployments: int

    @property
    def level(self) -> Optional[str]:
        return None if self.median_seconds is None else recovery_level(self.median_seconds)

    @property
    def change_failure_rate(self) -> Optional[float]:
        return self.failed_deployments / self.deployments if self.deployments else None


@dataclass
class ReportData:
    lake: str
    first_month: date
    last_month: date
    today: date
    mttr: list[MonthValue]
    cfr: list[MonthValue]
    df: list[MonthValue]
    recovery: list[MonthValue]
    services: list[ServiceRow]
    distribution: list[tuple[str, int]]
    loaded_at: Optional[datetime]
    generated_at: datetime
    filters: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    """HTML of further sections (appended after the services), from modules that read more of the lake."""


# ---------------------------------------------------------------------------------------------- the rules
def recovery_level(seconds: float) -> str:
    """The DORA level of a time to restore (the views' recovery_time_level macro, on whole minutes)."""
    minutes = seconds // 60
    return "elite" if minutes < 60 else "high" if minutes < 1440 else "medium" if minutes < 10080 else "low"


def lower_median(values: Sequence[int]) -> Optional[int]:
    """DevLake's median, as the views compute it: index floor((n-1)/2) of the sorted values."""
    return sorted(values)[(len(values) - 1) // 2] if values else None


def devlake_median(values: Sequence[int]) -> Optional[int]:
    """DevLake's median of weekly counts: the greatest value whose percent rank is at most 0.5."""
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    ranks = [0.0 if n == 1 else ordered.index(v) / (n - 1) for v in ordered]
    return max(v for v, r in zip(ordered, ranks, strict=True) if r <= 0.5)


def deployment_frequency_level(median_days_per_week: Optional[int], deployment_days: int) -> str:
    """DevLake's 2023 rule (macros/dora/deployment_frequency_level.sql)."""
    if median_days_per_week is not None and median_days_per_week >= 5:
        return "elite"
    if median_days_per_week is not None and median_days_per_week >= 1:
        return "high"
    return "medium" if deployment_days >= 1 else "low"


def deployment_frequency(
    finished: Iterable[datetime], first: date, last: date, today: date
) -> list[MonthValue]:
    """Deployment frequency per month from the deployments' finish times (UTC), by the view's rules: from the
    first month with a deployment to the last, weeks from Monday counted within each month (the month not over
    yet until `today`)."""
    moments = sorted(finished)
    if not moments:
        return []
    days = {moment.date() for moment in moments}
    by_month: dict[date, int] = defaultdict(int)
    for moment in moments:
        by_month[moment.date().replace(day=1)] += 1
    out = []
    month = min(by_month)
    while month <= max(by_month):
        following = month_add(month, 1)
        weeks: dict[date, int] = defaultdict(int)
        day = month
        while day < following and day <= today:
            weeks[day - timedelta(days=day.weekday())] += day in days
            day += timedelta(days=1)
        median = devlake_median(list(weeks.values()))
        deployed_days = sum(1 for d in days if month <= d < following)
        if first <= month <= last:
            out.append(
                MonthValue(
                    month,
                    by_month.get(month, 0) * 7 / (following - month).days,
                    deployment_frequency_level(median, deployed_days),
                    by_month.get(month, 0),
                    median,
                )
            )
        month = following
    return out


def month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# --------------------------------------------------------------------------------------------- the lake
class _Lake:
    """Read-only queries on the lake database (and its raw twin, for when data was loaded)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.conn = database.connect(database.name)

    def close(self) -> None:
        self.conn.close()

    def rows(self, sql: str, *args: object) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, args or None)
            return list(cur.fetchall())

    def has_table(self, name: str, schema: Optional[str] = None) -> bool:
        return bool(
            self.rows(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                schema or self.database.name,
                name,
            )
        )


def _open_lake(database: Database) -> _Lake:
    """The lake, or one clear sentence on why there is nothing to report."""
    try:
        lake = _Lake(database)
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] == 1049:  # unknown database
            raise InputError(
                f"the lake {database.describe()} does not exist: run a blueprint into it first (run.py run)"
            ) from None
        raise
    if not lake.has_table("dora_mttr_monthly") or not lake.rows("SELECT 1 FROM issues LIMIT 1"):
        lake.close()
        raise InputError(
            f"the lake {database.describe()} holds no incidents yet: run a blueprint into it first"
            " (run.py run)"
        )
    return lake


def _project_boards(lake: _Lake, project: str) -> set[str]:
    """The board ids (PagerDuty services) of a project, from DevLake's `project_mapping` (a project is a
    blueprint's projectName, or its name)."""
    known = {row[0] for row in lake.rows("SELECT DISTINCT project_name FROM project_mapping")}
    if project not in known:
        shown = ", ".join(sorted(known)[:10]) or "none"
        raise InputError(f"--project: no project named {project!r} in this lake (projects: {shown})")
    return {
        row[0]
        for row in lake.rows(
            "SELECT row_id FROM project_mapping WHERE project_name = %s AND `table` = 'boards'", project
        )
    }


def _service_boards(lake: _Lake, service: str) -> set[str]:
    """The boards of a service named by its PagerDuty id or its name (any case)."""
    boards = {
        row[0]
        for row in lake.rows(
            "SELECT id FROM boards WHERE SUBSTRING_INDEX(id, ':', -1) = %s OR LOWER(name) = LOWER(%s)",
            service,
            service,
        )
    }
    if not boards:
        names = ", ".join(sorted(row[0] for row in lake.rows("SELECT DISTINCT name FROM boards"))[:10])
        raise InputError(f"--service: no service {service!r} in this lake (services: {names})")
    return boards


def _loaded_at(lake: _Lake) -> Optional[datetime]:
    """When the newest completed load into the raw database finished (UTC)."""
    raw = lake.database.raw_name
    if not lake.has_table("_loads", raw):
        return None
    value = lake.rows(f"SELECT MAX(completed_at) FROM `{raw}`.`_loads` WHERE completed_at IS NOT NULL")[0][0]
    return value.replace(microsecond=0) if value else None


def read_report(
    database: Database,
    months: int = DEFAULT_MONTHS,
    project: Optional[str] = None,
    service: Optional[str] = None,
    today: Optional[date] = None,
) -> ReportData:
    """Everything the page shows, for the `months` calendar months (UTC) ending with the newest month the
    lake has data for, of every service or those of `project` and `service` (both: the service in the
    project)."""
    if months < 1:
        raise InputError("--months: expected a whole number of at least 1")
    lake = _open_lake(database)
    try:
        return _read(lake, months, project, service, today or datetime.now(UTC).date())
    finally:
        lake.close()


def _read(
    lake: _Lake, months: int, project: Optional[str], service: Optional[str], today: date
) -> ReportData:
    all_boards = {row[0] for row in lake.rows("SELECT id FROM boards")}
    boards = set(all_boards)
    filters = []
    if project:
        boards &= _project_boards(lake, project)
        filters.append(f"project {project}")
    if service:
        chosen = _service_boards(lake, service)
        if not boards & chosen:
            raise InputError(f"--service: {service!r} is not a service of project {project!r}")
        boards &= chosen
        filters.append(f"service {service}")
    newest = lake.rows(
        "SELECT MAX(m) FROM (SELECT MAX(month) AS m FROM dora_mttr_monthly"
        " UNION ALL SELECT MAX(month) FROM dora_cfr_monthly) AS newest"
    )[0][0]
    last = newest or today.replace(day=1)
    first = month_add(last, -(months - 1))
    filters.append(f"{months} month{'s' if months != 1 else ''} ({first:%Y-%m} to {last:%Y-%m}, UTC)")

    incidents = [
        row
        for row in lake.rows(
            "SELECT board_id, resolution_month, lead_time_seconds, resolution_date IS NULL"
            " FROM dora_incidents"
        )
        if row[0] in boards
    ]
    resolved = [
        (b, m, int(s)) for b, m, s, _ in incidents if m is not None and s is not None and first <= m <= last
    ]
    deployments = [
        row
        for row in lake.rows(
            "SELECT cicd_deployment_id, cicd_scope_id, finished_date FROM cicd_deployment_commits"
            " WHERE result = 'SUCCESS' AND environment = 'PRODUCTION'"
        )
        if row[1] in boards
    ]
    whole_lake = boards == all_boards
    notes = []
    if whole_lake:
        mttr = _rows(
            lake,
            "SELECT month, mttr_seconds, level, resolved_incidents, NULL FROM dora_mttr_monthly",
            first,
            last,
        )
        cfr = _rows(
            lake,
            "SELECT month, change_failure_rate, level, deployments, failed_deployments FROM dora_cfr_monthly",
            first,
            last,
        )
        df = _rows(
            lake,
            "SELECT month, deployments_per_week, level, deployments, median_deployment_days_per_week"
            " FROM dora_deployment_frequency_monthly",
            first,
            last,
        )
    else:
        mttr = _mttr_of(resolved)
        cfr = _cfr_of(lake, boards, first, last)
        finished: dict[str, datetime] = {}
        for deployment_id, _board, at in deployments:
            finished[deployment_id] = max(finished.get(deployment_id, at), at)
        df = deployment_frequency(finished.values(), first, last, today)
        notes.append(
            f"For {' and '.join(filters[:-1])}: time to restore and deployment frequency are computed"
            " from those services' incidents and deployments by the views' rules; the change failure rate"
            " adds up the services' rows (a deployment of two of them counts for each) and is not graded"
            " (the views grade it by the dora_report var); failed deployment recovery time is the whole"
            " lake's."
        )
    recovery = _rows(
        lake,
        "SELECT month, recovery_seconds, level, recovered_incidents, NULL"
        " FROM dora_failed_deployment_recovery_time_monthly",
        first,
        last,
    )
    distribution = [
        (label, sum(1 for _, _, s in resolved if low <= s and (high is None or s < high)))
        for label, low, high in TTR_BUCKETS
    ]
    data = ReportData(
        lake=lake.database.describe(),
        first_month=first,
        last_month=last,
        today=today,
        mttr=mttr,
        cfr=cfr,
        df=df,
        recovery=recovery,
        services=_services(lake, boards, incidents, resolved, first, last),
        distribution=distribution,
        loaded_at=_loaded_at(lake),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        filters=filters,
        notes=notes,
    )
    has_views = lake.has_table("response_mtta_monthly")
    data.sections.append(response_section(lake.rows, has_views, boards, whole_lake, first, last, today))
    return data


def _rows(lake: _Lake, sql: str, first: date, last: date) -> list[MonthValue]:
    """A monthly view's months in [first, last]: month, value, level, count, second number."""
    return [
        MonthValue(
            row[0],
            None if row[1] is None else float(row[1]),
            row[2],
            int(row[3]),
            None if row[4] is None else float(row[4]),
        )
        for row in lake.rows(f"{sql} WHERE month BETWEEN %s AND %s ORDER BY month", first, last)
    ]


def _mttr_of(resolved: list[tuple[str, date, int]]) -> list[MonthValue]:
    by_month: dict[date, list[int]] = defaultdict(list)
    for _board, month, seconds in resolved:
        by_month[month].append(seconds)
    out = []
    for month in sorted(by_month):
        median = lower_median(by_month[month])
        out.append(MonthValue(month, float(median), recovery_level(median), len(by_month[month])))
    return out


def _cfr_of(lake: _Lake, boards: set[str], first: date, last: date) -> list[MonthValue]:
    sums: dict[date, list[int]] = {}
    for month, board, deployments, failed in lake.rows(
        "SELECT month, board_id, deployments, failed_deployments FROM dora_cfr_monthly_by_service"
        " WHERE month BETWEEN %s AND %s",
        first,
        last,
    ):
        if board in boards:
            total = sums.setdefault(month, [0, 0])
            total[0] += int(deployments)
            total[1] += int(failed)
    return [MonthValue(month, f / d, None, d, f) for month, (d, f) in sorted(sums.items())]


def _services(
    lake: _Lake,
    boards: set[str],
    incidents: list[tuple],
    resolved: list[tuple[str, date, int]],
    first: date,
    last: date,
) -> list[ServiceRow]:
    deployments: dict[str, list[int]] = {}
    for board, total, failed in lake.rows(
        "SELECT board_id, SUM(deployments), SUM(failed_deployments) FROM dora_cfr_monthly_by_service"
        " WHERE month BETWEEN %s AND %s GROUP BY board_id",
        first,
        last,
    ):
        deployments[board] = [int(total), int(failed)]
    rows = []
    for board, name in lake.rows("SELECT id, name FROM boards ORDER BY name, id"):
        if board not in boards:
            continue
        seconds = [s for b, _, s in resolved if b == board]
        rows.append(
            ServiceRow(
                name=name,
                board_id=board,
                open_now=sum(1 for row in incidents if row[0] == board and row[3]),
                resolved=len(seconds),
                median_seconds=lower_median(seconds),
                deployments=deployments.get(board, [0, 0])[0],
                failed_deployments=deployments.get(board, [0, 0])[1],
            )
        )
    return rows


# ------------------------------------------------------------------------------------------- the headline
@dataclass(frozen=True)
class Headline:
    """One metric of the last full month, in words."""

    key: str
    name: str
    value: str
    level: Optional[str]
    change: str


def _show(key: str, row: MonthValue) -> str:
    """A metric's month, formatted as everywhere else."""
    if key == "cfr":
        return f"{percent(row.value)} ({count(row.second)} of {count(row.count)} deployments)"
    if key == "df":
        days = "-" if row.second is None else f"{row.second:g}"
        return f"{count(row.count)} deployments, {days} deployment days a week (median)"
    return duration(row.value)


def _change(key: str, now: MonthValue, before: Optional[MonthValue]) -> str:
    """How this month compares with the one before, in words."""
    if before is None or before.value is None or now.value is None:
        return "no figure for the month before"
    name = f"{before.month:%B}"
    if key == "cfr":
        points = (now.value - before.value) * 100
        if abs(points) < 0.05:
            return f"the same as in {name} ({percent(before.value)})"
        direction = "up" if points > 0 else "down"
        return f"{direction} {abs(points):.1f} points from {percent(before.value)} in {name}"
    if key == "df":
        delta = now.count - before.count
        if delta == 0:
            return f"as many as in {name}"
        return f"{abs(delta):,} {'more' if delta > 0 else 'fewer'} than in {name} ({count(before.count)})"
    if duration(now.value) == duration(before.value):
        return f"the same as in {name} ({duration(before.value)})"
    word = "faster" if now.value < before.value else "slower"
    return f"{word} than in {name} ({duration(before.value)})"


def headline(data: ReportData) -> tuple[Optional[date], list[Headline]]:
    """The last full month (the report's newest month, or the one before it while that one is not over) and
    its four metrics."""
    month: Optional[date] = data.last_month
    if is_partial(data.last_month, data.today):
        month = month_add(data.last_month, -1)
    if month < data.first_month:
        month = None
    names = {
        "mttr": "Median time to restore service",
        "cfr": "Change failure rate",
        "df": "Deployment frequency",
        "recovery": "Failed deployment recovery time",
    }
    items = []
    for key, rows in (("mttr", data.mttr), ("cfr", data.cfr), ("df", data.df), ("recovery", data.recovery)):
        by_month = {row.month: row for row in rows}
        row = by_month.get(month) if month else None
        if row is None:
            items.append(Headline(key, names[key], "no data", None, "nothing in that month"))
            continue
        before = by_month.get(month_add(month, -1))
        items.append(Headline(key, names[key], _show(key, row), row.level, _change(key, row, before)))
    return month, items


# ------------------------------------------------------------------------------------------------ the page
def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], note: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="empty">no data in these months</td></tr>'
    foot = f'<p class="note">{_esc(note)}</p>' if note else ""
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}'


def _level_text(level: Optional[str]) -> str:
    return level or "-"


def _bars(rows: Sequence[MonthValue], today: date, text, height) -> list[Bar]:  # noqa: ANN001
    return [
        Bar(
            f"{row.month:%Y-%m}",
            height(row),
            text(row),
            LEVEL_COLOURS.get(row.level or "", "#4575b4"),
            is_partial(row.month, today),
            f"{month_label(row.month, today)}: {text(row)}, {_level_text(row.level)}",
        )
        for row in rows
    ]


def _hours_bands() -> list[Band]:
    return [Band(name, low, high, LEVEL_COLOURS[name]) for name, low, high in RECOVERY_BANDS_HOURS]


def _section(key: str, title: str, chart: str, table: str, extra: str = "", window: str = "") -> str:
    """A metric: what it measures, what limits its data (if anything), its chart, legend and table."""
    limit = f'<p class="note window">{_esc(window)}</p>' if window else ""
    return (
        f'<section id="{key}"><h2>{_esc(title)}</h2><p class="measures">{_esc(MEASURES[key])}</p>'
        f"{limit}{chart}{extra}{table}</section>"
    )


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-bottom: 0.2em; } .meta { color: #555; margin-top: 0; }
section { margin: 2.2em 0; } .measures { margin-top: 0; color: #333; }
#headline { border: 1px solid #ccc; border-radius: 8px; padding: 0.8em 1.2em; background: #fafafa; }
#headline h2 { margin-top: 0.2em; } #headline ul { list-style: none; padding: 0; margin: 0.4em 0; }
#headline li { margin: 0.45em 0; font-size: 1.05em; } #headline .value { font-weight: 600; }
.level { display: inline-block; padding: 0 0.5em; border-radius: 4px; font-size: 0.9em; color: #111; }
.level-elite { background: #1a9850; color: #fff; } .level-high { background: #91cf60; }
.level-medium { background: #f0c419; } .level-low { background: #fc8d59; }
figure.chart { margin: 0.6em 0; } figure.chart figcaption { font-weight: 600; margin-bottom: 0.3em; }
svg { width: 100%; height: auto; font-size: 12px; } svg .value { font-weight: 600; }
svg .partial, svg .band-name, svg .tick, svg .unit { fill: #666; }
table { border-collapse: collapse; margin-top: 0.5em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; } thead { background: #f3f3f3; }
td.empty { text-align: center; color: #777; } .note { color: #555; font-size: 0.9em; }
.legend { font-size: 0.85em; color: #555; } .key { margin-right: 1em; white-space: nowrap; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; vertical-align: -0.1em; }
.swatch.hatched { background: repeating-linear-gradient(45deg, #999 0 3px, #fff 3px 6px); }
"""


def render_html(data: ReportData) -> str:
    """The page: one file, no script, nothing fetched when it is opened."""
    today = data.today
    month, items = headline(data)
    loaded = f"{data.loaded_at:%Y-%m-%d %H:%M} UTC" if data.loaded_at else "unknown"
    head_items = "".join(
        f'<li id="headline-{item.key}"><span class="name">{_esc(item.name)}:</span>'
        f' <span class="value">{_esc(item.value)}</span>'
        + (f' <span class="level level-{_esc(item.level)}">{_esc(item.level)}</span>' if item.level else "")
        + f'<span class="change">; {_esc(item.change)}.</span></li>'
        for item in items
    )
    headline_title = f"{month:%B %Y}, the last full month" if month else "No full month in the lake yet"
    level_keys = [(name, LEVEL_COLOURS[name]) for name in LEVELS]

    def month_rows(rows: Sequence[MonthValue], cells) -> list[list[str]]:  # noqa: ANN001
        return [[month_label(row.month, today), *cells(row)] for row in rows]

    mttr_section = _section(
        "mttr",
        "Median time to restore service (DORA 2021)",
        bar_chart(
            "chart-mttr",
            "Median time to restore service by month",
            _bars(data.mttr, today, lambda r: duration(r.value), lambda r: r.value / 3600),
            unit="hours",
            bands=_hours_bands(),
        ),
        _table(
            "table-mttr",
            ["month", "resolved incidents", "median time to restore", "level"],
            month_rows(data.mttr, lambda r: [count(r.count), duration(r.value), _level_text(r.level)]),
        ),
        legend(level_keys),
    )
    cfr_section = _section(
        "cfr",
        "Change failure rate",
        bar_chart(
            "chart-cfr",
            "Change failure rate by month",
            _bars(data.cfr, today, lambda r: percent(r.value), lambda r: r.value * 100),
            unit="%",
        ),
        _table(
            "table-cfr",
            ["month", "deployments", "failed deployments", "change failure rate", "level"],
            month_rows(
                data.cfr,
                lambda r: [count(r.count), count(r.second), percent(r.value), _level_text(r.level)],
            ),
        ),
        legend(level_keys),
        DEPLOYMENTS_WINDOW_NOTE,
    )
    df_section = _section(
        "df",
        "Deployment frequency (DORA 2023)",
        bar_chart(
            "chart-df",
            "Production deployments by month",
            _bars(data.df, today, lambda r: count(r.count), lambda r: float(r.count)),
            unit="deployments",
        ),
        _table(
            "table-df",
            ["month", "deployments", "per week", "median deployment days a week", "level"],
            month_rows(
                data.df,
                lambda r: [
                    count(r.count),
                    per_week(r.value),
                    "-" if r.second is None else f"{r.second:g}",
                    _level_text(r.level),
                ],
            ),
        ),
        legend(level_keys),
        DEPLOYMENTS_WINDOW_NOTE,
    )
    recovery_section = _section(
        "recovery",
        "Failed deployment recovery time (DORA 2023)",
        bar_chart(
            "chart-recovery",
            "Failed deployment recovery time by month",
            _bars(data.recovery, today, lambda r: duration(r.value), lambda r: r.value / 3600),
            unit="hours",
            bands=_hours_bands(),
        ),
        _table(
            "table-recovery",
            ["month", "recovered incidents", "median recovery time", "level"],
            month_rows(data.recovery, lambda r: [count(r.count), duration(r.value), _level_text(r.level)]),
        ),
        legend(level_keys),
    )
    distribution = (
        '<section id="distribution"><h2>Time to resolve</h2><p class="measures">How the resolved incidents of'
        " these months spread between DORA's edges (1 hour, 1 day, 1 week).</p>"
        + bar_chart(
            "chart-distribution",
            "Incidents resolved in these months, by time to resolve",
            [Bar(label, float(n), count(n)) for label, n in data.distribution],
            unit="incidents",
        )
        + _table(
            "table-distribution",
            ["time to resolve", "incidents"],
            [(label, count(n)) for label, n in data.distribution],
        )
        + "</section>"
    )
    services = (
        '<section id="services"><h2>Services</h2><p class="measures">Incidents resolved and deployments in'
        " these months; open incidents now.</p>"
        + _table(
            "table-services",
            [
                "service",
                "open now",
                "resolved",
                "median time to resolve",
                "level",
                "deployments",
                "failed deployments",
                "change failure rate",
            ],
            [
                (
                    s.name,
                    count(s.open_now),
                    count(s.resolved),
                    duration(s.median_seconds),
                    _level_text(s.level),
                    count(s.deployments),
                    count(s.failed_deployments),
                    percent(s.change_failure_rate),
                )
                for s in data.services
            ],
            SERVICES_TOTAL_NOTE,
        )
        + "</section>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>DORA metrics from PagerDuty</title>",
        f"<style>{_STYLE}</style>",
        "</head><body>",
        "<h1>DORA metrics from PagerDuty</h1>",
        f'<p class="meta" id="filters">Showing {_esc(", ".join(data.filters))}.'
        f' Data loaded <span id="loaded-at">{_esc(loaded)}</span>; page written'
        f" {data.generated_at:%Y-%m-%d %H:%M} UTC.</p>",
        f'<section id="headline"><h2>{_esc(headline_title)}</h2><ul>{head_items}</ul></section>',
        *(f'<p class="note">{_esc(note)}</p>' for note in data.notes),
        mttr_section,
        cfr_section,
        df_section,
        recovery_section,
        distribution,
        services,
        *data.sections,
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(
    database: Database,
    out: Path,
    months: int = DEFAULT_MONTHS,
    project: Optional[str] = None,
    service: Optional[str] = None,
) -> ReportData:
    """Read the lake and write the page to `out` (its folder must exist)."""
    data = read_report(database, months, project, service)
    if not out.parent.is_dir():
        raise InputError(f"--out: folder {out.parent} does not exist")
    try:
        out.write_text(render_html(data), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out: cannot write {out}: {exc.strerror}") from None
    return data
