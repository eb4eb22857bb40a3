"""`make demo`'s script, as a user runs it: into its own database by default, into DB_URL when set, and with
no database server at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ingestion.database import drop_databases, parse_db_url

from .helpers import ROOT, lake


def demo(db_url: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DB_URL"}
    if db_url:
        env["DB_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "scripts.demo"], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )


def half_up(value: Decimal, places: int = 0) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def shown_duration(seconds: int) -> tuple[str, str]:
    """A duration as the README says every one is shown: whole minutes (truncated) under an hour, else hours
    to 0.1 (half up)."""
    if seconds < 3600:
        return (str(seconds // 60), "min")
    return (str(half_up(Decimal(seconds) / 3600, 1)), "h")


def shown_month(month: date) -> tuple[str, ...]:
    today = date.today()
    partial = (month.year, month.month) == (today.year, today.month)
    return (f"{month:%Y-%m}", "(partial)") if partial else (f"{month:%Y-%m}",)


def printed_table(stdout: str, heading: str) -> list[tuple[str, ...]]:
    """The rows the demo printed under a heading: '  2026-03  ...' lines until a blank line."""
    lines = stdout.split(heading, 1)[1].splitlines()[2:]
    rows = []
    for line in lines:
        if not re.match(r"^  \d{4}-\d\d ", line):
            break
        rows.append(tuple(line.split()))
    return rows


def test_demo_into_db_url_prints_the_views(database) -> None:
    result = demo(f"mysql://root@{database.host}:{database.port}/{database.name}")
    assert result.returncode == 0, result.stderr
    assert f"Demo database: root@{database.host}:{database.port}/{database.name}" in result.stdout
    assert lake(database, "SELECT COUNT(*) FROM issues WHERE type = 'INCIDENT'") == [(2000,)]
    mttr = printed_table(result.stdout, "MTTR by month (dora_mttr_monthly):")
    assert mttr == [
        (*shown_month(m), f"{n:,}", *shown_duration(seconds), level)
        for m, n, seconds, level in lake(
            database,
            "SELECT month, resolved_incidents, mttr_seconds, level FROM dora_mttr_monthly ORDER BY month",
        )
    ]
    cfr = printed_table(result.stdout, "Change failure rate by month (dora_cfr_monthly)")
    rows = lake(
        database,
        "SELECT month, deployments, failed_deployments, level FROM dora_cfr_monthly ORDER BY month",
    )
    # the rate shown is failed / deployments to one decimal of a percent, rounded once (half up) from the counts
    assert cfr == [
        (*shown_month(m), f"{d:,}", f"{f:,}", f"{half_up(Decimal(100 * f) / d, 1)}%", level)
        for m, d, f, level in rows
    ]
    mtta = printed_table(result.stdout, "MTTA by month of creation (response_mtta_monthly)")
    assert mtta == [
        (*shown_month(m), f"{n:,}", *shown_duration(median), *shown_duration(p90))
        for m, n, median, p90 in lake(
            database,
            "SELECT month, acknowledged_incidents, mtta_seconds, mtta_p90_seconds FROM response_mtta_monthly"
            " WHERE acknowledged_incidents > 0 ORDER BY month",
        )
    ]
    assert len(mttr) >= 12 and len(cfr) >= 3 and len(mtta) >= 12
    page = Path(result.stdout.strip().splitlines()[-1].strip())
    assert page == ROOT / "demo-report.html" and 'id="table-mttr"' in page.read_text()


def test_demo_writes_into_a_database_of_its_own_by_default() -> None:
    own = parse_db_url("mysql://root@127.0.0.1:3306/pagerduty_demo")
    drop_databases(own)
    try:
        result = demo(None)
        assert result.returncode == 0, result.stderr
        assert (
            "Demo database: root@127.0.0.1:3306/pagerduty_demo (raw tables in pagerduty_demo_raw)"
            in result.stdout
        )
        assert lake(own, "SELECT COUNT(*) FROM issues") == [(2000,)]
    finally:
        drop_databases(own)


def test_demo_starts_a_private_server_when_none_answers() -> None:
    result = demo("mysql://root@127.0.0.1:9/lake")  # port 9 (discard): nothing listens
    assert result.returncode == 0, result.stderr
    assert "starting a private throwaway MariaDB server" in result.stdout
    assert "2,000 incidents in lake.issues" in result.stdout
