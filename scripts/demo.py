"""`make demo`: the seed's example blueprint, verbatim, against the built-in PagerDuty simulator.

No PagerDuty account is needed: a simulated account (2,000 incidents over 400 days) is served on loopback,
and the blueprint's connection points at it. Data goes to the database in DB_URL (default
mysql://root@127.0.0.1:3306/lake), raw tables to `<lake>_raw`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from ingestion.database import database_from_env
from runner.cli import main as run_main

from .simulator_process import SIM_TOKEN, simulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def main() -> int:
    database = database_from_env()
    os.environ["PAGERDUTY_TOKEN"] = SIM_TOKEN
    with (
        simulator("--size", "2000", "--days", "400", "--seed", "42") as url,
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
    with database.connect(database.raw_name) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status, COUNT(*), MIN(created_at), MAX(created_at) FROM incidents"
            " WHERE connection_id = 1 GROUP BY status ORDER BY status"
        )
        rows = cur.fetchall()
    print(f"\nRaw incidents in {database.raw_name}.incidents:")
    for status, count, first, last in rows:
        print(f"  {status:<13} {count:>6,}  created {first:%Y-%m-%d} .. {last:%Y-%m-%d}")
    print(
        f"\nQuery them:  mysql -h {database.host} -P {database.port} -u {database.user} {database.raw_name}"
        " -e 'SELECT status, COUNT(*) FROM incidents GROUP BY status'"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
