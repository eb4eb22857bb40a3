"""`make demo`: the seed's example blueprint, verbatim, against the built-in PagerDuty simulator.

No PagerDuty account is needed: a simulated account (2,000 incidents over 400 days, set to Los Angeles time
as PagerDuty accounts commonly are) is served on loopback, and the blueprint's connection points at it. Data
goes to a database of the demo's own, `pagerduty_demo` on the server at 127.0.0.1:3306 (raw tables in
`pagerduty_demo_raw`), never into a `lake` that server may hold; DB_URL, when set, names another. It ends by
writing the report page (`run.py report`) to demo-report.html and printing its path.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from ingestion.database import Database, parse_db_url
from runner.cli import main as run_main
from runner.formats import count, duration, month_label, percent

from .private_server import HOW_TO_GET_ONE, answers, private_server
from .simulator_process import SIM_TOKEN, simulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


DEMO_DB_URL = "mysql://root@127.0.0.1:3306/pagerduty_demo"


def main() -> int:
    database = parse_db_url(os.environ.get("DB_URL") or DEMO_DB_URL)
    os.environ["DB_URL"] = os.environ.get("DB_URL") or DEMO_DB_URL
    print(f"Demo database: {database.describe()} (raw tables in {database.raw_name})", flush=True)
    if answers(database):
        return _demo(database)
    print(
        f"No database answers at {database.describe()}; starting a private throwaway MariaDB server.",
        flush=True,
    )
    try:
        with private_server(database.name) as private:
            os.environ["DB_URL"] = f"mysql://root@127.0.0.1:{private.port}/{private.name}"
            code = _demo(private)
            print("\n(The private server and its data are removed now that the demo is over.)")
            return code
    except RuntimeError:
        print("error: " + HOW_TO_GET_ONE.format(where=database.describe()), file=sys.stderr)
        return 1


def _demo(database: Database) -> int:
    os.environ["PAGERDUTY_TOKEN"] = SIM_TOKEN
    with (
        simulator("--size", "2000", "--days", "400", "--seed", "42", "--responders") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        print(f"PagerDuty simulator running at {url}", flush=True)
        connections = json.loads((EXAMPLES / "connections.json").read_text())
        connections[0]["endpoint"] = url
        connections_file = Path(tmp, "connections.json")
        connections_file.write_text(json.dumps(connections))
        blueprint = str(EXAMPLES / "blueprint.json")
        code = run_main(["run", "--blueprint", blueprint, "--connections", str(connections_file)])
        if code != 0:
            return code
    with database.connect(database.name) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*), SUM(status = 'DONE') FROM issues WHERE type = 'INCIDENT'")
        issues, done = cur.fetchone()
        cur.execute(
            "SELECT month, resolved_incidents, mttr_seconds, level FROM dora_mttr_monthly ORDER BY month"
        )
        months = cur.fetchall()
        cur.execute(
            "SELECT month, deployments, failed_deployments, change_failure_rate, level FROM dora_cfr_monthly"
            " ORDER BY month"
        )
        cfr = cur.fetchall()
        cur.execute(
            "SELECT month, acknowledged_incidents, mtta_seconds, mtta_p90_seconds FROM response_mtta_monthly"
            " WHERE acknowledged_incidents > 0 ORDER BY month"
        )
        mtta = cur.fetchall()
    print(
        f"\n{issues:,} incidents in {database.name}.issues ({done:,} resolved)."
        " MTTR by month (dora_mttr_monthly):"
    )
    print("  month              resolved  median  level")
    for month, resolved, seconds, level in months:
        print(f"  {month_label(month):<17}  {count(resolved):>8}  {duration(seconds):>6}  {level}")
    print("\nMTTA by month of creation (response_mtta_monthly), from the log entries:")
    print("  month              acknowledged  median     p90")
    for month, acknowledged, seconds, p90 in mtta:
        median, slow = duration(seconds), duration(p90)
        print(f"  {month_label(month):<17}  {count(acknowledged):>12}  {median:>6}  {slow:>6}")
    print("\nChange failure rate by month (dora_cfr_monthly), deployments from PagerDuty change events:")
    print("  month              deployments  failed    rate  level")
    for month, deployments, failed, rate, level in cfr:
        print(
            f"  {month_label(month):<17}  {count(deployments):>11}  {count(failed):>6}  {percent(rate):>6}"
            f"  {level}"
        )
    client = f"mysql -h {database.host} -P {database.port} -u {database.user} {database.name}"
    print(
        "\nQuery them yourself:\n"
        f'  {client} -e "SELECT * FROM dora_mttr_monthly ORDER BY month DESC"\n'
        f'  {client} -e "SELECT * FROM dora_cfr_monthly ORDER BY month DESC"\n'
        f'  {client} -e "SELECT * FROM dora_mttr_monthly_by_service ORDER BY month DESC, service_name"\n'
        f'  {client} -e "SELECT * FROM response_mtta_monthly ORDER BY month DESC"\n'
        f'  {client} -e "SELECT id, title, status, resolution_date, lead_time_minutes FROM issues LIMIT 10"'
    )
    return _report()


def _report() -> int:
    """The report page of the demo lake (run.py report), written where the demo runs from; its path last."""
    page = ROOT / "demo-report.html"
    code = run_main(["report", "--out", str(page)])
    if code == 0:
        print(f"\nThe report, one page that opens offline in any browser:\n  {page}")
    return code


if __name__ == "__main__":
    sys.exit(main())
