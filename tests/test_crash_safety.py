"""A run killed at any instant loses nothing: `run.py run` and `run.py serve` are killed with SIGKILL (the
whole process group) or stopped with SIGTERM at named points of collection, of the writing of each raw table,
between tables, inside the transaction that completes a load, and during dbt build; then a run goes to the
end, and every DevLake table and metric view equals those of runs that were never interrupted.

The points are reached deterministically: the process is told where to stop (PAGERDUTY_DORA_PAUSE_AT, see
ingestion/checkpoints.py), says so on stderr, and waits there to be killed. Chunks of 40 rows make every raw
table take several statements to write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ingestion.database import drop_databases, parse_db_url
from simulator import SimulatorServer, generate

from .helpers import ROOT, SEED_BLUEPRINT, SERVER_URL, SIM_TOKEN, await_ping, db_url, free_port, lake, query

END = datetime(2026, 10, 1, tzinfo=UTC)
ANCHOR = datetime.now(UTC).replace(microsecond=0)  # one anchor for change events' 90-day window in every copy
FIRST_LOAD_POINTS = [
    "collect:incidents",  # mid-collection, nothing written yet
    "write:incidents#2",  # two chunks of incidents written, more to come
    "wrote:incidents",  # between two raw tables
    "write:services",  # during the write of each other table
    "write:change_events#2",
    "complete",  # inside the transaction that makes the load visible, before COMMIT
    "dbt:issues",  # the load completed; dbt built issues and stops before the others
]
RERUN_POINTS = ["collect:incidents", "write:log_entries", "complete", "dbt:int_incident_deployment_links"]
CHAINED_RERUN_POINTS = [
    "write:incidents",
    "wrote:log_entries",
    "write:change_events",
    "complete",
    "dbt:board_issues",
]
COMPARED = {
    "issues": "SELECT * FROM issues ORDER BY id",
    "board_issues": "SELECT board_id, issue_id FROM board_issues ORDER BY 1, 2",
    "issue_assignees": "SELECT * FROM issue_assignees ORDER BY 1, 2",
    "boards": "SELECT * FROM boards ORDER BY id",
    "cicd_deployments": "SELECT * FROM cicd_deployments ORDER BY id",
    "links": "SELECT * FROM project_incident_deployment_relationships ORDER BY id",
    "mttr": "SELECT * FROM dora_mttr_monthly ORDER BY month",
    "mttr_by_service": "SELECT * FROM dora_mttr_monthly_by_service ORDER BY month, board_id",
    "cfr": "SELECT * FROM dora_cfr_monthly ORDER BY month",
    "cfr_by_service": "SELECT * FROM dora_cfr_monthly_by_service ORDER BY month, board_id",
    "recovery": "SELECT * FROM dora_failed_deployment_recovery_time_monthly ORDER BY month",
}
ISSUE_LOAD_TIME_COLUMNS = ("created_at", "updated_at")  # when the row's load completed: differs run to run


def snapshot(db) -> dict[str, list[tuple]]:
    tables = {name: lake(db, sql) for name, sql in COMPARED.items()}
    columns = [
        row[0]
        for row in lake(
            db,
            "SELECT column_name FROM information_schema.columns WHERE"
            " table_schema = DATABASE() AND table_name = 'issues' ORDER BY ordinal_position",
        )
    ]
    keep = [i for i, name in enumerate(columns) if name not in ISSUE_LOAD_TIME_COLUMNS]
    tables["issues"] = [tuple(row[i] for i in keep) for row in tables["issues"]]
    assert tables["issues"] and tables["mttr"] and tables["cfr"] and tables["links"], (
        "the data must exercise every table"
    )
    return tables


def new_db():
    return parse_db_url(f"{SERVER_URL}/pdkill_{uuid.uuid4().hex[:10]}")


def account():
    return generate(seed=13, size=700, services=3, days=120, end=END, change_events_now=ANCHOR)


@pytest.fixture(scope="module")
def before():
    """The account as a first run sees it."""
    server = SimulatorServer(account(), token=SIM_TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def after():
    """The same account after the changes a rerun must catch, made just now (a rerun reads the log entries
    written since the previous run's cut-off)."""
    server = SimulatorServer(account(), token=SIM_TOKEN)
    change(server, datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=3))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("crash")


def files_for(workdir, sim) -> tuple[str, str]:
    blueprint = workdir / "blueprint.json"
    blueprint.write_text(json.dumps(SEED_BLUEPRINT))
    connections = workdir / f"connections-{sim.url.rsplit(':', 1)[1]}.json"
    connections.write_text(json.dumps([{"id": 1, "name": "sim", "endpoint": sim.url, "token": SIM_TOKEN}]))
    return str(blueprint), str(connections)


@pytest.fixture(scope="module")
def made(db_server):
    dbs: list = []
    yield dbs
    for db in dbs:
        drop_databases(db)


@pytest.fixture
def databases(made):
    def make():
        made.append(new_db())
        return made[-1]

    return make


@pytest.fixture(scope="module")
def first_load(made, before, workdir):
    """The snapshot of a first load never interrupted."""
    db = new_db()
    made.append(db)
    run(db, files_for(workdir, before))
    return snapshot(db)


@pytest.fixture
def rerun_reference(databases, before, after, workdir):
    """The snapshot of a first load then a rerun after the changes, never interrupted."""
    db = databases()
    run(db, files_for(workdir, before))
    run(db, files_for(workdir, after))
    return snapshot(db)


def env_for(db, **extra: str) -> dict[str, str]:
    return {**os.environ, "DB_URL": db_url(db), "PAGERDUTY_DORA_CHUNK_ROWS": "40", **extra}


def run(db, files, pause_at: str | None = None, command: str = "run") -> None:
    """run.py run (or reconcile) to the end, or, with `pause_at`, until it reaches that point; then SIGKILL
    its group."""
    blueprint, connections = files
    args = [
        sys.executable,
        str(ROOT / "run.py"),
        command,
        "--blueprint",
        blueprint,
        "--connections",
        connections,
        "--quiet",
    ]
    if pause_at is None:
        done = subprocess.run(args, env=env_for(db), capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return
    proc = subprocess.Popen(
        args,
        env=env_for(db, PAGERDUTY_DORA_PAUSE_AT=pause_at),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    wait_for_pause(proc, pause_at)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for_pause(proc: subprocess.Popen, pause_at: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if line.strip() == f"paused at {pause_at}":
            return
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"never paused at {pause_at}: {''.join(seen)[-2000:]}")


def change(server, at: datetime) -> None:
    """What happens between runs: acknowledgements, reassignments, resolutions, new incidents, an edit after
    resolution, a merge."""
    ds = server.dataset
    ds.add_change_event(
        timestamp=at - timedelta(hours=2), services=[0, 1], sent_at=None
    )  # late, two services
    ds.step(new=8, acknowledge=3, reassign=3, resolve=6, escalate=1, now=at)
    resolved = next(i for i in (ds.render(s) for s in range(len(ds))) if i["status"] == "resolved")
    ds.edit(resolved["incident_number"], at=at, priority="P1", urgency="low")
    opened = [i for i in (ds.render(s) for s in range(len(ds))) if i["status"] != "resolved"]
    ds.merge([opened[1]["incident_number"]], opened[0]["incident_number"], at=at)


@pytest.mark.parametrize("point", FIRST_LOAD_POINTS)
def test_first_load_killed_then_run_again_equals_an_uninterrupted_run(
    databases, before, workdir, first_load, point
):
    killed = databases()
    files = files_for(workdir, before)
    run(killed, files, pause_at=point)
    run(killed, files)
    assert snapshot(killed) == first_load
    assert query(killed, "SELECT COUNT(*) FROM _loads WHERE status = 'pending'") == [(0,)]


@pytest.mark.parametrize("point", RERUN_POINTS)
def test_rerun_killed_then_run_again_equals_an_uninterrupted_rerun(
    databases, before, after, workdir, rerun_reference, point
):
    killed = databases()
    run(killed, files_for(workdir, before))
    changed = files_for(workdir, after)
    run(killed, changed, pause_at=point)
    run(killed, changed)
    assert snapshot(killed) == rerun_reference


def test_several_kills_in_a_row_then_one_run(databases, before, after, workdir, rerun_reference) -> None:
    killed = databases()
    run(killed, files_for(workdir, before))
    changed = files_for(workdir, after)
    for point in CHAINED_RERUN_POINTS:
        run(killed, changed, pause_at=point)
    run(killed, changed)
    assert snapshot(killed) == rerun_reference
    # the killed runs' records did not stay running: the next run saw their processes were gone
    statuses = lake(killed, "SELECT status, COUNT(*) FROM _devlake_pipelines GROUP BY status ORDER BY 1")
    assert statuses == [("TASK_COMPLETED", 2), ("TASK_FAILED", len(CHAINED_RERUN_POINTS))]


@pytest.fixture
def drifted():
    """The account after what no log entry records: a title edited, an incident deleted."""
    server = SimulatorServer(account(), token=SIM_TOKEN)
    ds = server.dataset
    resolved = [s + 1 for s in range(len(ds)) if ds.status[s] == 2]
    ds.edit(resolved[0], at=datetime.now(UTC) - timedelta(seconds=3), title="Post-mortem: the real cause")
    ds.delete_incident(resolved[1])
    server.start()
    yield server
    server.stop()


def raw_incidents(db) -> list[tuple]:
    return query(db, "SELECT id, content_hash, load_seq FROM incidents ORDER BY id")


@pytest.mark.parametrize("point", ["write:incidents", "complete"])
def test_a_reconcile_killed_leaves_the_lake_as_it_was(databases, before, drifted, workdir, first_load, point):
    killed, reference = databases(), databases()
    run(reference, files_for(workdir, before))
    run(reference, files_for(workdir, drifted), command="reconcile")
    run(killed, files_for(workdir, before))
    raw = raw_incidents(killed)
    run(killed, files_for(workdir, drifted), pause_at=point, command="reconcile")
    assert snapshot(killed) == first_load and raw_incidents(killed) == raw
    run(killed, files_for(workdir, drifted), command="reconcile")
    healed = snapshot(killed)
    assert healed == snapshot(reference) and healed != first_load


# ------------------------------------------------------------------------------------------------- serve
def start_server(db, pause_at: str | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    extra = {"ENCRYPTION_SECRET": "crash-test-secret-1234"}
    if pause_at:
        extra["PAGERDUTY_DORA_PAUSE_AT"] = pause_at
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port), "--no-schedule"],
        env=env_for(db, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )
    return proc, await_ping(proc, port, lambda: os.killpg(proc.pid, signal.SIGKILL))


def trigger(base: str, sim: SimulatorServer) -> int:
    if not requests.get(f"{base}/blueprints", timeout=10).json()["blueprints"]:
        created = requests.post(
            f"{base}/plugins/pagerduty/connections",
            json={"name": "sim", "endpoint": sim.url, "token": SIM_TOKEN},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        assert requests.post(f"{base}/blueprints", json=SEED_BLUEPRINT, timeout=10).status_code == 201
    return requests.post(f"{base}/blueprints/1/trigger", timeout=10).json()["id"]


def wait_done(base: str, pipeline_id: int) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        pipeline = requests.get(f"{base}/pipelines/{pipeline_id}", timeout=10).json()
        if pipeline["status"] in ("TASK_COMPLETED", "TASK_FAILED"):
            return pipeline
        time.sleep(0.5)
    raise AssertionError("pipeline still running")


@pytest.mark.parametrize(
    ("point", "stop"),
    [
        ("write:incidents#2", signal.SIGKILL),
        ("complete", signal.SIGTERM),
        ("dbt:issues", signal.SIGKILL),
        ("collect:incidents", signal.SIGTERM),
    ],
)
def test_serve_stopped_mid_pipeline_then_run_again(databases, before, first_load, point, stop) -> None:
    served = databases()
    sim = before
    proc, base = start_server(served, pause_at=point)
    first = trigger(base, sim)
    wait_for_pause(proc, point)
    os.killpg(proc.pid, stop)
    proc.wait(timeout=30)
    proc, base = start_server(served)
    try:
        assert requests.get(f"{base}/pipelines/{first}", timeout=10).json()["status"] == "TASK_FAILED"
        second = trigger(base, sim)
        assert wait_done(base, second)["status"] == "TASK_COMPLETED"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert snapshot(served) == first_load
