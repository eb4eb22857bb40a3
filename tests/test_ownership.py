"""The project writes only into databases it created. Pointed at one that looks like DevLake's own `lake` (its
migration table, a Jira issue in `issues`), every command that would write refuses with one line and exit 2,
and nothing is written anywhere: not in that database, and no `<db>_raw` beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .helpers import ROOT, SEED_BLUEPRINT, SIM_TOKEN, db_url, run_cli

JIRA_ROW = ("jira:JiraIssue:1:10001", "PROJ-1", "Login page times out", "BUG", "TODO")


@pytest.fixture
def devlake_lake(database):
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database.name}`")
        cur.execute(
            f"CREATE TABLE `{database.name}`._devlake_migration_history (script_version BIGINT, name VARCHAR(255))"
        )
        cur.execute(
            f"INSERT INTO `{database.name}`._devlake_migration_history VALUES (20230101000001, 'init')"
        )
        cur.execute(
            f"CREATE TABLE `{database.name}`.issues (id VARCHAR(255) PRIMARY KEY, issue_key VARCHAR(255),"
            " title TEXT, type VARCHAR(100), status VARCHAR(100))"
        )
        cur.execute(f"INSERT INTO `{database.name}`.issues VALUES (%s, %s, %s, %s, %s)", JIRA_ROW)
    return database


def untouched(db) -> None:
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (db.name + "%",))
        assert cur.fetchall() == ((db.name,),)  # no <db>_raw either
        cur.execute(f"SHOW TABLES FROM `{db.name}`")
        assert sorted(r[0] for r in cur.fetchall()) == ["_devlake_migration_history", "issues"]
        cur.execute(f"SELECT id, issue_key, title, type, status FROM `{db.name}`.issues")
        assert cur.fetchall() == (JIRA_ROW,)


def refusal(result: subprocess.CompletedProcess, name: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: database {name} holds tables this project did not create (_devlake_migration_history, issues);"
        " it writes only into databases of its own: set DB_URL to a new database name (e.g. .../pagerduty_lake)"
        " and point DevLake's or any Grafana at that database"
    ]


def test_run_refuses_a_devlake_database(devlake_lake, simulator, tmp_path) -> None:
    sim = simulator(seed=3, size=50, services=2, days=10)
    (tmp_path / "b.json").write_text(json.dumps(SEED_BLUEPRINT))
    (tmp_path / "c.json").write_text(
        json.dumps([{"id": 1, "name": "s", "endpoint": sim.url, "token": SIM_TOKEN}])
    )
    result = run_cli(
        devlake_lake,
        "run",
        "--blueprint",
        str(tmp_path / "b.json"),
        "--connections",
        str(tmp_path / "c.json"),
    )
    refusal(result, devlake_lake.name)
    assert sim.stats()["requests"] == 0
    untouched(devlake_lake)


def test_schedule_and_connections_refuse_a_devlake_database(devlake_lake, tmp_path) -> None:
    (tmp_path / "b.json").write_text(
        json.dumps({**SEED_BLUEPRINT, "isManual": False, "cronConfig": "0 * * * *"})
    )
    (tmp_path / "c.json").write_text(
        json.dumps([{"id": 1, "name": "s", "endpoint": "http://127.0.0.1:9", "token": "t"}])
    )
    scheduled = run_cli(
        devlake_lake,
        "schedule",
        "--blueprint",
        str(tmp_path / "b.json"),
        "--connections",
        str(tmp_path / "c.json"),
    )
    refusal(scheduled, devlake_lake.name)
    added = run_cli(
        devlake_lake,
        "connections",
        "add",
        "--name",
        "x",
        "--endpoint",
        "http://127.0.0.1:9",
        "--token-stdin",
        env={"ENCRYPTION_SECRET": "a-long-enough-secret"},
        stdin="token\n",
    )
    refusal(added, devlake_lake.name)
    untouched(devlake_lake)


def test_serve_refuses_a_devlake_database(devlake_lake) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", "0"],
        env={**os.environ, "DB_URL": db_url(devlake_lake), "ENCRYPTION_SECRET": "a-long-enough-secret"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    refusal(result, devlake_lake.name)
    untouched(devlake_lake)


def test_an_empty_database_is_taken_and_marked(database, simulator, tmp_path) -> None:
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database.name}`")
    sim = simulator(seed=3, size=50, services=2, days=10)
    (tmp_path / "b.json").write_text(json.dumps(SEED_BLUEPRINT))
    (tmp_path / "c.json").write_text(
        json.dumps([{"id": 1, "name": "s", "endpoint": sim.url, "token": SIM_TOKEN}])
    )
    result = run_cli(
        database,
        "run",
        "--blueprint",
        str(tmp_path / "b.json"),
        "--connections",
        str(tmp_path / "c.json"),
        "--skip-dbt",
    )
    assert result.returncode == 0, result.stderr
    with database.connect() as conn, conn.cursor() as cur:
        for name in (database.name, database.raw_name):
            cur.execute(f"SELECT note FROM `{name}`._pagerduty_dora")
            assert "created by pagerduty-dora" in cur.fetchone()[0]
