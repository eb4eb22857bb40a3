"""dbt's adapter conformance tests (dbt-tests-adapter) against the test server: their fixtures build a dbt
project per test class, in a database (dbt's schema) of its own, dropped afterwards."""

from __future__ import annotations

import pymysql
import pytest

from ingestion.database import parse_db_url

from ..helpers import SERVER_URL


@pytest.fixture(scope="class")
def dbt_profile_target() -> dict:
    server = parse_db_url(f"{SERVER_URL}/probe")
    try:
        server.connect().close()
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"no MySQL/MariaDB server answers at {SERVER_URL} ({exc.args[-1]})")
    return {
        "type": "mariadb",
        "server": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "threads": 2,
    }
