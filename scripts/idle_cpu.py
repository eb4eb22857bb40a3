"""How much CPU an idle `run.py serve` uses while it holds large blueprints.

    python -m scripts.idle_cpu [--blueprints 20] [--kb 960] [--filler plan] [--seconds 30] [--direct]

Starts `run.py serve` on a private database of the server in DB_URL (default mysql://root@127.0.0.1:3306),
saves a connection and N scheduled blueprints (cron "0 0 1 1 *": none fires during the measurement) made
about KB kilobytes each by a field the server stores but never uses: `plan` (many small objects, as DevLake's
plans are; the costlier to parse) or `description` (one long string). They are saved through the API, or
with --direct written into `_devlake_blueprints` as an earlier version saved them (the API now caps those
fields). Then it waits for the server to settle, reads the server process's CPU time (utime + stime,
/proc/<pid>/stat) over the given seconds, and prints it as a share of one core. The database is dropped at
the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from ingestion.database import DEFAULT_DB_URL, drop_databases, parse_db_url

ROOT = Path(__file__).resolve().parent.parent
SECRET = "idle-cpu-benchmark-secret"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def blueprint(index: int, kb: int, filler: str) -> dict:
    body = {
        "name": f"large-{index}",
        "mode": "NORMAL",
        "enable": True,
        "isManual": False,
        "cronConfig": "0 0 1 1 *",
        "settings": {
            "version": "2.0.0",
            "connections": [{"pluginName": "pagerduty", "connectionId": 1, "scopes": [{"scopeId": "PABC"}]}],
        },
    }
    room = kb * 1000 - len(json.dumps(body)) - 20
    if filler == "description":
        body["description"] = "x" * room
    else:
        task = {"plugin": "pagerduty", "subtasks": ["collectIncidents"], "options": {"connectionId": 1}}
        body["plan"] = [[task] for _ in range(room // (len(json.dumps(task)) + 4))]
    return body


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blueprints", type=int, default=20)
    parser.add_argument("--kb", type=int, default=960)
    parser.add_argument("--filler", choices=("plan", "description"), default="plan")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--settle", type=float, default=5, help="seconds to wait before measuring")
    parser.add_argument(
        "--direct", action="store_true", help="write the rows into the table, not via the API"
    )
    args = parser.parse_args()

    server = (os.environ.get("DB_URL") or DEFAULT_DB_URL).rsplit("/", 1)[0]
    database = parse_db_url(f"{server}/pdbench_{uuid.uuid4().hex[:10]}")
    port = 18000 + os.getpid() % 1000
    url = f"mysql://{database.user}{':' + database.password if database.password else ''}@{database.host}"
    env = {**os.environ, "DB_URL": f"{url}:{database.port}/{database.name}", "ENCRYPTION_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/ping", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        connection = {"name": "pd", "endpoint": "http://127.0.0.1:9", "token": "benchmark-token"}
        requests.post(f"{base}/plugins/pagerduty/connections", json=connection, timeout=30).raise_for_status()
        bodies = [blueprint(i, args.kb, args.filler) for i in range(args.blueprints)]
        if args.direct:
            small = {key: value for key, value in bodies[0].items() if key not in ("plan", "description")}
            requests.post(f"{base}/blueprints", json=small, timeout=60)  # the table exists now
            with database.connect(database.name) as conn, conn.cursor() as cur:
                cur.execute("DELETE FROM _devlake_blueprints")
                for body in bodies:
                    cur.execute(
                        "INSERT INTO _devlake_blueprints (name, body, created_at, updated_at)"
                        " VALUES (%s, %s, NOW(), NOW())",
                        (body["name"], json.dumps(body)),
                    )
        else:
            for body in bodies:
                requests.post(f"{base}/blueprints", json=body, timeout=60).raise_for_status()
        saved = requests.get(f"{base}/blueprints", timeout=60).json()["count"]
        time.sleep(args.settle)
        before, started = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(args.seconds)
        used, elapsed = cpu_seconds(proc.pid) - before, time.monotonic() - started
        how = "written directly" if args.direct else "through the API"
        print(
            f"{saved} blueprints of {args.kb} kB ({args.filler}, {how}): the idle server used {used:.2f} s"
            f" of CPU in {elapsed:.1f} s = {100 * used / elapsed:.1f}% of a core"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop_databases(database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
