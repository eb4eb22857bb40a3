"""A dbt failure is a failed run, wherever the run comes from: `run.py run` exits 1 and names the failing
model, the pipeline record is TASK_FAILED (through the CLI and through the API), and a scheduled run records
and exits the same. Orchestrators rely on the exit code.

The project is copied (as `make mutation` copies it, without the virtualenv and build output) and given a
model that cannot build; the copy's own run.py runs against the simulator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from scripts.mutation import COPY_EXCLUDE

from .helpers import (
    ROOT,
    SECRET,
    SIM_TOKEN,
    await_ping,
    db_url,
    free_port,
    lake,
    wait_for_pipeline,
    write_json,
)

BROKEN = "select * from {{ this.schema }}.no_such_table_anywhere\n"


@pytest.fixture(scope="module")
def broken_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("broken") / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*COPY_EXCLUDE))
    (copy / "models" / "marts" / "dora" / "zz_broken_on_purpose.sql").write_text(BROKEN)
    return copy


def files(tmp_path, server, cron: str = "manual") -> tuple[str, str]:
    blueprint = json.loads((ROOT / "examples" / "blueprint.json").read_text())
    blueprint.update(cronConfig=cron, isManual=cron == "manual")
    connections = [{"id": 1, "name": "sim", "endpoint": server.url, "token": SIM_TOKEN}]
    return write_json(tmp_path / "b.json", blueprint), write_json(tmp_path / "c.json", connections)


def run_copy(copy: Path, database, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(copy / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=copy,
        env={**os.environ, "DB_URL": db_url(database), "ENCRYPTION_SECRET": SECRET},
    )


@pytest.fixture
def sim(simulator):
    return simulator(seed=5, size=120, services=2, days=20)


def test_run_exits_1_and_names_the_failing_model(database, sim, broken_copy, tmp_path) -> None:
    blueprint, connections = files(tmp_path, sim)
    result = run_copy(
        broken_copy, database, "run", "--blueprint", blueprint, "--connections", connections, "--quiet"
    )
    assert result.returncode == 1, result.stderr
    assert "dbt build failed" in result.stderr and "model zz_broken_on_purpose" in result.stderr
    [(status, dbt_result)] = lake(database, "SELECT status, dbt_result FROM _devlake_pipelines")
    assert status == "TASK_FAILED" and "model zz_broken_on_purpose" in dbt_result
    shown = run_copy(broken_copy, database, "pipelines", "show", "1")
    assert shown.returncode == 0 and "TASK_FAILED" in shown.stdout and "zz_broken_on_purpose" in shown.stdout
    # the data was loaded all the same: the next run of a fixed project builds on it
    assert lake(database, "SELECT COUNT(*) FROM issues")[0][0] > 0


def test_a_scheduled_run_records_the_failure_and_exits_1(database, sim, broken_copy, tmp_path) -> None:
    blueprint, connections = files(tmp_path, sim, cron="* * * * * *")
    result = run_copy(
        broken_copy, database, "schedule", "--blueprint", blueprint, "--connections", connections, "--quiet",
        "--max-runs", "1", "--reconcile-every", "0",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "finished with exit code 1" in result.stdout
    assert lake(database, "SELECT status FROM _devlake_pipelines") == [("TASK_FAILED",)]


def test_the_api_shows_the_pipeline_failed(database, sim, broken_copy, tmp_path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(broken_copy / "run.py"), "serve", "--port", str(port), "--no-schedule"],
        env={**os.environ, "DB_URL": db_url(database), "ENCRYPTION_SECRET": SECRET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=broken_copy,
    )
    try:
        base = await_ping(proc, port, proc.kill)
        connection = {"name": "sim", "endpoint": sim.url, "token": SIM_TOKEN}
        assert (
            requests.post(f"{base}/plugins/pagerduty/connections", json=connection, timeout=10).status_code
            == 201
        )
        blueprint = json.loads(Path(files(tmp_path, sim)[0]).read_text())
        assert requests.post(f"{base}/blueprints", json=blueprint, timeout=10).status_code == 201
        pipeline = requests.post(f"{base}/blueprints/1/trigger", timeout=10).json()
        done = wait_for_pipeline(base, pipeline["id"], timeout=300)
        assert done["status"] == "TASK_FAILED" and "model zz_broken_on_purpose" in done["dbtResult"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
