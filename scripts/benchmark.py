"""Benchmark: a first load of N simulated incidents, a rerun with nothing new, a rerun after 1,000 changes,
and (with --latency-size) a first load and a reconcile, ingestion only, from an account that answers slowly
under a per-minute limit.

    make bench                                      # 100,000 incidents
    .venv/bin/python -m scripts.benchmark --size 20000
    .venv/bin/python -m scripts.benchmark --size 1000000 --days 1095 --reruns 5
    .venv/bin/python -m scripts.benchmark --size 0 --latency-size 50000   # only the rate-limited phase
    .venv/bin/python -m scripts.benchmark --size 1000000 --days 1095 --keep-lake   # then time the dashboards:
    DB_URL=mysql://root:@127.0.0.1:3306/pdbench .venv/bin/python -m scripts.dashboard_latency

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
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from ingestion.database import database_from_env, drop_databases, parse_db_url

from .simulator_process import SIM_TOKEN, reset_stats, served_requests, simulator

ROOT = Path(__file__).resolve().parent.parent
UNTHROTTLED_PER_HOUR = 1_000_000
"""rateLimitPerHour of the unthrottled phases: the most a connection may set (278 requests a second), above
what the loader reaches."""


def _run(
    blueprint: Path, connections: Path, env: dict[str, str], *extra: str, command: str = "run"
) -> tuple[float, int, float, str]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            command,
            "--blueprint",
            str(blueprint),
            "--connections",
            str(connections),
            "--quiet",
            *extra,
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


def _write_inputs(
    tmp: str, url: str, start: datetime, rate_limit_per_hour: int | None = None
) -> tuple[Path, Path]:
    """The bench blueprint and its connection. Without `rate_limit_per_hour` the connection gets
    PagerDuty's own 960 requests a minute; the simulator of the unthrottled phases sets no limit, so they
    lift it to measure the loader itself."""
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
    connection = {"id": 1, "name": "bench", "endpoint": url, "token": "${PAGERDUTY_TOKEN}"}
    if rate_limit_per_hour:
        connection["rateLimitPerHour"] = rate_limit_per_hour
    connections.write_text(json.dumps([connection]))
    return blueprint, connections


def _bench_database():
    server_db = database_from_env()
    database = parse_db_url(
        f"mysql://{server_db.user}:{server_db.password}@{server_db.host}:{server_db.port}/pdbench"
    )
    drop_databases(database)
    env = {
        **os.environ,
        "DB_URL": f"mysql://{database.user}:{database.password}@{database.host}:"
        f"{database.port}/{database.name}",
        "PAGERDUTY_TOKEN": SIM_TOKEN,
    }
    return database, env


def _incidents(database) -> int:
    with database.connect(database.raw_name) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM incidents")
        (count,) = cur.fetchone()
    return int(count)


def _phase(name, url, database, blueprint, connections, env, *extra, command: str = "run") -> tuple | None:
    reset_stats(url)
    seconds, code, peak_mb, output = _run(blueprint, connections, env, *extra, command=command)
    if code != 0:
        print(f"{name}: run.py exited {code}", file=sys.stderr)
        return None
    ingest = _seconds(r"requests in ([0-9.]+) s into", output)
    dbt = _seconds(r"dbt build: .* in ([0-9.]+) s", output)
    return (name, _incidents(database), seconds, ingest, dbt, served_requests(url), peak_mb)


def _account(size: int, days: int, end: datetime, responders: bool) -> tuple[str, ...]:
    """The simulator's arguments for the benchmark's account (seed 1), ending at `end`."""
    args = ("--size", str(size), "--days", str(days), "--seed", "1", "--end", end.isoformat())
    return (*args, "--responders") if responders else args


def _account_phases(
    size: int, days: int, reruns: int = 1, keep_lake: bool = False, responders: bool = False
) -> list[tuple] | None:
    """First load, rerun with nothing new, rerun after 1,000 changes (400 new incidents, 200 acknowledged,
    200 reassigned, 200 resolved, as the simulator's step makes them). With `reruns` above 1 the rerun with
    nothing new runs that many times and its row is the run of median wall time, the range in its name: on
    a shared 2-core machine one run of 15 s varies by seconds."""
    database, env = _bench_database()
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=days)
    rows = []
    with (
        simulator(*_account(size, days, end, responders)) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        blueprint, connections = _write_inputs(tmp, url, start, UNTHROTTLED_PER_HOUR)
        for name in ("first load", "rerun, nothing new", "rerun after 1,000 changes"):
            if name == "rerun after 1,000 changes":
                requests.post(
                    f"{url}/_sim/step",
                    json={"new": 400, "acknowledge": 200, "reassign": 200, "resolve": 200},
                    timeout=60,
                ).raise_for_status()
            times = reruns if name == "rerun, nothing new" else 1
            runs = [_phase(name, url, database, blueprint, connections, env) for _ in range(times)]
            if any(run is None for run in runs):
                return None
            runs.sort(key=lambda run: run[2])
            row = runs[len(runs) // 2]
            if times > 1:
                row = (f"{name} (median of {times}: {runs[0][2]:.1f} to {runs[-1][2]:.1f} s)", *row[1:])
            rows.append(row)
    if not keep_lake:
        drop_databases(database)
    return rows


def _rate_limited_phase(
    size: int, days: int, latency: float, per_minute: int, responders: bool = False
) -> list[tuple] | None:
    """A first load, then a reconcile (ingestion only), from an account answering each request in `latency`
    seconds and refusing more than `per_minute` requests a minute (429 with ratelimit-reset), as PagerDuty
    does at 960. The reconcile lists every incident again: it should cost what the limit allows."""
    database, env = _bench_database()
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=days)
    with (
        simulator(
            *_account(size, days, end, responders),
            "--latency",
            str(latency),
            "--rate-limit-per-minute",
            str(per_minute),
        ) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        blueprint, connections = _write_inputs(tmp, url, start)
        rows = []
        for kind in ("first load", "reconcile"):
            row = _phase(
                f"{kind}, {latency * 1000:.0f} ms a request, {per_minute}/min",
                url,
                database,
                blueprint,
                connections,
                env,
                "--skip-dbt",
                command="run" if kind == "first load" else "reconcile",
            )
            if row is None:
                return None
            faults = requests.get(f"{url}/_sim/stats", timeout=10).json()["faults"]
            rows.append((*row, faults["429"] + faults["429_per_minute"]))
    drop_databases(database)
    return rows


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine_speed() -> float:
    """Microseconds `sum(range(1000))` takes, best of 5, as `python3 -m timeit` reports it.

    This machine's speed moves between sessions (10 to 29 µs for the same loop), far more than most changes
    move a benchmark, so every table carries it: compare rows of tables measured at about the same figure.
    """
    timer = timeit.Timer("sum(range(1000))")
    loops, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=loops)) / loops * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000, help="incidents (0: skip these phases)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--latency-size", type=int, default=0, help="incidents of the slow, rate-limited account (0: skip)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.25, help="seconds the slow account takes to answer"
    )
    parser.add_argument(
        "--responders",
        action="store_true",
        help="every account writes each incident's response as log entries (as the demo's)",
    )
    parser.add_argument("--per-minute", type=int, default=960, help="the slow account's requests a minute")
    parser.add_argument(
        "--reruns", type=int, default=1, help="times to run the rerun with nothing new (the median is shown)"
    )
    parser.add_argument(
        "--keep-lake",
        action="store_true",
        help="keep the lake of the account phases (database pdbench) for scripts.dashboard_latency",
    )
    args = parser.parse_args()

    speed_before = _machine_speed()
    rows = []
    if args.size:
        account = _account_phases(args.size, args.days, max(1, args.reruns), args.keep_lake, args.responders)
        if account is None:
            return 1
        rows += [(*row, "-") for row in account]
    if args.latency_size:
        limited = _rate_limited_phase(
            args.latency_size, args.days, args.latency, args.per_minute, args.responders
        )
        if limited is None:
            return 1
        rows += limited

    print(
        f"\n{args.size:,} simulated incidents over {args.days} days (slow account: {args.latency_size:,}),"
        f" MariaDB on this machine ({os.cpu_count()} cores), commit {_commit()};"
        f' machine speed (`python3 -m timeit "sum(range(1000))"`) {speed_before:.1f} µs before,'
        f" {_machine_speed():.1f} µs after"
    )
    print(
        "| phase | incidents in table | wall time | of it ingestion | of it dbt build"
        " | incidents/s ingested | requests | the limit allows in | 429s | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, count, seconds, ingest, dbt, requests_made, peak_mb, refused in rows:
        rate = (
            f"{count / float(ingest.split()[0]):,.0f}"
            if name.startswith("first load") and ingest != "-"
            else "-"
        )
        floor = f"{requests_made / (args.per_minute / 60):.1f} s" if "/min" in name else "-"
        print(
            f"| {name} | {count:,} | {seconds:.1f} s | {ingest} | {dbt} | {rate} | {requests_made:,}"
            f" | {floor} | {refused} | {peak_mb:.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
