"""run.py driven as a user would: a subprocess, the real database, the simulator over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from .helpers import ROOT, SEED_BLUEPRINT, SIM_TOKEN, db_url, expected_mttr, query, run_cli, write_json


@pytest.fixture(scope="module")
def sim(simulator):
    return simulator(seed=21, size=400, services=3, days=200)


def run_blueprint(tmp_path: Path, database, blueprint, connections, env_extra=None, extra_args=()):
    """`run.py run` with this blueprint and these connections, written to files as a user would."""
    bp = write_json(tmp_path / "blueprint.json", blueprint)
    cn = write_json(tmp_path / "connections.json", connections)
    return run_cli(database, "run", "--blueprint", bp, "--connections", cn, *extra_args, env=env_extra)


def test_seed_blueprint_runs_verbatim(tmp_path, database, sim) -> None:
    conns = [{"id": 1, "name": "PagerDuty-test1", "endpoint": sim.url, "token": "${PD_TOKEN}"}]
    result = run_blueprint(tmp_path, database, SEED_BLUEPRINT, conns, {"PD_TOKEN": SIM_TOKEN})
    assert result.returncode == 0, result.stderr
    assert "400 incidents" in result.stdout and "first load" in result.stdout
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(400,)]
    assert SIM_TOKEN not in result.stdout + result.stderr


def test_bad_token_exits_1_with_one_clear_line_and_no_token(tmp_path, database, sim) -> None:
    token = "u+VeryS3cretToken"
    conns = [{"id": 1, "name": "PagerDuty-test1", "endpoint": sim.url, "token": token}]
    result = run_blueprint(tmp_path, database, SEED_BLUEPRINT, conns)
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
    result = run_blueprint(tmp_path, database, '{"name": "broken",\n  "settings": }', conns)
    assert result.returncode == 2
    assert "invalid JSON at line 2 column 15" in result.stderr
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        assert cur.fetchall() == ()


def test_unknown_connection_exits_2(tmp_path, database, sim) -> None:
    conns = [{"id": 2, "name": "other", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_blueprint(tmp_path, database, SEED_BLUEPRINT, conns)
    assert result.returncode == 2
    assert "settings.connections[0].connectionId: no PagerDuty connection with id 1" in result.stderr


def test_sigterm_stops_the_run_with_exit_130_and_nothing_committed(tmp_path, database, sim) -> None:
    """An orchestrator's SIGTERM mid-collection: exit 130, one line, nothing of the load visible, the run's
    record failed; the next run loads everything."""
    bp = write_json(tmp_path / "b.json", SEED_BLUEPRINT)
    cn = write_json(tmp_path / "c.json", [{"id": 1, "name": "sim", "endpoint": sim.url, "token": SIM_TOKEN}])
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "run", "--blueprint", bp, "--connections", cn],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DB_URL": db_url(database), "PAGERDUTY_DORA_PAUSE_AT": "collect:incidents"},
        cwd=ROOT,
    )
    while "paused at collect:incidents" not in proc.stderr.readline():
        assert proc.poll() is None
    proc.terminate()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [
        "error: interrupted; the interrupted load was not committed"
    ]
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(0,)]
    assert query(database, "SELECT status FROM _loads") == [("pending",)]  # its process is gone: the next run
    # deletes its rows
    assert query(database, "SELECT status, message FROM _devlake_pipelines", database=database.name) == [
        ("TASK_FAILED", "interrupted")
    ]
    again = run_cli(database, "run", "--blueprint", bp, "--connections", cn, "--skip-dbt")
    assert again.returncode == 0, again.stderr
    assert "400 incidents (first load)" in again.stdout
    assert query(database, "SELECT COUNT(*) FROM incidents") == [(400,)]
    assert query(database, "SELECT status FROM _loads ORDER BY started_at") == [
        ("abandoned",),
        ("completed",),
    ]


def test_bad_deployments_csv_exits_2_before_writing(tmp_path, database, sim) -> None:
    bad = tmp_path / "deploys.csv"
    bad.write_text("id,service_id,finished_at\nx,PSVC001,2026-01-01T00:00:00Z\n")
    conns = [{"id": 1, "name": "x", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_blueprint(tmp_path, database, SEED_BLUEPRINT, conns, extra_args=("--deployments", str(bad)))
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
    result = run_blueprint(tmp_path, database, blueprint, conns)
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
    result = run_blueprint(tmp_path, database, blueprint, conns)
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
    result = run_blueprint(tmp_path, database, blueprint, conns)
    assert result.returncode == 0, result.stderr
    assert query(
        database, "SELECT connection_id, COUNT(*) FROM incidents GROUP BY connection_id ORDER BY 1"
    ) == [(1, 400), (2, 400)]
    assert query(database, "SELECT COUNT(*) FROM issues", database=database.name) == [(800,)]


def test_json_lines_log_mode(tmp_path, database, sim) -> None:
    conns = [{"id": 1, "name": "PagerDuty-test1", "endpoint": sim.url, "token": SIM_TOKEN}]
    result = run_blueprint(tmp_path, database, SEED_BLUEPRINT, conns, extra_args=("--log-format", "json"))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    events = {r["event"]: r for r in records}
    assert all({"time", "level", "event", "message"} <= set(r) for r in records)
    assert events["summary"]["incidents"] == 400 and events["summary"]["scopes_loaded"] == 1
    assert events["dbt"]["success"] is True
    assert query(database, "SELECT id, status FROM _devlake_pipelines", database=database.name) == [
        (events["pipeline"]["pipeline_id"], "TASK_COMPLETED")
    ]
    # the last three months' MTTR, newest first, as computed by hand from the simulator's incidents
    mttr = [
        (r["month"], r["resolved_incidents"], r["mttr_minutes"], r["level"])
        for r in records
        if r["event"] == "mttr"
    ]
    start = datetime.fromisoformat("2022-06-01T15:04:05+00:00")  # the seed blueprint's start_date
    assert (
        mttr
        == [(f"{m:%Y-%m}", n, minutes, level) for m, n, minutes, level in expected_mttr(sim, start)][::-1][:3]
    )
    assert len(mttr) == 3
    # and MTTA beside it: the lower median of seconds to the first acknowledge entry, by month of creation
    mtta = [
        (r["month"], r["acknowledged_incidents"], r["mtta_seconds"]) for r in records if r["event"] == "mtta"
    ]
    assert mtta == expected_mtta(sim, start)[::-1][:3] and len(mtta) == 3


def expected_mtta(sim, start: datetime) -> list[tuple[str, int, int]]:
    """(month, acknowledged incidents, lower median of seconds to the first acknowledgement) by UTC month of
    creation, from the simulator's log entries as the API renders them."""
    ds = sim.dataset
    by_month: dict[str, list[int]] = {}
    for slot in range(len(ds)):
        created = datetime.fromisoformat(ds.render(slot)["created_at"])
        acks = [
            datetime.fromisoformat(entry["created_at"])
            for entry in (ds.log_entry(slot, seq) for seq in range(len(ds.events(slot))))
            if entry["type"] == "acknowledge_log_entry"
        ]
        if created >= start and acks:
            by_month.setdefault(f"{created:%Y-%m}", []).append(int((min(acks) - created).total_seconds()))
    return [
        (month, len(values), sorted(values)[(len(values) - 1) // 2])
        for month, values in sorted(by_month.items())
    ]


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
    result = run_blueprint(tmp_path, database, blueprint, conns)
    assert result.returncode == 2
    assert message in result.stderr
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        assert cur.fetchall() == ()
    assert sim.stats()["requests"] == requests_before  # validation comes before any call to PagerDuty


def test_run_without_connections_file_and_none_saved(tmp_path, database, sim) -> None:
    bp = write_json(tmp_path / "blueprint.json", SEED_BLUEPRINT)
    result = run_cli(database, "run", "--blueprint", bp, env={"ENCRYPTION_SECRET": "some-secret-1234"})
    assert result.returncode == 2
    assert "no PagerDuty connection with id 1" in result.stderr
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (database.name + "%",))
        assert cur.fetchall() == ()
