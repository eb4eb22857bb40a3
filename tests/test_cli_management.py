"""run.py connections / pipelines / schedule, driven as a user would (subprocesses, real database)."""

from __future__ import annotations

import json
import subprocess

import pytest

from .helpers import SEED_BLUEPRINT, SIM_TOKEN, query, run_cli

SECRET = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def sim(simulator):
    return simulator(seed=31, size=300, services=2, days=60)


def cli(
    database, *args: str, env: dict | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """run.py with a secret for saved connections, and the simulator's token in PD_TOKEN."""
    return run_cli(
        database, *args, env={"ENCRYPTION_SECRET": SECRET, "PD_TOKEN": SIM_TOKEN, **(env or {})}, stdin=stdin
    )


def add_connection(database, endpoint: str, name: str = "PagerDuty-test1") -> subprocess.CompletedProcess:
    """`connections add` as a user types it, the token taken from PD_TOKEN."""
    return cli(
        database, "connections", "add", "--name", name, "--endpoint", endpoint, "--token-env", "PD_TOKEN"
    )


def test_connections_lifecycle_never_shows_the_token(database, sim) -> None:
    added = add_connection(database, sim.url)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "connection 1 saved"

    stored = query(
        database, "SELECT name, endpoint, token FROM _tool_pagerduty_connections", database=database.name
    )
    assert stored[0][:2] == ("PagerDuty-test1", sim.url)
    assert SIM_TOKEN not in stored[0][2] and stored[0][2].startswith("v2:")  # encrypted at rest (scrypt key)

    listed = cli(database, "connections", "list")
    shown = cli(database, "connections", "show", "1")
    tested = cli(database, "connections", "test", "1")
    assert tested.returncode == 0, tested.stderr
    assert "token accepted, 2 services" in tested.stdout
    assert json.loads(shown.stdout)["token"] == "********"
    for result in (added, listed, shown, tested):
        assert SIM_TOKEN not in result.stdout + result.stderr

    renamed = cli(
        database, "connections", "update", "1", "--name", "renamed", "--token-stdin", stdin="wrong-token\n"
    )
    assert renamed.returncode == 0, renamed.stderr
    failing = cli(database, "connections", "test", "1")
    assert (
        failing.returncode == 1
        and "refused the token" in failing.stderr
        and "wrong-token" not in failing.stderr
    )

    wrong_secret = cli(database, "connections", "test", "1", env={"ENCRYPTION_SECRET": "another-secret-99"})
    assert wrong_secret.returncode == 2 and "cannot be decrypted" in wrong_secret.stderr

    assert cli(database, "connections", "delete", "1").returncode == 0
    assert query(database, "SELECT COUNT(*) FROM _tool_pagerduty_connections", database=database.name) == [
        (0,)
    ]
    gone = cli(database, "connections", "show", "1")
    assert gone.returncode == 2 and "no PagerDuty connection with id 1" in gone.stderr


def test_missing_encryption_secret_is_a_clear_error(database, sim) -> None:
    result = cli(
        database,
        "connections",
        "add",
        "--name",
        "x",
        "--endpoint",
        sim.url,
        "--token-env",
        "PD_TOKEN",
        env={"ENCRYPTION_SECRET": ""},
    )
    assert result.returncode == 2
    assert "ENCRYPTION_SECRET must be set" in result.stderr


def test_run_uses_saved_connections_and_records_pipelines(database, sim, tmp_path) -> None:
    assert add_connection(database, sim.url).returncode == 0
    blueprint = tmp_path / "blueprint.json"
    blueprint.write_text(json.dumps(SEED_BLUEPRINT))
    ok = cli(database, "run", "--blueprint", str(blueprint), "--quiet")
    assert ok.returncode == 0, ok.stderr
    cli(database, "connections", "update", "1", "--token-stdin", stdin="bad-token-77\n")
    failed = cli(database, "run", "--blueprint", str(blueprint), "--quiet")
    assert failed.returncode == 1

    listed = cli(database, "pipelines", "list")
    assert listed.returncode == 0
    first = json.loads(cli(database, "pipelines", "show", "1").stdout)
    second = json.loads(cli(database, "pipelines", "show", "2").stdout)
    assert (first["status"], first["blueprint_name"], first["incidents"]) == (
        "TASK_COMPLETED",
        "test-blueprint",
        300,
    )
    assert first["dbt_result"].startswith("dbt build:") and first["finished_at"]
    assert second["status"] == "TASK_FAILED" and "refused the token" in second["message"]
    assert "bad-token-77" not in listed.stdout + json.dumps(second)


def test_schedule_fires_twice_on_a_seconds_cron(database, sim, tmp_path) -> None:
    blueprint = tmp_path / "blueprint.json"
    blueprint.write_text(json.dumps({**SEED_BLUEPRINT, "cronConfig": "*/2 * * * * *", "isManual": False}))
    connections = tmp_path / "connections.json"
    connections.write_text(
        json.dumps([{"id": 1, "name": "sim", "endpoint": sim.url, "token": "${PD_TOKEN}"}])
    )
    result = cli(
        database,
        "schedule",
        "--blueprint",
        str(blueprint),
        "--connections",
        str(connections),
        "--quiet",
        "--skip-dbt",
        "--max-runs",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("finished with exit code 0") == 2
    records = query(
        database, "SELECT status, began_at FROM _devlake_pipelines ORDER BY id", database=database.name
    )
    assert [r[0] for r in records] == ["TASK_COMPLETED", "TASK_COMPLETED"]
    assert (records[1][1] - records[0][1]).total_seconds() >= 1  # two separate firings, not one


def test_manual_blueprint_cannot_be_scheduled(database, sim, tmp_path) -> None:
    blueprint = tmp_path / "blueprint.json"
    blueprint.write_text(json.dumps(SEED_BLUEPRINT))
    connections = tmp_path / "connections.json"
    connections.write_text(
        json.dumps([{"id": 1, "name": "sim", "endpoint": sim.url, "token": "${PD_TOKEN}"}])
    )
    result = cli(database, "schedule", "--blueprint", str(blueprint), "--connections", str(connections))
    assert result.returncode == 2 and "cronConfig: the blueprint is manual" in result.stderr
