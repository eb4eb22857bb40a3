"""What the tests share: the database, the simulator, run.py as a user runs it, and readers of the lake."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Optional

import requests

from ingestion.database import Database
from ingestion.pagerduty import RetryPolicy
from ingestion.scope_load import ConnectionSpec, ScopeResult, ScopeSpec, load_scope
from simulator import SimulatorServer

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("TEST_DB_SERVER_URL", "mysql://root@127.0.0.1:3306")
SIM_TOKEN = "sim-test-token-6f1e2d"
FAST_RETRY = RetryPolicy(max_attempts=6, backoff_factor=0.02, max_delay=2.0, timeout=10.0)
SEED_BLUEPRINT = json.loads((ROOT / "examples" / "blueprint.json").read_text())
SECRET = "api-test-secret-42"
"""ENCRYPTION_SECRET of the servers and commands the tests start."""


def query(db: Database, sql: str, *args: object, database: Optional[str] = None) -> list[tuple]:
    """Rows of `sql` in the raw database (or `database`)."""
    with db.connect(database or db.raw_name) as conn, conn.cursor() as cur:
        cur.execute(sql, args or None)
        return list(cur.fetchall())


def lake(db: Database, sql: str, *args: object) -> list[tuple]:
    """Rows of `sql` in the lake database (the dbt models)."""
    return query(db, sql, *args, database=db.name)


def staging(db: Database, sql: str, *args: object) -> list[tuple]:
    """Rows of `sql` in the staging database (dbt's staging and intermediate models)."""
    return query(db, sql, *args, database=db.staging_name)


def db_url(db: Database) -> str:
    return f"mysql://{db.user}@{db.host}:{db.port}/{db.name}"


def connection(
    server: SimulatorServer, conn_id: int = 1, token: str = SIM_TOKEN, **kw: Any
) -> ConnectionSpec:
    return ConnectionSpec(id=conn_id, name=f"sim-{conn_id}", endpoint=server.url, token=token, **kw)


def load(
    server: SimulatorServer,
    db: Database,
    start: datetime,
    conn_id: int = 1,
    services: Optional[Sequence[str]] = None,
    **kw: Any,
) -> ScopeResult:
    """One scope's load, as run.py does it, with quick retries."""
    scope = ScopeSpec(start_date=start, service_ids=tuple(services) if services else None)
    return load_scope(connection(server, conn_id), scope, db, retry=FAST_RETRY, **kw)


def loaded_incidents(db: Database, conn_id: int = 1) -> dict[str, dict[str, Any]]:
    """The current incidents of a connection, with the object each was read as."""
    rows = query(
        db,
        "SELECT c.id, c.status, c.resolved_at, c.assignments, v.raw, c.service_id, c.created_at"
        " FROM incidents AS c JOIN incidents_versions AS v ON v.version_id = c.version_id"
        " WHERE c.connection_id = %s",
        conn_id,
    )
    return {
        r[0]: {
            "status": r[1],
            "resolved_at": r[2],
            "assignments": json.loads(r[3]),
            "raw": json.loads(r[4]),
            "service_id": r[5],
            "created_at": r[6],
        }
        for r in rows
    }


def rendered(server: SimulatorServer) -> list[dict[str, Any]]:
    """Every incident of the simulated account as the API renders it in UTC."""
    ds = server.dataset
    return [ds.render(slot) for slot in range(len(ds))]


def utc(text: str) -> datetime:
    """The test's own reading of an ISO time with an offset (not the project's parser)."""
    return datetime.fromisoformat(text).astimezone(UTC)


def run_cli(
    db: Database,
    *args: str,
    env: Optional[dict[str, str]] = None,
    stdin: Optional[str] = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """`run.py ARGS` as a user runs it: a subprocess with DB_URL pointing at `db`."""
    full_env = {**os.environ, "DB_URL": db_url(db), **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=timeout,
        cwd=ROOT,
    )


def write_json(path: Path, value: Any) -> str:
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(db: Database, *args: str, **env: str) -> tuple[subprocess.Popen, str]:
    """`run.py serve` on a free port of 127.0.0.1 (extra `args` go to serve, `env` to its environment, over
    DB_URL and ENCRYPTION_SECRET), once it answers /ping: (the process, its base URL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port), *args],
        env={**os.environ, "DB_URL": db_url(db), "ENCRYPTION_SECRET": SECRET, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return proc, await_ping(proc, port, proc.kill)


def await_ping(proc: subprocess.Popen, port: int, kill: Callable[[], None]) -> str:
    """The base URL of the server `proc` started on `port`, once it answers /ping (within a minute); else
    `kill` it and fail with what it printed on stderr."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/ping", timeout=1).ok:
                return base
        except requests.ConnectionError:
            time.sleep(0.2)
    kill()
    raise AssertionError(proc.stderr.read() if proc.stderr else "server did not start")


def wait_for_pipeline(base: str, pipeline_id: int, timeout: float = 180) -> dict:
    """The pipeline once it completed or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipeline = requests.get(f"{base}/pipelines/{pipeline_id}", timeout=10).json()
        if pipeline["status"] in ("TASK_COMPLETED", "TASK_FAILED"):
            return pipeline
        time.sleep(0.5)
    raise AssertionError(f"pipeline {pipeline_id} still running")


def run_seed_blueprint(db: Database, server: SimulatorServer, folder: Path) -> None:
    """The seed's blueprint (all services of connection 1), verbatim, through `run.py run` against a simulated
    account: the lake a user has after their first run, built by the real pipeline."""
    blueprint = write_json(folder / "blueprint.json", SEED_BLUEPRINT)
    connections = write_json(
        folder / "connections.json", [{"id": 1, "name": "sim", "endpoint": server.url, "token": SIM_TOKEN}]
    )
    result = run_cli(db, "run", "--blueprint", blueprint, "--connections", connections)
    assert result.returncode == 0, result.stderr


def mttr_level(minutes: int) -> str:
    """DORA's time-to-restore buckets, written out here rather than read from the models."""
    return "elite" if minutes < 60 else "high" if minutes < 1440 else "medium" if minutes < 10080 else "low"


def expected_mttr(server: SimulatorServer, since: datetime) -> list[tuple[date, int, int, str]]:
    """dora_mttr_monthly by hand from the simulator's incidents as the API renders them: (month, resolved
    incidents, lower median of whole minutes, level), months in UTC, incidents merged into another left out."""
    by_month: dict[date, list[int]] = {}
    for incident in rendered(server):
        created = utc(incident["created_at"])
        if incident["status"] != "resolved" or created < since:
            continue
        if (incident.get("resolve_reason") or {}).get("type") == "merge_resolve_reason":
            continue
        resolved = utc(incident.get("resolved_at") or incident["last_status_change_at"])
        minutes = int((resolved - created).total_seconds() // 60)
        by_month.setdefault(date(resolved.year, resolved.month, 1), []).append(minutes)
    out = []
    for month, values in sorted(by_month.items()):
        median = sorted(values)[(len(values) - 1) // 2]
        out.append((month, len(values), median, mttr_level(median)))
    return out


def project_blueprint(
    name: str, project: str, service_id: str, time_after: str = "2022-06-01T00:00:00Z"
) -> dict:
    """A DevLake 2.0.0 blueprint of project `project` covering one service of connection 1."""
    return {
        "name": name,
        "projectName": project,
        "mode": "NORMAL",
        "enable": True,
        "cronConfig": "manual",
        "settings": {
            "version": "2.0.0",
            "timeAfter": time_after,
            "connections": [
                {"pluginName": "pagerduty", "connectionId": 1, "scopes": [{"scopeId": service_id}]}
            ],
        },
    }
