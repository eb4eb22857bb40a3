"""How long each dashboard panel's SQL takes on a lake (DB_URL): ours (dashboards/grafana/) and, when the
reference folder is beside the repository, DevLake's own (../shared/reference/devlake-dashboards/).

    .venv/bin/python -m scripts.benchmark --size 1000000 --days 1095 --keep-lake
    DB_URL=mysql://root:@127.0.0.1:3306/pdbench .venv/bin/python -m scripts.dashboard_latency

Every panel runs for Grafana's default range (the last six months) and for everything, with its variables set
to all their values, as Grafana sends it (the tests' renderers of Grafana's macros are reused, so what is
timed is what the dashboard tests check). A statement is stopped after --max-seconds: some of DevLake's panels
cross-join deployments with incidents and never end at a million.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pymysql

from ingestion.database import Database, database_from_env
from runner.transform import server_flavour
from tests import test_dashboards as ours
from tests import test_devlake_dashboards as devlake


@dataclass(frozen=True)
class Limit:
    """The session setting that stops a statement after `seconds`, in the server's dialect (asked once)."""

    statement: str
    seconds: int

    @classmethod
    def of(cls, db: Database, seconds: int) -> Limit:
        if server_flavour(db) == "mariadb":
            return cls(f"SET SESSION max_statement_time = {int(seconds)}", seconds)
        return cls(f"SET SESSION max_execution_time = {int(seconds) * 1000}", seconds)


def _timed(db: Database, sql: str, limit: Limit) -> str:
    """Seconds the statement took, or that the limit stopped it."""
    with db.connect(db.name) as conn, conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(limit.statement)
        start = time.perf_counter()
        try:
            cur.execute(sql)
            cur.fetchall()
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] in (1969, 3024):  # MariaDB's and MySQL's "interrupted by the limit"
                return f"> {limit.seconds} s"
            raise
        return f"{time.perf_counter() - start:.1f} s"


def our_panels(db: Database, limit: Limit) -> list[tuple[str, str, str, str]]:
    now = datetime.now(UTC)
    rows = []
    for path in ours.DASHBOARDS:
        board = json.loads(path.read_text())
        variables = ours.variable_values(db, board)
        for panel in ours.panels(board):
            for target in panel.get("targets", []):
                if target.get("rawSql"):
                    times = [
                        _timed(db, ours.interpolate(target["rawSql"], variables, start, end), limit)
                        for start, end in ((now - timedelta(days=183), now), (ours.FROM, ours.TO))
                    ]
                    rows.append((path.name, panel["title"], *times))
    return rows


def devlake_panels(db: Database, limit: Limit) -> list[tuple[str, str, str, str]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    periods = (
        devlake.TimeRange(now - timedelta(days=183), now),
        devlake.TimeRange(datetime(2000, 1, 1), now),
    )
    grafana = devlake.Grafana(db)
    rows = []
    for name in devlake.DASHBOARD_FILES:
        board = devlake.dashboard(name)
        reported = name in ("DORA.json", "DORADetails-ChangeFailureRate.json")
        chosen = {"dora_report": "2023"} if reported else {}
        variables = [grafana.variables(board, period, chosen) for period in periods]
        for title, sql in devlake.targets(board):
            times = [
                _timed(db, devlake.render(sql, found, period), limit)
                for found, period in zip(variables, periods, strict=True)
            ]
            rows.append((name, title, *times))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-seconds", type=int, default=120, help="stop a statement after this long")
    args = parser.parse_args()
    db = database_from_env()
    limit = Limit.of(db, args.max_seconds)
    rows = our_panels(db, limit)
    if devlake.DASHBOARDS.is_dir():
        rows += devlake_panels(db, limit)
    else:
        print(f"DevLake's dashboards are not at {devlake.DASHBOARDS}: only ours are timed", file=sys.stderr)
    print("| dashboard | panel | last six months | everything |")
    print("|---|---|---|---|")
    for board, title, recent, everything in rows:
        print(f"| {board} | {title} | {recent} | {everything} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
