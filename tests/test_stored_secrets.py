"""API security, round 3, items 1 and 4: the lake database is not trusted with the tokens it holds, and the
secrets that guard them have a minimum strength.

Each test edits rows the way someone with write access to the lake (but not ENCRYPTION_SECRET) could, then
checks through a real `run.py serve` (or the CLI) that no token leaves for a place the edit chose.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from runner.connections.crypto import KDF_DDL, KDF_TABLE, Cipher, KdfParams, legacy_encrypt, store_params
from runner.connections.store import _DDL as CONNECTIONS_DDL
from runner.lake_tables import connect_with_table

from .helpers import ROOT, SECRET, SIM_TOKEN, free_port, serve
from .test_security import Listener, add, cli, db_url, stop, stored

CONNECTION = "/plugins/pagerduty/connections"


@pytest.fixture
def sim(simulator):
    return simulator(seed=33, size=50, services=2, days=30)


def _test(base: str, conn_id: int = 1) -> requests.Response:
    return requests.post(f"{base}{CONNECTION}/{conn_id}/test", timeout=30)


def test_a_legacy_value_is_refused_once_the_key_exists(database, sim) -> None:
    """A `v1:` value (from a backup of an earlier version) copied into a row whose endpoint was changed is
    neither decrypted nor blessed by the next start's upgrade."""
    proc, base = serve(database)
    try:
        assert add(base, "pd", sim.url).status_code == 201
        with Listener() as listener:
            stored(
                database,
                "UPDATE _tool_pagerduty_connections SET endpoint = %s, token = %s WHERE id = 1",
                listener.url,
                legacy_encrypt("token-from-a-backup", SECRET),
            )
            tested = _test(base)
            assert tested.status_code == 400 and "cannot be decrypted" in tested.json()["message"]
            stop(proc)
            proc, base = serve(database)  # a restart runs no second upgrade
            assert stored(database, "SELECT LEFT(token, 3) FROM _tool_pagerduty_connections") == [("v1:",)]
            assert _test(base).status_code == 400
            shown = cli(database, "connections", "test", "1")
            assert shown.returncode == 2 and "cannot be decrypted" in shown.stderr
        assert listener.received == []
    finally:
        stop(proc)


def test_proxy_and_name_are_bound_to_the_token(database, sim) -> None:
    """Changing `proxy` (or `name`) in the database breaks the token: an `http` endpoint's token is never
    sent through a proxy the editor chose."""
    proc, base = serve(database)
    try:
        assert add(base, "pd", sim.url).status_code == 201
        with Listener() as listener:
            for column, value in (("proxy", listener.url), ("name", "renamed-in-the-database")):
                stored(database, f"UPDATE _tool_pagerduty_connections SET {column} = %s WHERE id = 1", value)
                tested = _test(base)
                assert tested.status_code == 400 and "cannot be decrypted" in tested.json()["message"], column
                stored(
                    database, "UPDATE _tool_pagerduty_connections SET proxy = NULL, name = 'pd' WHERE id = 1"
                )
                assert _test(base).json()["success"] is True  # the row as it was saved works again
        assert listener.received == []
        # changes made through the API re-seal the token: a rename keeps it working
        renamed = requests.patch(f"{base}{CONNECTION}/1", json={"name": "renamed"}, timeout=30)
        assert renamed.status_code == 200 and _test(base).json()["success"] is True
    finally:
        stop(proc)


def test_kdf_parameters_from_the_database_are_refused_outside_this_versions(database, sim) -> None:
    proc, base = serve(database)
    try:
        assert add(base, "pd", sim.url).status_code == 201
        # n=3 first: derived, it raises; the huge ones would take all the memory there is
        for n, r, p in ((3, 8, 1), (2**31, 8, 1), (2**17, 0, 1), (2**17, 8, 2**20)):
            stored(database, f"UPDATE {KDF_TABLE} SET n = %s, r = %s, p = %s", n, r, p)
            for response in (_test(base), add(base, f"new-{n}-{r}-{p}", sim.url)):
                assert response.status_code == 400, (n, r, p, response.text)
                assert f"scrypt parameters n={n}, r={r}, p={p}" in response.json()["message"]
            assert requests.get(f"{base}{CONNECTION}", timeout=10).status_code == 200  # needs no key
        refused = cli(database, "connections", "test", "1")
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
        stored(database, f"UPDATE {KDF_TABLE} SET n = %s, r = 8, p = 1", 2**17)
        assert _test(base).json()["success"] is True
    finally:
        stop(proc)


def test_the_previous_binding_is_upgraded_once(database, sim) -> None:
    """Rows as the previous version sealed them (bound to id and endpoint only, key check of that version)
    are bound to name and proxy too by the first start, which records it; a `v1:` row that appeared in such
    an installation is not upgraded."""
    from runner.connections.crypto import _key_check_aad, previous_associated_data

    params = KdfParams.new()
    cipher = Cipher.from_secret(SECRET, params)
    with connect_with_table(database, CONNECTIONS_DDL) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO _tool_pagerduty_connections (name, endpoint, proxy, token, created_at, updated_at)"
            " VALUES ('old', %s, NULL, %s, NOW(), NOW()), ('replayed', %s, NULL, %s, NOW(), NOW())",
            (
                sim.url,
                cipher.seal(SIM_TOKEN, previous_associated_data("token", 1, sim.url)),
                sim.url,
                legacy_encrypt(SIM_TOKEN, SECRET),
            ),
        )
        cur.execute(KDF_DDL)
        previous_check = cipher.seal("pagerduty-dora key check", _key_check_aad(params, 2))
        store_params(cur, params, previous_check, "2026-01-01 00:00:00")
    before = stored(database, "SELECT token FROM _tool_pagerduty_connections ORDER BY id")
    proc, base = serve(database)
    try:
        after = stored(database, "SELECT token FROM _tool_pagerduty_connections ORDER BY id")
        assert after[0] != before[0] and after[1] == before[1]  # re-sealed; the v1 row left as it was
        assert _test(base, 1).json()["success"] is True
        assert _test(base, 2).status_code == 400
        ((key_check,),) = stored(database, f"SELECT key_check FROM {KDF_TABLE}")
        assert cipher.key_check_version(params, key_check) == 3
        # the upgrade is recorded: putting the previous version's value back does not decrypt any more
        stored(database, "UPDATE _tool_pagerduty_connections SET token = %s WHERE id = 1", before[0][0])
        assert _test(base, 1).status_code == 400
    finally:
        stop(proc)


# ------------------------------------------------------------------------- 4. secrets with a minimum
def test_secrets_have_a_minimum_strength(database, sim) -> None:
    for secret in (" " * 20, "\t" * 16, "fifteen-chars-x"):
        added = cli(
            database,
            "connections",
            "add",
            "--name",
            "c",
            "--endpoint",
            sim.url,
            "--token-env",
            "PD_TOKEN",
            ENCRYPTION_SECRET=secret,
        )
        assert added.returncode == 2 and "at least 16 characters" in added.stderr, repr(secret)
    with database.connect() as conn, conn.cursor() as cur:  # refused before anything was written
        cur.execute("SHOW DATABASES LIKE %s", (database.name,))
        assert cur.fetchall() == ()

    env = {k: v for k, v in os.environ.items() if k != "API_TOKEN"}
    env.update(DB_URL=db_url(database), ENCRYPTION_SECRET=SECRET)
    for extra, message in (
        ({"API_TOKEN": "t" * 31}, "at least 32 characters"),
        ({"API_TOKEN": " " * 40}, "blank"),
        ({"API_TOKEN": "t" * 32, "ENCRYPTION_SECRET": " " * 20}, "at least 16 characters"),
    ):
        port = free_port()
        refused = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), "serve", "--host", "0.0.0.0", "--port", str(port)],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert message in refused.stderr
    proc, base = serve(database, "--host", "0.0.0.0", API_TOKEN="t" * 32)
    stop(proc)


def test_no_docs_page_loads_scripts_from_elsewhere(database) -> None:
    """/swagger loaded Swagger UI from a CDN, unpinned, inside the API's origin: gone. The OpenAPI document
    stays (behind API_TOKEN when it is set)."""
    proc, base = serve(database)
    try:
        assert requests.get(f"{base}/swagger", timeout=10).status_code == 404
        document = requests.get(f"{base}/openapi.json", timeout=10)
        assert document.status_code == 200 and "/blueprints" in document.json()["paths"]
        assert "jsdelivr" not in document.text and "unpkg" not in document.text
    finally:
        stop(proc)
