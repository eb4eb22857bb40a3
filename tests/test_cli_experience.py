"""A CLI that never leaves you guessing: an endpoint that does not answer says so at each retry and the run
ends promptly; a read-only command never creates a lake; `schedule` stops cleanly between runs; each
command's help has its own exit codes and variables; the server logs one line per request, without query
strings; a pipeline shows its progress while it runs."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from runner.cli import parser

from .helpers import (
    ROOT,
    SEED_BLUEPRINT,
    SIM_TOKEN,
    db_url,
    lake,
    query,
    run_cli,
    serve,
    wait_for_pipeline,
    write_json,
)


def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def files(tmp_path, endpoint: str, cron: str = "manual") -> tuple[str, str]:
    blueprint = {**SEED_BLUEPRINT, "cronConfig": cron, "isManual": cron == "manual"}
    connections = [{"id": 1, "name": "sim", "endpoint": endpoint, "token": SIM_TOKEN}]
    return write_json(tmp_path / "b.json", blueprint), write_json(tmp_path / "c.json", connections)


def databases_like(database) -> list[str]:
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        return sorted(row[0] for row in cur.fetchall())


def test_an_endpoint_that_refuses_says_so_at_each_retry_and_the_run_ends_promptly(database, tmp_path) -> None:
    blueprint, connections = files(tmp_path, f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    result = run_cli(database, "run", "--blueprint", blueprint, "--connections", connections, timeout=120)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    retries = re.findall(
        r"PagerDuty did not answer \(connection refused\): retry (\d) of (\d) in (\d+) s", result.stderr
    )
    assert retries and {r[:2] for r in retries} >= {("1", "2"), ("2", "2")}, result.stderr
    assert "failed after retries: connection refused reaching 127.0.0.1" in result.stderr
    # a refused connection is given up in seconds (waits of 1 and 2 s), and nothing keeps the process alive
    assert took < 30, took
    record = lake(database, "SELECT status, message FROM _devlake_pipelines")
    assert record[0][0] == "TASK_FAILED" and "connection refused" in record[0][1]


def test_the_api_shows_the_retries_and_the_progress_of_a_pipeline(database, simulator, tmp_path) -> None:
    sim = simulator(seed=3, size=200, services=2, days=30)
    proc, base = serve(database, "--no-schedule")
    try:
        port = closed_port()
        for body in (
            {"name": "down", "endpoint": f"http://127.0.0.1:{port}", "token": SIM_TOKEN},
            {"name": "sim", "endpoint": sim.url, "token": SIM_TOKEN},
        ):
            assert (
                requests.post(f"{base}/plugins/pagerduty/connections", json=body, timeout=10).status_code
                == 201
            )
        for connection_id, name in ((1, "down"), (2, "up")):
            scope = {
                "entities": ["TICKET"],
                "options": {"connectionId": connection_id, "start_date": "2024-01-01T00:00:00Z"},
            }
            body = {**SEED_BLUEPRINT, "name": name, "settings": {"version": "1.0.0", "connections": [
                {"connectionId": connection_id, "plugin": "PagerDuty", "scope": [scope]}]}}  # fmt: skip
            assert requests.post(f"{base}/blueprints", json=body, timeout=10).status_code == 201
        down = requests.post(f"{base}/blueprints/1/trigger", timeout=10).json()["id"]
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pipeline = requests.get(f"{base}/pipelines/{down}", timeout=10).json()
            seen.append((pipeline["status"], pipeline["message"], pipeline["totalTasks"], pipeline["stage"]))
            if pipeline["status"] == "TASK_FAILED":
                break
            time.sleep(0.1)
        running = [s for s in seen if s[0] == "TASK_RUNNING"]
        assert any(m and "did not answer (connection refused): retry" in m for _, m, _, _ in running), seen
        assert {total for _, _, total, _ in running if total} == {2}  # one scope, then dbt
        assert seen[-1][0] == "TASK_FAILED"
        up = requests.post(f"{base}/blueprints/2/trigger", timeout=10).json()["id"]
        done = wait_for_pipeline(base, up)
        assert (done["status"], done["totalTasks"], done["finishedTasks"], done["stage"]) == (
            "TASK_COMPLETED", 2, 2, "done",
        )  # fmt: skip
        shown = run_cli(database, "pipelines", "show", str(up), env={"ENCRYPTION_SECRET": "x"})
        assert '"total_tasks": 2' in shown.stdout and '"stage": "done"' in shown.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    "command",
    [
        ("pipelines", "list"),
        ("pipelines", "show", "1"),
        ("connections", "list"),
        ("report", "--out", "x.html"),
    ],
)
def test_a_read_only_command_on_a_lake_that_does_not_exist_exits_2_and_creates_nothing(
    database, tmp_path, command
) -> None:
    args = [*command[:-1], str(tmp_path / command[-1])] if command[0] == "report" else list(command)
    result = run_cli(database, *args, env={"ENCRYPTION_SECRET": "irrelevant-secret-123"})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0] and database.name in lines[0], lines
    assert databases_like(database) == []


def test_a_run_into_a_new_lake_says_it_created_one(database, simulator, tmp_path) -> None:
    sim = simulator(seed=3, size=50, services=1, days=10)
    blueprint, connections = files(tmp_path, sim.url)
    first = run_cli(database, "run", "--blueprint", blueprint, "--connections", connections, "--skip-dbt")
    assert first.returncode == 0, first.stderr
    assert f"Created {database.name}, {database.name}_staging, {database.name}_raw on" in first.stdout
    again = run_cli(database, "run", "--blueprint", blueprint, "--connections", connections, "--skip-dbt")
    assert again.returncode == 0 and "Created" not in again.stdout


def start_schedule(database, blueprint: str, connections: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "schedule",
            "--blueprint",
            blueprint,
            "--connections",
            connections,
        ],
        env={**os.environ, "DB_URL": db_url(database), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_schedule_stopped_between_runs_is_a_normal_stop(database, simulator, tmp_path) -> None:
    sim = simulator(seed=3, size=50, services=1, days=10)
    blueprint, connections = files(tmp_path, sim.url, cron="0 0 1 1 *")  # next January 1st
    proc = start_schedule(database, blueprint, connections)
    try:
        created, first_line = proc.stdout.readline(), proc.stdout.readline()
        assert created.startswith(f"Created {database.name}"), created
        assert re.search(r"next run at \d{4}-01-01T00:00:00Z", first_line), first_line
        proc.send_signal(signal.SIGTERM)  # at once: the line just printed, the wait hardly begun
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()  # a failed assertion must not leave a scheduler running
    assert proc.returncode == 0, stderr
    assert "error" not in stderr.lower() and "no run was in progress" in stdout


def test_schedule_stopped_during_a_run_is_an_interrupted_run(database, simulator, tmp_path) -> None:
    sim = simulator(seed=3, size=50, services=1, days=10)
    blueprint, connections = files(tmp_path, sim.url, cron="* * * * * *")  # every second
    proc = start_schedule(database, blueprint, connections, PAGERDUTY_DORA_PAUSE_AT="write:incidents")
    try:
        for line in proc.stderr:
            if line.startswith("paused at"):
                break
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted; the interrupted load was not committed" in stderr
    assert "run 1 starting" in stdout and "no run was in progress" not in stdout
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(0,)]
    assert query(database, "SELECT COUNT(*) FROM _loads WHERE status = 'completed'") == [(0,)]


def test_each_command_says_its_own_exit_codes_and_variables() -> None:
    def help_of(*command: str) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), *command, "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    report = help_of("report")
    assert "exit codes:" in report and "the page was written" in report and "130" not in report
    assert "DB_URL" in report and "API_TOKEN" not in report and "ENCRYPTION_SECRET" not in report
    serve_help = help_of("serve")
    assert (
        "API_TOKEN" in serve_help
        and "--log-format" in serve_help
        and "NEW_ENCRYPTION_SECRET" not in serve_help
    )
    schedule = help_of("schedule")
    assert "stopped between runs" in schedule and "130" in schedule and "--reconcile-every" in schedule
    assert "NEW_ENCRYPTION_SECRET" in help_of("connections", "rotate-secret")
    version = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert re.fullmatch(r"run\.py \d+\.\d+\.\d+\n", version.stdout)
    # the installed command (pyproject.toml's console script, make install) is the same CLI under its own name
    script = Path(sys.executable).parent / "pagerduty-dora"
    installed = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert installed.returncode == 0 and installed.stdout.startswith("usage: pagerduty-dora ")
    assert "reconcile" in installed.stdout and "serve" in installed.stdout


def test_every_command_and_option_has_help_text() -> None:
    missing, seen = [], 0

    def walk(command: argparse.ArgumentParser, path: str) -> None:
        nonlocal seen
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions if choice.help}
                missing.extend(f"{path} {name}" for name in action.choices if name not in helped)
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction):
                seen += 1
                if not (action.help or "").strip():
                    missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(parser(), "run.py")
    assert seen > 30 and missing == []


def test_serve_logs_one_json_line_per_request_without_query_strings(database) -> None:
    """The access log as an operator reads it: the server's stdout, one JSON object per request."""
    env = {**os.environ, "DB_URL": db_url(database), "ENCRYPTION_SECRET": "api-test-secret-42"}
    port = closed_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(port), "--no-schedule", "--log-format", "json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        requests.get(f"http://127.0.0.1:{port}/pipelines?token=should-not-be-logged", timeout=10)
        requests.get(f"http://127.0.0.1:{port}/pipelines/999", timeout=10)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["event"] == "access"]
    assert {(a["method"], a["path"], a["status"]) for a in access} >= {
        ("GET", "/pipelines", 200),
        ("GET", "/pipelines/999", 404),
    }
    assert "should-not-be-logged" not in out
