"""Issue 14, as an attacker would try it: each point against a real `run.py serve` on loopback (or the CLI, or
the store in process where the point is about storage), plus the endpoint policy's own unit tests.

A loopback listener stands in for "a host the caller picked": it records every byte it receives, and the
tests check that no server secret (ENCRYPTION_SECRET, AWS_SECRET_ACCESS_KEY, DB_URL) and no saved token
ever reaches it.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from ingestion.database import drop_databases, parse_db_url
from ingestion.pagerduty.endpoints import (
    EndpointPolicy,
    EndpointRefused,
    EndpointSettingError,
    check_endpoint,
    check_proxy,
    is_loopback_host,
    policy_from_env,
)
from runner.api import blueprint_store
from runner.connections import store as connection_store
from runner.connections.crypto import KDF_TABLE, SCRYPT_N, SecretError, derive_key, legacy_encrypt
from runner.connections.store import ConnectionStore
from runner.lake_tables import connect_with_table

from .helpers import (
    ROOT,
    SECRET,
    SEED_BLUEPRINT,
    SERVER_URL,
    SIM_TOKEN,
    free_port,
    query,
    serve,
    wait_for_pipeline,
)

AWS_SECRET = "aws-secret-key-9c1d7f3b5e"
API_TOKEN = "api-token-for-tests-3141-5926-5358979"


# ------------------------------------------------------------------------------------------------ helpers
class Listener:
    """A host the caller picked: an HTTP server on loopback that records every request whole (request line,
    headers, body) and answers as `mode` says: "pagerduty" (accepts any token, with extra fields),
    "error" (500 with a detailed error), "refuse" (401)."""

    def __init__(self, mode: str = "pagerduty", host: str = "127.0.0.1", port: int = 0) -> None:
        self.mode = mode
        self.received: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("latin-1") if length else ""
                listener.received.append(f"{self.requestline}\n{self.headers}\n{body}")
                status, payload = listener.answer(self.path)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Remote-Detail", "REMOTE-FIELD-header")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PATCH = do_PUT = do_DELETE = do_GET  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, dict]:
        if self.mode == "error":
            return 500, {"error": {"message": "REMOTE-FIELD-error", "code": 31337}}
        if self.mode == "refuse":
            return 401, {"error": {"message": "REMOTE-FIELD-refused", "code": 2006}}
        if path.startswith("/services"):
            return 200, {"services": [{"name": "REMOTE-FIELD-service"}], "total": 7, "extra": "REMOTE-FIELD"}
        return 200, {"abilities": ["REMOTE-FIELD-ability"], "extra": "REMOTE-FIELD"}

    def authorizations(self) -> set[str]:
        return {
            line.split(":", 1)[1].strip()
            for request in self.received
            for line in request.splitlines()
            if line.lower().startswith("authorization:")
        }

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """A host that never answers: it listens (the kernel completes connections) but never reads or writes."""

    def __enter__(self) -> Silent:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


def stop(proc: subprocess.Popen) -> str:
    """Stop a server (SIGTERM) and return what it wrote on stderr."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err or ""


def db_url(database) -> str:
    return f"mysql://root@{database.host}:{database.port}/{database.name}"


def cli(database, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DB_URL": db_url(database), "ENCRYPTION_SECRET": SECRET, "PD_TOKEN": SIM_TOKEN}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=120,
    )


def add(base: str, name: str, endpoint: str, token: str = SIM_TOKEN, **extra) -> requests.Response:
    body = {"name": name, "endpoint": endpoint, "token": token, **extra}
    return requests.post(f"{base}/plugins/pagerduty/connections", json=body, timeout=30)


def stored(database, sql: str, *args) -> list[tuple]:
    return query(database, sql, *args, database=database.name)


@pytest.fixture
def sim(simulator):
    return simulator(seed=14, size=200, services=2, days=60)


@pytest.fixture
def server(database):
    proc, base = serve(database, AWS_SECRET_ACCESS_KEY=AWS_SECRET)
    yield base
    stop(proc)


# ------------------------------------------------------------------------- 1. tokens are used as sent
def test_api_uses_tokens_as_sent_and_no_server_secret_leaves(database, server) -> None:
    secrets = {"ENCRYPTION_SECRET": SECRET, "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "DB_URL": db_url(database)}
    with Listener() as listener:
        for name in secrets:
            tested = requests.post(
                f"{server}/plugins/pagerduty/test",
                json={"name": "probe", "endpoint": listener.url, "token": f"${{{name}}}"},
                timeout=30,
            )
            assert tested.status_code == 200, tested.text
        saved = add(server, "saved", listener.url, "${AWS_SECRET_ACCESS_KEY}")
        assert saved.status_code == 201
        assert requests.post(f"{server}/plugins/pagerduty/connections/1/test", timeout=30).status_code == 200
    everything = "\n".join(listener.received)
    assert len(listener.received) == 8  # four tests, two requests each
    for value in secrets.values():
        assert value not in everything
    assert listener.authorizations() == {f"Token token=${{{name}}}" for name in secrets}


def test_cli_token_env_reads_the_named_variable_only(database, sim) -> None:
    added = cli(
        database, "connections", "add", "--name", "c", "--endpoint", sim.url, "--token-env", "PD_TOKEN"
    )
    assert added.returncode == 0, added.stderr
    assert "token accepted" in cli(database, "connections", "test", "1").stdout
    missing = cli(
        database, "connections", "add", "--name", "d", "--endpoint", sim.url, "--token-env", "NOPE_X"
    )
    assert missing.returncode == 2 and "NOPE_X is not set" in missing.stderr


# --------------------------------------------------------------- 2. a saved token stays where it was saved
def test_a_saved_token_goes_only_where_it_was_saved(database, server, sim) -> None:
    assert add(server, "pd", sim.url).status_code == 201
    conn_url = f"{server}/plugins/pagerduty/connections/1"
    with Listener() as listener:
        for change in ({"endpoint": listener.url}, {"proxy": listener.url}):
            refused = requests.patch(conn_url, json=change, timeout=30)
            assert refused.status_code == 400 and "token: required" in refused.json()["message"]
        renamed = requests.patch(conn_url, json={"name": "renamed", "rateLimitPerHour": 100}, timeout=30)
        assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
        assert requests.post(f"{conn_url}/test", timeout=30).json()["success"] is True  # still the simulator
        updated = cli(database, "connections", "update", "1", "--endpoint", listener.url)
        assert updated.returncode == 2 and "token: required" in updated.stderr
        assert listener.received == []

        # the row edited in the database: its token no longer decrypts, so nothing is sent
        stored(database, "UPDATE _tool_pagerduty_connections SET endpoint = %s WHERE id = 1", listener.url)
        tampered = requests.post(f"{conn_url}/test", timeout=30)
        assert tampered.status_code == 400 and "cannot be decrypted" in tampered.json()["message"]
        assert listener.received == []
        stored(database, "UPDATE _tool_pagerduty_connections SET endpoint = %s WHERE id = 1", sim.url)

        # a token copied onto another connection's row does not decrypt there either
        assert add(server, "other", listener.url, "other-token-1").status_code == 201
        stored(
            database,
            "UPDATE _tool_pagerduty_connections AS a JOIN _tool_pagerduty_connections AS b ON b.id = 1"
            " SET a.token = b.token WHERE a.id = 2",
        )
        copied = requests.post(f"{server}/plugins/pagerduty/connections/2/test", timeout=30)
        assert copied.status_code == 400 and "cannot be decrypted" in copied.json()["message"]
        assert listener.received == []

        moved = requests.patch(conn_url, json={"endpoint": listener.url, "token": "new-token-2"}, timeout=30)
        assert moved.status_code == 200
        assert requests.post(f"{conn_url}/test", timeout=30).json()["success"] is True
    assert listener.authorizations() == {"Token token=new-token-2"}
    assert SIM_TOKEN not in "\n".join(listener.received)


# ------------------------------------------------------------------- 3. no web page can drive the API
def test_without_api_token_only_loopback_hosts_and_same_origin(database, server) -> None:
    for host in ("attacker.example", "attacker.example:8080", "127.0.0.1.nip.io", "[::2]:80", "10.0.0.1"):
        refused = requests.get(f"{server}/blueprints", headers={"Host": host}, timeout=10)
        assert refused.status_code == 403, host
        assert (
            requests.post(f"{server}/blueprints", json={}, headers={"Host": host}, timeout=10).status_code
            == 403
        )
    for host in ("localhost", "localhost:8080", "127.0.0.1", "127.0.0.2:1", "[::1]:9", "LOCALHOST"):
        assert requests.get(f"{server}/blueprints", headers={"Host": host}, timeout=10).status_code == 200, (
            host
        )
    assert requests.get(f"{server}/ping", headers={"Host": "attacker.example"}, timeout=10).status_code == 200

    assert add(server, "pd", "http://127.0.0.1:9").status_code == 201
    port = server.rsplit(":", 1)[1]
    cross_site = (
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Origin": f"http://localhost:{port}"},  # another origin of the same machine
        {"Origin": f"http://127.0.0.1:{int(port) + 1}"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    )
    routes = (
        ("POST", "/blueprints/1/trigger"),
        ("POST", "/plugins/pagerduty/connections/1/test"),
        ("POST", "/plugins/pagerduty/connections"),
        ("PATCH", "/plugins/pagerduty/connections/1"),
        ("DELETE", "/plugins/pagerduty/connections/1"),
    )
    for headers in cross_site:
        for method, path in routes:
            response = requests.request(method, server + path, headers=headers, timeout=10)
            assert response.status_code == 403 and "cross-site" in response.json()["message"], (headers, path)
    assert len(requests.get(f"{server}/plugins/pagerduty/connections", timeout=10).json()) == 1
    assert requests.get(f"{server}/pipelines", timeout=10).json()["count"] == 0

    # the same origin, a typed URL (Sec-Fetch-Site: none) and curl (neither header) pass the guard
    for headers in ({"Origin": server}, {"Sec-Fetch-Site": "none"}, {"Sec-Fetch-Site": "same-origin"}, {}):
        passed = requests.post(f"{server}/blueprints/7/trigger", headers=headers, timeout=10)
        assert passed.status_code == 404, headers  # reached the route: no blueprint 7
    read = requests.get(f"{server}/blueprints", headers={"Origin": "http://attacker.example"}, timeout=10)
    assert "access-control-allow-origin" not in {k.lower() for k in read.headers}


def test_allowed_hosts_let_a_reverse_proxy_name_in(database) -> None:
    proc, base = serve(database, ALLOWED_HOSTS="devlake, DevLake.internal.")
    try:
        for host in ("devlake", "devlake:8080", "DEVLAKE.internal", "devlake.internal.:443"):
            answer = requests.get(f"{base}/blueprints", headers={"Host": host}, timeout=10)
            assert answer.status_code == 200, host
        for host in ("attacker.example", "devlake.attacker.example", "xdevlake", "devlake.internal.x"):
            assert requests.get(f"{base}/blueprints", headers={"Host": host}, timeout=10).status_code == 403
        # the proxy's own origin is same-origin; another site's is still refused
        proxied = {"Host": "devlake:8080"}
        passed = requests.post(
            f"{base}/blueprints/7/trigger", headers={**proxied, "Origin": "http://devlake:8080"}, timeout=10
        )
        assert passed.status_code == 404  # reached the route: no blueprint 7
        cross = requests.post(
            f"{base}/blueprints/7/trigger",
            headers={**proxied, "Origin": "http://attacker.example"},
            timeout=10,
        )
        assert cross.status_code == 403
    finally:
        stop(proc)

    env = {**os.environ, "DB_URL": db_url(database), "ENCRYPTION_SECRET": SECRET}
    for bad in ("*.example", "devlake:8080", "dev lake", "-devlake"):
        refused = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(free_port())],
            env={**env, "ALLOWED_HOSTS": bad},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2, bad
        assert len(refused.stderr.strip().splitlines()) == 1 and "ALLOWED_HOSTS" in refused.stderr, bad


def test_binding_beyond_loopback_needs_api_token(database) -> None:
    env = {k: v for k, v in os.environ.items() if k != "API_TOKEN"}
    env.update(DB_URL=db_url(database), ENCRYPTION_SECRET=SECRET)
    port = free_port()
    refused = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "serve", "--host", "0.0.0.0", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "set API_TOKEN" in refused.stderr
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/ping", timeout=2)

    proc, base = serve(database, "--host", "0.0.0.0", API_TOKEN=API_TOKEN)
    try:
        bearer = {"Authorization": f"Bearer {API_TOKEN}"}
        assert requests.get(f"{base}/ping", timeout=10).status_code == 200
        named = requests.get(
            f"{base}/blueprints", headers={**bearer, "Host": "dora.example:8080"}, timeout=10
        )
        assert named.status_code == 200  # with API_TOKEN any name may reach it, with the token
        for bad in (b"Bearer \xc3\xa9t\xc3\xa9", b"\xff\xfe", f"Bearer {API_TOKEN}x".encode(), b""):
            response = requests.get(f"{base}/blueprints", headers={"Authorization": bad}, timeout=10)
            assert response.status_code == 401, bad
        cross = requests.post(
            f"{base}/blueprints/1/trigger",
            headers={**bearer, "Origin": "http://attacker.example"},
            timeout=10,
        )
        assert cross.status_code == 403
    finally:
        stop(proc)


# --------------------------------------------------------------------------------- 4. chunked bodies
def test_the_body_limit_holds_for_chunked_bodies(database, server) -> None:
    def chunked(size: int):
        yield b'{"name": "big", "description": "'
        for _ in range(size // 100_000):
            yield b"x" * 100_000
        yield b'"}'

    huge = requests.post(
        f"{server}/blueprints",
        data=chunked(5_000_000),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert huge.status_code == 413
    assert requests.get(f"{server}/blueprints", timeout=10).json()["count"] == 0
    small = requests.post(
        f"{server}/blueprints",
        data=chunked(200_000),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    # read whole and parsed: refused for what it says (a description over its cap)
    assert small.status_code == 400 and "description: at most" in small.json()["message"]
    assert stored(database, "SELECT COUNT(*) FROM _devlake_blueprints") == [(0,)]


# ------------------------------------------------------------------------------------ 5. key derivation
def store_env(secret: str = SECRET) -> dict[str, str]:
    return {"ENCRYPTION_SECRET": secret}


def test_keys_come_from_scrypt_with_a_salt_per_installation(database) -> None:
    other = parse_db_url(f"{SERVER_URL}/pdtest_{uuid.uuid4().hex[:10]}")
    try:
        derive_key.cache_clear()
        store = ConnectionStore(database, store_env())
        store.add({"name": "a", "endpoint": "http://127.0.0.1:9", "token": "token-a"})
        store.add({"name": "b", "endpoint": "http://127.0.0.1:9", "token": "token-b"})
        for _ in range(3):
            assert store.specs()[2].token == "token-b"
            assert ConnectionStore(database, store_env()).spec(1).token == "token-a"
        assert derive_key.cache_info().misses == 1  # slow on purpose: derived once per process and secret

        ConnectionStore(other, store_env()).add(
            {"name": "a", "endpoint": "http://127.0.0.1:9", "token": "token-a"}
        )
        (row,) = stored(database, f"SELECT algorithm, salt, n, r, p FROM {KDF_TABLE}")
        (other_row,) = query(other, f"SELECT salt FROM {KDF_TABLE}", database=other.name)
        assert row[0] == "scrypt" and row[2:] == (SCRYPT_N, 8, 1) and SCRYPT_N >= 2**17
        assert len(base64.b64decode(row[1])) == 16 and row[1] != other_row[0]
        tokens = [t for (t,) in stored(database, "SELECT token FROM _tool_pagerduty_connections ORDER BY id")]
        assert all(t.startswith("v2:") and "token-" not in t for t in tokens)
    finally:
        drop_databases(other)


def test_proxy_credentials_are_encrypted_like_tokens(database) -> None:
    store = ConnectionStore(database, store_env())
    proxy = "http://user:proxy-pass-77@127.0.0.1:3128"
    store.add({"name": "p", "endpoint": "http://127.0.0.1:9", "token": "t-1", "proxy": proxy})
    store.add(
        {"name": "q", "endpoint": "http://127.0.0.1:9", "token": "t-2", "proxy": "http://127.0.0.1:3128"}
    )
    rows = stored(database, "SELECT proxy FROM _tool_pagerduty_connections ORDER BY id")
    assert rows[0][0].startswith("v2:") and "proxy-pass-77" not in rows[0][0]
    assert rows[1][0] == "http://127.0.0.1:3128"  # no credentials: kept readable
    assert store.public(1)[0]["proxy"] == "http://user:********@127.0.0.1:3128"
    assert store.spec(1).proxy == proxy
    without_secret = ConnectionStore(database, {}).public(1)[0]  # listing needs no secret
    assert without_secret["proxy"] == "********"
    with pytest.raises(SecretError):
        ConnectionStore(database, store_env("another-secret-123")).spec(1)


def _legacy_rows(database, endpoint: str) -> None:
    """Rows as the previous version wrote them: v1 tokens (HKDF, fixed salt), proxy passwords in clear."""
    with connect_with_table(database, connection_store._DDL) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO _tool_pagerduty_connections (name, endpoint, proxy, token, created_at, updated_at)"
            " VALUES ('old', %s, NULL, %s, NOW(), NOW()), ('old-proxy', %s, 'http://u:old-pass-5@127.0.0.1:1',"
            " %s, NOW(), NOW())",
            (endpoint, legacy_encrypt(SIM_TOKEN, SECRET), endpoint, legacy_encrypt("other-token", SECRET)),
        )


def test_old_rows_are_reencrypted_on_first_use(database) -> None:
    _legacy_rows(database, "http://127.0.0.1:9")
    with pytest.raises(SecretError, match="cannot be decrypted"):
        ConnectionStore(database, store_env("a-wrong-secret-1234")).specs()
    assert stored(database, f"SELECT COUNT(*) FROM {KDF_TABLE}") == [(0,)]  # a wrong secret made no key
    specs = ConnectionStore(database, store_env()).specs()
    assert (specs[1].token, specs[2].token) == (SIM_TOKEN, "other-token")
    assert specs[2].proxy == "http://u:old-pass-5@127.0.0.1:1"
    rows = stored(database, "SELECT token, proxy FROM _tool_pagerduty_connections ORDER BY id")
    assert all(token.startswith("v2:") for token, _ in rows)
    assert rows[0][1] is None and rows[1][1].startswith("v2:")


def test_old_rows_are_reencrypted_on_first_start(database, sim) -> None:
    _legacy_rows(database, sim.url)
    proc, base = serve(database)
    try:
        rows = stored(database, "SELECT token, proxy FROM _tool_pagerduty_connections ORDER BY id")
        assert [t[:3] for t, _ in rows] == ["v2:", "v2:"] and rows[1][1].startswith("v2:")
        assert requests.post(f"{base}/plugins/pagerduty/connections/1/test", timeout=30).json()["success"]
    finally:
        stop(proc)


def test_rotate_secret_reencrypts_every_connection(database, sim) -> None:
    for name in ("one", "two"):
        assert (
            cli(
                database,
                "connections",
                "add",
                "--name",
                name,
                "--endpoint",
                sim.url,
                "--token-env",
                "PD_TOKEN",
            ).returncode
            == 0
        )
    helped = cli(database, "connections", "rotate-secret", "--help").stdout
    assert (
        "ENCRYPTION_SECRET" in helped and "NEW_ENCRYPTION_SECRET" in helped and "--new-secret-stdin" in helped
    )
    (salt,) = stored(database, f"SELECT salt FROM {KDF_TABLE}")[0]
    before = stored(database, "SELECT token FROM _tool_pagerduty_connections ORDER BY id")

    short = cli(database, "connections", "rotate-secret", NEW_ENCRYPTION_SECRET="short")
    assert short.returncode == 2 and stored(database, f"SELECT salt FROM {KDF_TABLE}")[0][0] == salt
    new_secret = "the-new-secret-2468"
    rotated = cli(database, "connections", "rotate-secret", NEW_ENCRYPTION_SECRET=new_secret)
    assert rotated.returncode == 0, rotated.stderr
    assert (
        "2 connection(s) re-encrypted" in rotated.stdout and new_secret not in rotated.stdout + rotated.stderr
    )
    assert stored(database, f"SELECT salt FROM {KDF_TABLE}")[0][0] != salt
    assert stored(database, "SELECT token FROM _tool_pagerduty_connections ORDER BY id") != before

    old = cli(database, "connections", "test", "2")
    assert old.returncode == 2 and "cannot be decrypted" in old.stderr
    new = cli(database, "connections", "test", "2", ENCRYPTION_SECRET=new_secret)
    assert new.returncode == 0 and "token accepted" in new.stdout
    back = cli(
        database,
        "connections",
        "rotate-secret",
        "--new-secret-stdin",
        stdin=SECRET + "\n",
        ENCRYPTION_SECRET=new_secret,
    )
    assert back.returncode == 0, back.stderr
    assert cli(database, "connections", "test", "1").returncode == 0


# ------------------------------------------------------------------------- 6. where requests may go
@pytest.mark.parametrize(
    "url",
    [
        "https://api.pagerduty.com",
        "https://api.PagerDuty.com",
        "https://api.eu.pagerduty.com/",
        "http://127.0.0.1:8765",
        "http://127.9.9.9",
        "http://localhost:1234",
        "http://[::1]:80",
        "https://8.8.8.8",
    ],
)
def test_endpoints_allowed_by_default(url: str) -> None:
    check_endpoint(url, allow_http=False, allow_private=False, resolver=lambda host, port: ["52.1.2.3"])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.pagerduty.com", "PAGERDUTY_ALLOW_HTTP"),
        ("https://169.254.169.254/latest/meta-data", "PAGERDUTY_ALLOW_PRIVATE_HOSTS"),
        ("https://[fe80::1]", "not a public address"),
        ("https://10.1.2.3", "not a public address"),
        ("https://172.16.0.1", "not a public address"),
        ("https://192.168.1.1:8443", "not a public address"),
        ("https://[fd00::1]", "not a public address"),
        ("https://100.64.0.1", "not a public address"),
        ("https://0.0.0.0", "not a public address"),
        ("https://[::ffff:169.254.169.254]", "not a public address"),
        ("https://2130706433", "four decimal numbers"),
        ("https://0xa9.0xfe.0xa9.0xfe", "four decimal numbers"),
        ("https://metadata.internal", "resolves to an address that is not public"),
        ("https://user:pw@api.pagerduty.com", "user name or password"),
        ("https://api.pagerduty.com:99999", "1..65535"),
        ("https://api.pagerduty.com?x=1", "query"),
        ("ftp://api.pagerduty.com", "https URL"),
        ("https://", "no host"),
        ("https://bad host", "no spaces"),
    ],
)
def test_endpoints_refused_by_default(url: str, message: str) -> None:
    resolver = {"metadata.internal": ["169.254.169.254"]}
    with pytest.raises(EndpointRefused, match=message) as refused:
        check_endpoint(url, allow_http=False, allow_private=False, resolver=lambda h, p: resolver.get(h, []))
    assert "\n" not in str(refused.value) and isinstance(refused.value, ValueError)


def test_settings_allow_http_and_private_hosts() -> None:
    check_endpoint("http://pd.example", allow_http=True, allow_private=False, resolve=False)
    check_endpoint("https://10.1.2.3", allow_http=False, allow_private=True)
    check_endpoint(
        "https://gw.corp", allow_http=False, allow_private=True, resolver=lambda h, p: ["10.0.0.1"]
    )
    check_proxy("http://user:pass@10.0.0.5:3128", allow_private=True)
    assert policy_from_env({}) == EndpointPolicy(False, False)
    assert policy_from_env(
        {"PAGERDUTY_ALLOW_HTTP": "1", "PAGERDUTY_ALLOW_PRIVATE_HOSTS": "true"}
    ) == EndpointPolicy(True, True)
    with pytest.raises(EndpointSettingError):
        policy_from_env({"PAGERDUTY_ALLOW_HTTP": "maybe"})
    # a name that does not resolve yet may be saved: no connection is made to it until it resolves to an
    # allowed address (ingestion/pagerduty/pinned.py)
    check_endpoint("https://nowhere.example", allow_http=False, allow_private=False, resolver=lambda h, p: [])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://u:secret-pw@proxy.example:99999", "1..65535"),
        ("socks5://proxy.example:1080", "http://host:port"),
        ("http://proxy.example:3128/path", "scheme, host and port only"),
        ("http://u:secret-pw@10.0.0.5:3128", "PAGERDUTY_ALLOW_PRIVATE_PROXY"),
        ("http://[fe80::1]:3128", "not a public address"),
    ],
)
def test_proxies_refused(url: str, message: str) -> None:
    with pytest.raises(EndpointRefused, match=message) as refused:
        check_proxy(url, allow_private=False, resolver=lambda h, p: ["52.1.2.3"])
    assert "secret-pw" not in str(refused.value)


def test_loopback_names() -> None:
    assert all(
        is_loopback_host(h) for h in ("localhost", "LOCALHOST.", "127.0.0.1", "127.1.2.3", "::1", "[::1]")
    )
    assert not any(
        is_loopback_host(h) for h in ("localhost.example", "127.0.0.1.nip.io", "0.0.0.0", "::", "")
    )


def test_api_refuses_internal_endpoints_and_proxies(database, server) -> None:
    for endpoint, proxy in (
        ("https://169.254.169.254", None),
        ("http://api.pagerduty.com", None),
        ("https://[fe80::1]", None),
        ("https://api.pagerduty.com", "http://10.0.0.7:3128"),
        ("https://api.pagerduty.com", "http://u:p@proxy.example:99999"),
    ):
        for path in ("/plugins/pagerduty/connections", "/plugins/pagerduty/test"):
            body = {"name": "x", "endpoint": endpoint, "token": "t", "proxy": proxy}
            response = requests.post(server + path, json=body, timeout=30)
            assert response.status_code == 400, (endpoint, proxy, path)
    assert requests.get(f"{server}/plugins/pagerduty/connections", timeout=10).json() == []


def test_settings_let_self_hosted_gateways_in(database) -> None:
    proc, base = serve(
        database,
        PAGERDUTY_ALLOW_HTTP="1",
        PAGERDUTY_ALLOW_PRIVATE_HOSTS="1",
        PAGERDUTY_ALLOW_PRIVATE_PROXY="1",
    )
    try:
        assert add(base, "gw", "http://10.20.30.40:8080").status_code == 201
        assert add(base, "px", "https://api.pagerduty.com", proxy="http://10.0.0.7:3128").status_code == 201
    finally:
        stop(proc)


def test_connection_tests_are_few_at_once_and_ping_never_waits(database, server) -> None:
    body_of = {"name": "slow", "token": "t"}
    with Silent() as silent, ThreadPoolExecutor(max_workers=48) as pool:

        def one_test() -> tuple[int, float, str]:
            started = time.monotonic()
            response = requests.post(
                f"{server}/plugins/pagerduty/test", json={**body_of, "endpoint": silent.url}, timeout=60
            )
            return response.status_code, time.monotonic() - started, response.json()["message"]

        futures = [pool.submit(one_test) for _ in range(42)]
        pings = []
        while not all(f.done() for f in futures):
            started = time.monotonic()
            assert requests.get(f"{server}/ping", timeout=10).status_code == 200
            pings.append(time.monotonic() - started)
            time.sleep(0.1)
        results = [f.result() for f in futures]
    statuses = [status for status, _, _ in results]
    assert statuses.count(429) >= 38 and statuses.count(400) == 42 - statuses.count(429)
    assert max(seconds for _, seconds, _ in results) < 15  # each answered within the deadline
    assert pings and max(pings) < 1.0
    slow = [message for status, _, message in results if status == 400]
    assert all("could not be checked" in m for m in slow)


def test_connection_test_answers_reveal_nothing_of_the_reply(database, server) -> None:
    def test(endpoint: str) -> dict:
        body = {"name": "probe", "endpoint": endpoint, "token": "tok"}
        return requests.post(f"{server}/plugins/pagerduty/test", json=body, timeout=30).json()

    with Listener("pagerduty") as ok, Listener("error") as error, Listener("refuse") as refuse:
        accepted, failed, refused = test(ok.url), test(error.url), test(refuse.url)
    closed = test(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert accepted == {"success": True, "message": "connection 'probe' (id 1): token accepted, 7 services"}
    assert refused == {"success": False, "message": "connection 'probe' (id 1): PagerDuty refused the token"}
    assert failed["success"] is False and failed == closed  # an error reply and no reply read the same
    for answer in (accepted, failed, refused, closed):
        assert "REMOTE-FIELD" not in answer["message"] and "500" not in answer["message"]
        assert "31337" not in answer["message"]


# --------------------------------------------------------------------------------------- 7. schedules
def test_cron_configs_are_checked_when_saved(database, server, sim) -> None:
    assert add(server, "pd", sim.url).status_code == 201
    for cron in ("not a cron", "0 0 31 2 *", "61 * * * *", "@reboot", 5, "x" * 200):
        response = requests.post(
            f"{server}/blueprints", json={**SEED_BLUEPRINT, "cronConfig": cron}, timeout=30
        )
        assert response.status_code == 400 and "cronConfig" in response.json()["message"], cron
    created = requests.post(
        f"{server}/blueprints", json={**SEED_BLUEPRINT, "cronConfig": "0 0 29 2 *"}, timeout=30
    )
    assert created.status_code == 201
    patched = requests.patch(f"{server}/blueprints/1", json={"cronConfig": "0 0 31 2 *"}, timeout=30)
    assert patched.status_code == 400 and "0 0 31 2 *" in patched.json()["message"]
    assert requests.get(f"{server}/blueprints/1", timeout=10).json()["cronConfig"] == "0 0 29 2 *"


def test_one_bad_schedule_never_stops_another(database, sim) -> None:
    bad = {**SEED_BLUEPRINT, "name": "never-fires", "isManual": False, "cronConfig": "0 0 31 2 *"}
    with connect_with_table(database, blueprint_store._DDL) as conn, conn.cursor() as cur:
        # a blueprint saved before cronConfig was checked
        cur.execute(
            "INSERT INTO _devlake_blueprints (name, body, created_at, updated_at) VALUES (%s, %s, NOW(), NOW())",
            (bad["name"], json.dumps(bad)),
        )
    proc, base = serve(database)
    try:
        assert add(base, "pd", sim.url).status_code == 201
        good = {**SEED_BLUEPRINT, "name": "every-2-seconds", "isManual": False, "cronConfig": "*/2 * * * * *"}
        good_id = requests.post(f"{base}/blueprints", json=good, timeout=30).json()["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = requests.get(f"{base}/blueprints/{good_id}/pipelines", timeout=10).json()["pipelines"]
            if len([r for r in runs if r["status"] == "TASK_COMPLETED"]) >= 2:
                break
            time.sleep(1)
        else:
            raise AssertionError("the good blueprint did not run twice")
        requests.patch(f"{base}/blueprints/{good_id}", json={"enable": False}, timeout=10)
        shown = requests.get(f"{base}/blueprints/1", timeout=10).json()
        assert "0 0 31 2 *" in shown["scheduleError"] and shown["name"] == "never-fires"
        assert requests.get(f"{base}/blueprints/{good_id}", timeout=10).json()["scheduleError"] is None
        assert requests.get(f"{base}/blueprints/1/pipelines", timeout=10).json()["count"] == 0
    finally:
        log = stop(proc)
    assert log.count("scheduler: blueprint 1:") == 1  # logged once, not every tick


# ----------------------------------------------------------------------------------------- 8. inputs
def test_bad_inputs_are_refused_never_500(database, server, sim) -> None:
    assert add(server, "pd", sim.url).status_code == 201
    for body in (
        {"name": "p", "endpoint": sim.url, "token": "t", "proxy": "http://u:p@proxy.example:99999"},
        {"name": "n" * 101, "endpoint": sim.url, "token": "t"},
        {"name": "bad\x00name", "endpoint": sim.url, "token": "t"},
        {"name": "t", "endpoint": sim.url, "token": "tök\u00e9n"},
        {"name": "t", "endpoint": sim.url, "token": "has space"},
        {"name": "t", "endpoint": sim.url, "token": "t", "rateLimitPerHour": 10**12},
        {"name": "t", "endpoint": "https://api.pagerduty.com/" + "a" * 300, "token": "t"},
    ):
        response = add(server, **body)
        assert response.status_code == 400, body
    # a bad proxy saved by an earlier version: the listing still answers
    stored(
        database,
        "INSERT INTO _tool_pagerduty_connections (name, endpoint, proxy, token, created_at,"
        " updated_at) VALUES ('legacy', %s, 'http://u:p@proxy.example:99999', 'v1:x', NOW(), NOW())",
        sim.url,
    )
    listed = requests.get(f"{server}/plugins/pagerduty/connections", timeout=10)
    assert listed.status_code == 200 and listed.json()[1]["proxy"] == "********"
    assert requests.delete(f"{server}/plugins/pagerduty/connections/2", timeout=10).status_code == 200

    v2 = {
        "name": "v2",
        "settings": {
            "version": "2.0.0",
            "connections": [{"pluginName": "pagerduty", "connectionId": 1, "scopes": [{"scopeId": "PA"}]}],
        },
    }
    too_many = copy.deepcopy(v2)
    too_many["settings"]["connections"][0]["scopes"] = [{"scopeId": f"P{i:05d}"} for i in range(101)]
    time_after = copy.deepcopy(v2)
    time_after["settings"]["timeAfter"] = "0001-01-01T00:00:00+14:00"
    last_second = copy.deepcopy(v2)
    last_second["settings"]["timeAfter"] = "9999-12-31T23:59:59-14:00"
    bad_scope = copy.deepcopy(v2)
    bad_scope["settings"]["connections"][0]["scopes"] = [{"scopeId": "PA&offset=9"}]
    for body, message in (
        ({**v2, "name": "b" * 256}, "name: at most 255 characters"),
        ({**v2, "name": "\ud800"}, "name"),
        (too_many, "at most 100"),
        (time_after, "out of range"),
        (last_second, "timeAfter"),
        (bad_scope, "scopeId"),
    ):
        response = requests.post(
            f"{server}/blueprints",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 400 and message in response.json()["message"], body.get("name")
    assert (
        requests.post(f"{server}/blueprints", json={**v2, "name": "b" * 255}, timeout=30).status_code == 201
    )
    deep = requests.post(
        f"{server}/blueprints",
        data="[" * 200_000 + "]" * 200_000,
        headers={"Content-Type": "application/json"},
    )
    assert deep.status_code == 400
    assert requests.get(f"{server}/plugins/pagerduty/connections/{2**70}", timeout=10).status_code == 404


def test_concurrent_pipelines_are_limited(database, sim) -> None:
    sim.set_faults(slow_every=1, slow_seconds=0.5)
    proc, base = serve(database, API_MAX_PIPELINES="1")
    try:
        assert add(base, "pd", sim.url).status_code == 201
        ids = [
            requests.post(
                f"{base}/blueprints", json={**SEED_BLUEPRINT, "name": f"bp-{i}"}, timeout=30
            ).json()["id"]
            for i in (1, 2)
        ]
        first = requests.post(f"{base}/blueprints/{ids[0]}/trigger", timeout=30)
        second = requests.post(f"{base}/blueprints/{ids[1]}/trigger", timeout=30)
        assert first.status_code == 200 and second.status_code == 429
        assert "1 pipelines are running" in second.json()["message"]
        sim.set_faults()
        wait_for_pipeline(base, first.json()["id"])
        deadline = time.monotonic() + 10  # the record is finished a moment before its slot is given back
        while (again := requests.post(f"{base}/blueprints/{ids[1]}/trigger", timeout=30)).status_code == 429:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert again.status_code == 200
    finally:
        stop(proc)
    bad = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "serve", "--port", str(free_port())],
        env={**os.environ, "DB_URL": db_url(database), "API_MAX_PIPELINES": "lots"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "API_MAX_PIPELINES" in bad.stderr


# ---------------------------------------------------------------------------------- 9. the temp folder
def _no_incident_data(path: Path, sim) -> None:
    ids = {sim.dataset.render(slot)["id"].encode() for slot in range(len(sim.dataset))}
    for item in path.rglob("*"):
        if item.is_file():
            content = item.read_bytes()
            assert not any(incident_id in content for incident_id in ids), item


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_stopped_or_killed_servers_leave_no_incident_data(database, sim, tmp_path, stop_signal) -> None:
    """Rows go from memory to the database (a memfd, never a file): a server stopped or killed while a
    pipeline writes incidents leaves none of them in its temporary directory."""
    proc, base = serve(database, TMPDIR=str(tmp_path), PAGERDUTY_DORA_PAUSE_AT="write:incidents")
    assert add(base, "pd", sim.url).status_code == 201
    assert requests.post(f"{base}/blueprints", json=SEED_BLUEPRINT, timeout=30).status_code == 201
    requests.post(f"{base}/blueprints/1/trigger", timeout=30)
    deadline = time.monotonic() + 60
    while "paused at write:incidents" not in proc.stderr.readline():
        assert time.monotonic() < deadline and proc.poll() is None
    proc.send_signal(stop_signal)
    proc.wait(timeout=30)
    _no_incident_data(tmp_path, sim)


# ---------------------------------------------------------------------------------- the scheduler alone
class _FakeRunner:
    def __init__(self, blueprints: list[dict]) -> None:
        self.items = blueprints
        self.triggered: list[int] = []
        self.blueprints = self

    def all(self) -> list[dict]:
        return self.items

    def trigger(self, blueprint_id: int) -> int:
        if blueprint_id == 2:
            raise RuntimeError("database went away")
        self.triggered.append(blueprint_id)
        return 1


def test_each_scheduler_tick_is_isolated_per_blueprint() -> None:
    from runner.api.scheduler import Scheduler

    items = [
        {"id": 1, "isManual": False, "cronConfig": "0 0 31 2 *"},
        {"id": 2, "isManual": False, "cronConfig": "* * * * *"},
        {"id": 3, "isManual": False, "cronConfig": "* * * * *"},
        {"id": 4, "isManual": False, "cronConfig": "not a cron"},
    ]
    runner = _FakeRunner(items)
    scheduler = Scheduler(runner)  # type: ignore[arg-type]
    start = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    for step in range(4):
        scheduler.tick(start + timedelta(minutes=step))
    assert runner.triggered == [3, 3, 3]
    assert "0 0 31 2 *" in (scheduler.error(1) or "")
    assert "database went away" in (scheduler.error(2) or "")
    assert scheduler.error(3) is None and "not a cron" in (scheduler.error(4) or "")


def test_a_killed_run_leaves_no_incident_data_on_disk(database, sim, tmp_path) -> None:
    """Rows go to the database from memory (a memfd, never a file): a schedule killed while it writes leaves
    no incident anywhere under its temporary directory."""
    blueprint = tmp_path / "blueprint.json"
    blueprint.write_text(json.dumps({**SEED_BLUEPRINT, "isManual": False, "cronConfig": "* * * * * *"}))
    connections = tmp_path / "connections.json"
    connections.write_text(json.dumps([{"id": 1, "name": "sim", "endpoint": sim.url, "token": SIM_TOKEN}]))
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "DB_URL": db_url(database),
        "ENCRYPTION_SECRET": SECRET,
        "TMPDIR": str(temp),
        "PAGERDUTY_DORA_PAUSE_AT": "write:incidents",
    }
    schedule = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "schedule", "--blueprint", str(blueprint)]
        + ["--connections", str(connections), "--quiet", "--skip-dbt"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while schedule.stderr.readline().strip() != "paused at write:incidents":
        assert time.monotonic() < deadline and schedule.poll() is None, "the schedule never wrote incidents"
    schedule.send_signal(signal.SIGKILL)
    schedule.wait(timeout=30)
    _no_incident_data(temp, sim)
