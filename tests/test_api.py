"""`run.py serve` as a real server process: the seed's curl commands run literally, then DevLake's
connection, blueprint and pipeline endpoints and their edge cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
import requests

from runner.connections.store import ConnectionStore

from .helpers import (
    ROOT,
    SECRET,
    SEED_BLUEPRINT,
    SIM_TOKEN,
    expected_mttr,
    query,
    serve,
    wait_for_pipeline,
)


@pytest.fixture
def sim(simulator):
    return simulator(seed=51, size=300, services=2, days=60)


@pytest.fixture
def api(database):
    proc, base = serve(database)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def curl(command: str, base: str) -> dict:
    """Run a curl command from the seed as written, pointed at this server."""
    result = subprocess.run(
        ["bash", "-c", command.replace("http://localhost:8080", base) + " --silent --show-error"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


SEED_CURL_CONNECTION = """curl --location --request POST 'http://localhost:8080/plugins/pagerduty/connections' \\
--header 'Content-Type: application/json' \\
--data-raw '{
    "name": "PagerDuty-test1",
    "endpoint": "https://api.PagerDuty.com",
    "token": "<api-access-token>"
}'"""

SEED_CURL_BLUEPRINT = (
    """curl --location --request POST 'http://localhost:8080/blueprints' \\
--header 'Content-Type: application/json' \\
--data-raw '"""
    + json.dumps(SEED_BLUEPRINT, indent=4)
    + "'"
)

SEED_CURL_TRIGGER = """curl --location --request POST 'http://localhost:8080/blueprints/<blueprintId>/trigger' \\
--header 'Content-Type: application/json'"""


def test_seed_curl_commands_verbatim(api, database, sim) -> None:
    connection = curl(SEED_CURL_CONNECTION, api)
    assert connection["id"] == 1 and connection["name"] == "PagerDuty-test1"
    assert connection["token"] == "********" and "<api-access-token>" not in json.dumps(connection)
    # the seed's endpoint is the real PagerDuty: point the connection at the simulator instead
    patched = requests.patch(
        f"{api}/plugins/pagerduty/connections/1", json={"endpoint": sim.url, "token": SIM_TOKEN}, timeout=10
    )
    assert patched.status_code == 200 and SIM_TOKEN not in patched.text

    blueprint = curl(SEED_CURL_BLUEPRINT, api)
    assert blueprint["name"] == "test-blueprint" and blueprint["id"] == 1

    pipeline = curl(SEED_CURL_TRIGGER.replace("<blueprintId>", str(blueprint["id"])), api)
    assert pipeline["status"] in ("TASK_CREATED", "TASK_RUNNING")
    done = wait_for_pipeline(api, pipeline["id"])
    assert done["status"] == "TASK_COMPLETED", done
    assert done["incidents"] == 300 and done["dbtResult"].startswith("dbt build:")
    assert query(database, "SELECT COUNT(*) FROM issues WHERE type = 'INCIDENT'", database=database.name) == [
        (300,)
    ]
    # every month's MTTR as computed by hand from the simulator's incidents
    start = datetime.fromisoformat(
        SEED_BLUEPRINT["settings"]["connections"][0]["scope"][0]["options"]["start_date"].replace(
            "Z", "+00:00"
        )
    )
    assert query(
        database,
        "SELECT month, resolved_incidents, mttr_minutes, level FROM dora_mttr_monthly ORDER BY month",
        database=database.name,
    ) == expected_mttr(sim, start)
    listed = requests.get(f"{api}/blueprints/1/pipelines", timeout=10).json()
    assert listed["count"] == 1 and listed["pipelines"][0]["id"] == pipeline["id"]


def test_connection_crud_masks_tokens_and_refuses_bad_input(api, database, sim) -> None:
    created = requests.post(
        f"{api}/plugins/pagerduty/connections",
        json={"name": "a", "endpoint": sim.url, "token": SIM_TOKEN, "rateLimitPerHour": 3000},
    )
    assert created.status_code == 201
    for response in (
        created,
        requests.get(f"{api}/plugins/pagerduty/connections"),
        requests.get(f"{api}/plugins/pagerduty/connections/1"),
    ):
        assert SIM_TOKEN not in response.text and "********" in response.text
    assert requests.post(f"{api}/plugins/pagerduty/connections/1/test").json()["success"] is True
    tested = requests.post(
        f"{api}/plugins/pagerduty/test", json={"name": "x", "endpoint": sim.url, "token": "nope"}
    )
    assert tested.status_code == 400 and tested.json()["success"] is False

    malformed = requests.post(
        f"{api}/plugins/pagerduty/connections", data="{not json", headers={"Content-Type": "application/json"}
    )
    wrong_type = requests.post(
        f"{api}/plugins/pagerduty/connections",
        json={"name": "b", "endpoint": sim.url, "token": "t", "rateLimitPerHour": "many"},
    )
    unknown = requests.post(
        f"{api}/plugins/pagerduty/connections",
        json={"name": "b", "endpoint": sim.url, "token": "t", "colour": "red"},
    )
    duplicate = requests.post(
        f"{api}/plugins/pagerduty/connections", json={"name": "a", "endpoint": sim.url, "token": "t"}
    )
    huge = requests.post(
        f"{api}/plugins/pagerduty/connections",
        data="x" * 1_100_000,
        headers={"Content-Type": "application/json"},
    )
    assert [r.status_code for r in (malformed, wrong_type, unknown, duplicate, huge)] == [
        400,
        400,
        400,
        400,
        413,
    ]
    assert "rateLimitPerHour" in wrong_type.json()["message"] and "colour" in unknown.json()["message"]
    assert query(database, "SELECT COUNT(*) FROM _tool_pagerduty_connections", database=database.name) == [
        (1,)
    ]

    assert requests.get(f"{api}/plugins/pagerduty/connections/9").status_code == 404
    assert requests.get(f"{api}/blueprints/9").status_code == 404
    assert requests.get(f"{api}/pipelines/9").status_code == 404
    assert requests.delete(f"{api}/plugins/pagerduty/connections/1").status_code == 200
    assert requests.get(f"{api}/plugins/pagerduty/connections").json() == []


def test_blueprint_errors_and_conflict(api, database, sim) -> None:
    sim.set_faults(slow_every=1, slow_seconds=0.4)
    requests.post(
        f"{api}/plugins/pagerduty/connections", json={"name": "s", "endpoint": sim.url, "token": SIM_TOKEN}
    )
    bad_plugin = json.loads(json.dumps(SEED_BLUEPRINT))
    bad_plugin["settings"]["connections"][0]["plugin"] = "jira"
    unknown_conn = json.loads(json.dumps(SEED_BLUEPRINT))
    unknown_conn["settings"]["connections"][0]["connectionId"] = 7
    for body, message in (
        (bad_plugin, "'jira' is not supported"),
        (unknown_conn, "no PagerDuty connection with id 7"),
        ({**SEED_BLUEPRINT, "surprise": 1}, "unknown field(s) surprise"),
    ):
        response = requests.post(f"{api}/blueprints", json=body)
        assert response.status_code == 400 and message in response.json()["message"]
    assert requests.get(f"{api}/blueprints").json()["count"] == 0

    blueprint = requests.post(f"{api}/blueprints", json=SEED_BLUEPRINT).json()
    first = requests.post(f"{api}/blueprints/{blueprint['id']}/trigger").json()
    second = requests.post(f"{api}/blueprints/{blueprint['id']}/trigger")
    assert second.status_code == 409 and second.json()["pipelineId"] == first["id"]
    sim.set_faults()
    assert wait_for_pipeline(api, first["id"])["status"] == "TASK_COMPLETED"
    renamed = requests.patch(f"{api}/blueprints/{blueprint['id']}", json={"name": "renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    assert requests.delete(f"{api}/blueprints/{blueprint['id']}").status_code == 200


def test_cron_blueprint_fires_on_its_own(api, database, sim) -> None:
    requests.post(
        f"{api}/plugins/pagerduty/connections", json={"name": "s", "endpoint": sim.url, "token": SIM_TOKEN}
    )
    body = {**SEED_BLUEPRINT, "isManual": False, "cronConfig": "*/3 * * * * *", "name": "every-3-seconds"}
    blueprint = requests.post(f"{api}/blueprints", json=body).json()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = requests.get(f"{api}/blueprints/{blueprint['id']}/pipelines").json()["pipelines"]
        if len([r for r in runs if r["status"] == "TASK_COMPLETED"]) >= 2:
            break
        time.sleep(1)
    else:
        raise AssertionError("the cron blueprint did not run twice")
    disabled = requests.patch(f"{api}/blueprints/{blueprint['id']}", json={"enable": False})
    assert disabled.status_code == 200 and disabled.json()["enable"] is False
    time.sleep(1)  # a tick that read the blueprint before the change has recorded its run by now
    settled = max(r["id"] for r in requests.get(f"{api}/pipelines").json()["pipelines"])
    for run in requests.get(f"{api}/blueprints/{blueprint['id']}/pipelines").json()["pipelines"]:
        wait_for_pipeline(api, run["id"])
    # two more ticks of "*/3 * * * * *" with nothing running: a disabled blueprint starts nothing
    time.sleep(7)
    assert max(r["id"] for r in requests.get(f"{api}/pipelines").json()["pipelines"]) == settled


def test_restart_marks_abandoned_pipelines_failed(database) -> None:
    """Records whose process is gone (API or CLI alike) are failed when the server starts; a record whose
    process still runs (it holds its owner lock: here, this test) is left running."""
    proc, base = serve(database)
    proc.terminate()
    proc.wait(timeout=30)
    alive = database.connect(database.name)
    try:
        with alive.cursor() as cur:
            cur.execute("SELECT GET_LOCK('pdd:pipeline:still-running', 0)")
            cur.execute(
                "INSERT INTO _devlake_pipelines (blueprint_id, blueprint_name, status, began_at, owner)"
                " VALUES (1, 'x', 'TASK_RUNNING', NOW(), 'gone-1'), (NULL, 'cli-run', 'TASK_RUNNING', NOW(), 'gone-2'),"
                " (NULL, 'cli-run', 'TASK_RUNNING', NOW(), 'still-running')"
            )
        proc, base = serve(database)
        try:
            for pipeline_id in (1, 2):
                pipeline = requests.get(f"{base}/pipelines/{pipeline_id}", timeout=10).json()
                assert (
                    pipeline["status"] == "TASK_FAILED"
                    and "stopped before it finished" in pipeline["message"]
                )
            assert requests.get(f"{base}/pipelines/3", timeout=10).json()["status"] == "TASK_RUNNING"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        alive.close()


def test_api_token_guards_everything_but_ping(database) -> None:
    proc, base = serve(database, API_TOKEN="s3cret-api-token")
    try:
        assert requests.get(f"{base}/ping", timeout=10).status_code == 200
        assert requests.get(f"{base}/blueprints", timeout=10).status_code == 401
        ok = requests.get(
            f"{base}/blueprints", headers={"Authorization": "Bearer s3cret-api-token"}, timeout=10
        )
        assert ok.status_code == 200
        assert requests.get(
            f"{base}/openapi.json", headers={"Authorization": "Bearer s3cret-api-token"}, timeout=10
        ).json()["paths"]["/blueprints/{blueprint_id}/trigger"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_api_and_cli_share_connections_and_pipelines(api, database, sim) -> None:
    env = {
        **os.environ,
        "DB_URL": f"mysql://root@{database.host}:{database.port}/{database.name}",
        "ENCRYPTION_SECRET": SECRET,
        "PD_TOKEN": SIM_TOKEN,
    }
    added = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "connections",
            "add",
            "--name",
            "from-cli",
            "--endpoint",
            sim.url,
            "--token-env",
            "PD_TOKEN",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    assert [c["name"] for c in requests.get(f"{api}/plugins/pagerduty/connections").json()] == ["from-cli"]
    requests.post(
        f"{api}/plugins/pagerduty/connections",
        json={"name": "from-api", "endpoint": sim.url, "token": SIM_TOKEN},
    )
    listed = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "connections", "list"], env=env, capture_output=True, text=True
    )
    assert "from-cli" in listed.stdout and "from-api" in listed.stdout and SIM_TOKEN not in listed.stdout
    blueprint = requests.post(f"{api}/blueprints", json=SEED_BLUEPRINT).json()
    pipeline = requests.post(f"{api}/blueprints/{blueprint['id']}/trigger").json()
    wait_for_pipeline(api, pipeline["id"])
    shown = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "pipelines", "show", str(pipeline["id"])],
        env=env,
        capture_output=True,
        text=True,
    )
    assert json.loads(shown.stdout)["status"] == "TASK_COMPLETED"


def test_stopping_mid_pipeline_is_prompt_and_recorded(database, sim, tmp_path) -> None:
    sim.set_faults(slow_every=1, slow_seconds=0.5)
    proc, base = serve(database, TMPDIR=str(tmp_path))
    try:
        requests.post(
            f"{base}/plugins/pagerduty/connections",
            json={"name": "s", "endpoint": sim.url, "token": SIM_TOKEN},
        )
        blueprint = requests.post(f"{base}/blueprints", json=SEED_BLUEPRINT).json()
        pipeline = requests.post(f"{base}/blueprints/{blueprint['id']}/trigger").json()
        time.sleep(1.5)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    rows = query(
        database,
        "SELECT status, message FROM _devlake_pipelines WHERE id = %s",
        pipeline["id"],
        database=database.name,
    )
    assert rows == [
        (
            "TASK_FAILED",
            "the process running this pipeline stopped before it finished (killed, or the server stopped)",
        )
    ]
    assert list(tmp_path.iterdir()) == []  # nor any of its incident data in the temp directory


def test_a_connection_read_and_sent_back_keeps_its_token(api, database, simulator) -> None:
    """DevLake clients PATCH back the object they read: the masked token (and proxy password) mean
    "unchanged", and the read-only fields are ignored; the next run uses the real token."""
    small = simulator(seed=52, size=40, services=2, days=30)
    conn_url = f"{api}/plugins/pagerduty/connections"
    assert requests.post(conn_url, json={"name": "pd", "endpoint": small.url, "token": SIM_TOKEN}).ok
    shown = requests.get(f"{conn_url}/1").json()
    assert shown["token"] == "********"
    only_token = requests.patch(f"{conn_url}/1", json={"name": "pd", "token": shown["token"]})
    assert only_token.status_code == 200, only_token.text
    whole = requests.patch(f"{conn_url}/1", json=shown)
    assert whole.status_code == 200, whole.text
    assert {k: v for k, v in whole.json().items() if k != "updatedAt"} == {
        k: v for k, v in shown.items() if k != "updatedAt"
    }
    blueprint = requests.post(f"{api}/blueprints", json=SEED_BLUEPRINT).json()
    pipeline = requests.post(f"{api}/blueprints/{blueprint['id']}/trigger").json()
    done = wait_for_pipeline(api, pipeline["id"])
    assert done["status"] == "TASK_COMPLETED" and done["incidents"] == 40, (
        done
    )  # the simulator took the token

    proxy = "http://proxy-user:proxy-pass-31@127.0.0.1:3128"
    assert requests.post(
        conn_url, json={"name": "px", "endpoint": small.url, "token": "second-token", "proxy": proxy}
    ).ok
    shown = requests.get(f"{conn_url}/2").json()
    assert shown["proxy"] == "http://proxy-user:********@127.0.0.1:3128"
    assert requests.patch(f"{conn_url}/2", json=shown).status_code == 200
    saved = ConnectionStore(database, {"ENCRYPTION_SECRET": SECRET}).spec(2)
    assert (saved.token, saved.proxy) == ("second-token", proxy)

    masked = requests.post(conn_url, json={"name": "m", "endpoint": small.url, "token": "********"})
    assert masked.status_code == 400 and "token" in masked.json()["message"]
