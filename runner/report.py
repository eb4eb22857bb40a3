"""`run.py report`: one self-contained HTML page of the DORA metrics, for people without Grafana.

The page reads the lake's `dora_*` views (the numbers Grafana and DevLake's dashboards show) and renders them
with plotly, whose JavaScript is inlined so the file opens offline, from a mail attachment or a CI artifact.
Every number drawn is also written into a plain HTML table beside its chart: readers can copy them, and the
test compares them with SQL on the views.

Nothing here writes to the database: the report only reads, so it never claims or creates a database.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import pymysql

from ingestion.database import Database

from .errors import InputError

DEFAULT_MONTHS = 12

RECOVERY_BANDS: tuple[tuple[str, float, float, str], ...] = (
    ("elite", 0.0, 1.0, "#1a9850"),
    ("high", 1.0, 24.0, "#91cf60"),
    ("medium", 24.0, 168.0, "#fee08b"),
    ("low", 168.0, float("inf"), "#fc8d59"),
)
"""DORA's time-to-restore buckets in hours (the same for the 2021 MTTR and the 2023 recovery time)."""
LEVEL_COLOURS = {name: colour for name, _, _, colour in RECOVERY_BANDS}

TTR_BUCKETS: tuple[tuple[str, int, Optional[int]], ...] = (
    ("< 15 min", 0, 15),
    ("15 min - 1 h", 15, 60),
    ("1 h - 4 h", 60, 240),
    ("4 h - 1 day", 240, 1440),
    ("1 day - 1 week", 1440, 10080),
    ("≥ 1 week", 10080, None),
)
"""Time-to-resolve buckets, in minutes [low, high): edges at DORA's 1 hour, 1 day and 1 week."""


@dataclass(frozen=True)
class MonthRow:
    """One month of a monthly view: how many rows the median is over, the value, and its DORA level."""

    month: date
    count: int
    value: Decimal
    level: str
    extra: int = 0
    """dora_cfr_monthly: failed deployments (count is then the deployments)."""


@dataclass(frozen=True)
class ServiceRow:
    name: str
    board_id: str
    open_now: int
    resolved: int
    median_minutes: Optional[int]
    deployments: int
    failed_deployments: int

    @property
    def level(self) -> str:
        return "" if self.median_minutes is None else recovery_level(self.median_minutes)

    @property
    def change_failure_rate(self) -> Optional[Decimal]:
        if not self.deployments:
            return None
        return Decimal(self.failed_deployments) / Decimal(self.deployments)


@dataclass
class ReportData:
    lake: str
    first_month: date
    last_month: date
    mttr: list[MonthRow]
    cfr: list[MonthRow]
    recovery: list[MonthRow]
    services: list[ServiceRow]
    distribution: list[tuple[str, int]]
    loaded_at: Optional[datetime]
    generated_at: datetime
    project: Optional[str] = None
    notes: list[str] = field(default_factory=list)


def recovery_level(minutes: float) -> str:
    """The DORA level of a time to restore (as the views' recovery_time_level macro grades it)."""
    hours = minutes / 60
    return next(name for name, low, high, _ in RECOVERY_BANDS if low <= hours < high)


def lower_median(values: Sequence[int]) -> Optional[int]:
    """DevLake's median, as the views compute it: index floor((n-1)/2) of the sorted values."""
    if not values:
        return None
    return sorted(values)[(len(values) - 1) // 2]


def month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# ---------------------------------------------------------------------------------------------------------
# Reading the lake


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
    """The board ids (PagerDuty services) of a project. DevLake's `project_mapping` when the lake has it;
    otherwise the scopes the blueprints recorded in `<lake>_raw._scopes` (a project is a blueprint's
    projectName, or its name)."""
    if lake.has_table("project_mapping"):
        known = {row[0] for row in lake.rows("SELECT DISTINCT project_name FROM project_mapping")}
        boards = {
            row[0]
            for row in lake.rows(
                "SELECT row_id FROM project_mapping WHERE project_name = %s AND `table` = 'boards'", project
            )
        }
    else:
        raw = lake.database.raw_name
        if not lake.has_table("_scopes", raw):
            raise InputError("--project: this lake records no projects; run without --project")
        scopes = lake.rows(f"SELECT project, connection_id, service_id FROM `{raw}`.`_scopes`")
        known = {row[0] for row in scopes}
        all_boards = [row[0] for row in lake.rows("SELECT id FROM boards")]
        boards = set()
        for name, connection_id, service_id in scopes:
            if name != project:
                continue
            prefix = f"pagerduty:Service:{connection_id}:"
            boards |= {
                b for b in all_boards if b.startswith(prefix) and service_id in ("*", b[len(prefix) :])
            }
    if project not in known:
        shown = ", ".join(sorted(known)[:10]) or "none"
        raise InputError(f"--project: no project named {project!r} in this lake (projects: {shown})")
    return boards


def _monthly(lake: _Lake, sql: str, first: date, last: date) -> list[MonthRow]:
    return [
        MonthRow(month=row[0], count=int(row[1]), value=Decimal(row[2]), level=row[3], extra=int(row[4] or 0))
        for row in lake.rows(sql, first, last)
    ]


def read_report(
    database: Database, months: int = DEFAULT_MONTHS, project: Optional[str] = None
) -> ReportData:
    """Everything the page shows, for the `months` calendar months (UTC) ending with the newest month the
    lake has data for (so a lake loaded from an old export still shows its last year)."""
    if months < 1:
        raise InputError("--months: expected a whole number of at least 1")
    lake = _open_lake(database)
    try:
        return _read(lake, months, project)
    finally:
        lake.close()


def _read(lake: _Lake, months: int, project: Optional[str]) -> ReportData:
    notes: list[str] = []
    all_boards = {row[0] for row in lake.rows("SELECT id FROM boards")}
    boards = _project_boards(lake, project) if project else all_boards
    whole_lake = boards == all_boards
    newest = lake.rows(
        "SELECT MAX(m) FROM (SELECT MAX(month) AS m FROM dora_mttr_monthly"
        " UNION ALL SELECT MAX(month) FROM dora_cfr_monthly) AS newest"
    )[0][0]
    last = newest or datetime.now(UTC).date().replace(day=1)
    first = month_add(last, -(months - 1))
    window = "BETWEEN %s AND %s"

    incidents = [
        row
        for row in lake.rows(
            "SELECT board_id, resolution_month, lead_time_minutes, resolution_date IS NULL"
            " FROM dora_incidents"
        )
        if row[0] in boards
    ]
    resolved_in_window = [
        (row[0], row[1], int(row[2]))
        for row in incidents
        if row[1] is not None and row[2] is not None and first <= row[1] <= last
    ]
    if whole_lake:
        mttr = _monthly(
            lake,
            "SELECT month, resolved_incidents, mttr_hours, level, 0 FROM dora_mttr_monthly"
            f" WHERE month {window} ORDER BY month",
            first,
            last,
        )
        cfr = _monthly(
            lake,
            "SELECT month, deployments, change_failure_rate, level, failed_deployments FROM dora_cfr_monthly"
            f" WHERE month {window} ORDER BY month",
            first,
            last,
        )
    else:
        by_month: dict[date, list[int]] = {}
        for _, month, minutes in resolved_in_window:
            by_month.setdefault(month, []).append(minutes)
        mttr = []
        for month in sorted(by_month):
            median = lower_median(by_month[month]) or 0
            mttr.append(
                MonthRow(
                    month,
                    len(by_month[month]),
                    (Decimal(median) / 60).quantize(Decimal("0.01")),
                    recovery_level(median),
                )
            )
        sums: dict[date, list[int]] = {}
        for month, board, deployments, failed in lake.rows(
            "SELECT month, board_id, deployments, failed_deployments FROM dora_cfr_monthly_by_service"
            f" WHERE month {window}",
            first,
            last,
        ):
            if board in boards:
                total = sums.setdefault(month, [0, 0])
                total[0] += int(deployments)
                total[1] += int(failed)
        cfr = [
            MonthRow(month, d, (Decimal(f) / Decimal(d)).quantize(Decimal("0.0001")), "", f)
            for month, (d, f) in sorted(sums.items())
        ]
        notes.append(
            f"Project {project}: time to restore is the lower median of the project's incidents; change"
            " failure rate sums the project's services (a deployment of two of them counts for each) and is"
            " not graded (the views grade with the dora_report var); failed deployment recovery time is the"
            " whole lake's."
        )
    recovery = _monthly(
        lake,
        "SELECT month, recovered_incidents, recovery_hours, level, 0"
        f" FROM dora_failed_deployment_recovery_time_monthly WHERE month {window} ORDER BY month",
        first,
        last,
    )

    services = _services(lake, boards, incidents, resolved_in_window, first, last)
    distribution = [
        (label, sum(1 for _, _, m in resolved_in_window if low <= m and (high is None or m < high)))
        for label, low, high in TTR_BUCKETS
    ]
    return ReportData(
        lake=lake.database.describe(),
        first_month=first,
        last_month=last,
        mttr=mttr,
        cfr=cfr,
        recovery=recovery,
        services=services,
        distribution=distribution,
        loaded_at=_loaded_at(lake),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        project=project,
        notes=notes,
    )


def _services(
    lake: _Lake,
    boards: set[str],
    incidents: list[tuple],
    resolved: list[tuple[str, date, int]],
    first: date,
    last: date,
) -> list[ServiceRow]:
    deployments: dict[str, list[int]] = {}
    for board, count, failed in lake.rows(
        "SELECT board_id, SUM(deployments), SUM(failed_deployments) FROM dora_cfr_monthly_by_service"
        " WHERE month BETWEEN %s AND %s GROUP BY board_id",
        first,
        last,
    ):
        deployments[board] = [int(count), int(failed)]
    rows = []
    for board, name in lake.rows("SELECT id, name FROM boards ORDER BY name, id"):
        if board not in boards:
            continue
        minutes = [m for b, _, m in resolved if b == board]
        rows.append(
            ServiceRow(
                name=name,
                board_id=board,
                open_now=sum(1 for row in incidents if row[0] == board and row[3]),
                resolved=len(minutes),
                median_minutes=lower_median(minutes),
                deployments=deployments.get(board, [0, 0])[0],
                failed_deployments=deployments.get(board, [0, 0])[1],
            )
        )
    return rows


def _loaded_at(lake: _Lake) -> Optional[datetime]:
    """When the newest completed load into the raw database finished (UTC)."""
    raw = lake.database.raw_name
    if not lake.has_table("_loads", raw):
        return None
    value = lake.rows(f"SELECT MAX(completed_at) FROM `{raw}`.`_loads` WHERE completed_at IS NOT NULL")[0][0]
    return value.replace(microsecond=0) if value else None


# ---------------------------------------------------------------------------------------------------------
# Rendering


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="empty">no data in these months</td></tr>'
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


DEPLOYMENTS_WINDOW_NOTE = (
    "Deployments are PagerDuty change events, which PagerDuty keeps for 90 days: a first load sees only the"
    " last 90 days of them, so months before that show no deployments unless a CSV of deployments"
    " (run.py run --deployments) fills them. Change events once loaded stay in the lake."
)


def _months_axis(rows: Sequence[MonthRow]) -> list[str]:
    return [f"{row.month:%Y-%m}" for row in rows]


def _time_figure(rows: Sequence[MonthRow], title: str, name: str) -> Any:
    """Bars of hours by month over DORA's level bands (elite < 1 h, high < 1 day, medium < 1 week, low)."""
    import plotly.graph_objects as go

    values = [float(row.value) for row in rows]
    figure = go.Figure(
        go.Bar(
            x=_months_axis(rows),
            y=values,
            name=name,
            marker_color=[LEVEL_COLOURS.get(row.level, "#777") for row in rows],
            text=[f"{v:g} h<br>{row.level}" for v, row in zip(values, rows, strict=True)],
            textposition="outside",
            customdata=[row.count for row in rows],
            hovertemplate="%{x}: %{y} h over %{customdata} incidents<extra></extra>",
        )
    )
    top = max(values + [1.0]) * 1.25
    for level, low, high, colour in RECOVERY_BANDS:
        if low >= top:
            continue
        figure.add_hrect(
            y0=low, y1=min(high, top), fillcolor=colour, opacity=0.12, line_width=0, layer="below"
        )
        figure.add_annotation(
            x=1, xref="paper", xanchor="left", y=(low + min(high, top)) / 2, text=level, showarrow=False
        )
    figure.update_layout(title=title, yaxis_title="hours", yaxis_range=[0, top], margin={"r": 70})
    return figure


def _cfr_figure(rows: Sequence[MonthRow]) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Bar(
            x=_months_axis(rows),
            y=[float(row.value) * 100 for row in rows],
            marker_color=[LEVEL_COLOURS.get(row.level, "#4575b4") for row in rows],
            text=[f"{float(row.value):.1%}<br>{row.level}" for row in rows],
            textposition="outside",
            customdata=[[row.extra, row.count] for row in rows],
            hovertemplate="%{x}: %{y:.1f}% (%{customdata[0]} of %{customdata[1]} deployments)<extra></extra>",
        )
    )
    figure.update_layout(title="Change failure rate by month", yaxis_title="%", yaxis_rangemode="tozero")
    return figure


def _distribution_figure(buckets: Sequence[tuple[str, int]]) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Bar(
            x=[b[0] for b in buckets],
            y=[b[1] for b in buckets],
            text=[b[1] for b in buckets],
            textposition="outside",
            marker_color="#4575b4",
        )
    )
    figure.update_layout(
        title="Time to resolve (incidents resolved in these months)", yaxis_title="incidents"
    )
    return figure


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } .meta { color: #555; margin-top: 0; }
section { margin: 2em 0; } .chart { min-height: 420px; }
table { border-collapse: collapse; margin-top: 0.5em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; } thead { background: #f3f3f3; }
td.empty { text-align: center; color: #777; } .note { color: #555; font-size: 0.9em; }
details summary { cursor: pointer; color: #555; }
"""


def render_html(data: ReportData) -> str:
    """The page: one file, plotly's JavaScript inlined (no request leaves the page when it is opened)."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    def chart(figure: Any, div_id: str) -> str:
        figure.update_layout(template="plotly_white", height=420, xaxis_type="category")
        return pio.to_html(
            figure, include_plotlyjs=False, full_html=False, div_id=div_id, config={"displaylogo": False}
        )

    def hours(minutes: Optional[int]) -> str:
        return "" if minutes is None else f"{Decimal(minutes) / 60:.2f}"

    scope = f"project {data.project}" if data.project else "all services"
    loaded = f"{data.loaded_at:%Y-%m-%d %H:%M} UTC" if data.loaded_at else "unknown"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>DORA metrics - {_esc(data.lake.rsplit('/', 1)[-1])}</title>",
        f"<style>{_STYLE}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        "<h1>DORA metrics from PagerDuty</h1>",
        f'<p class="meta">Lake <code>{_esc(data.lake)}</code>, {_esc(scope)},'
        f" {data.first_month:%Y-%m} to {data.last_month:%Y-%m} (UTC months)."
        f' Data loaded <span id="loaded-at">{_esc(loaded)}</span>;'
        f" page written {data.generated_at:%Y-%m-%d %H:%M} UTC.</p>",
    ]
    parts += [f'<p class="note">{_esc(note)}</p>' for note in data.notes]
    parts += [
        '<section id="mttr">',
        chart(
            _time_figure(data.mttr, "Median time to restore service by month (DORA 2021)", "MTTR"),
            "chart-mttr",
        ),
        _table(
            "table-mttr",
            ["month", "resolved incidents", "median hours", "level"],
            [(f"{r.month:%Y-%m}", r.count, r.value, r.level) for r in data.mttr],
        ),
        "</section>",
        '<section id="cfr">',
        chart(_cfr_figure(data.cfr), "chart-cfr"),
        f'<p class="note" id="note-deployments-window">{_esc(DEPLOYMENTS_WINDOW_NOTE)}</p>',
        _table(
            "table-cfr",
            ["month", "deployments", "failed deployments", "change failure rate", "level"],
            [(f"{r.month:%Y-%m}", r.count, r.extra, r.value, r.level) for r in data.cfr],
        ),
        "</section>",
        '<section id="recovery">',
        chart(
            _time_figure(data.recovery, "Failed deployment recovery time by month (DORA 2023)", "recovery"),
            "chart-recovery",
        ),
        _table(
            "table-recovery",
            ["month", "recovered incidents", "median hours", "level"],
            [(f"{r.month:%Y-%m}", r.count, r.value, r.level) for r in data.recovery],
        ),
        "</section>",
        '<section id="distribution">',
        chart(_distribution_figure(data.distribution), "chart-distribution"),
        _table("table-distribution", ["time to resolve", "incidents"], data.distribution),
        "</section>",
        '<section id="services"><h2>Services</h2>',
        '<p class="note">Incidents resolved and deployments in these months; open incidents now.</p>',
        _table(
            "table-services",
            [
                "service",
                "open now",
                "resolved",
                "median hours to resolve",
                "level",
                "deployments",
                "failed deployments",
                "change failure rate",
            ],
            [
                (
                    s.name,
                    s.open_now,
                    s.resolved,
                    hours(s.median_minutes),
                    s.level,
                    s.deployments,
                    s.failed_deployments,
                    "" if s.change_failure_rate is None else f"{s.change_failure_rate:.4f}",
                )
                for s in data.services
            ],
        ),
        "</section>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(
    database: Database, out: Path, months: int = DEFAULT_MONTHS, project: Optional[str] = None
) -> ReportData:
    """Read the lake and write the page to `out` (its folder must exist)."""
    data = read_report(database, months, project)
    if not out.parent.is_dir():
        raise InputError(f"--out: folder {out.parent} does not exist")
    try:
        out.write_text(render_html(data), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out: cannot write {out}: {exc.strerror}") from None
    return data
