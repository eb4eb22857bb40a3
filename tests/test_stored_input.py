"""API security, round 3, item 3: stored input cannot break the server.

Blueprints that could not be read back (too deep, a lone surrogate) or that mean something else than they
say (`"enable": "false"`) are refused before anything is saved, and rows an earlier version saved are shown
and deleted without a 500. An idle server does not re-read large blueprints; slow clients are cut off while
`/ping` keeps answering; a cron that fires every second never overlaps its own runs.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import time
from pathlib import Path

import pytest
import requests

from runner.api import blueprint_store
from runner.lake_tables import connect_with_table

from .helpers import SEED_BLUEPRINT, SIM_TOKEN, serve, wait_for_pipeline
from .test_security import add, stop, stored

V2 = {
    "name": "v2",
    "settings": {
        "version": "2.0.0",
        "connections": [{"pluginName": "pagerduty", "connectionId": 1, "scopes": [{"scopeId": "PA"}]}],
    },
}


def post_raw(base: str, text: str) -> requests.Response:
    return requests.post(
        f"{base}/blueprints", data=text.encode(), headers={"Content-Type": "application/json"}, timeout=30
    )


def save_as_an_earlier_version(database, name: str, text: str) -> None:
    """A row as an earlier version saved it, its body written as given."""
    with connect_with_table(database, blueprint_store._DDL) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO _devlake_blueprints (name, body, created_at, updated_at) VALUES (%s, %s, NOW(), NOW())",
            (name, text),
        )


@pytest.fixture
def server(database):
    proc, base = serve(database)
    assert add(base, "pd", "http://127.0.0.1:9").status_code == 201
    yield base
    stop(proc)


def test_deep_and_lone_surrogate_blueprints_are_refused_and_never_break_listing(database, server) -> None:
    head = json.dumps(V2)[:-1]
    deep = head + ', "plan": ' + "[" * 300 + "]" * 300 + "}"
    for text, message in (
        (deep, "plan" + "[0]" * 31 + ": nested deeper than 32 levels"),
        (head + ', "description": "\\ud800"}', "description: not valid Unicode"),
        (head + ', "labels": ["ok", "\\udfff"]}', "labels[1]: not valid Unicode"),
        (head + ', "\\ud800": 1}', "body: a key: not valid Unicode"),
        (json.dumps(V2).replace('"PA"', '"\\ud800"'), "settings.connections[0].scopes[0].scopeId: not valid"),
    ):
        response = post_raw(server, text)
        assert response.status_code == 400 and message in response.json()["message"], response.text
    listed = requests.get(f"{server}/blueprints", timeout=10)
    assert listed.status_code == 200 and listed.json()["count"] == 0
    assert requests.post(f"{server}/blueprints", json=V2, timeout=30).status_code == 201

    # rows an earlier version saved: listed (with why they cannot be used), shown, deleted; never a 500
    save_as_an_earlier_version(database, "deep", deep)
    save_as_an_earlier_version(
        database, "surrogate", head.replace('"v2"', '"surrogate"') + ', "x": "\\ud800"}'
    )
    listed = requests.get(f"{server}/blueprints", timeout=10)
    assert listed.status_code == 200, listed.text
    shown = {b["name"]: b for b in listed.json()["blueprints"]}
    assert "bodyError" not in shown["v2"] and "nested deeper" in shown["deep"]["bodyError"]
    assert "not valid Unicode" in shown["surrogate"]["bodyError"]
    for name in ("deep", "surrogate"):
        blueprint_id = shown[name]["id"]
        assert requests.get(f"{server}/blueprints/{blueprint_id}", timeout=10).status_code == 200
        triggered = requests.post(f"{server}/blueprints/{blueprint_id}/trigger", timeout=10)
        assert triggered.status_code == 200  # a pipeline that fails, saying why
        assert "settings: required" in wait_for_pipeline(server, triggered.json()["id"])["message"]
        deadline = time.monotonic() + 10  # the record is finished a moment before its slot is given back
        while (
            deleted := requests.delete(f"{server}/blueprints/{blueprint_id}", timeout=10)
        ).status_code == 409:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert deleted.status_code == 200
    assert requests.get(f"{server}/blueprints", timeout=10).json()["count"] == 1


def test_booleans_and_integers_are_json_booleans_and_integers(database, server) -> None:
    for field, value in (
        ("enable", "false"),
        ("enable", None),
        ("isManual", 0),
        ("isManual", "true"),
        ("skipOnFail", 1),
        ("description", 5),
        ("mode", None),
        ("labels", "one"),
        ("labels", [1]),
    ):
        response = requests.post(f"{server}/blueprints", json={**V2, field: value}, timeout=30)
        assert response.status_code == 400 and response.json()["message"].startswith(f"{field}:"), (
            field,
            value,
        )
    assert requests.get(f"{server}/blueprints", timeout=10).json()["count"] == 0
    conn_url = f"{server}/plugins/pagerduty/connections"
    for value in (True, "5", 5.5):
        created = add(server, f"rate-{value}", "http://127.0.0.1:9", rateLimitPerHour=value)
        assert created.status_code == 400 and "rateLimitPerHour" in created.json()["message"], value
        patched = requests.patch(f"{conn_url}/1", json={"rateLimitPerHour": value}, timeout=30)
        assert patched.status_code == 400 and "rateLimitPerHour" in patched.json()["message"], value
    assert requests.get(f"{conn_url}/1", timeout=10).json()["rateLimitPerHour"] is None

    # saved by an earlier version: a string or a number never makes a blueprint scheduled
    every_second = {**SEED_BLUEPRINT, "cronConfig": "* * * * * *"}
    for name, extra in (("string", {"enable": "false", "isManual": False}), ("zero", {"isManual": 0})):
        save_as_an_earlier_version(database, name, json.dumps({**every_second, "name": name, **extra}))
    time.sleep(3)
    assert requests.get(f"{server}/pipelines", timeout=10).json()["count"] == 0


def test_unused_fields_are_capped_and_blueprints_counted(database) -> None:
    proc, base = serve(database, API_MAX_BLUEPRINTS="2")
    try:
        assert add(base, "pd", "http://127.0.0.1:9").status_code == 201
        for field, value in (
            ("description", "d" * 10_001),
            ("labels", ["l"] * 51),
            ("labels", ["l" * 256]),
            ("plan", [[{"plugin": "pagerduty", "options": {"n": i}}] for i in range(2_000)]),
            ("afterPlan", ["a" * 70_000]),
        ):
            response = requests.post(f"{base}/blueprints", json={**V2, field: value}, timeout=30)
            assert response.status_code == 400 and response.json()["message"].startswith(f"{field}:"), field
        for name in ("one", "two"):
            body = {**V2, "name": name, "description": "d" * 10_000, "labels": ["l"] * 50}
            assert requests.post(f"{base}/blueprints", json=body, timeout=30).status_code == 201
        third = requests.post(f"{base}/blueprints", json={**V2, "name": "three"}, timeout=30)
        assert third.status_code == 400 and "API_MAX_BLUEPRINTS" in third.json()["message"]
    finally:
        stop(proc)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_idle_server_does_not_reread_large_blueprints(database) -> None:
    """Twenty scheduled blueprints of about 960 kB (saved by an earlier version: the API caps the fields that
    made them large) cost an idle server next to nothing; before, it re-read and parsed them twice a second
    (scripts/idle_cpu.py: 53-65% of a core)."""
    from scripts.idle_cpu import blueprint

    proc, base = serve(database)
    try:
        assert add(base, "pd", "http://127.0.0.1:9").status_code == 201
        assert requests.get(f"{base}/blueprints", timeout=10).ok  # the table exists
        for index in range(20):
            body = blueprint(index, 960, "plan")
            save_as_an_earlier_version(database, body["name"], json.dumps(body))
        assert requests.get(f"{base}/blueprints", timeout=60).json()["count"] == 20
        time.sleep(2)
        before, started = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(10)
        share = (_cpu_seconds(proc.pid) - before) / (time.monotonic() - started)
        assert share < 0.10, f"{share:.0%} of a core"
        # a change is seen at once: the cache follows each row's revision
        patched = requests.patch(
            f"{base}/blueprints/3", json={"plan": [], "description": "changed"}, timeout=60
        )
        assert patched.status_code == 200, patched.text
        shown = {b["id"]: b for b in requests.get(f"{base}/blueprints", timeout=60).json()["blueprints"]}
        assert (
            shown[3]["description"] == "changed" and shown[3]["plan"] == [] and len(shown[4]["plan"]) > 1000
        )
        requests.delete(f"{base}/blueprints/4", timeout=30)
        assert 4 not in {b["id"] for b in requests.get(f"{base}/blueprints", timeout=60).json()["blueprints"]}
    finally:
        stop(proc)


def _closed(sock: socket.socket) -> bool:
    """Whether the server closed this connection (end of stream or reset); never waits."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b"" or _closed(sock)
    except BlockingIOError:  # nothing to read: still open
        return False
    except OSError:
        return True


def test_slow_clients_are_cut_off_and_ping_keeps_answering(database) -> None:
    """300 connections with unfinished headers or bodies, more than the cap (API_MAX_CONNECTIONS=100): the
    longest-waiting make room for new ones, every one is closed within its deadline (10 s for headers, 20 s
    for a body), trickling bytes do not extend it, and /ping answers throughout."""
    proc, base = serve(database, API_MAX_CONNECTIONS="100")
    port = int(base.rsplit(":", 1)[1])
    slow: list[socket.socket] = []
    try:
        started = time.monotonic()
        for index in range(300):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if index % 3 == 0:
                sock.sendall(b"GET /blueprints HTTP/1.1\r\nHost: localhost\r\n")  # headers never finished
            elif index % 3 == 1:
                sock.sendall(
                    b"POST /blueprints HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 5000\r\n\r\n{"
                )  # body never finished
            slow.append(sock)  # index % 3 == 2: nothing sent at all
        pings = []
        while time.monotonic() - started < 40 and not all(_closed(sock) for sock in slow):
            for sock in slow[:10]:  # these trickle their headers or body on
                try:
                    sock.send(b"X")
                except OSError:
                    pass
            asked = time.monotonic()
            assert requests.get(f"{base}/ping", timeout=5).status_code == 200
            pings.append(time.monotonic() - asked)
            time.sleep(1)
        took = time.monotonic() - started
        assert all(_closed(sock) for sock in slow), f"{sum(not _closed(s) for s in slow)} still open"
        assert took < 30 and max(pings) < 2.0, (took, max(pings))
        assert requests.get(f"{base}/blueprints", timeout=5).status_code == 200
    finally:
        for sock in slow:
            sock.close()
        stop(proc)


def test_a_cron_every_second_never_overlaps_and_notes_skipped_ticks(database, simulator) -> None:
    sim = simulator(seed=61, size=60, services=2, days=30)
    sim.set_faults(slow_every=1, slow_seconds=0.3)  # each run takes seconds: ticks come while it runs
    proc, base = serve(database)
    try:
        assert add(base, "pd", sim.url, SIM_TOKEN).status_code == 201
        body = {**copy.deepcopy(SEED_BLUEPRINT), "isManual": False, "cronConfig": "* * * * * *"}
        blueprint = requests.post(f"{base}/blueprints", json=body, timeout=30).json()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            runs = requests.get(f"{base}/blueprints/{blueprint['id']}/pipelines", timeout=10).json()[
                "pipelines"
            ]
            if len([r for r in runs if r["status"] != "TASK_RUNNING" and r["finishedAt"]]) >= 2:
                break
            time.sleep(1)
        else:
            raise AssertionError("the blueprint did not run twice")
        requests.patch(f"{base}/blueprints/{blueprint['id']}", json={"enable": False}, timeout=30)
        sim.set_faults()
        runs = [wait_for_pipeline(base, r["id"]) for r in reversed(runs)]
    finally:
        stop(proc)
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert later["beganAt"] >= earlier["finishedAt"], (earlier, later)  # never overlapping
    finished = runs[0]
    assert finished["status"] == "TASK_COMPLETED", finished
    assert "scheduled tick(s) skipped while this pipeline ran" in (finished["message"] or ""), finished
    skipped = int(finished["message"].split(" scheduled tick(s)")[0].rsplit(" ", 1)[-1])
    assert skipped >= 2
    assert stored(database, "SELECT COUNT(*) FROM _devlake_pipelines WHERE status = 'TASK_RUNNING'") == [(0,)]
