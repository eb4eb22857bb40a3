"""Benchmark: a first load of N simulated incidents, then a rerun with nothing new.

    make bench                      # 100,000 incidents
    .venv/bin/python -m scripts.benchmark --size 20000

Each load runs `run.py run` as a child process, so its wall time, exit code and peak memory (from wait4)
are those a user sees. Requests are counted by the simulator; incidents by the database.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.database import database_from_env, drop_databases, parse_db_url

from .simulator_process import SIM_TOKEN, reset_stats, served_requests, simulator

ROOT = Path(__file__).resolve().parent.parent


def _run(blueprint: Path, connections: Path, env: dict[str, str]) -> tuple[float, int, float, str]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "run",
            "--blueprint",
            str(blueprint),
            "--connections",
            str(connections),
            "--quiet",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    print(output, end="")
    return seconds, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, output


def _seconds(pattern: str, output: str) -> str:
    """A duration run.py printed (ingestion's, dbt's), or '-'."""
    match = re.search(pattern, output)
    return f"{float(match.group(1)):.1f} s" if match else "-"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()

    server_db = database_from_env()
    database = parse_db_url(
        f"mysql://{server_db.user}:{server_db.password}@{server_db.host}:{server_db.port}/pdbench"
    )
    drop_databases(database)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=args.days)
    env = {
        **os.environ,
        "DB_URL": f"mysql://{database.user}:{database.password}@{database.host}:"
        f"{database.port}/{database.name}",
        "PAGERDUTY_TOKEN": SIM_TOKEN,
    }
    with (
        simulator(
            "--size", str(args.size), "--days", str(args.days), "--seed", "1", "--end", end.isoformat()
        ) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        blueprint, connections = Path(tmp, "blueprint.json"), Path(tmp, "connections.json")
        blueprint.write_text(
            json.dumps(
                {
                    "cronConfig": "manual",
                    "enable": True,
                    "isManual": True,
                    "mode": "NORMAL",
                    "name": "bench",
                    "settings": {
                        "version": "1.0.0",
                        "connections": [
                            {
                                "connectionId": 1,
                                "plugin": "PagerDuty",
                                "scope": [
                                    {
                                        "entities": ["TICKET"],
                                        "options": {"connectionId": 1, "start_date": start.isoformat()},
                                    }
                                ],
                            }
                        ],
                    },
                }
            )
        )
        connections.write_text(
            json.dumps([{"id": 1, "name": "bench", "endpoint": url, "token": "${PAGERDUTY_TOKEN}"}])
        )
        rows = []
        for phase in ("first load", "rerun, nothing new"):
            reset_stats(url)
            seconds, code, peak_mb, output = _run(blueprint, connections, env)
            if code != 0:
                print(f"{phase}: run.py exited {code}", file=sys.stderr)
                return 1
            requests_made = served_requests(url)
            with database.connect(database.raw_name) as conn, conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM incidents")
                (count,) = cur.fetchone()
            ingest = _seconds(r"requests in ([0-9.]+) s into", output)
            dbt = _seconds(r"dbt build: .* in ([0-9.]+) s", output)
            rows.append((phase, count, seconds, ingest, dbt, requests_made, peak_mb))
    drop_databases(database)

    print(
        f"\n{args.size:,} simulated incidents over {args.days} days,"
        f" MariaDB on this machine ({os.cpu_count()} cores)"
    )
    print(
        "| phase | incidents in table | wall time | of it ingestion | of it dbt build"
        " | incidents/s ingested | requests | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for phase, count, seconds, ingest, dbt, requests_made, peak_mb in rows:
        rate = f"{count / float(ingest.split()[0]):,.0f}" if phase == "first load" and ingest != "-" else "-"
        print(
            f"| {phase} | {count:,} | {seconds:.1f} s | {ingest} | {dbt} | {rate} | {requests_made:,}"
            f" | {peak_mb:.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
