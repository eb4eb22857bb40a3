"""run.py driven as a user would: a subprocess, the real database, the simulator over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.data import generate
from simulator.server import SimulatorServer

from .conftest import SIM_TOKEN, query

ROOT = Path(__file__).resolve().parent.parent
SEED_BLUEPRINT = json.loads((ROOT / "examples" / "blueprint.json").read_text())


@pytest.fixture(scope="module")
def sim():
    server = SimulatorServer(generate(seed=21, size=400, services=3, days=200), token=SIM_TOKEN)
    server.start()
    yield server
    server.stop()


def run_cli(
    tmp_path: Path, database, blueprint, connections, env_extra=None, extra_args=()
) -> subprocess.CompletedProcess:
    bp = tmp_path / "blueprint.json"
    bp.write_text(blueprint if isinstance(blueprint, str) else json.dumps(blueprint))
    cn = tmp_path / "connections.json"
    cn.write_text(json.dumps(connections))
    env = {**os.environ, "DB_URL": f"mysql://root@{database.host}:{database.port}/{database.name}"}
    env.update(env_extra or {})
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "run",
            "--blueprint",
            str(bp),
            "--connections",
            str(cn),
            *extra_args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_seed_blueprint_runs_verbatim(tmp_path, database, sim) -> None:
    conns = [{"id": 1, "name": "PagerDuty-test1", "endpoint": sim.url, "token": "${PD_TOKEN}"}]
    result = run_cli(tmp_path, database, SEED_BLUEPRINT, conns, {"PD_TOKEN": SIM_TOKEN})
    assert result.returncode == 0, result.stderr
    assert "400 incidents" in result.stdout and "first load" in result.stdout
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(400,)]
    assert SIM_TOKEN not in result.stdout + result.stderr


def test_bad_token_exits_1_with_one_clear_line_and_no_token(tmp_path, database, sim) -> None:
    token = "u+VeryS3cretToken"
    conns = [{"id": 1, "name": "PagerDuty-test1", "endpoint": sim.url, "token": token}]
    result = run_cli(tmp_path, database, SEED_BLUEPRINT, conns)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: connection 'PagerDuty-test1' (id 1): PagerDuty refused the token"
        " (HTTP 401 on GET /incidents); check the connection's token and its permissions"
    ]
    assert token not in result.stdout + result.stderr
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(0,)]


def test_malformed_blueprint_exits_2_and_writes_nothing(tmp_path, database, sim) -> None:
    conns = [{"id": 1, "name": "x", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_cli(tmp_path, database, '{"name": "broken",\n  "settings": }', conns)
    assert result.returncode == 2
    assert "invalid JSON at line 2 column 15" in result.stderr
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        assert cur.fetchall() == ()


def test_unknown_connection_exits_2(tmp_path, database, sim) -> None:
    conns = [{"id": 2, "name": "other", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_cli(tmp_path, database, SEED_BLUEPRINT, conns)
    assert result.returncode == 2
    assert "settings.connections[0].connectionId: no PagerDuty connection with id 1" in result.stderr


def test_sigterm_stops_the_run_with_exit_130(tmp_path, database) -> None:
    server = SimulatorServer(generate(seed=8, size=3000, services=2, days=100), token=SIM_TOKEN)
    server.start()
    server.set_faults(slow_every=1, slow_seconds=0.3)
    try:
        bp, cn = tmp_path / "b.json", tmp_path / "c.json"
        bp.write_text(json.dumps(SEED_BLUEPRINT))
        cn.write_text(json.dumps([{"id": 1, "name": "slow", "endpoint": server.url, "token": SIM_TOKEN}]))
        env = {**os.environ, "DB_URL": f"mysql://root@{database.host}:{database.port}/{database.name}"}
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "run", "--blueprint", str(bp), "--connections", str(cn)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        import time

        time.sleep(4)
        proc.terminate()
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "error: interrupted" in stderr
    finally:
        server.stop()


def test_bad_deployments_csv_exits_2_before_writing(tmp_path, database, sim) -> None:
    bad = tmp_path / "deploys.csv"
    bad.write_text("id,service_id,finished_at\nx,PSVC001,2026-01-01T00:00:00Z\n")
    conns = [{"id": 1, "name": "x", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_cli(tmp_path, database, SEED_BLUEPRINT, conns, extra_args=("--deployments", str(bad)))
    assert result.returncode == 2
    assert "missing column(s) result, environment" in result.stderr
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        assert cur.fetchall() == ()


def test_v2_blueprint_loads_only_the_named_service(tmp_path, database, sim) -> None:
    service_id = sim.dataset.entities.service_ids[1]
    blueprint = {
        "name": "one-service",
        "mode": "NORMAL",
        "enable": True,
        "cronConfig": "manual",
        "settings": {
            "version": "2.0.0",
            "connections": [
                {"pluginName": "pagerduty", "connectionId": 1, "scopes": [{"scopeId": service_id}]}
            ],
        },
    }
    conns = [{"id": 1, "name": "sim", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_cli(tmp_path, database, blueprint, conns)
    assert result.returncode == 0, result.stderr
    expected = sum(
        1 for slot in range(len(sim.dataset)) if sim.dataset.render(slot)["service"]["id"] == service_id
    )
    assert 0 < expected < 400
    assert query(database, "SELECT COUNT(*), COUNT(DISTINCT service_id) FROM incidents") == [(expected, 1)]
    assert query(database, "SELECT id FROM services") == [(service_id,)]


def test_two_connections_side_by_side_one_failing(tmp_path, database, sim) -> None:
    blueprint = json.loads(json.dumps(SEED_BLUEPRINT))
    good = blueprint["settings"]["connections"][0]
    bad = json.loads(json.dumps(good))
    bad["connectionId"] = 2
    bad["scope"][0]["options"]["connectionId"] = 2
    blueprint["settings"]["connections"].append(bad)
    conns = [
        {"id": 1, "name": "good", "endpoint": sim.url, "token": SIM_TOKEN},
        {"id": 2, "name": "bad", "endpoint": sim.url, "token": "not-the-token"},
    ]
    result = run_cli(tmp_path, database, blueprint, conns)
    assert result.returncode == 1
    assert "error: connection 'bad' (id 2): PagerDuty refused the token" in result.stderr
    assert "1 of 2 scopes loaded, 400 incidents" in result.stdout
    assert query(database, "SELECT connection_id, COUNT(*) FROM incidents GROUP BY connection_id") == [
        (1, 400)
    ]
    # the good connection's data went all the way through dbt
    assert query(database, "SELECT COUNT(*) FROM issues", database=database.name) == [(400,)]


def test_two_good_connections_collected_side_by_side(tmp_path, database, sim) -> None:
    blueprint = json.loads(json.dumps(SEED_BLUEPRINT))
    second = json.loads(json.dumps(blueprint["settings"]["connections"][0]))
    second["connectionId"] = 2
    second["scope"][0]["options"]["connectionId"] = 2
    blueprint["settings"]["connections"].append(second)
    conns = [{"id": i, "name": f"c{i}", "endpoint": sim.url, "token": SIM_TOKEN} for i in (1, 2)]
    result = run_cli(tmp_path, database, blueprint, conns)
    assert result.returncode == 0, result.stderr
    assert query(
        database, "SELECT connection_id, COUNT(*) FROM incidents GROUP BY connection_id ORDER BY 1"
    ) == [(1, 400), (2, 400)]
    assert query(database, "SELECT COUNT(*) FROM issues", database=database.name) == [(800,)]


def test_json_lines_log_mode(tmp_path, database, sim) -> None:
    conns = [{"id": 1, "name": "PagerDuty-test1", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_cli(tmp_path, database, SEED_BLUEPRINT, conns, extra_args=("--log-format", "json"))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    events = {r["event"]: r for r in records}
    assert all({"time", "level", "event", "message"} <= set(r) for r in records)
    assert events["summary"]["incidents"] == 400 and events["summary"]["scopes_loaded"] == 1
    assert events["dbt"]["success"] is True
    assert "mttr" in events and "pipeline" in events


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"settings.connections.0.plugin": "GitLab"},
            "settings.connections[0].plugin: 'GitLab' is not supported",
        ),
        ({"settings.connections.0.scope.0.entities": ["CROSS"]}, "entities: ['CROSS'] not supported"),
        ({"settings.connections.0.scope.0.options.start_date": "2999-01-01T00:00:00Z"}, "is in the future"),
        ({"settings.connections.0.scope.0.options.connectionId": 9}, "disagrees with connectionId 1"),
        ({"enable": False}, "enable: the blueprint is disabled (enable: false); pass --force"),
        ({"mode": "ADVANCED"}, "mode: 'ADVANCED' is not supported"),
        ({"settings.version": "0.9"}, "settings.version: '0.9' is not supported"),
    ],
)
def test_invalid_blueprints_exit_2_and_touch_nothing(tmp_path, database, sim, change, message) -> None:
    blueprint = json.loads(json.dumps(SEED_BLUEPRINT))
    for path, value in change.items():
        *parents, last = path.split(".")
        target = blueprint
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    conns = [{"id": 1, "name": "x", "endpoint": sim.url, "token": SIM_TOKEN}]
    requests_before = sim.stats()["requests"]
    result = run_cli(tmp_path, database, blueprint, conns)
    assert result.returncode == 2
    assert message in result.stderr
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        assert cur.fetchall() == ()
    assert sim.stats()["requests"] == requests_before  # validation comes before any call to PagerDuty


def test_run_without_connections_file_and_none_saved(tmp_path, database, sim) -> None:
    bp = tmp_path / "blueprint.json"
    bp.write_text(json.dumps(SEED_BLUEPRINT))
    env = {
        **os.environ,
        "DB_URL": f"mysql://root@{database.host}:{database.port}/{database.name}",
        "ENCRYPTION_SECRET": "some-secret-123",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "run", "--blueprint", str(bp)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert "no PagerDuty connection with id 1" in result.stderr
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        assert cur.fetchall() == ()
