"""The report's "Response" section: how fast incidents are acknowledged, who is woken, which services page.

DORA says how fast service comes back; the people on call ask how fast they acknowledge, who is woken at
night, and which services page for nothing. This section answers from the response views (built from the log
entries, models/marts/response/): MTTA by month with its change against the month before, the five
responders with the most sleep-hour interruptions in the last four weeks, and the five noisiest services.
Every number is formatted by runner/formats.py, as everywhere else; nothing is written.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Optional

from .formats import count, duration, is_partial, month_label, percent
from .svg_charts import Bar, bar_chart, legend

Rows = Callable[..., list[tuple]]
"""The lake's reader: rows(sql, *args)."""

RECENT_WEEKS = 4
TOP = 5
MEASURE = (
    "How fast the people on call respond, and what it costs them, from PagerDuty's log entries: the median"
    " time from an incident's creation to its first acknowledgement (MTTA) by month of creation, who was"
    " paged in their sleep hours (22:00-08:00 in their own time zone), and which services page most."
)


@dataclass(frozen=True)
class MttaMonth:
    month: date
    acknowledged: int
    median: Optional[float]
    p90: Optional[float]


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="empty">{_esc(empty)}</td></tr>'
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def lower_median(values: Sequence[float]) -> Optional[float]:
    """The MTTR views' median (DevLake's lower median)."""
    return sorted(values)[(len(values) - 1) // 2] if values else None


def p90(values: Sequence[float]) -> Optional[float]:
    """The value at 1-based rank ceil(0.9 n) of the sorted values (nearest rank), as response_mtta_monthly's
    p90; in integers, for 0.9 * n in floating point can land above a whole number (0.9 * 70)."""
    if not values:
        return None
    return sorted(values)[max(-(-9 * len(values) // 10), 1) - 1]


def mtta_change(now: MttaMonth, before: Optional[MttaMonth]) -> str:
    """The month's MTTA against the month before, in words, compared as shown (formats.duration)."""
    if before is None or before.median is None or now.median is None:
        return "no figure for the month before"
    shown, previous = duration(now.median), duration(before.median)
    if shown == previous:
        return f"the same as in {before.month:%B}"
    word = "faster" if now.median < before.median else "slower"
    return f"{word} than in {before.month:%B} ({previous})"


def read_mtta(rows: Rows, boards: set[str], whole_lake: bool, first: date, last: date) -> list[MttaMonth]:
    """MTTA by month of creation: the view for the whole lake; for some services, recomputed here from their
    incidents by the view's rules (lower median, nearest-rank p90; merged incidents left out)."""
    if whole_lake:
        return [
            MttaMonth(m, int(n), s, p)
            for m, n, s, p in rows(
                "SELECT month, acknowledged_incidents, mtta_seconds, mtta_p90_seconds"
                " FROM response_mtta_monthly"
                " WHERE month BETWEEN %s AND %s AND acknowledged_incidents > 0 ORDER BY month",
                first,
                last,
            )
        ]
    values: dict[date, list[float]] = defaultdict(list)
    for board, month, seconds in rows(
        "SELECT board_id, created_month, seconds_to_first_ack FROM response_incidents"
        " WHERE is_merged = 0 AND seconds_to_first_ack IS NOT NULL AND created_month BETWEEN %s AND %s",
        first,
        last,
    ):
        if board in boards:
            values[month].append(seconds)
    return [MttaMonth(m, len(v), lower_median(v), p90(v)) for m, v in sorted(values.items())]


def read_sleepers(rows: Rows, today: date) -> tuple[date, list[tuple]]:
    """The responders most often paged in their sleep hours in the last four ISO weeks (this one included):
    (name, time zone, sleep-hour interruptions, interruptions, notifications), most first."""
    since = today - timedelta(days=today.weekday() + 7 * (RECENT_WEEKS - 1))
    found = rows(
        "SELECT MAX(user_name), MAX(time_zone), SUM(sleep_hour_interruptions), SUM(interruptions),"
        " SUM(notifications) FROM response_interruptions_weekly_by_user WHERE week_start >= %s"
        " GROUP BY connection_id, user_id HAVING SUM(sleep_hour_interruptions) > 0"
        " ORDER BY 3 DESC, 4 DESC, 1 LIMIT %s",
        since,
        TOP,
    )
    return since, found


def read_noisy(rows: Rows, boards: set[str], first: date, last: date) -> list[tuple]:
    """The services whose incidents interrupted most in the report's months: (service, incidents,
    auto-resolved share, share resolved within 5 minutes, interruptions), most first."""
    totals: dict[str, list] = {}
    for board, name, incidents, auto, quick, interruptions in rows(
        "SELECT board_id, service_name, incidents, auto_resolved_incidents, resolved_within_5_minutes,"
        " interruptions FROM response_noisy_services WHERE month BETWEEN %s AND %s ORDER BY month",
        first,
        last,
    ):
        if board in boards:
            total = totals.setdefault(board, [name, 0, 0, 0, 0])
            total[0] = name
            for i, value in enumerate((incidents, auto, quick, interruptions), start=1):
                total[i] += int(value)
    ranked = sorted(totals.values(), key=lambda t: (-t[4], -t[1], t[0]))[:TOP]
    return [(name, n, auto / n, quick / n, interrupted) for name, n, auto, quick, interrupted in ranked]


def response_section(
    rows: Rows, has_views: bool, boards: set[str], whole_lake: bool, first: date, last: date, today: date
) -> str:
    """The section's HTML; a lake built before the response views says how to get them."""
    title = '<section id="response"><h2>Response</h2>'
    if not has_views:
        return (
            f'{title}<p class="note">This lake has no response views yet: the next `run.py run` builds them'
            " from the log entries.</p></section>"
        )
    with_before = read_mtta(rows, boards, whole_lake, _previous(first), last)  # the first month's change too
    by_month = {m.month: m for m in with_before}
    mtta = [m for m in with_before if m.month >= first]
    chart = bar_chart(
        "chart-mtta",
        "Median time to acknowledge by month of creation",
        [
            Bar(
                f"{m.month:%Y-%m}",
                (m.median or 0) / 60,
                duration(m.median),
                "#4575b4",
                is_partial(m.month, today),
                f"{month_label(m.month, today)}: {duration(m.median)}",
            )
            for m in mtta
        ],
        unit="minutes",
    )
    mtta_table = _table(
        "table-mtta",
        ["month", "acknowledged incidents", "median time to acknowledge", "90th percentile", "change"],
        [
            [
                month_label(m.month, today),
                count(m.acknowledged),
                duration(m.median),
                duration(m.p90),
                mtta_change(m, by_month.get(_previous(m.month))),
            ]
            for m in mtta
        ],
        "no acknowledged incidents in these months",
    )
    since, sleepers = read_sleepers(rows, today)
    sleep_rows = [[who, zone, count(sleep), count(n), count(sent)] for who, zone, sleep, n, sent in sleepers]
    sleep_table = _table(
        "table-sleep",
        ["responder", "time zone", "sleep-hour interruptions", "interruptions", "notifications"],
        sleep_rows,
        "nobody was paged in their sleep hours in these weeks",
    )
    noisy_table = _table(
        "table-noisy",
        ["service", "incidents", "auto-resolved", "resolved within 5 min", "interruptions"],
        [
            [name, count(n), percent(auto), percent(quick), count(interrupted)]
            for name, n, auto, quick, interrupted in read_noisy(rows, boards, first, last)
        ],
        "no incidents in these months",
    )
    sleep_note = f"Last {RECENT_WEEKS} weeks (since Monday {since:%Y-%m-%d}, each responder's own weeks)"
    sleep_note += ", every service of the lake." if not whole_lake else "."
    return (
        f'{title}<p class="measures">{_esc(MEASURE)}</p>{chart}{legend([])}{mtta_table}'
        f'<h3>Woken at night</h3><p class="note">{_esc(sleep_note)}</p>{sleep_table}'
        f'<h3>Noisiest services</h3><p class="note">Ranked by the interruptions their incidents caused (each'
        f" responder once per incident) in the report's months.</p>{noisy_table}</section>"
    )


def _previous(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)
